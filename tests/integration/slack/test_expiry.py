"""Dev expiry as its requester lives it in Slack: the reminder once, Keep it, Decommission now, and
the expiry's own decommission, once even when sweeps repeat or overlap (docs/lifecycle.md)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from backend.adapters.slack_notices import DECOMMISSION_NOW_ACTION_ID, EXTEND_TTL_ACTION_ID
from backend.container import set_container
from backend.domain import Action, RequestStatus, Source
from backend.domain.expiry import EXPIRY_REQUESTER
from backend.handlers.sweeper import SweepFailed, lambda_handler
from backend.services.expiry import Outcome
from local.lambda_events import LambdaContext
from local.slack_api import dm_channel_for
from tests.integration.slack.driver import USER, SlackHarness, slack_harness

OTHER = "U0SOMEONEELSE"
APPROVER = "U0APPROVER1"
ORDERS = {"database_name": "orders", "database_engine": "postgres", "environment": "dev"}


@pytest.fixture
def harness() -> Iterator[SlackHarness]:
    with slack_harness(prod_approvers=(APPROVER,), approvals_channel="C0APPROVALS") as built:
        yield built


def today() -> date:
    return datetime.now(UTC).date()


def at(day: date) -> datetime:
    """The daily schedule's moment on ``day``."""
    return datetime(day.year, day.month, day.day, 7, tzinfo=UTC)


def created(harness: SlackHarness, *, ttl_days: int | None = None, name: str = "orders") -> str:
    """A dev database asked for in Slack, its create PR merged (what a decommission waits for)."""
    data: dict[str, Any] = {**ORDERS, "database_name": name}
    if ttl_days is not None:
        data["ttl_days"] = ttl_days
    submission = harness.container.intake.submit(data, requested_by=USER, source=Source.SLACK)
    for status in (RequestStatus.PR_OPENED, RequestStatus.MERGED):
        harness.container.store.transition(
            submission.request_id, status, pr_number=1, pr_url="https://x/pull/1"
        )
    return submission.request_id


def dms(harness: SlackHarness) -> list[dict[str, Any]]:
    return [c for c in harness.slack_api.calls_to("chat.postMessage") if c["channel"] == USER]


def reminder_at(harness: SlackHarness) -> tuple[str, str]:
    """Where the (last) message to the requester landed: their DM's id and its ts."""
    (entry, *_) = [
        call
        for call in reversed(harness.slack_api.calls)
        if call["method"] == "chat.postMessage" and call["args"]["channel"] == USER
    ]
    return dm_channel_for(USER), str(entry["ts"])


def expiry_of(harness: SlackHarness, name: str = "orders") -> date | None:
    database = harness.container.store.get_database("dev", name)
    assert database is not None
    return database.expires_on


def test_a_dev_database_expires_after_the_default_days_and_a_prod_one_never(harness: SlackHarness):
    request_id = created(harness)
    prod = harness.container.intake.submit(
        {**ORDERS, "environment": "prod"}, requested_by="U0ADMIN", source=Source.API
    )

    assert expiry_of(harness) == today() + timedelta(days=30)
    record = harness.container.store.get(request_id)
    assert record is not None
    assert record.expires_on == today() + timedelta(days=30)
    assert prod.record.expires_on is None
    prod_database = harness.container.store.get_database("prod", "orders")
    assert prod_database is not None
    assert prod_database.expires_on is None


