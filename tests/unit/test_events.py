import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from backend.adapters.queue import ProvisionMessage
from backend.domain import Source, parse_request


def _message() -> ProvisionMessage:
    return ProvisionMessage(
        request_id="req-1",
        request=parse_request(
            {"database_name": "orders", "database_engine": "postgres", "environment": "prod"}
        ),
        requested_by="U123",
        source=Source.SLACK,
        submitted_at=datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
    )


def test_round_trip_through_raw_sqs_body() -> None:
    message = _message()
    assert ProvisionMessage.from_sqs_body(message.to_json()) == message


def test_sns_envelope_is_unwrapped_when_raw_delivery_is_off() -> None:
    message = _message()
    envelope = json.dumps({"Type": "Notification", "MessageId": "m", "Message": message.to_json()})
    assert ProvisionMessage.from_sqs_body(envelope) == message


def test_attributes_allow_filtering_by_environment_and_engine() -> None:
    attributes = _message().sns_attributes()
    assert attributes["environment"]["StringValue"] == "prod"
    assert attributes["database_engine"]["StringValue"] == "postgres"
    assert attributes["action"] == {"DataType": "String", "StringValue": "create"}
    assert attributes["schema_version"] == {"DataType": "Number", "StringValue": "2"}


def test_a_version_1_message_still_in_a_queue_is_a_create() -> None:
    data = json.loads(_message().to_json())
    data["schema_version"] = 1
    for added_in_2 in ("action", "step"):
        data.pop(added_in_2)
    message = ProvisionMessage.from_sqs_body(json.dumps(data))
    assert (message.action.value, message.step.value) == ("create", "create")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(schema_version=3),
        lambda d: d.update(unexpected="x"),
        lambda d: d["request"].update(database_name="Bad"),
        lambda d: d.pop("request_id"),
    ],
    ids=["future-schema", "unknown-field", "invalid-request", "missing-id"],
)
def test_messages_breaking_the_contract_are_refused(mutate) -> None:
    data = json.loads(_message().to_json())
    mutate(data)
    with pytest.raises(ValidationError):
        ProvisionMessage.from_sqs_body(json.dumps(data))
