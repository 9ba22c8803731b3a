"""Every code path of every function and of record-applied, each run as its own role.

One lifecycle story drives the real handlers (API Gateway proxy events, signed Slack requests, SQS
batches, signed GitHub webhooks, the scheduled sweep, the record-applied CLI) against the
deployment in moto with IAM enforcement on. What each role used, or was refused, ends up in the
deployment's ``Enforcer``.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from slack_bolt.adapter.aws_lambda import SlackRequestHandler

from backend.handlers.github_webhook import signature_of
from local.lambda_events import LambdaContext, QueueMessage, apigw_proxy_event, queue_messages, sqs_event
from local.resources import ensure_resources
from local.slack_api import SlackApiStandIn
from tests.integration.iam.deployment import (
    ADMIN,
    APPROVALS_CHANNEL,
    APPROVER,
    NAME_PREFIX,
    WEBHOOK_SECRET,
    Deployment,
)
from tests.integration.iam.enforcement import Enforcer, install
from tests.integration.iam.policy import REGION
from tests.integration.slack.driver import SlackDriver, modal_state
from tests.support.aws import ApiAnswer, call_api
from tests.support.github_stub import GitHubStub
from tests.support.secrets_extension import SecretsExtensionStandIn

# The CI roles whose real calls the story makes.
RECORD_APPLIED_ROLE = "RecordAppliedRole"
CI_ROLES = (RECORD_APPLIED_ROLE,)
REQUESTER = "U0REQUESTER"


@dataclass
class Story:
    deployment: Deployment
    github: GitHubStub
    slack_api: SlackApiStandIn
    workdir: Path
    # The Parameters and Secrets extension of the functions whose layer it is (SECRETS_EXTENSION_PORT).
    secrets_extension: SecretsExtensionStandIn

    # --- acting as each function ----------------------------------------------------------------
    @contextmanager
    def function(self, function: str, **overrides: Any) -> Iterator[None]:
        environment = self.deployment.function_environment(function)
        overrides = {
            "slack_api_url": self.slack_api.base_url,
            "github_api_url": self.github.base_url,
            **overrides,
        }
        if "SECRETS_EXTENSION_PORT" in environment:
            overrides["secrets_extension_port"] = self.secrets_extension.port
        with self.deployment.acting_as(f"{function}Role", environment, **overrides):
            yield

    def api(self, method: str, path: str, body: Any = None, **kwargs: Any) -> ApiAnswer:
        with self.function("ApiFunction"):
            return call_api(method, path, body=body, api_key=None, **kwargs)

    def create(self, name: str, environment: str, *, key: str | None = None) -> str:
        body = {"database_name": name, "database_engine": "postgres", "environment": environment}
        headers = {"Idempotency-Key": key} if key else None
        answer = self.api("POST", "/provision-rds", body, headers=headers)
        assert answer.status == 202, answer.body
        request_id: str = answer.json["request_id"]
        return request_id

    def database_route(self, environment: str, name: str, action: str, body: Any) -> ApiAnswer:
        return self.api(
            "POST",
            f"/databases/{environment}/{name}/{action}",
            body,
            resource=f"/databases/{{environment}}/{{database_name}}/{action}",
            path_parameters={"environment": environment, "database_name": name},
        )

    def status(self, request_id: str) -> str:
        answer = self.api(
            "GET",
            f"/requests/{request_id}",
            resource="/requests/{request_id}",
            path_parameters={"request_id": request_id},
        )
        assert answer.status == 200, answer.body
        status: str = answer.json["status"]
        return status

    def slack(self) -> SlackDriver:
        """The Slack function's Lambda handler, built as on a cold start (secrets read as its role)."""
        from backend.settings import get_settings
        from bot.app import create_app

        handler = SlackRequestHandler(create_app(get_settings()))
        return SlackDriver(handler.handle, secret="iam-test-signing-secret")

    # --- the queue, as Lambda's event source mapping runs it (not the function's code) ---------
    def _receive(self, queue_url: str) -> list[QueueMessage]:
        sqs = boto3.client("sqs", region_name=REGION)
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
        )
        return queue_messages(response)

    def _settle(self, queue_url: str, answer: dict[str, Any], messages: list[QueueMessage]) -> None:
        sqs = boto3.client("sqs", region_name=REGION)
        failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
        for message in messages:
            # A failed record stays hidden until its visibility timeout, as Lambda leaves it (the
            # worker shortens that to GitHub's Retry-After).
            if message.message_id not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message.receipt_handle)

    def run_worker(self, *, timeout_seconds: float = 60.0, batches: int = 20) -> None:
        """Feed the queue to the worker until it is empty (or for ``batches`` batches)."""
        from backend.handlers import worker

        resources = self.deployment.resources
        for _ in range(batches):
            messages = self._receive(resources.queue_url)
            if not messages:
                return
            event = sqs_event(messages, queue_arn=resources.queue_arn, region=REGION)
            with self.function("WorkerFunction"):
                answer = worker.lambda_handler(
                    event, LambdaContext("worker", timeout_seconds=timeout_seconds)
                )
            self._settle(resources.queue_url, answer, messages)
        if batches == 20:
            pytest.fail("the worker never emptied the queue")

    def dead_letter(self, request_id: str) -> None:
        """SQS gave up on the request's message: it moves to the DLQ, the dead-letter function runs."""
        from backend.handlers import dead_letters

        resources = self.deployment.resources
        sqs = boto3.client("sqs", region_name=REGION)
        (message,) = self._receive(resources.queue_url)
        assert request_id in message.body
        sqs.send_message(QueueUrl=resources.dlq_url, MessageBody=message.body)
        sqs.delete_message(QueueUrl=resources.queue_url, ReceiptHandle=message.receipt_handle)
        messages = self._receive(resources.dlq_url)
        event = sqs_event(messages, queue_arn=resources.dlq_arn, region=REGION)
        with self.function("DeadLetterFunction"):
            answer = dead_letters.lambda_handler(event, LambdaContext("dead-letters"))
        assert not answer.get("batchItemFailures"), answer
        self._settle(resources.dlq_url, answer, messages)

    # --- GitHub ---------------------------------------------------------------------------------
    def pull_of(self, request_id: str) -> int:
        (number,) = [
            n
            for n, pull in self.github.pulls.items()
            if request_id in (pull.body or "") and pull.state == "open"
        ]
        return number

    def close(self, request_id: str, *, merged: bool) -> None:
        """A reviewer merges or closes the request's PR; GitHub sends the webhook."""
        from backend.handlers import github_webhook

        number = self.pull_of(request_id)
        if merged:
            self.github.merge_pull(number)
        else:
            self.github.close_pull(number)
        body = json.dumps(
            {
                "action": "closed",
                "number": number,
                "pull_request": self.github.pull_payload(number),
                "repository": {"full_name": self.github.full_name, "name": self.github.repo},
                "sender": {"login": "reviewer"},
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": f"delivery-{number}-{merged}",
            "X-Hub-Signature-256": signature_of(body, WEBHOOK_SECRET),
        }
        with self.function("GitHubWebhookFunction"):
            answer = github_webhook.lambda_handler(
                apigw_proxy_event("POST", "/github/webhook", headers=headers, body=body),
                LambdaContext("github-webhook"),
            )
        assert answer["statusCode"] == 200, answer

    # --- CircleCI's record-applied job ----------------------------------------------------------
    def record_applied(self, environment: str) -> str:
        """What record-applied.sh runs after an apply of main, with what CI gives the job."""
        from backend.cli.record_applied import main

        checkout = self.workdir / f"checkout-{len(list(self.workdir.iterdir()))}"
        files = []
        for path, content in self.github.files().items():
            (checkout / path).parent.mkdir(parents=True, exist_ok=True)
            (checkout / path).write_text(content)
            if path.startswith(f"terraform/envs/{environment}/rds_"):
                files.append(path)
        resources = self.deployment.resources
        # deploy/settings.env and the context's values (.circleci/continue_config.yml).
        environment_variables = {
            "REQUESTS_TABLE_NAME": resources.table_name,
            "REQUESTS_TOPIC_ARN": resources.topic_arn,
            "SLACK_BOT_TOKEN_SECRET_ID": "rds-provisioner/slack-bot-token",
        }
        with (
            self.deployment.acting_as(
                RECORD_APPLIED_ROLE, environment_variables, slack_api_url=self.slack_api.base_url
            ),
            _captured() as output,
        ):
            assert main(["--environment", environment, "--root", str(checkout), "--files", *files]) == 0
        text: str = output.getvalue()
        return text

    def sweep(self, now: datetime) -> None:
        from backend.handlers import sweeper

        with self.function("SweeperFunction"):
            sweeper.lambda_handler({"now": now.isoformat()}, LambdaContext("sweeper", timeout_seconds=300))


@contextmanager
def _captured() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        yield buffer


def run_story(story: Story) -> None:
    # --- the HTTP API: create (with an idempotency key, replayed), a prod request that waits ---
    orders = story.create("orders", "dev", key="orders-1")
    assert story.create("orders", "dev", key="orders-1") == orders
    scratch = story.create("scratch", "dev")
    payments = story.create("payments", "prod")
    assert story.status(payments) == "awaiting_approval"
    assert story.api("GET", "/requests").status == 200
    assert story.api("GET", "/requests", query_string=f"requested_by={REQUESTER}").status == 200
    # SNS cannot take the message: the request is undone (its name claim deleted), 503.
    boto3.client("sns", region_name=REGION).delete_topic(TopicArn=story.deployment.resources.topic_arn)
    body = {"database_name": "unlucky", "database_engine": "postgres", "environment": "dev"}
    assert story.api("POST", "/provision-rds", body).status == 503
    ensure_resources(region=REGION, endpoint_url=None, prefix=NAME_PREFIX)
    assert story.api("GET", "/databases", query_string="environment=dev").status == 200
    assert story.api("GET", "/openapi.json").status == 200

    # --- Slack: a command, the approval of the prod request, status, list, App Home, a deny ----
    with story.function("SlackFunction"):
        driver = story.slack()
        driver.command("ledger postgres dev", user_id=REQUESTER)
        driver.block_action("approve_request", user_id=APPROVER, value=payments, channel=APPROVALS_CHANNEL)
        driver.command(f"status {orders}", user_id=ADMIN)
        driver.command("list", user_id=REQUESTER)
        driver.event({"type": "app_home_opened", "user": REQUESTER, "channel": "D0HOME", "tab": "home"})
        driver.command("audit postgres prod", user_id=ADMIN)
    (audit,) = _requests(story, "audit")
    with story.function("SlackFunction"):
        driver = story.slack()
        driver.block_action("deny_request", user_id=APPROVER, value=audit, channel=APPROVALS_CHANNEL)
        driver.view_submission(
            modal_state(reason="no capacity review yet"),
            user_id=APPROVER,
            callback_id="deny_request",
            private_metadata=audit,
        )
    assert story.status(audit) == "rejected"
    (ledger,) = _requests(story, "ledger")

    # --- the worker: a batch with no time left (re-queued), a name a file nobody requested already
    # holds (rejected, its claim deleted), GitHub rate-limiting a call (postponed) --------------
    story.github.seed_file("terraform/envs/dev/rds_legacy.tf", 'module "rds_legacy" {}\n')
    legacy = story.create("legacy", "dev")
    story.run_worker(timeout_seconds=1.0, batches=1)
    # GitHub fails past its quick retries (a 503 with Retry-After: the record stays hidden that
    # long), then says wait (the record comes back as a fresh copy delayed by the wait asked).
    story.github.fail_next(3, status=503, retry_after=1)
    story.github.rate_limit_next(reset_in=1)
    story.run_worker()
    deadline = time.monotonic() + 30
    while any(story.status(r) != "pr_opened" for r in (orders, scratch, payments, ledger)):
        assert time.monotonic() < deadline, "a request GitHub made wait never got its pull request"
        time.sleep(0.5)
        story.run_worker()
    for request_id in (orders, scratch, payments, ledger):
        assert story.status(request_id) == "pr_opened", request_id
    assert story.status(legacy) == "rejected"

    # --- the webhook: merged, and closed unmerged (the request fails, the name is freed) --------
    story.close(orders, merged=True)
    story.close(scratch, merged=True)
    story.close(payments, merged=True)
    story.close(ledger, merged=False)
    assert story.status(ledger) == "failed"

    # --- record-applied: creates ----------------------------------------------------------------
    story.record_applied("dev")
    story.record_applied("prod")
    for request_id in (orders, scratch, payments):
        assert story.status(request_id) == "applied", request_id

    # --- day 2 from the API: resize, extend; applied ------------------------------------------
    resize = story.database_route("dev", "orders", "resize", {"allocated_storage": 50})
    assert resize.status == 202, resize.body
    extend = story.database_route("dev", "scratch", "extend", {"ttl_days": 40})
    assert extend.status == 200, extend.body
    story.run_worker()
    story.close(resize.json["request_id"], merged=True)
    story.record_applied("dev")
    assert story.status(resize.json["request_id"]) == "applied"

    # --- a dev decommission ---------------------------------------------------------------------
    gone = story.database_route("dev", "orders", "decommission", {"confirm": "orders"})
    assert gone.status == 202, gone.body
    story.run_worker()
    story.close(gone.json["request_id"], merged=True)
    story.record_applied("dev")
    assert story.status(gone.json["request_id"]) == "applied"

    # --- a prod decommission: approved in Slack, two PRs, each applied ---------------------------
    retire = story.database_route("prod", "payments", "decommission", {"confirm": "payments"})
    assert retire.status == 202, retire.body
    retire_id = retire.json["request_id"]
    with story.function("SlackFunction"):
        story.slack().block_action(
            "approve_request", user_id=APPROVER, value=retire_id, channel=APPROVALS_CHANNEL
        )
    story.run_worker()
    story.close(retire_id, merged=True)
    story.record_applied("prod")  # step 1 applied: the second PR is asked for
    story.run_worker()
    story.close(retire_id, merged=True)
    story.record_applied("prod")
    assert story.status(retire_id) == "applied"

    # --- the dead-letter function: a request whose retries ran out ------------------------------
    archive = story.create("archive", "dev")
    story.dead_letter(archive)
    assert story.status(archive) == "failed"

    # --- the sweeper: a reminder, then the expiry decommission and an approval timeout ----------
    vault = story.create("vault", "prod")
    today = datetime.now(UTC)
    story.sweep(today + timedelta(days=38))
    story.sweep(today + timedelta(days=41))
    assert story.status(vault) == "rejected"


def _requests(story: Story, name: str) -> list[str]:
    """Request ids of ``name``, read as the harness (not as any role)."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(story.deployment.resources.table_name)
    items = table.scan()["Items"]
    return [
        str(item["request_id"])
        for item in items
        if item.get("database_name") == name and "request_id" in item
    ]


@contextmanager
def told_story(tmp_path: Path) -> Iterator[Enforcer]:
    """The deployment in moto, the story told; the enforcer holds what each role did."""
    enforcer = Enforcer()
    with ExitStack() as stack:
        monkeypatch = stack.enter_context(pytest.MonkeyPatch.context())
        stack.enter_context(mock_aws())
        github = stack.enter_context(GitHubStub(owner="acme", repo="infra"))
        slack_api = stack.enter_context(
            SlackApiStandIn(team_id="T0TEAM", bot_user_id="U0BOT", bot_id="B0BOT", app_id="A0APP")
        )
        deployment = Deployment.create(enforcer, ci_roles=CI_ROLES)
        # It calls GetSecretValue with the Slack function's role, as the extension in its layer does.
        secrets_extension = stack.enter_context(
            SecretsExtensionStandIn(
                session_token=lambda: deployment.credentials("SlackFunctionRole")["SessionToken"],
                region=REGION,
            )
        )
        install(enforcer, monkeypatch)
        try:
            run_story(Story(deployment, github, slack_api, tmp_path, secrets_extension))
        except Exception as error:
            # A refused call usually breaks the story further on (a request never moves): name it.
            refused = {role: calls for role, calls in enforcer.denied.items() if calls}
            if refused:
                raise AssertionError(f"IAM refused: {refused}") from error
            raise
        yield enforcer
