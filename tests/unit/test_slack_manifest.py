"""bot/manifest.json: exactly the scopes the code needs, the features it uses, rdsctl's filled-in copies."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from bot import blocks, manifest
from local import cli
from tests.support.slack_web_api import (
    BOT_SCOPE_OF_METHOD,
    REPO_ROOT,
    UnresolvableCall,
    app_web_api_methods,
    assert_app_calls_conform,
    required_bot_scopes,
    web_api_uses,
)

REQUEST_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/v1/slack/events"


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    return manifest.load()


def declared_scopes(built: dict[str, Any]) -> set[str]:
    return set(built["oauth_config"]["scopes"]["bot"])


# --- scopes -----------------------------------------------------------------------------------


def test_the_scan_finds_the_calls_known_to_exist():
    uses = {(use.method, use.where.split(":")[0]) for use in web_api_uses()}
    assert {
        ("chat.postMessage", "backend/adapters/slack.py"),
        ("views.open", "bot/listeners/commands.py"),
        ("views.open", "bot/listeners/block_actions.py"),
        ("views.publish", "bot/listeners/events.py"),
    } <= uses


def test_every_method_the_code_calls_has_its_scope_looked_up():
    missing = sorted(app_web_api_methods() - BOT_SCOPE_OF_METHOD.keys())
    assert not missing, f"add {missing} to BOT_SCOPE_OF_METHOD with the scope Slack's docs give"


def test_the_manifest_declares_exactly_the_bot_scopes_the_code_needs(committed):
    needed = required_bot_scopes(app_web_api_methods(), committed)
    declared = declared_scopes(committed)
    missing = {scope: sorted(why) for scope, why in needed.items() if scope not in declared}
    unused = sorted(declared - needed.keys())
    assert not missing, f"bot/manifest.json lacks scopes the code needs (scope: what needs it): {missing}"
    assert not unused, f"bot/manifest.json asks for scopes nothing uses: {unused}"
    assert "user" not in committed["oauth_config"]["scopes"], "the app acts as its bot only"


def test_a_call_needing_a_new_scope_is_caught(tmp_path: Path, committed):
    (tmp_path / "listener.py").write_text(
        "def greet(client, say, user_id):\n"
        "    channel = client.conversations_open(users=user_id)['channel']['id']\n"
        "    say(channel=channel, text='hi')\n"
        "    client.api_call('users.info', params={'user': user_id})\n"
    )
    methods = {use.method for use in web_api_uses([tmp_path], [])}

    assert methods == {"conversations.open", "chat.postMessage", "users.info"}
    needed = required_bot_scopes(methods, committed)
    assert set(needed) - declared_scopes(committed) == {"im:write", "users:read"}


def test_a_method_nobody_looked_up_stops_the_test(tmp_path: Path, committed):
    (tmp_path / "sweeper.py").write_text("def remind(client):\n    client.reminders_add(text='x', time=1)\n")
    methods = {use.method for use in web_api_uses([tmp_path], [])}
    with pytest.raises(KeyError, match=r"reminders\.add"):
        required_bot_scopes(methods, committed)


@pytest.mark.parametrize(
    "source",
    [
        "def call(client, name):\n    client.api_call(name)\n",
        "def call(client, name):\n    getattr(client, name)(channel='C1')\n",
    ],
    ids=["api_call", "getattr"],
)
def test_a_call_the_scan_cannot_name_stops_it(tmp_path: Path, source: str):
    (tmp_path / "dynamic.py").write_text(source)
    with pytest.raises(UnresolvableCall):
        web_api_uses([tmp_path], [])


# --- features ---------------------------------------------------------------------------------


def _registered_events() -> set[str]:
    events: set[str] = set()
    for path in (REPO_ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "event"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                events.add(str(node.args[0].value))
    return events


def test_the_manifest_subscribes_to_the_events_the_app_listens_to(committed):
    assert _registered_events() == {"app_home_opened"}
    assert set(committed["settings"]["event_subscriptions"]["bot_events"]) == _registered_events()


def test_the_command_interactivity_and_app_home(committed):
    [command] = committed["features"]["slash_commands"]
    assert command["command"] == blocks.COMMAND
    assert command["description"]
    assert "status <request_id>" in command["usage_hint"]
    assert committed["settings"]["interactivity"]["is_enabled"] is True
    home = committed["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    # The DM is where the request's thread lives; people type /provision-rds there too.
    assert home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is False
    assert committed["settings"]["socket_mode_enabled"] is False
    assert committed["settings"]["org_deploy_enabled"] is False


def test_the_committed_urls_are_placeholders(committed):
    urls = manifest.request_urls(committed)
    assert len(urls) == 3
    assert all(url.startswith("https://") and ".invalid/" in url for url in urls)


def test_within_slacks_manifest_limits(committed):
    info = committed["display_information"]
    assert 1 <= len(info["name"]) <= 35
    assert 1 <= len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000
    [command] = committed["features"]["slash_commands"]
    assert command["command"].startswith("/")
    assert len(command["command"]) <= 32
    assert len(committed["features"]["bot_user"]["display_name"]) <= 80


# --- filled in --------------------------------------------------------------------------------


def test_a_request_url_goes_everywhere_slack_sends_to(committed):
    built = manifest.for_request_url(REQUEST_URL)

    assert manifest.request_urls(built) == [REQUEST_URL] * 3
    assert built["settings"]["socket_mode_enabled"] is False
    assert declared_scopes(built) == declared_scopes(committed)


def test_socket_mode_has_no_url_at_all():
    built = manifest.for_socket_mode()

    assert manifest.request_urls(built) == []
    [command] = built["features"]["slash_commands"]
    assert "url" not in command
    assert "request_url" not in built["settings"]["interactivity"]
    assert "request_url" not in built["settings"]["event_subscriptions"]
    assert built["settings"]["socket_mode_enabled"] is True
    assert built["settings"]["interactivity"]["is_enabled"] is True
    assert built["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]


@pytest.mark.parametrize(
    "url", ["http://abc.example.com/slack/events", "abc.example.com/slack/events", "https:///slack/events"]
)
def test_only_an_https_request_url_is_taken(url: str):
    with pytest.raises(manifest.ManifestError, match="https://"):
        manifest.for_request_url(url)


def test_rdsctl_prints_it_for_a_request_url(capsys: pytest.CaptureFixture[str]):
    assert cli.main(["slack-manifest", "--request-url", REQUEST_URL]) == 0
    assert json.loads(capsys.readouterr().out) == manifest.for_request_url(REQUEST_URL)


def test_rdsctl_prints_it_for_socket_mode_under_another_name(capsys: pytest.CaptureFixture[str]):
    assert cli.main(["slack-manifest", "--socket-mode", "--name", "rds-provisioner dev"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == manifest.for_socket_mode(name="rds-provisioner dev")
    assert printed["display_information"]["name"] == "rds-provisioner dev"
    assert printed["features"]["bot_user"]["display_name"] == "rds-provisioner dev"


def test_rdsctl_says_what_is_wrong_with_a_url(capsys: pytest.CaptureFixture[str]):
    assert cli.main(["slack-manifest", "--request-url", "http://abc.example.com/slack/events"]) == 1
    assert "must be an https:// URL" in capsys.readouterr().err


def test_rdsctl_needs_one_of_the_two(capsys: pytest.CaptureFixture[str]):
    for argv in (["slack-manifest"], ["slack-manifest", "--socket-mode", "--request-url", REQUEST_URL]):
        with pytest.raises(SystemExit):
            cli.main(argv)
    assert "--request-url" in capsys.readouterr().err


# --- what the app sent the stand-in ---------------------------------------------------------------


def test_recorded_calls_must_be_known_and_carry_their_text():
    posted = {"method": "chat.postMessage", "args": {"channel": "U1", "text": "hi", "blocks": []}}
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    assert_app_calls_conform([posted, {"method": "views.publish", "args": {"user_id": "U1", "view": home}}])

    with pytest.raises(AssertionError, match="scan of bot/ and backend/ does not find"):
        assert_app_calls_conform([{"method": "conversations.open", "args": {"users": "U1"}}])
    with pytest.raises(AssertionError, match="without a text fallback"):
        assert_app_calls_conform([{"method": "chat.postMessage", "args": {"channel": "U1", "blocks": []}}])
    with pytest.raises(AssertionError, match="empty text fallback"):
        assert_app_calls_conform([{"method": "chat.postMessage", "args": {"channel": "U1", "text": " "}}])
    unknown_key = {"type": "divider", "colour": "red"}
    with pytest.raises(AssertionError, match="slack_sdk reads"):
        assert_app_calls_conform(
            [{"method": "chat.postMessage", "args": {"text": "hi", "blocks": [unknown_key]}}]
        )
