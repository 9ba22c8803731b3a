"""GitHub API calls per request, counted by the stub GitHub server (``tests.support.github_stub``).

The whole pipeline runs in-process on moto (``tests.support.aws``): ``POST /provision-rds``
through the API handler, SNS -> SQS, and the worker handler with the real ``GitHubPublisher``
(PyGithub) pointed at the stub. Redeliveries are real SQS redeliveries (``ApproximateReceiveCount``
> 1 makes the worker pass ``resume=True``) or, for an SNS duplicate, a second copy of the message.
"""

from __future__ import annotations

from typing import Any

from backend.adapters.store import RequestStore, Transition
from backend.domain import RequestStatus, RetryableError
from bench.report import Row

MINIMUM_NEW = 4  # read the base ref, create the branch, put the file, open the PR


class CrashAfterPullRequest(RequestStore):
    """A store whose first ``pr_opened`` write fails: the worker died after GitHub, before DynamoDB."""

    crashed = False

    def transition(self, request_id: str, status: RequestStatus, **details: Any) -> Transition:
        if status is RequestStatus.PR_OPENED and not self.crashed:
            self.crashed = True
            raise RetryableError("simulated crash between opening the PR and recording it")
        return super().transition(request_id, status, **details)


def run() -> tuple[list[Row], dict[str, Any]]:
    from moto import mock_aws

    from backend.container import set_container
    from backend.services.provisioner import Provisioner
    from local.resources import ensure_resources
    from tests.support.aws import REGION, Pipeline, RecordingNotifier, call_api, make_container
    from tests.support.github_stub import STUB_TOKEN, GitHubStub

    counts: dict[str, int] = {}
    calls: dict[str, list[tuple[str, str]]] = {}
    with mock_aws(), GitHubStub(owner="acme", repo="infra") as github:
        resources = ensure_resources(region=REGION, endpoint_url=None)
        notifier = RecordingNotifier()
        container = make_container(
            resources,
            notifier=notifier,
            gitops_backend="github",
            github_repository=github.full_name,
            github_api_url=github.base_url,
            github_token=STUB_TOKEN,
        )
        pipeline = Pipeline(resources, container, notifier)
        normal_worker = container.provisioner
        set_container(container)
        try:

            def submit(name: str) -> None:
                answer = pipeline.post(
                    {"database_name": name, "database_engine": "postgres", "environment": "dev"}
                )
                if answer.status != 202:
                    raise RuntimeError(f"submit answered {answer.status}: {answer.body}")

            def deliver(label: str, *, settle: bool = True) -> list[Any]:
                messages = pipeline.receive()
                github.reset_calls()
                answer = pipeline.deliver(messages)
                calls[label] = github.calls
                counts[label] = len(calls[label])
                if settle:
                    pipeline.settle(answer, messages)
                return messages

            # 1. a new request
            submit("bench_new")
            deliver("new request")

            # 2. SQS hands the same message out again after it succeeded (receive count 2)
            submit("bench_redelivered")
            first = pipeline.receive()
            pipeline.settle(pipeline.deliver(first), [])  # processed but not deleted
            for message in first:
                pipeline.sqs.change_message_visibility(
                    QueueUrl=resources.queue_url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=0
                )
            deliver("redelivered after success")

            # 3./4. the worker opened the PR, then died before recording it
            crashing = CrashAfterPullRequest(
                container.dynamodb_table, retention_days=container.settings.request_retention_days
            )
            for label, resume in (
                ("redelivered after a crash (resume)", True),
                ("SNS duplicate after a crash (no resume)", False),
            ):
                crashing.crashed = False
                container.provisioner = Provisioner(crashing, container.publisher, container.lifecycle)
                submit(f"bench_crash_{int(resume)}")
                messages = pipeline.receive()
                answer = pipeline.deliver(messages)
                if not answer.get("batchItemFailures"):
                    raise RuntimeError("the simulated crash did not fail the record")
                container.provisioner = normal_worker
                if resume:
                    pipeline.settle(answer, messages)  # visible again: receive count 2
                else:
                    for message in messages:  # the duplicate is a new message: receive count 1
                        pipeline.sqs.send_message(QueueUrl=resources.queue_url, MessageBody=message.body)
                        pipeline.sqs.delete_message(
                            QueueUrl=resources.queue_url, ReceiptHandle=message.receipt_handle
                        )
                deliver(label)
            # 5./6. day 2 on the database of 1., once its PR is merged and applied: a resize
            # (one PR updating the file) and a dev decommission (one PR deleting it).
            created = container.store.get_database("dev", "bench_new")
            if created is None:
                raise RuntimeError("bench_new was not recorded")
            create = container.store.get(created.request_id)
            if create is None or create.pr_number is None:
                raise RuntimeError("bench_new has no pull request")
            github.merge_pull(create.pr_number)
            container.lifecycle.pull_request_closed(
                create.request_id, pr_number=create.pr_number, pr_url=create.pr_url, merged=True
            )
            main_file = github.files().get("terraform/envs/dev/rds_bench_new.tf")
            container.lifecycle.applied("dev", "bench_new", main_file)
            for label, action, body in (
                ("resize", "resize", {"allocated_storage": 50}),
                ("decommission (dev)", "decommission", {"confirm": "bench_new"}),
            ):
                change = call_api(
                    "POST",
                    f"/databases/dev/bench_new/{action}",
                    body=body,
                    resource=f"/databases/{{environment}}/{{database_name}}/{action}",
                    path_parameters={"environment": "dev", "database_name": "bench_new"},
                )
                if change.status != 202:
                    raise RuntimeError(f"{action} answered {change.status}: {change.body}")
                deliver(label)
                record = container.store.get(change.json["request_id"])
                if record is None or record.pr_number is None:
                    raise RuntimeError(f"the {action} opened no pull request")
                github.merge_pull(record.pr_number)
                container.lifecycle.pull_request_closed(
                    record.request_id, pr_number=record.pr_number, pr_url=record.pr_url, merged=True
                )
                container.lifecycle.applied(
                    "dev", "bench_new", github.files().get("terraform/envs/dev/rds_bench_new.tf")
                )
            pulls = len(github.pulls)
        finally:
            set_container(None)

    rows = [
        Row("github calls", "new request", counts["new request"], "", f"min {MINIMUM_NEW} (REST API)"),
        Row("github calls", "redelivered after success", counts["redelivered after success"], "", "min 0"),
        Row(
            "github calls",
            "redelivered after a crash (resume)",
            counts["redelivered after a crash (resume)"],
            "",
            "min 1 (find the PR)",
        ),
        Row(
            "github calls",
            "SNS duplicate after a crash",
            counts["SNS duplicate after a crash (no resume)"],
            "",
            "min 1",
            "receive count 1: not known to be a redelivery",
        ),
    ]
    rows += [
        Row(
            "github calls", "resize", counts["resize"], "", "min 5 (ref, branch, the file's sha, update, PR)"
        ),
        Row(
            "github calls",
            "decommission (dev)",
            counts["decommission (dev)"],
            "",
            "min 5 (ref, branch, the file's sha, delete, PR)",
        ),
    ]
    details = {
        "counts": counts,
        "calls": {label: [list(call) for call in made] for label, made in calls.items()},
        "pull_requests_opened": pulls,
        "requests": 4,
    }
    return rows, details
