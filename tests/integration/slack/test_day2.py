"""Day 2 in Slack through the real signed handler: list, the resize and decommission modals, App
Home's buttons, and who may change a database."""

from __future__ import annotations

import json
from typing import Any

from backend.domain import RequestStatus
from tests.integration.slack.driver import USER, SlackHarness, modal_state, slack_harness

OTHER = "U0SOMEONEELSE"
ADMIN = "U0PLATFORMADMIN"
ORDERS = {"database_name": "orders", "database_engine": "postgres", "environment": "dev"}


def created(harness: SlackHarness, name: str = "orders", by: str = USER, engine: str = "postgres") -> str:
    """A database asked for in Slack whose create PR is merged (what a change waits for)."""
    from backend.domain import Source

    submission = harness.container.intake.submit(
        {**ORDERS, "database_name": name, "database_engine": engine}, requested_by=by, source=Source.SLACK
    )
    for status in (RequestStatus.PR_OPENED, RequestStatus.MERGED):
        harness.container.store.transition(
            submission.request_id, status, pr_number=1, pr_url="https://x/pull/1"
        )
    return submission.request_id


def opened_views(harness: SlackHarness) -> list[dict[str, Any]]:
    return [call["view"] for call in harness.slack_api.calls_to("views.open")]


def submit(
    harness: SlackHarness, view: dict[str, Any], *, user_id: str = USER, **values: str | None
) -> dict[str, Any]:
    return harness.driver.view_submission(
        modal_state(**values),
        user_id=user_id,
        callback_id=view["callback_id"],
        private_metadata=view["private_metadata"],
        blocks=view["blocks"],
    )


def errors_of(answer: dict[str, Any]) -> dict[str, str]:
    return dict(json.loads(answer["body"])["errors"]) if answer.get("body") else {}


def test_list_shows_the_callers_databases_only(harness: SlackHarness):
    created(harness, "orders")
    created(harness, "billing", by=OTHER)
    harness.container.store.transition(
        harness.container.store.get_database("dev", "orders").request_id,  # type: ignore[union-attr]
        RequestStatus.APPLIED,
    )

    answer = harness.driver.command("list")

    text = json.loads(answer["body"])["text"]
    assert "orders" in text
    assert "billing" not in text


def test_resize_opens_a_modal_of_the_policys_values_and_submits_a_resize(harness: SlackHarness):
    created(harness)

    assert harness.driver.command("resize orders dev")["statusCode"] == 200
    (view,) = opened_views(harness)
    classes = [o["value"] for o in view["blocks"][1]["element"]["options"]]
    sizes = [o["value"] for o in view["blocks"][2]["element"]["options"]]
    answer = submit(harness, view, instance_class="db.t3.small")

    assert view["callback_id"] == "resize_rds"
    assert [block.get("block_id") for block in view["blocks"][1:]] == ["instance_class", "allocated_storage"]
    assert classes == ["db.t3.small", "db.t3.medium"]  # not the one it has
    assert sizes == ["50", "100"]  # only larger
    assert answer["statusCode"] == 200
    assert errors_of(answer) == {}
    database = harness.container.store.get_database("dev", "orders")
    assert database is not None
    assert database.change_request_id is not None
    resize = harness.container.store.get(database.change_request_id)
    assert resize is not None
    assert (resize.action.value, resize.instance_class, resize.previous_instance_class) == (
        "resize",
        "db.t3.small",
        "db.t3.micro",
    )
    (confirmation,) = [c for c in harness.slack_api.calls_to("chat.postMessage") if "resize" in json.dumps(c)]
    assert confirmation["channel"] == USER
    # What each choice costs, and the change old -> new (postgres: $0.018 -> $0.036 an hour).
    labels = [o["text"]["text"] for o in view["blocks"][1]["element"]["options"]]
    assert labels == ["db.t3.small · ~$28.58/month", "db.t3.medium · ~$54.86/month"]
    assert "~$15.44/month" in view["blocks"][0]["text"]["text"]
    assert "*Estimated cost:* $15.44 -> $28.58/month" in json.dumps(confirmation["blocks"])


def test_a_resize_with_nothing_chosen_is_an_inline_error(harness: SlackHarness):
    created(harness)
    harness.driver.command("resize orders dev")
    (view,) = opened_views(harness)

    answer = submit(harness, view)

    assert "nothing to change" in errors_of(answer)["instance_class"]


