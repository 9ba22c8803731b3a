"""The local Slack page's server side against the real Bolt app: what it sends is what Slack sends.

The page's endpoints sit on a real local gateway (a threaded server); ``/slack/events`` behind it
is the Lambda adapter of the real app, which verifies every signature. So a payload the app
accepts and answers here is one shaped and signed as Slack shapes and signs it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot import blocks
from local.gateway import Function, GatewayServer, LocalGateway
from local.slack_api import dm_channel_for
from local.slack_page import REQUIRED_FIELD, SlackPage
from tests.integration.slack.driver import SIGNING_SECRET, SlackHarness, slack_harness

ALICE = "U0ALICE"
BOB = "U0BOB"


@dataclass
class Page:
    harness: SlackHarness
    url: str
    events: list[dict[str, Any]]  # every request that reached /slack/events

    def http(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), error.read()

    def send(self, **payload: Any) -> dict[str, Any]:
        status, _headers, raw = self.http("POST", "/_local/slack/send", payload)
        assert status == 200, raw
        answer: dict[str, Any] = json.loads(raw)
        return answer

    def state(self, user: str, since: int | None = None) -> dict[str, Any]:
        query = f"?user={user}" + (f"&since={since}" if since is not None else "")
        status, _headers, raw = self.http("GET", "/_local/slack/state.json" + query)
        assert status == 200, raw
        data: dict[str, Any] = json.loads(raw)
        return data

    def dm(self, user: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.state(user)["messages"][dm_channel_for(user)]
        return messages


def _serve(harness: SlackHarness, secret: str) -> Iterator[Page]:
    holder: dict[str, str] = {}
    events: list[dict[str, Any]] = []

    def slack(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        return harness.driver.handle(event, context)

    page = SlackPage(
        lambda: harness.slack_api,
        signing_secret=secret,
        events_url=lambda: holder["url"] + "/slack/events",
        commands=[blocks.COMMAND],
    )
    gateway = LocalGateway(
        {"api": Function("api", slack), "slack": Function("slack", slack)},
        routes=page.routes(),
        access_log=False,
    )
    server = GatewayServer(gateway, host="127.0.0.1", port=0)
    holder["url"] = f"http://127.0.0.1:{server.port}"
    server.start()
    try:
        yield Page(harness, holder["url"], events)
    finally:
        server.stop(grace_seconds=5)


@pytest.fixture
def page() -> Iterator[Page]:
    with slack_harness() as harness:
        yield from _serve(harness, SIGNING_SECRET)


def test_a_typed_command_is_signed_sent_and_its_answer_shown_only_to_the_typist(page: Page):
    answer = page.send(kind="command", user=ALICE, channel=dm_channel_for(ALICE), text="/provision-rds help")

    assert answer["ok"] is True
    [shown] = page.dm(ALICE)
    assert shown["ephemeral"] is True
    assert shown["invocation"] == "/provision-rds help"
    assert "/provision-rds status <request_id>" in json.dumps(shown["blocks"])
    # The page gets mrkdwn already parsed into nodes, never as HTML.
    assert shown["blocks"][0]["text"]["nodes"][0] == {
        "t": "b",
        "c": [{"t": "text", "v": "Request an AWS RDS database."}],
    }
    assert dm_channel_for(ALICE) not in page.state(BOB)["messages"]


def test_a_command_that_submits_posts_the_confirmation_in_the_requesters_dm(page: Page):
    page.send(
        kind="command", user=ALICE, channel=dm_channel_for(ALICE), text="/provision-rds orders postgres dev"
    )

    [record] = page.harness.container.store.list_by_requester(ALICE)
    shown = page.dm(ALICE)
    confirmation = next(m for m in shown if not m["ephemeral"])
    accepted = next(m for m in shown if m["ephemeral"])
    assert record.conversation is not None
    assert record.conversation.thread_ts == confirmation["ts"]
    assert record.request_id in accepted["text"]


def test_a_wrong_signing_secret_is_refused_by_bolt_and_shown_like_slack_shows_it():
    with slack_harness() as harness:
        for wrong in _serve(harness, "not-the-secret"):
            wrong.send(kind="command", user=ALICE, channel=dm_channel_for(ALICE), text="/provision-rds help")
            [shown] = wrong.dm(ALICE)
        assert harness.container.store.list_by_requester(ALICE) == []
    assert shown["text"].startswith('/provision-rds failed with the error "dispatch_failed"')
    assert "401" in shown["text"]


def test_unknown_commands_never_reach_the_app(page: Page):
    page.send(kind="command", user=ALICE, channel=dm_channel_for(ALICE), text="/deploy prod")
    [shown] = page.dm(ALICE)
    assert "is not a valid command" in shown["text"]
    assert page.events == []


def test_the_modal_opens_for_the_user_fails_inline_then_submits(page: Page):
    page.send(kind="command", user=ALICE, channel=dm_channel_for(ALICE), text="/provision-rds")
    modal = page.state(ALICE)["modal"]
    assert modal["callback_id"] == blocks.MODAL_CALLBACK_ID
    assert page.state(BOB)["modal"] is None

    # Slack's client refuses an empty required input without asking the app.
    untouched = {blocks.ENVIRONMENT: {blocks.INPUT_ACTION_ID: "dev"}}  # its initial option
    empty = page.send(kind="submit", user=ALICE, view_id=modal["id"], values=untouched)
    assert empty["errors"] == {blocks.DATABASE_NAME: REQUIRED_FIELD, blocks.DATABASE_ENGINE: REQUIRED_FIELD}
    assert len(page.events) == 1  # the command only

    values = {
        blocks.DATABASE_NAME: {blocks.INPUT_ACTION_ID: "1bad"},
        blocks.DATABASE_ENGINE: {blocks.INPUT_ACTION_ID: "postgres"},
        blocks.ENVIRONMENT: {blocks.INPUT_ACTION_ID: "dev"},
    }
    refused = page.send(kind="submit", user=ALICE, view_id=modal["id"], values=values)
    assert refused["closed"] is False
    assert list(refused["errors"]) == [blocks.DATABASE_NAME]
    assert page.state(ALICE)["modal"]["id"] == modal["id"]

    values[blocks.DATABASE_NAME] = {blocks.INPUT_ACTION_ID: "orders"}
    accepted = page.send(kind="submit", user=ALICE, view_id=modal["id"], values=values)
    assert accepted["closed"] is True
    assert page.state(ALICE)["modal"] is None
    [record] = page.harness.container.store.list_by_requester(ALICE)
    assert (record.database_name, record.database_engine.value) == ("orders", "postgres")


def test_a_select_value_outside_the_options_is_refused(page: Page):
    page.send(kind="command", user=ALICE, channel=dm_channel_for(ALICE), text="/provision-rds")
    modal = page.state(ALICE)["modal"]
    values = {
        blocks.DATABASE_NAME: {blocks.INPUT_ACTION_ID: "orders"},
        blocks.DATABASE_ENGINE: {blocks.INPUT_ACTION_ID: "oracle"},
        blocks.ENVIRONMENT: {blocks.INPUT_ACTION_ID: "dev"},
    }
    answer = page.send(kind="submit", user=ALICE, view_id=modal["id"], values=values)
    assert answer["errors"] == {blocks.DATABASE_ENGINE: REQUIRED_FIELD}
    assert page.harness.container.store.list_by_requester(ALICE) == []


def test_opening_app_home_publishes_it_and_its_button_opens_the_modal(page: Page):
    page.send(kind="home", user=ALICE)
    home = page.state(ALICE)["home"]
    [actions] = [block for block in home["blocks"] if block["type"] == "actions"]

    page.send(
        kind="action",
        user=ALICE,
        view_id=home["id"],
        block_id=actions["block_id"],
        action_id=blocks.OPEN_MODAL_ACTION_ID,
    )

    assert page.state(ALICE)["modal"]["callback_id"] == blocks.MODAL_CALLBACK_ID
    # Bob cannot press Alice's Home button.
    status, _headers, _raw = page.http(
        "POST",
        "/_local/slack/send",
        {
            "kind": "action",
            "user": BOB,
            "view_id": home["id"],
            "block_id": actions["block_id"],
            "action_id": "x",
        },
    )
    assert status == 400


def test_the_state_endpoint_answers_little_when_nothing_changed(page: Page):
    first = page.state(ALICE)
    assert page.state(ALICE, since=first["version"]) == {"version": first["version"]}
    page.send(kind="home", user=ALICE)
    assert page.state(ALICE, since=first["version"])["home"] is not None


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"kind=command&user=U0ALICE", {"Content-Type": "application/x-www-form-urlencoded"}),
        (b'{"kind": "home", "user": "U0ALICE"}', {"Origin": "http://evil.test"}),
        (b'{"kind": "home", "user": "U0ALICE"}', {"Host": "evil.test"}),
    ],
)
def test_other_sites_cannot_act_as_a_user(page: Page, body: bytes, headers: dict[str, str]):
    status, _headers, _raw = page.http("POST", "/_local/slack/send", body, headers)
    assert status == 403
    assert page.events == []


def test_the_page_goes_out_with_a_strict_content_security_policy(page: Page):
    status, headers, raw = page.http("GET", "/_local/slack")
    assert status == 200
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert b'<script src="/_local/static/slack.js" defer></script>' in raw
    assert b"<script>" not in raw  # nothing inline: the policy would block it anyway
    status, headers, _raw = page.http("GET", "/_local/static/slack.js")
    assert (status, headers["Content-Type"]) == (200, "text/javascript; charset=utf-8")
    for sneaky in (
        "/_local/static/..%2Fslack_page.py",
        "/_local/static/slack_page.py",
        "/_local/static/.x.js",
    ):
        assert page.http("GET", sneaky)[0] == 404
