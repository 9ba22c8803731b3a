"""Status notices through SlackNotices over SlackSender, against the stand-in: the right channel
and thread, 429s retried."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from slack_sdk import WebClient

from backend.adapters.slack import SlackSender, build_web_client
from backend.adapters.slack_notices import SlackNotices
from backend.domain import Engine, Environment, RequestRecord, RequestStatus, RetryableError, Source
from backend.domain.conversation import Conversation, ConversationKind
from backend.domain.notices import Audience, Happening, Notice
from backend.services.notifications import RequesterNotifier
from local.slack_api import SlackApiStandIn, dm_channel_for
from tests.integration.slack.driver import BOT_TOKEN, USER, SlackHarness
from tests.support.slack_web_api import assert_app_calls_conform

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PR_URL = "https://github.example/acme/infra/pull/42"


@pytest.fixture
def slack_api() -> Iterator[SlackApiStandIn]:
    with SlackApiStandIn() as stand_in:
        yield stand_in
    # The notifier was this stand-in's only caller: known methods, every message with its text.
    assert_app_calls_conform([*stand_in.calls, *stand_in.rejected])


@pytest.fixture
def client(slack_api: SlackApiStandIn) -> WebClient:
    return build_web_client(BOT_TOKEN, base_url=slack_api.base_url, max_rate_limit_wait_seconds=5)


def notifier(client: WebClient) -> RequesterNotifier:
    return RequesterNotifier(SlackNotices(SlackSender(client)))


def record(**changes: object) -> RequestRecord:
    data: dict[str, object] = {
        "request_id": "req-42",
        "status": RequestStatus.PR_OPENED,
        "database_name": "orders",
        "database_engine": Engine.POSTGRES,
        "environment": Environment("prod"),
        "requested_by": USER,
        "source": Source.SLACK,
        "created_at": NOW,
        "updated_at": NOW,
        "pr_url": PR_URL,
        "pr_number": 42,
        "conversation": {"channel": "D0DM", "thread_ts": "1764000000.000100"},
    }
    data.update(changes)
    return RequestRecord.model_validate(data)


def test_pr_opened_is_posted_in_the_confirmation_thread(client: WebClient, slack_api: SlackApiStandIn):
    notifier(client).notify(record())

    [posted] = slack_api.calls_to("chat.postMessage")
    assert posted["channel"] == "D0DM"
    assert posted["thread_ts"] == "1764000000.000100"
    assert PR_URL in posted["text"]
    shown = str(posted["blocks"])
    for expected in ("orders", "postgres", "prod", "db.t3.medium", PR_URL):
        assert expected in shown


def test_without_a_confirmation_it_goes_to_the_users_dm(client: WebClient, slack_api: SlackApiStandIn):
    notifier(client).notify(record(conversation=None))

    [posted] = slack_api.calls_to("chat.postMessage")
    assert posted["channel"] == USER
    assert "thread_ts" not in posted


def test_failure_says_why_and_what_next(client: WebClient, slack_api: SlackApiStandIn):
    notifier(client).notify(
        record(status=RequestStatus.REJECTED, pr_url=None, error="orders already exists in prod")
    )

    [posted] = slack_api.calls_to("chat.postMessage")
    assert posted["thread_ts"] == "1764000000.000100"
    assert "orders already exists in prod" in posted["text"]
    assert "pick another name" in str(posted["blocks"])


def test_api_requests_get_no_slack_message(client: WebClient, slack_api: SlackApiStandIn):
    api_notifier = notifier(client)
    api_notifier.notify(record(source=Source.API, requested_by="api-key:ci", conversation=None))
    api_notifier.notify(
        record(source=Source.API, status=RequestStatus.FAILED, error="boom", conversation=None)
    )
    assert slack_api.calls == []


def test_a_request_whose_conversation_is_known_is_answered_there(
    client: WebClient, slack_api: SlackApiStandIn
):
    # The sweeper's decommission of an expired database (requested by "ttl") continues the
    # conversation its expiry message began in the requester's DM.
    notifier(client).notify(
        record(
            source=Source.SCHEDULE,
            requested_by="ttl",
            conversation={"channel": "D0OWNER", "thread_ts": "1.2"},
        )
    )

    [posted] = slack_api.calls_to("chat.postMessage")
    assert (posted["channel"], posted["thread_ts"]) == ("D0OWNER", "1.2")


def test_a_429_is_retried_after_retry_after(client: WebClient, slack_api: SlackApiStandIn):
    slack_api.fail_next("chat.postMessage", status=429, retry_after=0)

    notifier(client).notify(record())

    assert [r["status"] for r in slack_api.rejected] == [429]
    assert len(slack_api.calls_to("chat.postMessage")) == 1


def test_a_rate_limit_longer_than_the_budget_is_left_to_sqs(client: WebClient, slack_api: SlackApiStandIn):
    slack_api.fail_next("chat.postMessage", status=429, retry_after=30)

    with pytest.raises(RetryableError) as raised:
        notifier(client).notify(record())

    assert raised.value.retry_after_seconds == 30
    assert len(slack_api.rejected) == 1  # declined to sleep 30 s inside the worker
    assert slack_api.calls_to("chat.postMessage") == []


def test_slack_outage_is_retryable(client: WebClient, slack_api: SlackApiStandIn):
    slack_api.fail_next("chat.postMessage", status=503, error="service_unavailable", retry_after=None)
    with pytest.raises(RetryableError):
        notifier(client).notify(record())


def test_a_permanent_slack_error_does_not_fail_the_request(client: WebClient, slack_api: SlackApiStandIn):
    slack_api.fail_next("chat.postMessage", status=200, error="channel_not_found", retry_after=None)
    notifier(client).notify(record())  # logged, not raised: the PR exists regardless
    assert slack_api.calls_to("chat.postMessage") == []


def test_unreachable_slack_is_retryable():
    with SlackApiStandIn() as stand_in:
        base_url = stand_in.base_url
    client = build_web_client(BOT_TOKEN, base_url=base_url, timeout=2)
    client.retry_handlers = []  # no connection retries: the refused connection is the point
    with pytest.raises(RetryableError):
        notifier(client).notify(record())


def test_command_then_worker_reply_lands_in_the_dm_thread(harness: SlackHarness):
    """The path a real request takes: confirmation posted by the bot, result posted by the worker."""
    assert harness.driver.command("orders postgres dev")["statusCode"] == 200
    [submitted] = harness.container.store.list_by_requester(USER)
    [confirmation] = harness.slack_api.calls_to("chat.postMessage")
    opened = harness.container.store.transition(
        submitted.request_id, RequestStatus.PR_OPENED, pr_url=PR_URL, pr_number=42
    ).record

    notifier_client = build_web_client(BOT_TOKEN, base_url=harness.slack_api.base_url)
    notifier(notifier_client).notify(opened)

    reply = harness.slack_api.calls_to("chat.postMessage")[-1]
    assert confirmation["channel"] == USER
    assert reply["channel"] == dm_channel_for(USER)
    assert opened.conversation is not None
    assert reply["thread_ts"] == opened.conversation.thread_ts
    assert PR_URL in reply["text"]


def test_a_notice_begins_a_conversation_that_later_notices_follow(
    client: WebClient, slack_api: SlackApiStandIn
):
    notices = SlackNotices(SlackSender(client), api_channel="C0API")
    asked = record(status=RequestStatus.AWAITING_APPROVAL, conversation=None)

    to_approvers = notices.send(
        Notice(Happening.APPROVAL_ASKED, to=Audience.channel("C0APPROVALS"), request=asked)
    )
    to_requester = notices.send(Notice(Happening.MERGED, to=Audience(person=USER), request=asked))
    to_api = notices.send(Notice(Happening.MERGED, request=asked))

    posted = [call for call in slack_api.calls if call["method"] == "chat.postMessage"]
    assert [call["args"]["channel"] for call in posted] == ["C0APPROVALS", USER, "C0API"]
    assert to_approvers is not None
    assert (to_approvers.kind, to_approvers.thread_ts) == (ConversationKind.CHANNEL, posted[0]["ts"])
    assert to_requester == Conversation(
        channel=dm_channel_for(USER), thread_ts=posted[1]["ts"], user_id=USER, kind=ConversationKind.DIRECT
    )
    assert to_api is not None
    assert to_api.kind is ConversationKind.CHANNEL
    # The approvers' message is replaced in place once decided.
    decided = asked.model_copy(update={"status": RequestStatus.ACCEPTED, "approved_by": "U0APPROVER"})
    notices.replace(to_approvers, Notice(Happening.APPROVAL_DECIDED, request=decided))
    (update,) = slack_api.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == (to_approvers.channel, to_approvers.thread_ts)
    assert "Approved by <@U0APPROVER>" in update["text"]


def test_with_nobody_to_tell_a_notice_goes_only_to_the_log(client: WebClient, slack_api: SlackApiStandIn):
    assert SlackNotices(SlackSender(client)).send(Notice(Happening.MERGED, request=record())) is None
    assert slack_api.calls == []
