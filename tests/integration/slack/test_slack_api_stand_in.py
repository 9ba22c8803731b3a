"""The Slack Web API stand-in answers slack_sdk like Slack does and records what it was asked."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from local.slack_api import SlackApiStandIn, dm_channel_for


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


# --- what Slack keeps: ts, updates, threads, views -----------------------------------------------


def test_each_posted_message_line_carries_its_ts_and_updates_replace_it_in_place(tmp_path: Path):
    calls_file = tmp_path / "slack-calls.jsonl"
    with SlackApiStandIn(jsonl_path=calls_file) as slack:
        client = WebClient(token="xoxb-t", base_url=slack.base_url)
        first = client.chat_postMessage(channel="U0ALICE", text="queued")
        reply = client.chat_postMessage(channel=first["channel"], thread_ts=first["ts"], text="PR opened")
        updated = client.chat_update(channel=first["channel"], ts=first["ts"], text="approved by <@U0BOB>")
        with pytest.raises(SlackApiError) as unknown:
            client.chat_update(channel=first["channel"], ts="1.000001", text="nope")
        seen = slack.snapshot("U0ALICE")

    assert unknown.value.response["error"] == "message_not_found"
    assert [r["error"] for r in slack.rejected] == ["message_not_found"]
    lines = [json.loads(line) for line in calls_file.read_text().splitlines()]
    assert [(line["method"], line["ts"]) for line in lines] == [
        ("chat.postMessage", first["ts"]),
        ("chat.postMessage", reply["ts"]),
        ("chat.update", first["ts"]),
    ]
    assert first["ts"] < reply["ts"]
    assert updated["message"]["text"] == "approved by <@U0BOB>"
    dm = seen["messages"][dm_channel_for("U0ALICE")]
    assert [(m["text"], m.get("thread_ts")) for m in dm] == [
        ("approved by <@U0BOB>", None),
        ("PR opened", first["ts"]),
    ]
    # Someone else does not see Alice's DM with the app.
    assert dm_channel_for("U0ALICE") not in slack.snapshot("U0BOB")["messages"]


def test_messages_survive_a_restart_and_can_still_be_updated(tmp_path: Path):
    calls_file = tmp_path / "slack-calls.jsonl"
    with SlackApiStandIn(jsonl_path=calls_file) as slack:
        client = WebClient(token="xoxb-t", base_url=slack.base_url)
        posted = client.chat_postMessage(channel="#approvals", text="approve?", blocks=[{"type": "divider"}])
        client.chat_postEphemeral(channel=posted["channel"], user="U0ALICE", text="only for you")
    with SlackApiStandIn(jsonl_path=calls_file) as again:
        client = WebClient(token="xoxb-t", base_url=again.base_url)
        client.chat_update(channel=posted["channel"], ts=posted["ts"], text="approved")
        later = client.chat_postMessage(channel="#approvals", text="next")
        seen = again.snapshot("U0ALICE")["messages"][posted["channel"]]

    assert [m["text"] for m in seen] == ["approved", "next"]  # the ephemeral one is gone, as in Slack
    assert seen[0]["blocks"][0]["block_id"]  # Slack gives every block an id
    assert later["ts"] > posted["ts"]


def test_a_modal_opened_with_an_issued_trigger_belongs_to_that_user(tmp_path: Path):
    with SlackApiStandIn() as slack:
        client = WebClient(token="xoxb-t", base_url=slack.base_url)
        trigger = slack.issue_trigger("U0ALICE")
        opened = client.views_open(
            trigger_id=trigger, view={"type": "modal", "callback_id": "cb", "blocks": []}
        )
        client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": [{"type": "divider"}]})
        view_id = opened["view"]["id"]
        updated = client.views_update(
            view_id=view_id, view={"type": "modal", "callback_id": "cb2", "blocks": []}
        )
        with pytest.raises(SlackApiError) as conflict:
            client.views_update(view_id=view_id, hash="stale", view={"type": "modal", "blocks": []})
        alice, bob = slack.snapshot("U0ALICE"), slack.snapshot("U0BOB")
        slack.close_view("U0ALICE", view_id)
        closed = slack.snapshot("U0ALICE")

    assert updated["view"]["id"] == view_id
    assert conflict.value.response["error"] == "hash_conflict"
    assert alice["modal"]["callback_id"] == "cb2"
    assert alice["home"]["blocks"][0]["type"] == "divider"
    assert bob["modal"] is None
    assert bob["home"] is None
    assert closed["modal"] is None


def test_response_url_answers_land_where_slack_puts_them():
    import urllib.request

    def post(url: str, body: dict[str, object]) -> str:
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return str(response.read().decode())

    with SlackApiStandIn() as slack:
        client = WebClient(token="xoxb-t", base_url=slack.base_url)
        posted = client.chat_postMessage(channel="#approvals", text="approve?")
        about_message = slack.response_url("U0BOB", posted["channel"], message_ts=posted["ts"])
        about_command = slack.response_url("U0BOB", posted["channel"], invocation="/provision-rds help")
        assert post(about_message, {"replace_original": True, "text": "approved by <@U0BOB>"}) == "ok"
        assert post(about_command, {"text": "only Bob sees this"}) == "ok"
        bob = slack.snapshot("U0BOB")["messages"][posted["channel"]]
        alice = slack.snapshot("U0ALICE")["messages"][posted["channel"]]

    assert [(m["text"], m["ephemeral"]) for m in bob] == [
        ("approved by <@U0BOB>", False),
        ("only Bob sees this", True),
    ]
    assert bob[1]["invocation"] == "/provision-rds help"
    assert [m["text"] for m in alice] == ["approved by <@U0BOB>"]
