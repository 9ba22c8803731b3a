"""Shared AWS test support: moto resources, a wired Container, recording fakes, queue helpers.

Use from any test folder::

    from tests.support.aws import aws_resources, pipeline  # noqa: F401  (pytest fixtures)

    def test_something(pipeline):
        answer = pipeline.post({"database_name": "orders", ...})
        pipeline.run_worker()
        assert pipeline.notifier.events == [("pr_opened", answer.json["request_id"])]

``pipeline`` runs everything in-process inside moto's ``mock_aws``: the real table, topic, queue
+ DLQ and SNS->SQS subscription (``ensure_resources``), the real handlers (installed through
``set_container``), a LocalGitPublisher on a tmp repository and a RecordingNotifier.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from backend.adapters.gitops.base import ChangeSet, PullRequestPublisher, PullRequestRef, Withdrawn
from backend.container import Container, set_container
from backend.domain import ProvisionRequest, RequestRecord, RequestStatus, Sizing, Step
from backend.services.notifications import Notifier
from backend.services.provisioner import Provisioner, Renderer
from backend.settings import Settings
from local.lambda_events import LambdaContext, QueueMessage, apigw_proxy_event, queue_messages, sqs_event
from local.resources import AwsResources, ensure_resources

REGION = "us-east-1"
API_KEY = "test-api-key"
TERRAFORM_SEED = Path(__file__).resolve().parents[2] / "terraform"


# --- fakes ------------------------------------------------------------------------------------
class RecordingNotifier:
    """A Notifier that remembers what it was told; ``fail_next`` makes the next calls raise."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.records: list[RequestRecord] = []
        self.fail_next = 0
        self._lock = threading.Lock()

    # The kind of message each status gets, as the events name it.
    KINDS: ClassVar[dict[RequestStatus, str]] = {
        RequestStatus.ACCEPTED: "accepted",
        RequestStatus.PR_OPENED: "pr_opened",
        RequestStatus.MERGED: "pr_merged",
        RequestStatus.APPLIED: "database_applied",
        RequestStatus.FAILED: "request_failed",
        RequestStatus.REJECTED: "request_failed",
    }

    def notify(self, record: RequestRecord) -> None:
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                raise ConnectionError("notifier down")
            self.events.append((self.KINDS[record.status], record.request_id))
            self.records.append(record)


@dataclass
class RecordingPublisher:
    """A PullRequestPublisher that behaves like the real ones: one PR per request, found again.

    ``errors`` are raised, in order, by the next calls (before anything is "created").
    """

    base_url: str = "https://github.example/acme/infra/pull"
    changes: list[ChangeSet] = field(default_factory=list)
    resumes: list[bool] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    pulls: dict[str, PullRequestRef] = field(default_factory=dict)
    # (number, reason) of each pull request withdrawn.
    withdrawn: list[tuple[int, str]] = field(default_factory=list)

    worst_call_seconds: float = 1.0

    def open_pull_request(
        self, change: ChangeSet, *, resume: bool = False, deadline: float | None = None
    ) -> PullRequestRef:
        self.resumes.append(resume)
        if self.errors:
            raise self.errors.pop(0)
        self.changes.append(change)
        existing = self.pulls.get(change.request_id)
        if existing is not None:
            return PullRequestRef(existing.url, existing.number, existing.branch, created=False)
        number = len(self.pulls) + 1
        ref = PullRequestRef(f"{self.base_url}/{number}", number, change.branch, created=True)
        self.pulls[change.request_id] = ref
        return ref

    def withdraw(self, branch: str, request_id: str, reason: str) -> Withdrawn:
        ref = self.pulls.get(request_id)
        if ref is None or ref.branch != branch:
            return Withdrawn.NONE
        self.withdrawn.append((ref.number, reason))
        return Withdrawn.CLOSED


@dataclass(frozen=True)
class _Rendered:
    path: str
    content: str


