"""IntakeService: validation, access, idempotency, claim and the all-or-nothing publish.

The store is the real RequestStore on moto's in-process DynamoDB (no network); SNS is a small
recording fake so a failing publish can be scripted.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from backend.adapters.queue import ProvisionMessage, RequestTopic
from backend.adapters.store import RequestStore
from backend.domain import (
    AlreadyRequested,
    IdempotencyConflict,
    NotAllowed,
    QueueUnavailable,
    RequestStatus,
    Source,
    ValidationFailed,
)
from backend.services.intake import IntakeService
from local.resources import AwsResources
from tests.support.aws import REGION, aws_resources  # noqa: F401

ORDERS = {"database_name": "orders", "database_engine": "postgres", "environment": "dev"}
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class FakeSns:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []
        self.failures: list[Exception] = []
        self._ids = itertools.count(1)

    def publish(self, **kwargs: Any) -> dict[str, Any]:
        if self.failures:
            raise self.failures.pop(0)
        self.published.append(kwargs)
        return {"MessageId": f"msg-{next(self._ids)}"}


@pytest.fixture
def store(aws_resources: AwsResources) -> RequestStore:  # noqa: F811
    table = boto3.resource("dynamodb", region_name=REGION).Table(aws_resources.table_name)
    return RequestStore(table, retention_days=30, clock=lambda: NOW)


@pytest.fixture
def sns() -> FakeSns:
    return FakeSns()


@pytest.fixture
def intake(store: RequestStore, sns: FakeSns) -> IntakeService:
    ids = (f"req-{n}" for n in itertools.count(1))
    return IntakeService(
        store,
        RequestTopic(sns, "arn:aws:sns:us-east-1:123456789012:topic"),
        prod_allowed_slack_users=("U_ADMIN",),
        clock=lambda: NOW,
        new_id=lambda: next(ids),
    )


def items(store: RequestStore) -> list[dict[str, Any]]:
    return list(store._table.table.scan()["Items"])


def test_accepts_records_claims_and_publishes_one_message(intake, store, sns):
    submission = intake.submit(ORDERS, requested_by="U1", source=Source.SLACK)

    assert submission.request_id == "req-1"
    assert submission.sns_message_id == "msg-1"
    assert not submission.replayed
    record = store.get("req-1")
    assert record is not None
    assert record.status is RequestStatus.ACCEPTED
    assert (record.requested_by, record.source, record.created_at) == ("U1", Source.SLACK, NOW)
    assert record.branch == "rds/dev/orders"
    assert record.file_path == "terraform/envs/dev/rds_orders.tf"
    database = store.get_database("dev", "orders")
    assert database is not None
    assert database.request_id == record.request_id

    (published,) = sns.published
    message = ProvisionMessage.from_sqs_body(published["Message"])
    assert message.request_id == "req-1"
    assert message.request.database_name == "orders"
    assert message.requested_by == "U1"
    assert published["MessageAttributes"]["environment"]["StringValue"] == "dev"
    assert published["MessageAttributes"]["database_engine"]["StringValue"] == "postgres"


def test_invalid_input_changes_nothing(intake, store, sns):
    with pytest.raises(ValidationFailed) as caught:
        intake.submit(
            {**ORDERS, "database_name": "Orders", "colour": "red"}, requested_by="U1", source=Source.API
        )

    fields = {e.field for e in caught.value.errors}
    assert fields == {"database_name", "colour"}
    assert sns.published == []
    assert items(store) == []


def test_prod_needs_the_allowlist_for_slack_users(intake, store, sns):
    with pytest.raises(NotAllowed):
        intake.submit({**ORDERS, "environment": "prod"}, requested_by="U1", source=Source.SLACK)
    assert sns.published == []
    assert items(store) == []

    assert intake.submit({**ORDERS, "environment": "prod"}, requested_by="U_ADMIN", source=Source.SLACK)
    # API callers are authorised by their API key, not the Slack allowlist.
    assert intake.submit(
        {**ORDERS, "database_name": "billing", "environment": "prod"}, requested_by="k1", source=Source.API
    )


def test_a_second_request_for_the_same_database_is_refused_with_the_first_id(intake, sns):
    intake.submit(ORDERS, requested_by="U1", source=Source.SLACK)

    with pytest.raises(AlreadyRequested) as caught:
        intake.submit({**ORDERS, "database_engine": "mysql"}, requested_by="U2", source=Source.API)

    assert caught.value.existing_request_id == "req-1"
    assert len(sns.published) == 1
    # Same name in the other environment is another database.
    assert intake.submit({**ORDERS, "environment": "prod"}, requested_by="k", source=Source.API).request_id


def test_same_idempotency_key_and_body_replays_without_a_second_message(intake, sns):
    first = intake.submit(ORDERS, requested_by="k1", source=Source.API, idempotency_key="key-1")
    # Key order and formatting do not matter; the content does.
    again = intake.submit(
        dict(reversed(list(ORDERS.items()))), requested_by="k1", source=Source.API, idempotency_key="key-1"
    )

    assert again.replayed
    assert (again.request_id, again.sns_message_id) == (first.request_id, first.sns_message_id)
    assert len(sns.published) == 1


@pytest.mark.parametrize(
    ("body", "requested_by"),
    [({**ORDERS, "database_engine": "mysql"}, "k1"), (ORDERS, "someone-else")],
    ids=["other-body", "other-caller"],
)
def test_same_idempotency_key_for_another_request_is_a_conflict(intake, sns, body, requested_by):
    intake.submit(ORDERS, requested_by="k1", source=Source.API, idempotency_key="key-1")

    with pytest.raises(IdempotencyConflict):
        intake.submit(body, requested_by=requested_by, source=Source.API, idempotency_key="key-1")
    assert len(sns.published) == 1


def test_a_malformed_idempotency_key_is_a_field_error(intake, store):
    with pytest.raises(ValidationFailed) as caught:
        intake.submit(ORDERS, requested_by="k1", source=Source.API, idempotency_key="has space")
    assert [e.field for e in caught.value.errors] == ["Idempotency-Key"]
    assert items(store) == []


@pytest.mark.parametrize(
    "failure",
    [
        ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "Publish"),
        EndpointConnectionError(endpoint_url="https://sns.us-east-1.amazonaws.com"),
    ],
    ids=["sns-error", "unreachable"],
)
def test_a_failed_publish_leaves_nothing_recorded(intake, store, sns, failure):
    sns.failures.append(failure)

    with pytest.raises(QueueUnavailable):
        intake.submit(ORDERS, requested_by="k1", source=Source.API, idempotency_key="key-1")

    assert items(store) == []  # no claim, no record, no idempotency key
    # So the same call can simply be retried.
    retry = intake.submit(ORDERS, requested_by="k1", source=Source.API, idempotency_key="key-1")
    assert not retry.replayed
    assert len(sns.published) == 1


def test_a_failed_request_frees_the_name_for_a_new_attempt(intake, store):
    first = intake.submit(ORDERS, requested_by="U1", source=Source.SLACK)
    store.transition(first.request_id, RequestStatus.FAILED, error="GitHub said no")

    second = intake.submit(ORDERS, requested_by="U1", source=Source.SLACK)

    assert second.request_id != first.request_id
    database = store.get_database("dev", "orders")
    assert database is not None
    assert database.request_id == second.request_id


def test_the_message_round_trips_through_json(intake, sns):
    intake.submit(
        {**ORDERS, "owner": "payments", "purpose": "order history"}, requested_by="U1", source=Source.SLACK
    )
    body = json.loads(sns.published[0]["Message"])
    assert body["schema_version"] == 2
    assert (body["action"], body["step"]) == ("create", "create")
    assert body["request"] == {**ORDERS, "owner": "payments", "purpose": "order history"}
