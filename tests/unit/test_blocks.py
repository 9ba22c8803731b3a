"""Block Kit builders: the shapes Slack requires and the ids the listeners depend on."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import pytest

from backend.domain import (
    Action,
    DatabaseRecord,
    Engine,
    Environment,
    FieldError,
    RequestRecord,
    RequestStatus,
    Source,
    Step,
    parse_request,
    policy_for,
)
from bot import blocks
from tests.support.block_kit import message_for

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


def notification(record: RequestRecord) -> dict[str, Any]:
    """What the requester is told when ``record`` reaches its status."""
    built = message_for(record)
    assert built is not None
    return built


def record(**changes: object) -> RequestRecord:
    data: dict[str, object] = {
        "request_id": "req-123",
        "status": RequestStatus.ACCEPTED,
        "database_name": "orders",
        "database_engine": Engine.POSTGRES,
        "environment": Environment("dev"),
        "requested_by": "U123",
        "source": Source.SLACK,
        "created_at": NOW,
        "updated_at": NOW,
    }
    data.update(changes)
    return RequestRecord.model_validate(data)


def all_text(payload: object) -> str:
    return json.dumps(payload)


def test_modal_has_the_contract_ids_and_static_selects():
    view = blocks.provision_modal()
    assert view["callback_id"] == "provision_rds"
    by_id = {block["block_id"]: block for block in view["blocks"]}
    inputs = [block_id for block_id, block in by_id.items() if block["type"] == "input"]
    assert inputs == ["database_name", "database_engine", "environment", "owner", "purpose"]
    # Under the environment: what a new database costs a month there, per engine.
    estimates = by_id["estimates"]["elements"][0]["text"]
    assert "*dev*: PostgreSQL $15.44, MySQL $14.71" in estimates
    assert "*prod*: PostgreSQL $116.62" in estimates
    assert by_id["database_engine"]["element"]["type"] == "static_select"
    assert by_id["environment"]["element"]["type"] == "static_select"
    engines = by_id["database_engine"]["element"]["options"]
    assert [o["value"] for o in engines] == ["postgres", "mysql", "aurora-postgresql", "aurora-mysql"]
    assert [o["text"]["text"] for o in engines] == [
        "PostgreSQL",
        "MySQL",
        "Aurora PostgreSQL",
        "Aurora MySQL",
    ]
    assert {o["value"] for o in by_id["environment"]["element"]["options"]} == {"dev", "prod"}
    assert by_id["owner"]["optional"] is True
    assert by_id["purpose"]["optional"] is True
    assert "optional" not in by_id["database_name"]


def state(**values: str | None) -> dict[str, dict[str, dict[str, object]]]:
    result: dict[str, dict[str, dict[str, object]]] = {}
    for block_id, value in values.items():
        if block_id in {"database_engine", "environment"}:
            option = (
                None if value is None else {"value": value, "text": {"type": "plain_text", "text": value}}
            )
            result[block_id] = {"value": {"type": "static_select", "selected_option": option}}
        else:
            result[block_id] = {"value": {"type": "plain_text_input", "value": value}}
    return result


def test_modal_values_reads_inputs_and_selects_and_drops_empty_ones():
    values = state(
        database_name=" orders ", database_engine="postgres", environment="dev", owner=None, purpose=""
    )
    assert blocks.modal_values(values) == {
        "database_name": "orders",
        "database_engine": "postgres",
        "environment": "dev",
    }
    # What the modal yields is exactly what the intake's parser accepts.
    assert parse_request(blocks.modal_values(values)).database_name == "orders"


def test_modal_values_ignores_blocks_the_modal_does_not_have():
    values = state(database_name="orders")
    values["is_admin"] = {"value": {"type": "plain_text_input", "value": "yes"}}
    assert blocks.modal_values(values) == {"database_name": "orders"}


def test_modal_errors_put_each_message_on_its_block():
    errors = blocks.modal_errors(
        [
            FieldError("database_name", "database_name must start with a lowercase letter (a-z)"),
            FieldError("environment", "environment must be one of dev, prod"),
            FieldError("body", "the request body must be a JSON object"),
        ]
    )
    assert set(errors) == {"database_name", "environment"}
    assert "lowercase letter" in errors["database_name"]
    assert "JSON object" in errors["database_name"]


def test_invalid_command_lists_every_field_error_and_the_usage_line():
    message = blocks.invalid_command(
        [FieldError("database_engine", "database_engine must be one of mysql, postgres (got 'oracle')")],
        text="orders oracle dev",
    )
    assert "*Engine* must be one of mysql, postgres (got 'oracle')" in message["text"]
    assert blocks.usage() in message["text"]
    assert blocks.usage() in all_text(message["blocks"])


def test_slack_names_fields_by_their_form_labels():
    message = blocks.invalid_command(
        [
            FieldError("database_name", "database_name must start with a lowercase letter"),
            FieldError("ttl_days", "ttl_days must be between 1 and 90 (got 0)"),
            FieldError("text", "expected 3 words, got 4 (unexpected: x)"),
        ]
    )
    assert "• *Database name* must start with a lowercase letter" in message["text"]
    assert "• *Days to keep it* must be between 1 and 90" in message["text"]
    assert "• expected 3 words, got 4" in message["text"]
    errors = blocks.modal_errors([FieldError("database_engine", "database_engine is required")])
    assert errors == {"database_engine": "Engine is required"}


@pytest.mark.parametrize(
    ("source", "requested_by", "shown"),
    [
        (Source.SLACK, "U123", "Requested by <@U123> on 2026-11-24 10:30 UTC"),
        (Source.API, "api", "Requested by an HTTP API client on"),
        (Source.API, "k3y1d", "Requested by an HTTP API client `k3y1d` on"),
        (Source.SCHEDULE, "ttl", "Requested by the expiry sweep on"),
    ],
)
def test_status_says_who_asked_in_words(source: Source, requested_by: str, shown: str):
    text = blocks.status_message(record(source=source, requested_by=requested_by))["text"]
    assert shown in text
    if source is not Source.SLACK:
        assert "<@" not in text


def test_user_text_is_escaped_in_mrkdwn():
    message = blocks.dm_confirmation(record(owner="a<b>&c", purpose="x"))
    assert "a&lt;b&gt;&amp;c" in all_text(message["blocks"])
    assert "<b>" not in all_text(message["blocks"])


def test_submitted_names_the_request_id_and_how_to_follow_it():
    message = blocks.submitted(record())
    assert "req-123" in message["text"]
    assert "/provision-rds status req-123" in all_text(message["blocks"])


@pytest.mark.parametrize(
    ("environment", "instance_class"),
    [(Environment("dev"), "db.t3.micro"), (Environment("prod"), "db.t3.medium")],
)
def test_pr_opened_has_link_database_engine_environment_and_instance_class(environment, instance_class):
    message = notification(
        record(status=RequestStatus.PR_OPENED, environment=environment, pr_url="https://example.test/pr/7")
    )
    text = all_text(message)
    assert "https://example.test/pr/7" in message["text"]
    for expected in ("orders", "postgres", environment.value, instance_class, "<https://example.test/pr/7|"):
        assert expected in text


def test_failed_and_rejected_say_why_and_what_next():
    failed = notification(record(status=RequestStatus.FAILED, error="GitHub said no"))
    rejected = notification(record(status=RequestStatus.REJECTED, error="already exists"))
    assert "failed" in failed["text"]
    assert "GitHub said no" in failed["text"]
    assert "was rejected" in rejected["text"]
    assert "pick another name" in all_text(rejected["blocks"])
    assert "req-123" in all_text(failed["blocks"])


def test_home_lists_requests_with_status_and_pr_links_and_the_modal_button():
    view = blocks.home_view(
        [
            record(request_id="r2", status=RequestStatus.PR_OPENED, pr_url="https://example.test/pr/2"),
            record(request_id="r1", database_name="users", status=RequestStatus.FAILED, error="boom"),
        ]
    )
    text = all_text(view)
    assert view["type"] == "home"
    assert blocks.OPEN_MODAL_ACTION_ID in text
    assert text.index("r2") < text.index("r1")
    assert "<https://example.test/pr/2|pull request>" in text
    assert "pr_opened" in text
    assert "boom" in text


def test_home_without_requests_says_so():
    assert "No requests yet" in all_text(blocks.home_view([]))


def test_status_message_shows_status_error_and_pr():
    message = blocks.status_message(
        record(status=RequestStatus.REJECTED, error="exists", pr_url="https://example.test/pr/9")
    )
    assert "rejected" in message["text"]
    assert "exists" in message["text"]
    assert "https://example.test/pr/9" in message["text"]


def test_a_request_waiting_for_github_says_until_when():
    waiting = (
        "waiting for GitHub's rate limit until 2026-11-24 10:31:15 UTC (GitHub secondary rate limit (403))"
    )

    message = blocks.status_message(record(last_error=waiting))

    assert f"*accepted*: queued; the pull request is being prepared ({waiting})" in message["text"]
    # Once it moved on, the last attempt's trouble is history.
    assert (
        waiting
        not in blocks.status_message(record(status=RequestStatus.PR_OPENED, last_error=waiting))["text"]
    )


def test_long_texts_stay_under_slack_limits():
    message = notification(record(status=RequestStatus.FAILED, error="x" * 5000))
    for block in message["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000


# --- Aurora (issue #17) ------------------------------------------------------------------------


def aurora_database(environment: Environment, **changes: object) -> DatabaseRecord:
    sizing = policy_for(environment).new_sizing(Engine.AURORA_MYSQL)
    data: dict[str, object] = {
        "database_name": "carts",
        "database_engine": Engine.AURORA_MYSQL,
        "environment": environment,
        "request_id": "req-1",
        "requested_by": "U123",
        "created_at": NOW,
        **asdict(sizing),
    }
    data.update(changes)
    return DatabaseRecord.model_validate(data)


def selects(view: dict[str, Any]) -> dict[str, list[str]]:
    return {
        block["block_id"]: [o["value"] for o in block["element"]["options"]]
        for block in view["blocks"]
        if block["type"] == "input"
    }


def test_resize_modal_of_aurora_dev_offers_only_other_capacity_maxima():
    view = blocks.resize_modal(aurora_database(Environment("dev")))
    assert selects(view) == {"max_capacity": ["4", "8"]}  # not the 2 it has, no class, no storage
    assert "db.serverless up to 2 ACU" in json.dumps(view["blocks"][0])


def test_resize_modal_of_aurora_prod_offers_only_other_classes():
    view = blocks.resize_modal(aurora_database(Environment("prod")))
    assert selects(view) == {"instance_class": ["db.r6g.xlarge", "db.r6g.2xlarge"]}


def test_resize_values_carry_the_capacity_as_a_number():
    state = {"max_capacity": {"value": {"selected_option": {"value": "8"}}}}
    assert blocks.resize_values(state) == {"max_capacity": 8}
    state = {"max_capacity": {"value": {"selected_option": {"value": "0.5"}}}}
    assert blocks.resize_values(state) == {"max_capacity": 0.5}
    # A tampered value is left for the intake's validation to refuse.
    state = {"max_capacity": {"value": {"selected_option": {"value": "lots"}}}}
    assert blocks.resize_values(state) == {"max_capacity": "lots"}


def test_applied_message_of_aurora_names_the_writer_and_the_reader_endpoint():
    message = notification(
        record(
            status=RequestStatus.APPLIED,
            step=Step.CREATE,
            database_name="carts",
            database_engine=Engine.AURORA_MYSQL,
        )
    )
    text = message["text"] + json.dumps(message["blocks"])
    assert "Aurora cluster `carts-dev`" in message["text"]
    assert "terraform output rds_carts_endpoint" in text
    assert "terraform output rds_carts_reader_endpoint" in text
    assert "Writer endpoint" in text
    assert "Reader endpoint" in text
    assert "rds_carts_master_user_secret_arn" in text


def test_an_instances_applied_message_has_one_endpoint():
    message = notification(record(status=RequestStatus.APPLIED, step=Step.CREATE))
    assert "reader_endpoint" not in message["text"] + json.dumps(message["blocks"])


def test_aurora_resize_messages_say_the_capacity_change():
    resized = record(
        status=RequestStatus.PR_OPENED,
        action=Action.RESIZE,
        step=Step.RESIZE,
        database_engine=Engine.AURORA_MYSQL,
        instance_class="db.serverless",
        max_capacity=8,
        previous_instance_class="db.serverless",
        previous_max_capacity=2,
        pr_url="https://github.example/pull/3",
    )
    opened = notification(resized)
    assert "up to 2 ACU -> up to 8 ACU" in opened["text"]
    assert "Aurora storage grows by itself" in json.dumps(opened["blocks"])
    applied = notification(resized.model_copy(update={"status": RequestStatus.APPLIED}))
    assert "without a restart" in json.dumps(applied["blocks"])


def test_help_and_usage_name_every_engine():
    help_text = blocks.help_message()["text"]
    for engine in Engine:
        assert engine.value in blocks.usage()
        assert engine.value in help_text
    assert "Serverless v2 (0.5-2 ACU)" in help_text


def test_a_resize_refusal_goes_on_a_block_the_modal_shows():
    aurora = blocks.resize_modal(aurora_database(Environment("dev")))
    assert blocks.resize_block_ids(aurora) == ("max_capacity",)
    assert blocks.resize_block_ids({"blocks": []}) == ("instance_class", "allocated_storage", "max_capacity")


@pytest.mark.parametrize(
    "refusal",
    [
        blocks.not_allowed,
        lambda reason: blocks.already_requested(reason, "r-1"),
        blocks.not_found,
        blocks.decision_refused,
        blocks.change_refused,
    ],
)
def test_a_refusal_renders_its_mentions_and_escapes_everything_else(refusal: Any):
    reason = "Only <@U0ASKER>, who asked for <!channel> & <https://evil|x>, or <@W0ADMIN> may change it."

    shown = json.dumps(refusal(reason)["blocks"])

    assert "<@U0ASKER>" in shown
    assert "<@W0ADMIN>" in shown
    assert "&lt;!channel&gt; &amp; &lt;https://evil|x&gt;" in shown
    assert "<!channel>" not in shown
