"""Every Slack interaction through the real Lambda adapter, with signed requests, moto and the stand-in."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from backend.adapters.queue import ProvisionMessage
from backend.domain import RequestStatus
from bot import blocks
from local.slack_api import dm_channel_for
from tests.integration.slack.driver import (
    ADMIN,
    USER,
    SlackDriver,
    SlackHarness,
    modal_state,
    slack_harness,
)


def ack_body(response: dict[str, Any]) -> dict[str, Any]:
    assert response["statusCode"] == 200, response
    return json.loads(response["body"]) if response["body"] else {}


def ack_text(response: dict[str, Any]) -> str:
    body = ack_body(response)
    return str(body.get("text", "")) + json.dumps(body.get("blocks", []))


def queued(harness: SlackHarness) -> list[ProvisionMessage]:
    sqs = harness.container.sqs
    received = sqs.receive_message(QueueUrl=harness.resources.queue_url, MaxNumberOfMessages=10)
    return [ProvisionMessage.from_sqs_body(m["Body"]) for m in received.get("Messages", [])]


def table_items(harness: SlackHarness) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = harness.container.dynamodb_table.scan()["Items"]
    return items


def assert_nothing_happened(harness: SlackHarness) -> None:
    assert table_items(harness) == []
    assert queued(harness) == []
    assert harness.slack_api.calls == []


# --- /provision-rds <name> <engine> <env> ----------------------------------------------------


def test_command_submits_records_queues_and_confirms_in_the_dm_thread(harness: SlackHarness):
    response = harness.driver.command("orders postgres dev")

    body = ack_body(response)
    assert "accepted" in body["text"]
    records = harness.container.store.list_by_requester(USER)
    assert len(records) == 1
    record = records[0]
    assert record.request_id in body["text"]
    assert (record.database_name, record.database_engine.value, record.environment.value) == (
        "orders",
        "postgres",
        "dev",
    )
    assert record.source.value == "slack"
    assert record.requested_by == USER

    [message] = queued(harness)
    assert message.request_id == record.request_id
    assert message.requested_by == USER

    [dm] = harness.slack_api.calls_to("chat.postMessage")
    assert dm["channel"] == USER
    assert record.request_id in dm["text"]
    assert record.conversation is not None
    assert record.conversation.channel == dm_channel_for(USER)
    assert record.conversation.thread_ts is not None
    assert record.conversation.user_id == USER


def test_invalid_command_answers_field_errors_and_usage_and_changes_nothing(harness: SlackHarness):
    text = ack_text(harness.driver.command("Orders oracle dev"))

    # Fields are named by the form's labels, never by their ids.
    assert "*Database name* must start with a lowercase letter" in text
    assert "*Engine* must be one of mysql, postgres, aurora-mysql, aurora-postgresql (got 'oracle')" in text
    assert "database_name" not in text.replace(blocks.usage(), "")
    assert "database_engine" not in text.replace(blocks.usage(), "")
    assert blocks.usage() in text
    assert_nothing_happened(harness)


@pytest.mark.parametrize(
    ("command_text", "expected"),
    [
        ("orders", "*Engine* is required"),
        ("orders postgres dev extra", "expected 3 words, got 4"),
    ],
)
def test_wrong_word_count_is_explained(harness: SlackHarness, command_text: str, expected: str):
    text = ack_text(harness.driver.command(command_text))
    assert expected in text
    assert blocks.usage() in text
    assert_nothing_happened(harness)


@pytest.mark.parametrize(
    ("command_text", "meant"),
    [("lst", "list"), ("hlep", "help"), ("stats abc123", "status"), ("resise orders dev", "resize")],
)
def test_a_mistyped_command_is_answered_with_the_closest_one(
    harness: SlackHarness, command_text: str, meant: str
):
    text = ack_text(harness.driver.command(command_text))
    word = command_text.split(maxsplit=1)[0]
    assert f"Unknown command `{word}`. Did you mean `{meant}`?" in text
    assert_nothing_happened(harness)


def test_a_request_for_a_database_named_like_a_command_is_a_request(harness: SlackHarness):
    ack_body(harness.driver.command("lists postgres dev"))
    [record] = harness.container.store.list_by_requester(USER)
    assert record.database_name == "lists"


def test_same_database_twice_is_answered_with_the_existing_request(harness: SlackHarness):
    ack_body(harness.driver.command("orders postgres dev"))
    first = harness.container.store.list_by_requester(USER)[0]

    text = ack_text(harness.driver.command("orders mysql dev", user_id="U0OTHER"))

    assert "Not submitted" in text
    assert f"status {first.request_id}" in text
    assert harness.container.store.list_by_requester("U0OTHER") == []


def test_command_without_text_opens_the_modal_in_the_ack_path(harness: SlackHarness):
    response = harness.driver.command("")

    assert ack_body(response) == {}
    [opened] = harness.slack_api.calls_to("views.open")
    assert opened["trigger_id"].startswith("1.")
    assert opened["view"]["callback_id"] == "provision_rds"
    assert table_items(harness) == []


def test_modal_open_failure_is_told_in_the_ack(harness: SlackHarness):
    harness.slack_api.fail_next("views.open", status=200, error="expired_trigger_id", retry_after=None)
    assert "could not open the form" in ack_text(harness.driver.command(""))


def test_help(harness: SlackHarness):
    text = ack_text(harness.driver.command("help"))
    for word in blocks.COMMAND_WORDS:
        assert f"• `/provision-rds {word}" in text, word
    assert "/provision-rds status <request_id>" in text
    assert "db.t3.micro" in text
    assert_nothing_happened(harness)


def test_status_of_a_request(harness: SlackHarness):
    ack_body(harness.driver.command("orders postgres dev"))
    record = harness.container.store.list_by_requester(USER)[0]

    text = ack_text(harness.driver.command(f"status {record.request_id}"))
    assert record.request_id in text
    assert "accepted" in text

    assert "No request `nope` that you can see" in ack_text(harness.driver.command("status nope"))
    assert "exactly one request id" in ack_text(harness.driver.command("status"))


# --- who sees a request -------------------------------------------------------------------------

STRANGER = "U0STRANGER"
APPROVER = "U0APPROVER"


def status_answer(driver: SlackDriver, request_id: str, user_id: str) -> dict[str, Any]:
    return ack_body(driver.command(f"status {request_id}", user_id=user_id))


def test_someone_elses_request_looks_exactly_like_no_request_at_all():
    with slack_harness(platform_admins=(ADMIN,), prod_approvers=(APPROVER,)) as harness:
        ack_body(harness.driver.command("orders postgres dev"))
        [record] = harness.container.store.list_by_requester(USER)
        unknown = "00000000-0000-4000-8000-000000000000"
        assert len(unknown) == len(record.request_id)

        theirs = status_answer(harness.driver, record.request_id, STRANGER)
        nobodys = status_answer(harness.driver, unknown, STRANGER)

        assert json.dumps(theirs).replace(record.request_id, "<id>") == json.dumps(nobodys).replace(
            unknown, "<id>"
        )
        for detail in ("orders", "postgres", "accepted", USER):
            assert detail not in json.dumps(theirs)


@pytest.mark.parametrize("viewer", [USER, ADMIN, APPROVER], ids=["requester", "platform-admin", "approver"])
def test_the_requester_platform_admins_and_approvers_see_a_request(viewer: str):
    with slack_harness(platform_admins=(ADMIN,), prod_approvers=(APPROVER,)) as harness:
        ack_body(harness.driver.command("orders postgres dev"))
        [record] = harness.container.store.list_by_requester(USER)

        shown = json.dumps(status_answer(harness.driver, record.request_id, viewer))

        assert record.request_id in shown
        assert "`orders` (postgres, dev)" in shown
        assert f"<@{USER}>" in shown


# --- the modal --------------------------------------------------------------------------------


def test_valid_modal_submission_closes_and_confirms_in_the_dm(harness: SlackHarness):
    response = harness.driver.view_submission(
        modal_state(
            database_name="billing",
            database_engine="mysql",
            environment="dev",
            owner="payments-team",
            purpose="invoices",
        )
    )

    assert ack_body(response) == {}
    [record] = harness.container.store.list_by_requester(USER)
    assert (record.database_name, record.owner, record.purpose) == ("billing", "payments-team", "invoices")
    assert [m.request_id for m in queued(harness)] == [record.request_id]
    [dm] = harness.slack_api.calls_to("chat.postMessage")
    assert dm["channel"] == USER
    assert record.conversation is not None
    assert record.conversation.thread_ts is not None


@pytest.mark.parametrize(
    ("values", "block_id", "fragment"),
    [
        ({"database_name": "9lives"}, "database_name", "must start with a lowercase letter"),
        ({"database_name": "select"}, "database_name", "reserved word"),
        ({"database_engine": "oracle"}, "database_engine", "must be one of mysql, postgres"),
        ({"environment": "staging"}, "environment", "must be one of dev, prod"),
        ({"owner": "team;drop"}, "owner", "may contain only"),
        ({"purpose": "x" * 300}, "purpose", "at most 256 characters"),
    ],
)
def test_invalid_modal_input_is_answered_on_its_block(
    harness: SlackHarness, values: dict[str, str], block_id: str, fragment: str
):
    fields = {"database_name": "orders", "database_engine": "postgres", "environment": "dev", **values}

    body = ack_body(harness.driver.view_submission(modal_state(**fields)))

    assert body["response_action"] == "errors"
    assert list(body["errors"]) == [block_id]
    assert fragment in body["errors"][block_id]
    assert_nothing_happened(harness)


def test_modal_without_a_selection_reports_the_missing_block(harness: SlackHarness):
    body = ack_body(
        harness.driver.view_submission(
            modal_state(database_name="orders", database_engine=None, environment="dev")
        )
    )
    assert body == {"response_action": "errors", "errors": {"database_engine": "Engine is required"}}


# --- prod guard -------------------------------------------------------------------------------


def test_prod_guard_refuses_a_user_off_the_allowlist_and_submits_nothing(harness: SlackHarness):
    text = ack_text(harness.driver.command("ledger postgres prod"))
    assert "Not submitted" in text
    assert "may request prod databases" in text
    assert_nothing_happened(harness)

    body = ack_body(
        harness.driver.view_submission(
            modal_state(database_name="ledger", database_engine="postgres", environment="prod")
        )
    )
    assert body["response_action"] == "errors"
    assert "may request prod databases" in body["errors"]["environment"]
    assert_nothing_happened(harness)


def test_prod_guard_lets_an_allowlisted_user_through(harness: SlackHarness):
    assert "accepted" in ack_text(harness.driver.command("ledger postgres prod", user_id=ADMIN))
    [record] = harness.container.store.list_by_requester(ADMIN)
    assert record.environment.value == "prod"


# --- App Home ---------------------------------------------------------------------------------


def test_app_home_lists_the_users_requests(harness: SlackHarness):
    ack_body(harness.driver.command("orders postgres dev"))
    record = harness.container.store.list_by_requester(USER)[0]
    harness.container.store.transition(
        record.request_id,
        RequestStatus.PR_OPENED,
        pr_url="https://github.example/acme/infra/pull/7",
        pr_number=7,
    )
    harness.slack_api.clear()

    response = harness.driver.event(
        {
            "type": "app_home_opened",
            "user": USER,
            "channel": "D0HOME",
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
    )

    assert response["statusCode"] == 200
    [published] = harness.slack_api.calls_to("views.publish")
    assert published["user_id"] == USER
    shown = json.dumps(published["view"])
    assert record.request_id in shown
    assert "pr_opened" in shown
    assert "https://github.example/acme/infra/pull/7" in shown
    assert blocks.OPEN_MODAL_ACTION_ID in shown


def test_home_button_opens_the_modal(harness: SlackHarness):
    response = harness.driver.block_action(blocks.OPEN_MODAL_ACTION_ID)
    assert response["statusCode"] == 200
    [opened] = harness.slack_api.calls_to("views.open")
    assert opened["view"]["callback_id"] == "provision_rds"


# --- request authenticity ----------------------------------------------------------------------


def test_forged_signature_is_rejected_with_no_side_effects(harness: SlackHarness):
    response = harness.driver.command("orders postgres dev", signature="v0=" + "0" * 64)
    assert response["statusCode"] == 401
    assert_nothing_happened(harness)


def test_signature_with_the_wrong_secret_is_rejected(harness: SlackHarness):
    harness.driver.secret = "not-the-signing-secret"
    assert harness.driver.command("orders postgres dev")["statusCode"] == 401
    assert_nothing_happened(harness)


def test_stale_timestamp_is_rejected_even_when_correctly_signed(harness: SlackHarness):
    six_minutes_ago = int(time.time()) - 6 * 60
    response = harness.driver.command("orders postgres dev", timestamp=six_minutes_ago)
    assert response["statusCode"] == 401
    assert_nothing_happened(harness)


def test_no_auth_test_call_is_ever_made(harness: SlackHarness):
    ack_body(harness.driver.command("help"))
    ack_body(harness.driver.command("orders postgres dev"))
    assert harness.slack_api.calls_to("auth.test") == []


# --- the Lambda entry point itself ---------------------------------------------------------------


def test_lambda_handler_builds_the_app_from_process_settings(
    harness: SlackHarness, monkeypatch: pytest.MonkeyPatch
):
    import bot.app
    from backend.container import set_container
    from backend.settings import set_settings

    monkeypatch.setattr(bot.app, "_handler", None)
    set_settings(harness.settings)
    set_container(harness.container)
    try:
        driver = SlackDriver(bot.app.lambda_handler)
        assert driver.command("orders postgres dev", signature="v0=" + "0" * 64)["statusCode"] == 401
        assert "accepted" in ack_text(driver.command("orders postgres dev"))
    finally:
        set_settings(None)
        set_container(None)
    [record] = harness.container.store.list_by_requester(USER)
    [dm] = harness.slack_api.calls_to("chat.postMessage")
    assert dm["channel"] == USER
    assert record.conversation is not None
    assert record.conversation.thread_ts is not None


def test_queue_outage_is_answered_clearly_and_leaves_nothing_behind():
    with slack_harness(requests_topic_arn="arn:aws:sns:us-east-1:123456789012:no-such-topic") as harness:
        text = ack_text(harness.driver.command("orders postgres dev"))
        assert "nothing was recorded" in text
        body = ack_body(
            harness.driver.view_submission(
                modal_state(database_name="orders", database_engine="postgres", environment="dev")
            )
        )
        assert body["response_action"] == "errors"
        assert "nothing was recorded" in body["errors"]["database_name"]
        assert_nothing_happened(harness)