def test_an_aurora_dev_resize_modal_offers_capacity_and_submits_it(harness: SlackHarness):
    created(harness, "carts", engine="aurora-mysql")
    harness.driver.command("resize carts dev")
    (view,) = opened_views(harness)
    assert [block.get("block_id") for block in view["blocks"][1:]] == ["max_capacity"]

    nothing = submit(harness, view)
    answer = submit(harness, view, max_capacity="8")

    # The refusal lands on the one block the modal has, not on a storage block it never showed.
    assert list(errors_of(nothing)) == ["max_capacity"]
    assert "nothing to change" in errors_of(nothing)["max_capacity"]
    assert errors_of(answer) == {}
    database = harness.container.store.get_database("dev", "carts")
    assert database is not None
    change = harness.container.store.get(database.change_request_id or "")
    assert change is not None
    assert (change.max_capacity, change.previous_max_capacity, change.allocated_storage) == (8, 2, None)


def test_only_the_requester_or_a_platform_admin_may_change_a_database():
    with slack_harness(platform_admins=(ADMIN,)) as harness:
        created(harness)
        harness.driver.command("decommission orders dev")
        (view,) = opened_views(harness)

        refused = submit(harness, view, user_id=OTHER, confirm_name="orders")
        allowed = submit(harness, view, user_id=ADMIN, confirm_name="orders")

        assert "Only <@" in errors_of(refused)["confirm_name"]
        assert errors_of(allowed) == {}
        database = harness.container.store.get_database("dev", "orders")
        assert database is not None
        record = harness.container.store.get(database.change_request_id or "")
        assert record is not None
        assert (record.action.value, record.requested_by) == ("decommission", ADMIN)


def test_a_decommission_needs_the_name_typed_again(harness: SlackHarness):
    created(harness)
    harness.driver.command("decommission orders dev")
    (view,) = opened_views(harness)

    wrong = submit(harness, view, confirm_name="order")

    assert view["callback_id"] == "decommission_rds"
    assert "orders-dev-final" in json.dumps(view["blocks"])
    assert "type the database's name" in errors_of(wrong)["confirm_name"]
    assert harness.container.store.get_database("dev", "orders").change_request_id is None  # type: ignore[union-attr]


def test_a_change_of_a_database_that_is_not_there(harness: SlackHarness):
    answer = harness.driver.command("resize nothing_here dev")
    assert "no dev database" in json.loads(answer["body"])["text"]
    assert opened_views(harness) == []


def test_app_home_lists_the_users_databases_with_buttons_that_open_the_change_modals(harness: SlackHarness):
    created(harness)
    harness.driver.event({"type": "app_home_opened", "user": USER, "tab": "home", "channel": "D0HOME"})
    (published,) = harness.slack_api.calls_to("views.publish")
    buttons = [
        element
        for block in published["view"]["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]

    harness.driver.block_action("resize_database", value="dev/orders")
    harness.driver.block_action("decommission_database", value="dev/orders")

    assert {(b["action_id"], b.get("value")) for b in buttons} >= {
        ("resize_database", "dev/orders"),
        ("decommission_database", "dev/orders"),
    }
    assert [view["callback_id"] for view in opened_views(harness)] == ["resize_rds", "decommission_rds"]


def test_only_who_may_change_a_database_sees_its_size_and_cost_in_a_modal():
    with slack_harness(platform_admins=(ADMIN,)) as harness:
        created(harness)

        answers = [
            harness.driver.command(f"{verb} orders dev", user_id=OTHER) for verb in ("resize", "decommission")
        ]
        harness.driver.block_action("resize_database", value="dev/orders", user_id=OTHER)
        harness.driver.block_action("decommission_database", value="dev/orders", user_id=OTHER)
        harness.driver.block_action("decommission_now", value="dev/orders", user_id=OTHER, channel=OTHER)
        refused_views = opened_views(harness)
        harness.driver.command("resize orders dev", user_id=ADMIN)
        harness.driver.block_action("decommission_database", value="dev/orders", user_id=ADMIN)

        assert refused_views == []
        for answer in answers:
            assert answer["statusCode"] == 200
            body = json.loads(answer["body"])
            assert f"Only <@{USER}>, who asked for orders" in json.dumps(body["blocks"])  # a mention
            assert "$" not in answer["body"]
            assert "db.t3" not in answer["body"]
        ephemerals = harness.slack_api.calls_to("chat.postEphemeral")
        assert [(call["user"], call["channel"]) for call in ephemerals] == [(OTHER, OTHER)] * 3
        assert all(f"<@{USER}>" in json.dumps(call["blocks"]) for call in ephemerals)
        assert [view["callback_id"] for view in opened_views(harness)] == ["resize_rds", "decommission_rds"]
