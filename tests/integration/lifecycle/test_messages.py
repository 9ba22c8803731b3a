"""What the requester reads after the merge and after the apply, posted through the Slack stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from backend.adapters.slack import SlackSender, build_web_client
from backend.adapters.slack_notices import SlackNotices
from backend.domain import Engine, Environment, RequestRecord, RequestStatus, Source
from backend.services.notifications import RequesterNotifier
from local.slack_api import SlackApiStandIn
from tests.support.block_kit import message_for
from tests.support.slack_web_api import assert_app_calls_conform

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def notification(record: RequestRecord) -> dict[str, Any]:
    """What the requester is told when ``record`` reaches its status."""
    built = message_for(record)
    assert built is not None
    return built


def record(status: RequestStatus, **changes: object) -> RequestRecord:
    data: dict[str, object] = {
        "request_id": "req-7",
        "status": status,
        "database_name": "billing_ledger",
        "database_engine": Engine.POSTGRES,
        "environment": Environment("prod"),
        "requested_by": "U0REQUESTER",
        "source": Source.SLACK,
        "created_at": NOW,
        "updated_at": NOW,
        "pr_url": "https://github.example/acme/infra/pull/7",
        "pr_number": 7,
        "conversation": {"channel": "D0REQUESTER", "thread_ts": "1764000000.000100"},
    }
    data.update(changes)
    return RequestRecord.model_validate(data)


def slack_notifier(slack_api: SlackApiStandIn) -> RequesterNotifier:
    client = build_web_client("xoxb-test", base_url=slack_api.base_url)
    return RequesterNotifier(SlackNotices(SlackSender(client)))


@pytest.fixture
def slack_api() -> Iterator[SlackApiStandIn]:
    with SlackApiStandIn() as stand_in:
        yield stand_in
    # The notifier was this stand-in's only caller: known methods, every message with its text.
    assert_app_calls_conform([*stand_in.calls, *stand_in.rejected])


def test_merged_says_circleci_is_applying_it():
    message = notification(record(RequestStatus.MERGED))
    assert "CircleCI is applying it" in message["text"]
    assert "https://github.example/acme/infra/pull/7" in json.dumps(message["blocks"])


def test_applied_says_where_the_endpoint_and_the_password_secret_are():
    message = notification(record(RequestStatus.APPLIED))
    text = message["text"] + json.dumps(message["blocks"])
    assert message["text"].startswith("Your database is ready")
    assert "billing-ledger-prod" in text  # the RDS identifier
    assert "terraform output rds_billing_ledger_endpoint" in text
    assert "terraform/envs/prod" in text
    assert "Secrets Manager" in text
    assert "rds_billing_ledger_master_user_secret_arn" in text
    assert "master_user_secret_arn" in text


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (RequestStatus.MERGED, "CircleCI is applying it"),
        (RequestStatus.APPLIED, "Your database is ready"),
    ],
)
def test_slack_notifier_answers_in_the_requesters_thread(slack_api: SlackApiStandIn, status, expected):
    notifier = slack_notifier(slack_api)

    notifier.notify(record(status))

    (call,) = [c for c in slack_api.calls if c["method"] == "chat.postMessage"]
    assert call["args"]["channel"] == "D0REQUESTER"
    assert call["args"]["thread_ts"] == "1764000000.000100"
    assert expected in call["args"]["text"]


def test_api_requests_have_nobody_to_tell_in_slack(slack_api: SlackApiStandIn):
    notifier = slack_notifier(slack_api)
    notifier.notify(record(RequestStatus.APPLIED, source=Source.API, conversation=None))
    assert [c for c in slack_api.calls if c["method"] == "chat.postMessage"] == []