class StubRenderer:
    """A renderer with ``backend.render``'s signatures, for tests about the worker's own logic."""

    def render_database(
        self,
        request: ProvisionRequest,
        *,
        request_id: str,
        requested_by: str,
        sizing: Sizing | None = None,
        unprotecting: bool = False,
    ) -> _Rendered:
        content = (
            f'module "{request.module_name}" {{\n'
            f'  source     = "../../modules/rds"\n'
            f'  identifier = "{request.rds_identifier}"\n'
            f'  engine     = "{request.database_engine.value}"\n'
            f"}}\n# request {request_id} by {requested_by}\n"
        )
        return _Rendered(request.file_path, content)

    def pull_request_text(self, record: RequestRecord) -> tuple[str, str]:
        engine, environment = record.database_engine.value, record.environment.value
        verb = "Add" if record.step is Step.CREATE else record.step.value.capitalize()
        title = f"{verb} {engine} database {record.database_name} ({environment})"
        return (
            title,
            f"Requested by {record.requested_by} via {record.source.value} (request {record.request_id}).",
        )


# --- HTTP answers -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiAnswer:
    status: int
    headers: Mapping[str, str]
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def call_api(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: Mapping[str, str | None] | None = None,
    api_key: str | None = API_KEY,
    query_string: str = "",
    resource: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
) -> ApiAnswer:
    """Drive ``backend.handlers.api.lambda_handler`` with an API Gateway proxy event."""
    from backend.handlers import api

    merged: dict[str, str | None] = {"Content-Type": "application/json"}
    if api_key is not None:
        merged["X-Api-Key"] = api_key
    merged.update(headers or {})
    raw = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
    event = apigw_proxy_event(
        method,
        path,
        headers={k: v for k, v in merged.items() if v is not None},
        body=raw,
        query_string=query_string,
        resource=resource,
        path_parameters=path_parameters,
    )
    response = api.lambda_handler(event, LambdaContext(function_name="api"))
    # The REST resolver answers with multiValueHeaders; flatten them like API Gateway does.
    answer_headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items() if v}
    answer_headers.update(response.get("headers") or {})
    return ApiAnswer(response["statusCode"], answer_headers, response.get("body") or "")


# --- the pipeline -----------------------------------------------------------------------------
def make_container(
    resources: AwsResources,
    *,
    publisher: PullRequestPublisher | None = None,
    notifier: Notifier | None = None,
    gitops_path: Path | None = None,
    renderer: Renderer | None = None,
    **overrides: Any,
) -> Container:
    """A Container on ``resources`` with the given publisher and notifier.

    Without a publisher it uses a LocalGitPublisher on ``gitops_path`` (seeded from terraform/).
    """
    settings = resources.configure(Settings(aws_region=REGION, api_key=API_KEY)).with_overrides(**overrides)
    if gitops_path is not None:
        settings = settings.with_overrides(local_gitops_path=gitops_path)
    container = Container(settings)
    if publisher is None and gitops_path is not None:
        from backend.adapters.gitops.local_git import LocalGitPublisher

        local = LocalGitPublisher(
            gitops_path, base_branch=settings.github_base_branch, pr_base_url=settings.local_pr_base_url
        )
        seed = TERRAFORM_SEED if TERRAFORM_SEED.is_dir() else gitops_path.parent / "empty-seed"
        seed.mkdir(exist_ok=True)
        local.ensure_repository(seed)
        publisher = local
    # cached_property values live in the instance dict: setting them is how tests inject.
    if publisher is not None:
        container.publisher = publisher
    if notifier is not None:
        container.notifier = notifier
    if renderer is not None:
        container.provisioner = Provisioner(
            container.store,
            container.publisher,
            container.lifecycle,
            labels=settings.github_pr_labels,
            renderer=renderer,
        )
    return container


