"""Prod approvals through the real signed handler: who may decide, approve once, deny with a
reason, and an API prod request that waits too (docs/lifecycle.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from backend.domain import RequestStatus, Source
from local.slack_api import dm_channel_for
from tests.integration.slack.driver import ADMIN, SlackHarness, modal_state, slack_harness

APPROVER = "U0APPROVER1"
SECOND_APPROVER = "U0APPROVER2"
CHANNEL = "C0APPROVALS"
LEDGER = {"database_name": "ledger", "database_engine": "postgres", "environment": "prod"}


@pytest.fixture
def harness() -> Iterator[SlackHarness]:
    # ADMIN may ask for prod (PROD_ALLOWED_SLACK_USERS) and is an approver too: not of their own.
    with slack_harness(prod_approvers=(APPROVER, SECOND_APPROVER, ADMIN), approvals_channel=CHANNEL) as built:
        yield built


def queued(harness: SlackHarness) -> int:
    sqs = boto3.client("sqs", region_name="us-east-1")
    attributes = sqs.get_queue_attributes(
        QueueUrl=harness.resources.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def asked(harness: SlackHarness) -> str:
    """A prod request from Slack; returns its id."""
    answer = harness.driver.command("ledger postgres prod", user_id=ADMIN)
    assert "prod approver" in json.loads(answer["body"])["text"]
    (record,) = harness.container.store.list_by_requester(ADMIN)
    return record.request_id


def status(harness: SlackHarness, request_id: str) -> RequestStatus:
    record = harness.container.store.get(request_id)
    assert record is not None
    return record.status


def ephemerals(harness: SlackHarness) -> list[dict[str, Any]]:
    return harness.slack_api.calls_to("chat.postEphemeral")


def test_a_prod_request_waits_for_an_approver_and_nothing_is_queued(harness: SlackHarness):
    request_id = asked(harness)

    (approval,) = [c for c in harness.slack_api.calls_to("chat.postMessage") if c["channel"] == CHANNEL]
    buttons = {
        e["action_id"]: e["value"]
        for b in approval["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }
    assert status(harness, request_id) is RequestStatus.AWAITING_APPROVAL
    assert queued(harness) == 0
    assert buttons == {"approve_request": request_id, "deny_request": request_id}
    assert "ledger" in approval["text"]
    assert f"<@{ADMIN}>" in json.dumps(approval["blocks"])
    # What approving commits the company to: a Multi-AZ db.t3.medium with 50 GiB.
    assert "*Estimated cost:* $116.62/month" in json.dumps(approval["blocks"])
    # The name is claimed meanwhile.
    assert harness.container.store.get_database("prod", "ledger") is not None


@pytest.mark.parametrize(
    ("clicker", "why"),
    [("U0NOTANAPPROVER", "Only the prod approvers"), (ADMIN, "another approver has to decide")],
    ids=["not-an-approver", "the-requester"],
)
def test_only_an_approver_who_did_not_ask_may_decide(harness: SlackHarness, clicker: str, why: str):
    request_id = asked(harness)

    harness.driver.block_action("approve_request", user_id=clicker, value=request_id, channel=CHANNEL)
    harness.driver.block_action("deny_request", user_id=clicker, value=request_id, channel=CHANNEL)

    assert status(harness, request_id) is RequestStatus.AWAITING_APPROVAL
    assert queued(harness) == 0
    assert [e["user"] for e in ephemerals(harness)] == [clicker, clicker]
    assert all(why in e["text"] for e in ephemerals(harness))
    assert harness.slack_api.calls_to("views.open") == []  # no deny form for them
    assert harness.slack_api.calls_to("chat.update") == []


def test_approve_queues_it_once_and_says_who_in_the_message(harness: SlackHarness):
    request_id = asked(harness)

    harness.driver.block_action("approve_request", user_id=APPROVER, value=request_id, channel=CHANNEL)
    harness.driver.block_action("approve_request", user_id=SECOND_APPROVER, value=request_id, channel=CHANNEL)

    record = harness.container.store.get(request_id)
    assert record is not None
    assert record.status is RequestStatus.ACCEPTED
    assert (record.approved_by, record.approved_at is not None) == (APPROVER, True)
    assert queued(harness) == 1  # a double click queues nothing more
    (update,) = harness.slack_api.calls_to("chat.update")
    assert update["channel"] == CHANNEL
    assert f"Approved by <@{APPROVER}>" in update["text"]
    assert not [b for b in update["blocks"] if b["type"] == "actions"]  # no buttons left
    told = [c for c in harness.slack_api.calls_to("chat.postMessage") if "approved" in c["text"]]
    assert [c["channel"] for c in told] == [dm_channel_for(ADMIN)]


def test_deny_asks_why_rejects_frees_the_name_and_tells_the_requester(harness: SlackHarness):
    request_id = asked(harness)

    harness.driver.block_action("deny_request", user_id=APPROVER, value=request_id, channel=CHANNEL)
    (form,) = [call["view"] for call in harness.slack_api.calls_to("views.open")]
    empty = harness.driver.view_submission(
        {}, user_id=APPROVER, callback_id=form["callback_id"], private_metadata=request_id
    )
    harness.driver.view_submission(
        modal_state(reason="prod needs a capacity review first"),
        user_id=APPROVER,
        callback_id=form["callback_id"],
        private_metadata=form["private_metadata"],
    )
    late = harness.driver.block_action(
        "approve_request", user_id=SECOND_APPROVER, value=request_id, channel=CHANNEL
    )

    assert form["callback_id"] == "deny_request"
    assert [b.get("block_id") for b in form["blocks"]][-1] == "reason"
    assert "say why" in json.loads(empty["body"])["errors"]["reason"]
    record = harness.container.store.get(request_id)
    assert record is not None
    assert record.status is RequestStatus.REJECTED
    assert (record.denied_by, record.approved_by) == (APPROVER, None)
    assert "prod needs a capacity review first" in (record.error or "")
    assert late["statusCode"] == 200
    assert queued(harness) == 0
    assert harness.container.store.get_database("prod", "ledger") is None  # the name is free
    (update,) = harness.slack_api.calls_to("chat.update")
    assert f"Denied by <@{APPROVER}>" in update["text"]
    told = [
        c for c in harness.slack_api.calls_to("chat.postMessage") if c["channel"] == dm_channel_for(ADMIN)
    ]
    assert any("capacity review" in c["text"] for c in told)


def test_an_api_prod_request_waits_too_and_a_dev_one_does_not(harness: SlackHarness):
    intake = harness.container.intake

    prod = intake.submit(LEDGER, requested_by="api", source=Source.API)
    dev = intake.submit({**LEDGER, "environment": "dev"}, requested_by="api", source=Source.API)

    assert (prod.record.status, prod.sns_message_id) == (RequestStatus.AWAITING_APPROVAL, None)
    assert dev.record.status is RequestStatus.ACCEPTED
    assert queued(harness) == 1
    # The approvers read who asked in words, not as a mention of a user called "api".
    (approval,) = [c for c in harness.slack_api.calls_to("chat.postMessage") if c["channel"] == CHANNEL]
    shown = json.dumps(approval["blocks"])
    assert "*Requested by:* an HTTP API client" in shown
    assert "<@api>" not in shown


def test_requests_nobody_decided_on_in_time_end_rejected(harness: SlackHarness):
    request_id = asked(harness)
    approvals = harness.container.approvals
    record = harness.container.store.get(request_id)
    assert record is not None

    early = approvals.expire(record.created_at + timedelta(hours=71), timeout=timedelta(hours=72))
    ended = approvals.expire(record.created_at + timedelta(hours=73), timeout=timedelta(hours=72))
    again = approvals.expire(record.created_at + timedelta(hours=74), timeout=timedelta(hours=72))

    assert early == []
    assert [r.request_id for r in ended] == [request_id]
    assert again == []
    assert status(harness, request_id) is RequestStatus.REJECTED
    assert "no approver decided within 72 hours" in (harness.container.store.get(request_id).error or "")  # type: ignore[union-attr]


def test_a_deny_form_submitted_after_someone_approved_changes_nothing_and_says_who(harness: SlackHarness):
    request_id = asked(harness)
    # B opens the deny form; A approves meanwhile; B submits the form.
    harness.driver.block_action("deny_request", user_id=SECOND_APPROVER, value=request_id, channel=CHANNEL)
    (form,) = [call["view"] for call in harness.slack_api.calls_to("views.open")]
    harness.driver.block_action("approve_request", user_id=APPROVER, value=request_id, channel=CHANNEL)
    answer = harness.driver.view_submission(
        modal_state(reason="not this quarter"),
        user_id=SECOND_APPROVER,
        callback_id=form["callback_id"],
        private_metadata=form["private_metadata"],
    )

    assert json.loads(answer["body"])["errors"]["reason"] == (
        f"This request was already approved by <@{APPROVER}>."
    )
    record = harness.container.store.get(request_id)
    assert record is not None
    assert (record.status, record.approved_by, record.denied_by) == (RequestStatus.ACCEPTED, APPROVER, None)
    assert queued(harness) == 1
    assert harness.container.store.get_database("prod", "ledger") is not None  # still claimed


def test_an_approval_after_a_deny_is_refused_to_the_clicker_and_the_message_reads_once(harness: SlackHarness):
    request_id = asked(harness)
    harness.container.approvals.deny(request_id, APPROVER, "needs a capacity review")

    harness.driver.block_action("approve_request", user_id=SECOND_APPROVER, value=request_id, channel=CHANNEL)

    (refusal,) = ephemerals(harness)
    assert f"already denied by <@{APPROVER}>" in json.dumps(refusal)
    assert status(harness, request_id) is RequestStatus.REJECTED
    (update,) = harness.slack_api.calls_to("chat.update")
    assert f"Denied by <@{APPROVER}>: needs a capacity review" in update["text"]
    assert "denied by" not in update["text"].split(": ", 1)[1]  # said once, not twice
    told = [
        c for c in harness.slack_api.calls_to("chat.postMessage") if c["channel"] == dm_channel_for(ADMIN)
    ]
    # The approver is a mention (<@U...>, not escaped into text); their words stay text.
    assert any(f"denied by <@{APPROVER}>: needs a capacity review" in json.dumps(c["blocks"]) for c in told)
