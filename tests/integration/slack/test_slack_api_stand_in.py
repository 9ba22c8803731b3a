"""The Slack Web API stand-in answers slack_sdk like Slack does and records what it was asked."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from backend.local.slack_api import SlackApiStandIn, dm_channel_for


def test_json_and_form_bodies_are_recorded_with_realistic_answers(tmp_path: Path):
    echoed: list[str] = []
    calls_file = tmp_path / "state" / "slack-calls.jsonl"
    with SlackApiStandIn(jsonl_path=calls_file, echo=echoed.append) as slack:
        client = WebClient(token="xoxb-secret-token", base_url=slack.base_url)
        posted = client.chat_postMessage(channel="U0PERSON", text="hello", blocks=[{"type": "divider"}])
        opened = client.views_open(
            trigger_id="1.2", view={"type": "modal", "callback_id": "cb", "blocks": []}
        )
        identity = client.auth_test()  # slack_sdk sends this one as a form body
        ephemeral = client.api_call(
            "chat.postEphemeral", data={"channel": "C1", "user": "U1", "text": "psst"}
        )

    assert posted["channel"] == dm_channel_for("U0PERSON")
    assert posted["message"]["text"] == "hello"
    assert posted["ts"]
    assert opened["view"]["id"].startswith("V")
    assert opened["view"]["callback_id"] == "cb"
    assert identity["user_id"] == "U0LOCALBOT"
    assert ephemeral["message_ts"]

    lines = [json.loads(line) for line in calls_file.read_text().splitlines()]
    assert [line["method"] for line in lines] == [
        "chat.postMessage",
        "views.open",
        "auth.test",
        "chat.postEphemeral",
    ]
    assert lines[0]["args"]["blocks"] == [{"type": "divider"}]
    assert lines == slack.calls
    assert "xoxb-secret-token" not in calls_file.read_text()
    assert echoed[0] == "[slack] chat.postMessage to U0PERSON: hello"


def test_unknown_methods_and_missing_tokens_fail_like_slack():
    with SlackApiStandIn() as slack:
        with pytest.raises(SlackApiError) as unknown:
            WebClient(token="xoxb-t", base_url=slack.base_url).api_call("nope.nothing")
        with pytest.raises(SlackApiError) as unauthenticated:
            WebClient(base_url=slack.base_url).chat_postMessage(channel="C1", text="x")
    assert unknown.value.response["error"] == "unknown_method"
    assert unauthenticated.value.response["error"] == "not_authed"
    assert slack.calls == []


def test_injected_429_carries_retry_after():
    with SlackApiStandIn() as slack:
        slack.fail_next("chat.postMessage", retry_after=7)
        with pytest.raises(SlackApiError) as limited:
            WebClient(token="xoxb-t", base_url=slack.base_url).chat_postMessage(channel="C1", text="x")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"


def test_concurrent_posts_are_all_recorded_once(tmp_path: Path):
    calls_file = tmp_path / "calls.jsonl"
    with SlackApiStandIn(jsonl_path=calls_file) as slack:
        client = WebClient(token="xoxb-t", base_url=slack.base_url)
        threads = [
            threading.Thread(target=client.chat_postMessage, kwargs={"channel": "C1", "text": f"m{i}"})
            for i in range(20)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(slack.wait_for("chat.postMessage", count=20)) == 20
    lines = [json.loads(line) for line in calls_file.read_text().splitlines()]
    assert sorted(line["args"]["text"] for line in lines) == sorted(f"m{i}" for i in range(20))
    assert len({call["args"]["text"] for call in slack.calls}) == 20
