"""The whole system on one machine: moto server, Slack stand-in, local git, gateway, SQS poller.

``LocalStack.start()`` brings the pieces up in dependency order and ``stop()`` takes them down in
the order that loses nothing: stop taking HTTP requests, let the ones in progress finish, let
the worker drain the queue, save what is left of the AWS state, then stop the emulators.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from backend.container import Container, set_container
from backend.settings import Settings, set_settings

if TYPE_CHECKING:
    from backend.domain.drift import Drift
    from local.ci import LocalCI, PlanResult
    from local.gateway import GatewayServer
    from local.poller import DrainResult, QueuePoller
    from local.resources import AwsResources

logger = Logger(child=True)

PACKAGE_ROOT = Path(__file__).resolve().parents[1]

# Names and local values of the secrets the SAM template references.
GITHUB_TOKEN_SECRET = "github-token"  # noqa: S105 - secret names, not values
GITHUB_WEBHOOK_SECRET_SECRET = "rds-provisioner/github-webhook-secret"  # noqa: S105
SLACK_BOT_TOKEN_SECRET = "rds-provisioner/slack-bot-token"  # noqa: S105
SLACK_SIGNING_SECRET_SECRET = "rds-provisioner/slack-signing-secret"  # noqa: S105

LOCAL_API_KEY = "local-dev-key"
LOCAL_SIGNING_SECRET = "local-signing-secret"  # noqa: S105 - the documented local default
LOCAL_WEBHOOK_SECRET = "local-webhook-secret"  # noqa: S105 - the documented local default
LOCAL_BOT_TOKEN = "xoxb-local"  # noqa: S105 - the stand-in accepts any token
LOCAL_BOT_USER_ID = "U0LOCALBOT"
LOCAL_BOT_ID = "B0LOCALBOT"
LOCAL_TEAM_ID = "T0LOCAL"
LOCAL_APP_ID = "A0LOCAL"
# Where the local stack announces the outcome of HTTP API requests (they have no Slack user).
LOCAL_API_CHANNEL = "#rds-provisioner"

STATE_FILE = "aws-state.json"
# Where a running stack says where it is, for rdsctl and other local tools (removed on stop).
STACK_FILE = "stack.json"
STATE_VERSION = 1


@dataclass(frozen=True)
class StackOptions:
    state_dir: Path = Path(".local")
    host: str = "127.0.0.1"
    port: int = 3000
    seed_dir: Path | None = None
    # Short locally so a failed record is retried within seconds (AWS: 360 s, 6x the worker timeout).
    visibility_timeout: int = 5
    max_receive_count: int = 5
    drain_seconds: float = 20.0
    persist_state: bool = True

    @property
    def gitops_dir(self) -> Path:
        return self.state_dir / "gitops"

    @property
    def slack_calls_file(self) -> Path:
        return self.state_dir / "slack-calls.jsonl"

    @property
    def state_file(self) -> Path:
        return self.state_dir / STATE_FILE

    @property
    def stack_file(self) -> Path:
        return self.state_dir / STACK_FILE

    def terraform_seed(self) -> Path:
        if self.seed_dir is not None:
            return self.seed_dir
        here = Path("terraform")
        return here if here.is_dir() else PACKAGE_ROOT / "terraform"


@dataclass
class ShutdownReport:
    http_finished: bool = True
    drain: DrainResult | None = None
    saved_items: int = 0
    saved_messages: int = 0


def _lambda_environment(settings: Settings) -> None:
    # What SAM's Globals give the functions in AWS. Locally logs default to WARNING and metrics
    # are off, so the console shows requests and Slack messages; values the user exported win
    # (POWERTOOLS_LOG_LEVEL=INFO make run shows every function log line).
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", settings.service_name)  # noqa: TID251
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # noqa: TID251
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # noqa: TID251
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "RdsProvisioner")  # noqa: TID251
    # moto and werkzeug log every request they serve; the gateway prints its own access lines.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _use_local_aws_credentials() -> None:
    # moto accepts any credentials; fixed fake ones keep boto3 from looking for (and ever
    # signing with) a real account's, and from stalling on the instance metadata service.
    os.environ["AWS_ACCESS_KEY_ID"] = "local"  # noqa: TID251
    os.environ["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: TID251, S105
    for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE"):
        os.environ.pop(name, None)  # noqa: TID251


class LocalStack:
    def __init__(
        self,
        base: Settings,
        options: StackOptions,
        *,
        out: Callable[[str], None] | None = None,
    ) -> None:
        self.base = base
        self.options = options
        self.out = out or (lambda line: print(line, flush=True))
        self.settings: Settings | None = None
        self.resources: AwsResources | None = None
        self.gateway: GatewayServer | None = None
        self.poller: QueuePoller | None = None
        self.dead_letter_poller: QueuePoller | None = None
        self.moto_url = ""
        self.slack_url = ""
        self.socket_mode = bool(base.slack_bot_token and base.slack_app_token)
        self.restored_items = 0
        self.restored_messages = 0
        self._stack_file_written = False
        self._moto: Any = None
        self._slack: Any = None
        self._socket_handler: Any = None
        self._stop_lock = threading.Lock()
        self._report: ShutdownReport | None = None
        self.ci: LocalCI | None = None
        # What runs Terraform here, for the banner: "terraform (...)" or "manual (...)".
        self.ci_note = ""

    # --- start ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        port = self.gateway.port if self.gateway else self.options.port
        return f"http://{self.options.host}:{port}"

    def start(self) -> None:
        from local.gateway import GatewayServer

        options = self.options
        options.state_dir.mkdir(parents=True, exist_ok=True)
        _use_local_aws_credentials()
        _lambda_environment(self.base)
        # Bind first: a busy port should fail before anything else starts.
        self.gateway = GatewayServer(self._build_gateway(), host=options.host, port=options.port)
        try:
            self._start_aws()
            self._start_slack()
            settings = self._configure()
            self._start_gitops(settings)
            self._start_ci(settings)
            self._start_poller(settings)
            if self._socket_handler is not None:
                self._socket_handler.connect()
            self.gateway.start()
            self._write_stack_file()
        except BaseException:
            self.stop()
            raise

    def _write_stack_file(self) -> None:
        """``<state>/stack.json``: the gateway's URL, the local AWS endpoint and region."""
        description = {"url": self.url, "aws_endpoint_url": self.moto_url, "region": self.base.aws_region}
        tmp = self.options.stack_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(description, indent=2) + "\n")
        tmp.replace(self.options.stack_file)
        self._stack_file_written = True

    def _start_aws(self) -> None:
        from moto.server import ThreadedMotoServer

        from local import moto_patches
        from local.resources import ensure_resources

        # Terraform's AWS provider applies to this server (the local CI): patch what it trips on.
        moto_patches.apply()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        self.resources = ensure_resources(
            region=self.base.aws_region,
            endpoint_url=self.moto_url,
            max_receive_count=self.options.max_receive_count,
            visibility_timeout=self.options.visibility_timeout,
        )
        secrets = self._client("secretsmanager")
        for name, value in self._secret_values().items():
            secrets.create_secret(Name=name, SecretString=value)
        if self.options.persist_state:
            self._restore_state()

    def _secret_values(self) -> dict[str, str]:
        base = self.base
        return {
            GITHUB_TOKEN_SECRET: base.github_token or "local-placeholder-no-github-token",
            GITHUB_WEBHOOK_SECRET_SECRET: base.github_webhook_secret or LOCAL_WEBHOOK_SECRET,
            SLACK_BOT_TOKEN_SECRET: base.slack_bot_token or LOCAL_BOT_TOKEN,
            SLACK_SIGNING_SECRET_SECRET: base.slack_signing_secret or LOCAL_SIGNING_SECRET,
        }

    def _start_slack(self) -> None:
        if self.socket_mode:
            return
        from local.slack_api import SlackApiStandIn

        self._slack = SlackApiStandIn(
            host="127.0.0.1",
            port=0,
            jsonl_path=self.options.slack_calls_file,
            echo=self.out,
            team_id=self.base.slack_team_id or LOCAL_TEAM_ID,
            bot_user_id=self.base.slack_bot_user_id or LOCAL_BOT_USER_ID,
            bot_id=self.base.slack_bot_id or LOCAL_BOT_ID,
            app_id=LOCAL_APP_ID,
        )
        self._slack.start()
        self.slack_url = self._slack.base_url

    def _configure(self) -> Settings:
        """The one Settings of this process, installed for every handler."""
        assert self.resources is not None
        base = self.base
        port = self.gateway.port if self.gateway else self.options.port
        changes: dict[str, object] = {
            "aws_endpoint_url": self.moto_url,
            "api_key": base.api_key or LOCAL_API_KEY,
            "local_port": port,
            "local_gitops_path": self.options.gitops_dir,
            "local_pr_base_url": f"http://{self.options.host}:{port}/_local/prs",
            "slack_bot_user_id": base.slack_bot_user_id or LOCAL_BOT_USER_ID,
            "slack_bot_id": base.slack_bot_id or LOCAL_BOT_ID,
            # The stand-in's workspace; over Socket Mode the real one's, or none (then every
            # workspace is served), never the stand-in's, which would refuse the real workspace.
            "slack_team_id": base.slack_team_id if self.socket_mode else base.slack_team_id or LOCAL_TEAM_ID,
            # As in AWS, the webhook function reads its secret from Secrets Manager (moto here).
            "github_webhook_secret": None,
            "github_webhook_secret_secret_id": GITHUB_WEBHOOK_SECRET_SECRET,
        }
        if not self.socket_mode:
            # As in AWS, the functions read the Slack secrets from Secrets Manager (moto here).
            changes |= {
                "slack_api_url": self.slack_url,
                "slack_bot_token": None,
                "slack_bot_token_secret_id": SLACK_BOT_TOKEN_SECRET,
                "slack_signing_secret": None,
                "slack_signing_secret_secret_id": SLACK_SIGNING_SECRET_SECRET,
                "slack_app_token": None,
            }
        settings = self.resources.configure(base.with_overrides(**changes))
        set_settings(settings)
        # API requests have no Slack user; locally their outcome is announced in a channel of the
        # stand-in, so both paths show up side by side (a real workspace has no such channel).
        set_container(
            Container(
                settings,
                api_channel=None if self.socket_mode else LOCAL_API_CHANNEL,
                terraform_outputs=lambda environment: self.ci.outputs(environment) if self.ci else {},
            )
        )
        self.settings = settings
        if self.socket_mode:
            from bot.socket_mode import build_handler

            self._socket_handler = build_handler(settings)
        return settings

    def _start_gitops(self, settings: Settings) -> None:
        if settings.gitops_backend != "local":
            return
        from backend.adapters.gitops.local_git import LocalGitPublisher

        publisher = LocalGitPublisher(
            settings.local_gitops_path,
            base_branch=settings.github_base_branch,
            pr_base_url=settings.local_pr_base_url,
        )
        publisher.ensure_repository(seed_dir=self.options.terraform_seed())

    def _start_ci(self, settings: Settings) -> None:
        """The local CI (LOCAL_CI): terraform plans and applies against the local AWS, or the
        hand step ``rdsctl applied``."""
        from local.ci import CiHooks, LocalCI, ensure_network, terraform_unavailable

        if settings.gitops_backend != "local":
            self.ci_note = "none here (GITOPS_BACKEND=github: CircleCI plans and applies)"
            return
        unavailable = terraform_unavailable(settings.tf_provider_mirror)
        if settings.local_ci == "manual" or (settings.local_ci is None and unavailable):
            why = f"{unavailable}; " if settings.local_ci is None else ""
            self.ci_note = f"manual ({why}record an apply with `rdsctl applied`)"
            self.out(f"local CI: {self.ci_note}")
            return
        if unavailable:
            raise RuntimeError(f"LOCAL_CI=terraform, but {unavailable}")
        publisher = self._local_publisher()
        assert publisher is not None
        self.ci = LocalCI(
            gitops=settings.local_gitops_path,
            work_dir=self.options.state_dir / "ci",
            aws_endpoint_url=self.moto_url,
            network=ensure_network(self._client("ec2"), settings.aws_region),
            mirror=settings.tf_provider_mirror,
            pulls=publisher.list_pull_requests,
            hooks=CiHooks(
                plan_ready=self._plan_ready, applied=self._record_applied, drifted=self._report_drift
            ),
            base_branch=settings.github_base_branch,
            log=self.out,
        )
        self.ci.start()
        self.ci_note = "terraform (every PR planned, every merge applied, against the local AWS)"

    def _plan_ready(self, pull: Any, plan: PlanResult) -> None:
        """Tell the request's thread its plan is ready, as a PR comment from CI would."""
        from backend.adapters.slack_blocks import context, escape, message, section
        from backend.adapters.slack_notices import SlackNotices
        from backend.container import get_container
        from backend.domain.notices import requester_of

        container = get_container()
        record = container.store.get(pull.request_id) if pull.request_id else None
        if record is None:
            return
        link = f"<{pull.url}|pull request #{pull.number}>"
        if plan.status == "success":
            text = f"The Terraform plan of {link} is ready: {plan.summary}"
        else:
            text = f"The Terraform plan of {link} failed: {plan.summary}. The PR page shows its output."
        built = message(
            text.replace(link, f"#{pull.number}"),
            [section(f":clipboard: {text}"), context(f"Request `{escape(record.request_id)}` · local CI")],
        )
        to = requester_of(record.source, record.requested_by, record.conversation)
        SlackNotices(container.chat, api_channel=container.api_channel).post(to, built)

    def _record_applied(
        self, environment: str, files: Any, read_main: Callable[[str], str | None], _outputs: Any
    ) -> list[str]:
        """What CircleCI's record-applied job runs after the apply (the outputs reach the ready
        message through the container's ``terraform_outputs``)."""
        from backend.cli.record_applied import record_applied
        from backend.container import get_container

        return record_applied(get_container().lifecycle, environment, list(files), read_main)

    def _report_drift(self, environment: str, drifts: Sequence[Drift]) -> None:
        from backend.container import get_container
        from backend.domain.notices import Audience, Happening, Notice

        container = get_container()
        channel = container.settings.drift_channel or container.api_channel
        if channel:
            drifted = Notice(
                Happening.DRIFTED, to=Audience.channel(channel), environment=environment, drifts=tuple(drifts)
            )
            container.notices.send(drifted)

    def _start_poller(self, settings: Settings) -> None:
        """The event source mappings SAM declares: the worker on the queue, the dead-letter
        function on its DLQ."""
        from backend.handlers.dead_letters import lambda_handler as dead_letter_handler
        from backend.handlers.worker import lambda_handler as worker_handler
        from local.poller import QueuePoller

        assert self.resources is not None
        self.poller = QueuePoller(
            sqs=self._client("sqs"),
            queue_url=self.resources.queue_url,
            queue_arn=self.resources.queue_arn,
            handler=worker_handler,
            region=settings.aws_region,
            log=self.out,
        )
        self.dead_letter_poller = QueuePoller(
            sqs=self._client("sqs"),
            queue_url=self.resources.dlq_url,
            queue_arn=self.resources.dlq_arn,
            handler=dead_letter_handler,
            region=settings.aws_region,
            function_name="rds-provisioner-dead-letters",
            log=self.out,
        )
        self.poller.start()
        self.dead_letter_poller.start()

    def _build_gateway(self) -> Any:
        from bot import blocks
        from local import prs_page
        from local.gateway import Function, LocalGateway
        from local.slack_page import SlackPage

        def api(event: dict[str, Any], context: Any) -> Any:
            from backend.handlers.api import lambda_handler

            return lambda_handler(event, context)

        def slack(event: dict[str, Any], context: Any) -> Any:
            from bot.app import lambda_handler

            return lambda_handler(event, context)

        def github_webhook(event: dict[str, Any], context: Any) -> Any:
            from backend.handlers.github_webhook import lambda_handler

            return lambda_handler(event, context)

        renderers = prs_page.pages(
            self._local_publisher,
            index_links=self._index_links,
            on_reviewed=self._record_review,
            request_for=self._request_for_pull,
            plan_for=lambda number: self.ci.plan_of(number) if self.ci else None,
            ci_jobs=lambda: self.ci.jobs() if self.ci else None,
        )
        actions = {
            "review": renderers.pop("review"),
            "ci_applied": self._ci_applied,
            "ci_drift": self._ci_drift,
            "sweep": self._sweep,
        }
        slack_page = SlackPage(
            lambda: self._slack,
            signing_secret=self.base.slack_signing_secret or LOCAL_SIGNING_SECRET,
            events_url=lambda: f"{self.url}/slack/events",
            commands=[blocks.COMMAND],
            app_id=LOCAL_APP_ID,
            log=self.out,
        )
        return LocalGateway(
            {
                "api": Function("rds-provisioner-api", api),
                "slack": Function("rds-provisioner-slack", slack, timeout_seconds=10),
                "github_webhook": Function("rds-provisioner-github-webhook", github_webhook),
            },
            pages=renderers,
            actions=actions,
            routes=slack_page.routes(),
            log=self.out,
        )

    def _request_for_pull(self, pull: Any) -> dict[str, Any] | None:
        """The request a local PR belongs to, its status and where its Slack conversation is."""
        from backend.container import get_container
        from backend.domain import Source
        from local.slack_api import channel_id_for, dm_channel_for
        from local.slack_page import slack_link

        if self.settings is None or not pull.request_id:
            return None
        record = get_container().store.get(pull.request_id)
        if record is None:
            return None
        link = None
        if self._slack is not None:
            if record.source is Source.SLACK:
                link = slack_link(
                    user=record.requested_by,
                    channel=record.conversation.channel
                    if record.conversation
                    else dm_channel_for(record.requested_by),
                    thread=record.conversation.thread_ts if record.conversation else None,
                )
            else:
                link = slack_link(channel=channel_id_for(LOCAL_API_CHANNEL.lstrip("#")))
        return {"request_id": record.request_id, "status": record.status.value, "slack_url": link}

    @staticmethod
    def _record_review(pull: Any) -> dict[str, Any]:
        """What GitHub's ``pull_request`` ``closed`` webhook does: the same lifecycle service records
        ``merged`` (a merge) or ``failed`` (closed without merging) for the PR's own request.

        ``applied`` is recorded by the local CI after it applies main (LOCAL_CI=terraform), or by
        ``POST /_local/ci/applied`` (``rdsctl applied``) standing in for it (LOCAL_CI=manual).
        """
        from backend.container import get_container

        if not pull.request_id:
            return {"outcome": "not opened for a request"}
        result = get_container().lifecycle.pull_request_closed(
            pull.request_id,
            pr_number=pull.number,
            pr_url=pull.url,
            branch=pull.branch,
            merged=pull.state == "merged",
            actor="local",
        )
        return {
            "outcome": result.outcome.value,
            "request_id": result.record.request_id if result.record else None,
            "status": result.record.status.value if result.record else None,
            "notified": result.notified,
        }

    def _ci_applied(self, body: bytes = b"", **_: Any) -> Any:
        """``POST /_local/ci/applied`` ``{"environment": ..., "files": [...]}``: what CircleCI's
        record-applied job runs after a successful ``terraform apply``, reading the files from the
        local repository's main (or, in GitHub mode, finding none)."""
        from backend.cli.record_applied import record_applied
        from backend.container import get_container
        from local.gateway import Page

        try:
            payload = json.loads(body or b"{}")
            environment, files = payload["environment"], payload["files"]
            if not isinstance(environment, str) or not isinstance(files, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            message = 'send JSON {"environment": "dev", "files": ["terraform/envs/dev/rds_<name>.tf"]}'
            return Page(400, json.dumps({"message": message}), "application/json")
        publisher = self._local_publisher()
        lines = record_applied(
            get_container().lifecycle,
            environment,
            [str(f) for f in files],
            publisher.file_on_base if publisher is not None else lambda _path: None,
        )
        return Page(200, json.dumps({"results": lines}), "application/json")

    def _ci_drift(self, body: bytes = b"", **_: Any) -> Any:
        """``POST /_local/ci/drift`` ``{"environment": "dev"}``: the nightly drift job, now (``rdsctl
        drift``): ``{"drifted": [{"database_name": ..., "attributes": [...]}]}``."""
        from local.gateway import Page

        def answer(status: int, payload: Any) -> Page:
            return Page(status, json.dumps(payload), "application/json")

        try:
            payload = json.loads(body or b"{}")
            environment = payload.get("environment", "dev") if isinstance(payload, dict) else None
            if not isinstance(environment, str):
                raise TypeError
        except (ValueError, TypeError):
            return answer(400, {"message": 'send JSON {"environment": "dev"}'})
        if self.ci is None:
            return answer(409, {"message": f"the local CI does not run terraform here: {self.ci_note}"})
        from backend.domain import environment_policies

        known = list(environment_policies())
        if environment not in known:
            return answer(
                400, {"message": f"unknown environment {environment!r} (one of: {', '.join(known)})"}
            )
        drifts = self.ci.drift(environment)
        return answer(200, {"environment": environment, "drifted": [drift.as_dict() for drift in drifts]})

    @staticmethod
    def _sweep(body: bytes = b"", **_: Any) -> Any:
        """``POST /_local/sweep`` ``{"now": "<ISO 8601>"}`` (optional): what the daily EventBridge
        schedule has the sweeper function do, for any moment (``rdsctl sweep --now``)."""
        from backend.container import get_container
        from backend.domain import FieldError, ValidationFailed
        from backend.handlers.http import error_body
        from backend.handlers.sweeper import moment_of
        from local.gateway import Page

        usage = 'send JSON {"now": "2026-12-24T07:00:00Z"}, or nothing for now'
        try:
            payload = json.loads(body or b"{}")
            if not isinstance(payload, dict):
                raise ValidationFailed([FieldError("body", "the body must be a JSON object")])
            moment = moment_of({"now": payload.get("now")})
        except ValueError:
            invalid = [FieldError("body", "the request body is not valid JSON")]
            return Page(400, json.dumps(error_body(usage, invalid)), "application/json")
        except ValidationFailed as failed:
            return Page(400, json.dumps(error_body(usage, failed.errors)), "application/json")
        report = get_container().sweeper.sweep(moment)
        return Page(200, json.dumps(report.as_dict()), "application/json")

    def _local_publisher(self) -> Any:
        settings = self.settings
        if settings is None or settings.gitops_backend != "local":
            return None
        from backend.adapters.gitops.local_git import LocalGitPublisher

        return LocalGitPublisher(
            settings.local_gitops_path,
            base_branch=settings.github_base_branch,
            pr_base_url=settings.local_pr_base_url,
        )

    def _index_links(self) -> list[tuple[str, str]]:
        slack = (
            []
            if self.socket_mode
            else [("/_local/slack", "Slack (local): the conversations, App Home and modals")]
        )
        return [
            *slack,
            ("/_local/prs", "Local pull requests"),
            *([("/_local/ci.json", "Local CI: its plans, applies and drift checks")] if self.ci else []),
            ("/openapi.json", "OpenAPI document of the HTTP API"),
            ("/requests", "Recent requests (needs the X-Api-Key header)"),
        ]

    def _client(self, service: str) -> Any:
        import boto3

        return boto3.session.Session(region_name=self.base.aws_region).client(
            service, endpoint_url=self.moto_url
        )

    # --- stop ----------------------------------------------------------------------------------
    def stop(self) -> ShutdownReport:
        """Stop in the order that loses nothing; safe to call more than once."""
        with self._stop_lock:
            if self._report is not None:
                return self._report
            report = ShutdownReport()
            if self._stack_file_written:
                self.options.stack_file.unlink(missing_ok=True)
            if self.gateway is not None:
                report.http_finished = self.gateway.stop(grace_seconds=10.0)
            if self._socket_handler is not None:
                self._socket_handler.close()
            if self.ci is not None:
                self.ci.stop()
            if self.poller is not None:
                report.drain = self.poller.drain_and_stop(self.options.drain_seconds)
            if self.dead_letter_poller is not None:
                self.dead_letter_poller.drain_and_stop(min(2.0, self.options.drain_seconds))
            if self._moto is not None and self.options.persist_state and self.resources is not None:
                report.saved_items, report.saved_messages = self._save_state()
            if self._slack is not None:
                self._slack.stop()
            if self._moto is not None:
                self._moto.stop()
            set_container(None)
            set_settings(None)
            self._report = report
            return report

    # --- AWS state across restarts -------------------------------------------------------------
    def _save_state(self) -> tuple[int, int]:
        """Write the table and any message still queued to ``<state>/aws-state.json``."""
        assert self.resources is not None
        dynamodb = self._client("dynamodb")
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=self.resources.table_name):
            items.extend(page.get("Items", []))
        sqs = self._client("sqs")
        queued = _take_all(sqs, self.resources.queue_url)
        dead = _take_all(sqs, self.resources.dlq_url)
        state = {"version": STATE_VERSION, "table_items": items, "queue": queued, "dlq": dead}
        tmp = self.options.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.options.state_file)
        return len(items), len(queued) + len(dead)

    def _restore_state(self) -> None:
        assert self.resources is not None
        path = self.options.state_file
        if not path.exists():
            return
        try:
            state = json.loads(path.read_text())
        except ValueError:
            self.out(f"warning: {path} is not valid JSON; starting with empty AWS state")
            return
        if state.get("version") != STATE_VERSION:
            self.out(f"warning: {path} has an unknown version; starting with empty AWS state")
            return
        dynamodb = self._client("dynamodb")
        for item in state.get("table_items", []):
            dynamodb.put_item(TableName=self.resources.table_name, Item=item)
        sqs = self._client("sqs")
        for url, bodies in (
            (self.resources.queue_url, state.get("queue", [])),
            (self.resources.dlq_url, state.get("dlq", [])),
        ):
            for body in bodies:
                sqs.send_message(QueueUrl=url, MessageBody=body)
        self.restored_items = len(state.get("table_items", []))
        self.restored_messages = len(state.get("queue", [])) + len(state.get("dlq", []))


def _take_all(sqs: Any, queue_url: str) -> list[str]:
    """Bodies of every visible message on the queue (they are not deleted; moto stops next)."""
    bodies: list[str] = []
    seen: set[str] = set()
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300, WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            if message["MessageId"] not in seen:
                seen.add(message["MessageId"])
                bodies.append(message["Body"])
