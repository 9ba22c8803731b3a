"""Socket Mode wiring. Connecting needs a real Slack app-level token, so only the build is tested."""

from __future__ import annotations

import pytest

from backend.settings import Settings
from bot.socket_mode import build_handler


def test_socket_mode_runs_the_same_app_acknowledging_at_once():
    settings = Settings(slack_bot_token="xoxb-test", slack_app_token="xapp-test", slack_bot_user_id="U0BOT")
    handler = build_handler(settings)  # builds the client; connects only on start()
    assert handler.app_token == "xapp-test"
    assert handler.app.process_before_response is False
    commands = [listener for listener in handler.app._listeners if "provision" in repr(listener.ack_function)]
    assert commands, "the /provision-rds listener is registered"


def test_socket_mode_without_an_app_token_says_what_is_missing():
    with pytest.raises(SystemExit, match="SLACK_APP_TOKEN"):
        build_handler(Settings(slack_bot_token="xoxb-test"))