@dataclass
class Pipeline:
    resources: AwsResources
    container: Container
    notifier: RecordingNotifier

    @property
    def sqs(self) -> Any:
        return self.container.sqs

    def post(self, body: Any, *, idempotency_key: str | None = None, **kwargs: Any) -> ApiAnswer:
        headers = dict(kwargs.pop("headers", None) or {})
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return call_api("POST", "/provision-rds", body=body, headers=headers, **kwargs)

    def get(self, request_id: str, **kwargs: Any) -> ApiAnswer:
        return call_api(
            "GET",
            f"/requests/{request_id}",
            resource="/requests/{request_id}",
            path_parameters={"request_id": request_id},
            **kwargs,
        )

    def receive(self, *, max_messages: int = 10, queue_url: str | None = None) -> list[QueueMessage]:
        """Receive what is visible now (moto delivers SNS->SQS synchronously on publish)."""
        response = self.sqs.receive_message(
            QueueUrl=queue_url or self.resources.queue_url,
            MaxNumberOfMessages=max_messages,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        return queue_messages(response)

    def queue_depth(self, queue_url: str | None = None) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url or self.resources.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def deliver(self, messages: list[QueueMessage], *, timeout_seconds: float = 60.0) -> dict[str, Any]:
        """Run the worker handler on ``messages`` as one SQS batch; returns its answer."""
        from backend.handlers import worker

        event = sqs_event(messages, queue_arn=self.resources.queue_arn, region=REGION)
        context = LambdaContext(function_name="worker", timeout_seconds=timeout_seconds)
        answer: dict[str, Any] = worker.lambda_handler(event, context)
        return answer

    def settle(
        self, answer: dict[str, Any], messages: list[QueueMessage], *, queue_url: str | None = None
    ) -> None:
        """Do what Lambda's SQS integration does: delete the successes, release the failures."""
        failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
        url = queue_url or self.resources.queue_url
        for message in messages:
            if message.message_id in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=0
                )
            else:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message.receipt_handle)

    def run_until_dead(self) -> int:
        """Deliver until SQS gives up and moves the message to the DLQ; the number of receives."""
        receives = 0
        while messages := self.receive():
            receives += 1
            self.settle(self.deliver(messages), messages)
        return receives

    def run_dead_letters(self) -> list[dict[str, Any]]:
        """Run the dead-letter function on what the DLQ holds, settled like Lambda's SQS integration."""
        from backend.handlers import dead_letters

        answers: list[dict[str, Any]] = []
        while messages := self.receive(queue_url=self.resources.dlq_url):
            event = sqs_event(messages, queue_arn=self.resources.dlq_arn, region=REGION)
            answer: dict[str, Any] = dead_letters.lambda_handler(
                event, LambdaContext(function_name="dead-letters")
            )
            answers.append(answer)
            self.settle(answer, messages, queue_url=self.resources.dlq_url)
            if answer.get("batchItemFailures"):
                break
        return answers

    def run_worker(self) -> list[dict[str, Any]]:
        """Feed the queue to the worker until it is empty or only failures are left; the answers."""
        answers: list[dict[str, Any]] = []
        while messages := self.receive():
            answer = self.deliver(messages)
            answers.append(answer)
            self.settle(answer, messages)
            if answer.get("batchItemFailures"):
                break
        return answers

    def item_count(self) -> int:
        return int(self.container.dynamodb_table.scan(Select="COUNT")["Count"])


class SerialMotoServer:
    """A moto server on 127.0.0.1 that handles ONE request at a time.

    moto's backends are not thread-safe (a DynamoDB transaction snapshots and restores whole
    tables), so concurrent clients against ``mock_aws`` or moto's threaded server can corrupt
    each other. Serialising requests at the server gives the per-request atomicity DynamoDB
    has, while the clients (threads) still race for real at the HTTP level.
    """

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self._server = make_server(
            "127.0.0.1",
            0,
            DomainDispatcherApplication(create_backend_app),
            threaded=False,
            request_handler=MotoRequestHandler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> SerialMotoServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        import urllib.request

        # Forget this server's resources: moto's backends are process-global.
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def moto_server() -> Iterator[SerialMotoServer]:
    """A real moto endpoint (for concurrency tests and anything that needs a URL)."""
    with SerialMotoServer() as server:
        yield server


@pytest.fixture
def aws_resources() -> Iterator[AwsResources]:
    """The pipeline's AWS resources inside moto (in-process; no network)."""
    from moto import mock_aws

    with mock_aws():
        yield ensure_resources(region=REGION, endpoint_url=None)


@pytest.fixture
def pipeline(aws_resources: AwsResources, tmp_path: Path) -> Iterator[Pipeline]:
    """The whole pipeline in-process, installed as this process's container."""
    notifier = RecordingNotifier()
    container = make_container(aws_resources, notifier=notifier, gitops_path=tmp_path / "gitops")
    set_container(container)
    try:
        yield Pipeline(aws_resources, container, notifier)
    finally:
        set_container(None)
