"""The app answers its own workspace only: signed requests of every kind from another one are refused."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from slack_bolt import BoltRequest

from backend.settings import Settings
from bot import blocks
from bot.socket_mode import build_handler
from bot.workspace import REFUSAL
from tests.integration.slack.driver import (
    TEAM_ID,
    USER,
    SlackDriver,
    SlackHarness,
    modal_state,
    slack_harness,
)
from tests.integration.slack.test_bot import assert_nothing_happened, queued, table_items

OTHER_TEAM = "T0STRANGER"
ORG = "E0ORG"
OTHER_ORG = "E0OTHERORG"


def _command(driver: SlackDriver) -> dict[str, Any]:
    return driver.command("orders postgres dev")


def _modal_command(driver: SlackDriver) -> dict[str, Any]:
    return driver.command("")


def _home_button(driver: SlackDriver) -> dict[str, Any]:
    return driver.block_action(blocks.OPEN_MODAL_ACTION_ID)


def _modal_submission(driver: SlackDriver) -> dict[str, Any]:
    return driver.view_submission(
        modal_state(database_name="orders", database_engine="postgres", environment="dev")
    )


def _home_opened(driver: SlackDriver) -> dict[str, Any]:
    return driver.event(
        {"type": "app_home_opened", "user": USER, "channel": "D0HOME", "tab": "home", "event_ts": "1.000001"}
    )


# Each kind of request the app listens to, and what it leaves behind when it is served.
KINDS: dict[str, Callable[[SlackDriver], dict[str, Any]]] = {
    "slash command": _command,
    "slash command opening the modal": _modal_command,
    "block_actions": _home_button,
    "view_submission": _modal_submission,
    "event": _home_opened,
}


def something_happened(harness: SlackHarness) -> bool:
    return bool(table_items(harness) or queued(harness) or harness.slack_api.calls)


@pytest.mark.parametrize("kind", list(KINDS))
def test_another_workspace_is_refused_and_nothing_is_recorded(harness: SlackHarness, kind: str):
    harness.driver.team_id = OTHER_TEAM

    response = KINDS[kind](harness.driver)

    assert response["statusCode"] == 200
    assert response["body"] == REFUSAL
    assert_nothing_happened(harness)


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_same_request_from_its_own_workspace_is_served(harness: SlackHarness, kind: str):
    response = KINDS[kind](harness.driver)

    assert response["statusCode"] == 200
    assert response["body"] != REFUSAL
    assert something_happened(harness)


@pytest.mark.parametrize(
    ("configured", "sent", "served"),
    [
        ({"slack_enterprise_id": ORG}, {"enterprise_id": ORG}, True),
        ({"slack_enterprise_id": ORG}, {"enterprise_id": OTHER_ORG}, False),
        # A configured id must be present: a plain workspace claiming the team id is not the org's.
        ({"slack_enterprise_id": ORG}, {"enterprise_id": None}, False),
        # An org-wide install: any workspace of the org, none outside it.
        (
            {"slack_team_id": None, "slack_enterprise_id": ORG},
            {"team_id": OTHER_TEAM, "enterprise_id": ORG},
            True,
        ),
        (
            {"slack_team_id": None, "slack_enterprise_id": ORG},
            {"team_id": OTHER_TEAM, "enterprise_id": OTHER_ORG},
            False,
        ),
        # Both set: another workspace of the same org is still another workspace.
        ({"slack_enterprise_id": ORG}, {"team_id": OTHER_TEAM, "enterprise_id": ORG}, False),
    ],
    ids=["org", "other-org", "no-org", "org-wide", "org-wide-other-org", "sister-workspace"],
)
@pytest.mark.parametrize("kind", list(KINDS))
def test_enterprise_grid(configured: dict[str, Any], sent: dict[str, Any], served: bool, kind: str):
    with slack_harness(**configured) as harness:
        for field, value in sent.items():
            setattr(harness.driver, field, value)

        response = KINDS[kind](harness.driver)

        assert response["statusCode"] == 200
        if served:
            assert response["body"] != REFUSAL
            assert something_happened(harness)
        else:
            assert response["body"] == REFUSAL
            assert_nothing_happened(harness)


@pytest.mark.parametrize("kind", ["block_actions", "view_submission"])
def test_an_interaction_by_a_user_of_another_workspace_is_refused(harness: SlackHarness, kind: str):
    harness.driver.user_team_id = OTHER_TEAM

    response = KINDS[kind](harness.driver)

    assert response["statusCode"] == 200
    assert response["body"] == REFUSAL
    assert_nothing_happened(harness)


def test_without_a_team_id_every_workspace_is_served():
    with slack_harness(slack_team_id=None) as harness:
        harness.driver.team_id = OTHER_TEAM
        assert "accepted" in json.loads(_command(harness.driver)["body"])["text"]


def test_slacks_url_verification_is_answered_while_restricted(harness: SlackHarness):
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    body = json.dumps({"token": "legacy", "challenge": challenge, "type": "url_verification"})
    response = harness.driver.post(body, content_type="application/json")
    assert response["statusCode"] == 200
    assert challenge in response["body"]


def test_socket_mode_refuses_another_workspace_too():
    settings = Settings(
        slack_bot_token="xoxb-test",
        slack_app_token="xapp-test",
        slack_bot_user_id="U0BOT",
        slack_team_id=TEAM_ID,
    )
    app = build_handler(settings).app
    command = {
        "team_id": OTHER_TEAM,
        "user_id": USER,
        "command": blocks.COMMAND,
        "text": "help",
        "trigger_id": f"{time.time()}.socket",
    }

    refused = app.dispatch(BoltRequest(body=dict(command), mode="socket_mode"))
    served = app.dispatch(BoltRequest(body={**command, "team_id": TEAM_ID}, mode="socket_mode"))

    assert refused.body == REFUSAL
    assert served.status == 200
    assert blocks.COMMAND in served.body
    assert served.body != REFUSAL
