"""Provisioner.process: one PR and one notification per request, whatever SQS does.

Real RequestStore on moto's in-process DynamoDB; a recording publisher and notifier; the stub
renderer (same signatures as backend.render) so the worker's own logic is what is tested.
"""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from backend.adapters.queue import ProvisionMessage, RequestTopic
from backend.adapters.store import RequestStore
from backend.domain import (
    DatabaseAlreadyExists,
    PermanentError,
    RequestStatus,
    RetryableError,
    Source,
)
from backend.services.intake import IntakeService
from backend.services.lifecycle import LifecycleService
from backend.services.provisioner import Provisioner, ProvisionOutcome
from local.resources import AwsResources
from tests.support.aws import REGION, RecordingNotifier, RecordingPublisher, StubRenderer, aws_resources  # noqa: F401

ORDERS = {"database_name": "orders", "database_engine": "postgres", "environment": "dev"}
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class CapturingSns:
    def __init__(self) -> None:
        self.messages: list[ProvisionMessage] = []

    def publish(self, **kwargs):
        self.messages.append(ProvisionMessage.from_sqs_body(kwargs["Message"]))
        return {"MessageId": f"m{len(self.messages)}"}


@pytest.fixture
def store(aws_resources: AwsResources) -> RequestStore:  # noqa: F811
    table = boto3.resource("dynamodb", region_name=REGION).Table(aws_resources.table_name)
    return RequestStore(table, retention_days=30, clock=lambda: NOW)


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def lifecycle(store, publisher, notifier) -> LifecycleService:
    return LifecycleService(store, notifier, RequestTopic(CapturingSns(), "arn:topic"), publisher)


@pytest.fixture
def worker(store, publisher, lifecycle) -> Provisioner:
    return Provisioner(store, publisher, lifecycle, labels=("rds-provisioner",), renderer=StubRenderer())


@pytest.fixture
def submit(store):
    sns = CapturingSns()
    intake = IntakeService(store, RequestTopic(sns, "arn:topic"), clock=lambda: NOW)

    def submit_one(data=ORDERS, requested_by="U1") -> ProvisionMessage:
        intake.submit(data, requested_by=requested_by, source=Source.SLACK)
        return sns.messages[-1]

    return submit_one


def test_opens_the_pr_records_it_and_notifies(worker, store, publisher, notifier, submit):
    message = submit()

    result = worker.process(message)

    assert result.outcome is ProvisionOutcome.PR_OPENED
    assert result.notified
    (change,) = publisher.changes
    assert change.branch == "rds/dev/orders"
    assert change.file_path == "terraform/envs/dev/rds_orders.tf"
    assert change.labels == ("rds-provisioner",)
    assert change.title == "Add postgres database orders (dev)"
    assert message.request_id in change.commit_message
    record = store.get(message.request_id)
    assert record is not None
    assert record.status is RequestStatus.PR_OPENED
    assert (record.pr_url, record.pr_number) == ("https://github.example/acme/infra/pull/1", 1)
    assert notifier.events == [("pr_opened", message.request_id)]


def test_three_deliveries_one_pr_one_notification(worker, publisher, notifier, submit):
    message = submit()

    outcomes = [worker.process(message, redelivered=n > 0).outcome for n in range(3)]

    assert outcomes == [ProvisionOutcome.PR_OPENED, ProvisionOutcome.SKIPPED, ProvisionOutcome.SKIPPED]
    assert len(publisher.changes) == 1
    assert notifier.events == [("pr_opened", message.request_id)]


def test_an_existing_database_is_rejected_told_and_its_name_freed(worker, store, publisher, notifier, submit):
    message = submit()
    publisher.errors.append(DatabaseAlreadyExists("terraform/envs/dev/rds_orders.tf already exists on main"))

    result = worker.process(message)

    assert result.outcome is ProvisionOutcome.REJECTED
    record = store.get(message.request_id)
    assert record is not None
    assert record.status is RequestStatus.REJECTED
    assert record.error == "terraform/envs/dev/rds_orders.tf already exists on main"
    assert notifier.events == [("request_failed", message.request_id)]
    assert store.get_database("dev", "orders") is None
    # And a redelivery changes nothing and tells nobody twice.
    assert worker.process(message, redelivered=True).outcome is ProvisionOutcome.SKIPPED
    assert len(notifier.events) == 1


def test_a_permanent_error_fails_the_request_and_notifies(worker, store, publisher, notifier, submit):
    message = submit()
    publisher.errors.append(PermanentError("bad credentials"))

    assert worker.process(message).outcome is ProvisionOutcome.FAILED

    record = store.get(message.request_id)
    assert record is not None
    assert (record.status, record.error) == (RequestStatus.FAILED, "bad credentials")
    assert notifier.events == [("request_failed", message.request_id)]


def test_a_retryable_error_propagates_and_changes_nothing(worker, store, publisher, notifier, submit):
    message = submit()
    publisher.errors.append(RetryableError("GitHub 502", retry_after_seconds=30))

    with pytest.raises(RetryableError):
        worker.process(message)

    assert store.get(message.request_id).status is RequestStatus.ACCEPTED
    assert notifier.events == []
    # The redelivery succeeds and tells the publisher it is one.
    assert worker.process(message, redelivered=True).outcome is ProvisionOutcome.PR_OPENED
    assert publisher.resumes == [False, True]
    assert notifier.events == [("pr_opened", message.request_id)]


def test_a_failed_notification_is_retried_by_the_redelivery_without_a_second_pr(
    worker, store, publisher, notifier, submit
):
    message = submit()
    notifier.fail_next = 1

    with pytest.raises(ConnectionError):
        worker.process(message)
    assert store.get(message.request_id).status is RequestStatus.PR_OPENED

    result = worker.process(message, redelivered=True)

    assert (result.outcome, result.notified) == (ProvisionOutcome.SKIPPED, True)
    assert len(publisher.changes) == 1
    assert notifier.events == [("pr_opened", message.request_id)]


def test_a_message_for_an_unknown_request_is_skipped(worker, publisher, notifier, submit, store):
    message = submit()
    ghost = message.model_copy(update={"request_id": "never-recorded"})

    assert worker.process(ghost).outcome is ProvisionOutcome.SKIPPED
    assert publisher.changes == []
    assert notifier.events == []


def test_a_renderer_writing_the_wrong_path_fails_the_request(store, publisher, lifecycle, submit):
    class WrongPath(StubRenderer):
        def render_database(self, request, **details):
            rendered = super().render_database(request, **details)
            return type(rendered)("terraform/envs/dev/shared.tf", rendered.content)

    message = submit()
    result = Provisioner(store, publisher, lifecycle, renderer=WrongPath()).process(message)

    assert result.outcome is ProvisionOutcome.FAILED
    assert publisher.changes == []