def test_the_reminder_comes_once_reminder_days_before_with_both_buttons(harness: SlackHarness):
    created(harness)
    sweeper = harness.container.sweeper

    too_early = sweeper.sweep(at(today() + timedelta(days=26)))
    first = sweeper.sweep(at(today() + timedelta(days=27)))
    again = sweeper.sweep(at(today() + timedelta(days=28)))

    assert too_early.expiries == []
    assert [r.outcome for r in first.expiries] == [Outcome.REMINDED]
    assert [r.outcome for r in again.expiries] == [Outcome.ALREADY_DONE]
    (reminder,) = dms(harness)
    assert "expires in 3 days" in reminder["text"]
    buttons = {
        e["action_id"]: e["value"]
        for b in reminder["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }
    assert buttons == {EXTEND_TTL_ACTION_ID: "dev/orders", DECOMMISSION_NOW_ACTION_ID: "dev/orders"}


def test_keep_it_moves_the_expiry_without_a_pr_and_the_reminder_says_until_when(harness: SlackHarness):
    created(harness, ttl_days=2)
    harness.container.sweeper.sweep(at(today()))
    (reminder,) = dms(harness)
    channel, ts = reminder_at(harness)
    queued_before = len(harness.container.store.list_by_requester(EXPIRY_REQUESTER))

    answer = harness.driver.block_action(
        EXTEND_TTL_ACTION_ID, value="dev/orders", channel=channel, message_ts=ts
    )

    assert answer["statusCode"] == 200
    assert expiry_of(harness) == today() + timedelta(days=30)
    (update,) = harness.slack_api.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == (channel, ts)
    assert (today() + timedelta(days=30)).isoformat() in update["text"]
    assert "actions" not in json.dumps([b["type"] for b in update["blocks"]])
    assert len(harness.container.store.list_by_requester(EXPIRY_REQUESTER)) == queued_before
    assert "expires tomorrow" not in reminder["text"]
    # The new expiry gets its own reminder, once.
    later = harness.container.sweeper.sweep(at(today() + timedelta(days=27)))
    assert [r.outcome for r in later.expiries] == [Outcome.REMINDED]


def test_only_its_requester_or_an_admin_may_keep_it(harness: SlackHarness):
    created(harness, ttl_days=2)
    harness.container.sweeper.sweep(at(today()))
    channel, ts = reminder_at(harness)

    harness.driver.block_action(
        EXTEND_TTL_ACTION_ID, user_id=OTHER, value="dev/orders", channel=channel, message_ts=ts
    )

    assert expiry_of(harness) == today() + timedelta(days=2)
    (refusal,) = harness.slack_api.calls_to("chat.postEphemeral")
    assert refusal["user"] == OTHER
    assert "Only <@" in refusal["text"]
    assert harness.slack_api.calls_to("chat.update") == []


def test_decommission_now_opens_the_decommission_form(harness: SlackHarness):
    created(harness, ttl_days=2)
    harness.container.sweeper.sweep(at(today()))
    channel, ts = reminder_at(harness)

    harness.driver.block_action(
        DECOMMISSION_NOW_ACTION_ID, value="dev/orders", channel=channel, message_ts=ts
    )

    (opened,) = harness.slack_api.calls_to("views.open")
    assert opened["view"]["callback_id"] == "decommission_rds"
    assert json.loads(opened["view"]["private_metadata"]) == {"environment": "dev", "database_name": "orders"}


def test_at_expiry_one_decommission_is_asked_for_by_ttl_even_when_sweeps_repeat_or_overlap(
    harness: SlackHarness,
):
    created(harness, ttl_days=1)
    sweeper = harness.container.sweeper
    moment = at(today() + timedelta(days=1))
    reports = []

    def sweep() -> None:
        reports.append(sweeper.sweep(moment))

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    afterwards = sweeper.sweep(moment + timedelta(days=1))

    (decommission,) = harness.container.store.list_by_requester(EXPIRY_REQUESTER)
    assert (decommission.action, decommission.source) == (Action.DECOMMISSION, Source.SCHEDULE)
    assert decommission.status is RequestStatus.ACCEPTED
    outcomes = sorted(r.outcome.value for report in reports for r in report.expiries)
    assert outcomes.count(Outcome.DECOMMISSION_REQUESTED.value) == 1
    assert set(outcomes) <= {
        Outcome.DECOMMISSION_REQUESTED.value,
        Outcome.DEFERRED.value,
        Outcome.ALREADY_DONE.value,
    }
    assert [r.outcome for r in afterwards.expiries] == [Outcome.ALREADY_DONE]
    # A sweep as of an earlier day (rdsctl sweep --now lets time run backwards) reminds nobody of an
    # expiry whose decommission is already asked for.
    earlier = sweeper.sweep(moment - timedelta(days=1))
    assert [r.outcome for r in earlier.expiries] == [Outcome.ALREADY_DONE]
    # The requester hears it in their DM, and the decommission's own messages follow in that thread.
    expired = [m for m in dms(harness) if "expired" in m["text"]]
    assert len(expired) == 1
    assert decommission.request_id in json.dumps(expired[0]["blocks"])
    current = harness.container.store.get(decommission.request_id)
    assert current is not None
    assert current.conversation is not None
    assert current.conversation.thread_ts is not None


def test_a_change_in_flight_defers_the_expiry_to_the_next_sweep(harness: SlackHarness):
    created(harness, ttl_days=1)
    harness.container.intake.submit_resize(
        "dev", "orders", {"allocated_storage": 50}, requested_by=USER, source=Source.SLACK
    )

    report = harness.container.sweeper.sweep(at(today() + timedelta(days=1)))

    (result,) = report.expiries
    assert result.outcome is Outcome.DEFERRED
    assert "in flight" in result.detail
    assert harness.container.store.list_by_requester(EXPIRY_REQUESTER) == []


def test_the_sweep_ends_approvals_nobody_decided_on_in_time(harness: SlackHarness):
    waiting = harness.container.intake.submit(
        {**ORDERS, "environment": "prod"}, requested_by="api", source=Source.API
    )

    early = harness.container.sweeper.sweep(waiting.record.created_at + timedelta(hours=71))
    late = harness.container.sweeper.sweep(waiting.record.created_at + timedelta(hours=73))

    assert early.approvals_timed_out == []
    assert late.approvals_timed_out == [waiting.request_id]
    record = harness.container.store.get(waiting.request_id)
    assert record is not None
    assert record.status is RequestStatus.REJECTED


def test_the_sweeper_function_fails_after_doing_the_rest_and_a_retry_finishes(harness: SlackHarness):
    created(harness, ttl_days=2, name="orders")
    created(harness, ttl_days=2, name="billing")
    harness.slack_api.fail_next("chat.postMessage", status=503, error="service_unavailable", times=1)
    event = {"time": f"{today().isoformat()}T07:00:00Z"}
    set_container(harness.container)  # the function uses this process's container
    try:
        with pytest.raises(SweepFailed, match="1 step"):
            lambda_handler(event, LambdaContext("rds-provisioner-sweeper"))
        retried = lambda_handler(event, LambdaContext("rds-provisioner-sweeper"))
    finally:
        set_container(None)

    # The retry reminds the one whose DM failed (its claim was given back) and only that one.
    assert sorted(r["outcome"] for r in retried["expiries"]) == ["already_done", "reminded"]
    assert len([m for m in dms(harness) if "expires" in m["text"]]) == 2
