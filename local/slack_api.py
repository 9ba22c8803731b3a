"""A local stand-in for the Slack Web API, for tests and the local stack.

It speaks enough of the Web API for what the app and the notifier call, the way slack_sdk calls
it (``POST <base_url><method>`` with a form or JSON body and a bearer token), and answers with
the fields real Slack returns, including the DM channel id Slack substitutes when a message is
posted to a user id. Every call it answered successfully is recorded (``.calls``) and,
optionally, appended to a JSONL file with the ``ts`` it gave the message; calls it refused are in
``.rejected``. ``fail_next`` makes the next calls of a method fail (a 429 with Retry-After, say).

It also keeps what Slack would show people (conversations, messages and threads, ephemeral
messages, modals per user, each user's App Home) so the local Slack page can render it:
``chat.update`` of a ``ts`` it never gave answers ``message_not_found`` as Slack does. A JSONL
file left by an earlier run is read back at start, so messages (and their ``ts``) survive a
restart; ephemeral messages and open modals do not, as in Slack.

    with SlackApiStandIn() as slack:
        client = WebClient(token="xoxb-local", base_url=slack.base_url)
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

# Arguments slack_sdk JSON-encodes when it sends a form body.
_JSON_ARGUMENTS = frozenset({"blocks", "attachments", "view", "metadata"})
_MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update"})
_MESSAGE_CONTENT = ("text", "blocks", "attachments")
# Slack says a trigger id is valid for three seconds; later use is reported on the console.
TRIGGER_SECONDS = 3.0
# Messages per conversation in a snapshot: enough to scroll, small enough to poll.
SNAPSHOT_MESSAGES = 200


@dataclass
class _Failure:
    status: int
    error: str
    retry_after: int | None
    remaining: int


@dataclass
class _Posted:
    """A message as Slack keeps it, plus who may see it (ephemeral messages have one viewer)."""

    channel: str
    message: dict[str, Any]
    visible_to: str | None = None
    invocation: str | None = None  # the slash command an ephemeral answer replies to


@dataclass
class _StoredView:
    view: dict[str, Any]
    user: str | None
    opened_at: float


@dataclass
class _Responder:
    """What a ``response_url`` answers into: a user in a channel, maybe about one message."""

    user: str
    channel: str
    message_ts: str | None
    invocation: str | None


class SlackApiStandIn:
    """A threaded HTTP server on 127.0.0.1 answering Slack Web API methods."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        jsonl_path: Path | str | None = None,
        echo: Callable[[str], None] | None = None,
        team_id: str = "T0LOCAL",
        team: str = "local",
        bot_user_id: str = "U0LOCALBOT",
        bot_id: str = "B0LOCAL",
        app_id: str = "A0LOCAL",
        bot_name: str = "rds-provisioner",
    ) -> None:
        self.identity = {
            "team_id": team_id,
            "team": team,
            "user_id": bot_user_id,
            "user": bot_name,
            "bot_id": bot_id,
            "app_id": app_id,
        }
        self.calls: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self._jsonl_path = Path(jsonl_path) if jsonl_path else None
        self._echo = echo
        # Re-entrant: the answering functions take it and call helpers that take it again.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._failures: dict[str, list[_Failure]] = {}
        self._last_ts = (0, 0)
        # What people would see: bumped on every change so a page can poll cheaply.
        self.version = 0
        self._conversations: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[_Posted]] = {}
        self._views: dict[str, _StoredView] = {}
        self._homes: dict[str, str] = {}
        self._modal_stacks: dict[str, list[str]] = {}
        self._triggers: dict[str, tuple[str, float]] = {}
        self._responders: dict[str, _Responder] = {}
        self._users: dict[str, str] = {}
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        if self._jsonl_path is not None and self._jsonl_path.exists():
            self._replay(self._jsonl_path)

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """What to give ``WebClient(base_url=...)`` (ends with ``/api/``, like Slack's)."""
        return f"{self.root_url}/api/"

    @property
    def root_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        if self._thread is None:
            if self._jsonl_path:
                self._jsonl_path.parent.mkdir(parents=True, exist_ok=True)
            self._thread = threading.Thread(
                # A short poll interval keeps stop() (and so every test teardown) quick.
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="slack-api-stand-in",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- test helpers ------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        error: str = "ratelimited",
        retry_after: int | None = 0,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (429 + Retry-After by default)."""
        with self._lock:
            self._failures.setdefault(method, []).append(_Failure(status, error, retry_after, times))

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """The arguments of every answered call to ``method``, oldest first."""
        with self._lock:
            return [call["args"] for call in self.calls if call["method"] == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until ``method`` was answered ``count`` times (the worker posts asynchronously)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [call["args"] for call in self.calls if call["method"] == method]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._changed.wait(remaining)

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self.rejected.clear()
            self._failures.clear()

    # --- answering ---------------------------------------------------------------------------
    def _answer(
        self, method: str, args: dict[str, Any], authed: bool
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._lock:
            failure = self._take_failure(method)
            if failure is not None:
                self.rejected.append({"method": method, "args": args, "status": failure.status})
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                return failure.status, headers, {"ok": False, "error": failure.error}
        if not authed and method != "api.test":
            return 200, {}, {"ok": False, "error": "not_authed"}
        build = _RESPONSES.get(method)
        if build is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        with self._lock:
            body = build(self, args)
            if body.get("ok"):
                ts = (body.get("ts") or body.get("message_ts")) if method in _MESSAGE_METHODS else None
                self._record(method, args, ts)
            else:
                self.rejected.append({"method": method, "args": args, "status": 200, "error": body["error"]})
        if body.get("ok") and self._echo is not None:
            self._echo(describe_call(method, args))
        return 200, {}, body

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        return failure

    def _record(self, method: str, args: dict[str, Any], ts: str | None) -> None:
        entry: dict[str, Any] = {"method": method, "args": args}
        if ts:
            entry["ts"] = ts
        with self._changed:
            self.calls.append(entry)
            if self._jsonl_path:
                with self._jsonl_path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(entry, sort_keys=True) + "\n")
                    handle.flush()
            self._changed.notify_all()

    def next_ts(self) -> str:
        """A message timestamp, strictly after every one given so far (also those read back)."""
        with self._lock:
            now = int(time.time())
            seconds, serial = self._last_ts
            self._last_ts = (now, 1) if now > seconds else (seconds, serial + 1)
            return "{}.{:06d}".format(*self._last_ts)

    def _note_ts(self, ts: str) -> None:
        seconds, _, serial = ts.partition(".")
        with contextlib.suppress(ValueError):
            self._last_ts = max(self._last_ts, (int(seconds), int(serial or 0)))

    def _touch(self) -> None:
        self.version += 1
        self._changed.notify_all()

    # --- what people see: conversations and messages -------------------------------------------
    def note_user(self, user_id: str, name: str | None = None) -> None:
        """Someone who exists in this workspace (the page lists them to act as)."""
        with self._lock:
            if user_id and (user_id not in self._users or name):
                self._users[user_id] = name or self._users.get(user_id) or user_id.lower()
                self._touch()

    def conversation_for(self, channel: str) -> dict[str, Any]:
        """The conversation a ``channel`` argument means (a user id means the DM with the app)."""
        with self._lock:
            if channel[:1] in {"U", "W"}:
                conversation_id = dm_channel_for(channel)
                self._users.setdefault(channel, channel.lower())
                known = self._conversations.setdefault(
                    conversation_id, {"id": conversation_id, "name": channel, "is_im": True, "user": channel}
                )
                if known.get("user") is None:  # first seen by id, now we know whose DM it is
                    known.update(name=channel, user=channel)
                return known
            if channel.startswith("#"):
                conversation_id = channel_id_for(channel[1:])
                return self._conversations.setdefault(
                    conversation_id,
                    {"id": conversation_id, "name": channel[1:], "is_im": False, "user": None},
                )
            is_im = channel.startswith("D")
            return self._conversations.setdefault(
                channel, {"id": channel, "name": channel, "is_im": is_im, "user": None}
            )

    def _store(self, posted: _Posted) -> dict[str, Any]:
        self._messages.setdefault(posted.channel, []).append(posted)
        self._note_ts(posted.message["ts"])
        self._touch()
        return posted.message

    def _find(self, channel: str, ts: str, *, viewer: str | None = None) -> _Posted | None:
        for posted in reversed(self._messages.get(channel, [])):
            if posted.message["ts"] == ts and posted.visible_to in {None, viewer}:
                return posted
        return None

    def message(self, channel: str, ts: str, *, viewer: str | None = None) -> dict[str, Any] | None:
        """A copy of the message ``viewer`` sees at ``ts`` in ``channel`` (with ``ephemeral``)."""
        with self._lock:
            posted = self._find(channel, ts, viewer=viewer)
            if posted is None:
                return None
            return {**copy.deepcopy(posted.message), "ephemeral": posted.visible_to is not None}

    def bot_message(self, args: Mapping[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.identity["user_id"],
            "bot_id": self.identity["bot_id"],
            "app_id": self.identity["app_id"],
            "team": self.identity["team_id"],
            "text": args.get("text", ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts"):
            if args.get(key) is not None:
                message[key] = with_block_ids(args[key]) if key == "blocks" else copy.deepcopy(args[key])
        return message

    def post_message(self, args: Mapping[str, Any], *, ts: str | None = None) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        with self._lock:
            conversation = self.conversation_for(channel)
            message = self._store(_Posted(conversation["id"], self.bot_message(args, ts or self.next_ts())))
            return {"ok": True, "channel": conversation["id"], "ts": message["ts"], "message": message}

    def update_message(self, args: Mapping[str, Any], *, viewer: str | None = None) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        with self._lock:
            conversation_id = self.conversation_for(channel)["id"]
            posted = self._find(conversation_id, ts, viewer=viewer)
            if posted is None:
                return {"ok": False, "error": "message_not_found"}
            for key in _MESSAGE_CONTENT:
                # As Slack documents: what the update leaves out is kept.
                if args.get(key) is not None:
                    value = args[key]
                    posted.message[key] = with_block_ids(value) if key == "blocks" else copy.deepcopy(value)
            posted.message["edited"] = {"user": self.identity["user_id"], "ts": self.next_ts()}
            self._touch()
            message = copy.deepcopy(posted.message)
            return {
                "ok": True,
                "channel": conversation_id,
                "ts": ts,
                "text": message["text"],
                "message": message,
            }

    def delete_message(self, channel: str, ts: str, *, viewer: str | None = None) -> bool:
        with self._lock:
            posted = self._find(channel, ts, viewer=viewer)
            if posted is None:
                return False
            self._messages[channel].remove(posted)
            self._touch()
            return True

    def post_ephemeral(
        self, channel: str, user: str, content: Mapping[str, Any], *, invocation: str | None = None
    ) -> str:
        """A message only ``user`` sees in ``channel`` (not kept across a restart, as in Slack)."""
        with self._lock:
            conversation = self.conversation_for(channel)
            self._users.setdefault(user, user.lower())
            message = self.bot_message(content, self.next_ts())
            self._store(_Posted(conversation["id"], message, visible_to=user, invocation=invocation))
            return str(message["ts"])

    # --- what people see: views ----------------------------------------------------------------
    def issue_trigger(self, user: str) -> str:
        """A trigger id for an interaction of ``user``; a ``views.open`` with it opens their modal."""
        trigger_id = f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[trigger_id] = (user, time.monotonic())
        return trigger_id

    def _take_trigger(self, trigger_id: str) -> str | None:
        issued = self._triggers.pop(trigger_id, None)
        if issued is None:
            return None
        user, at = issued
        waited = time.monotonic() - at
        if waited > TRIGGER_SECONDS and self._echo is not None:
            self._echo(
                f"[slack] warning: trigger used after {waited:.1f} s; Slack answers expired_trigger_id "
                f"after {TRIGGER_SECONDS:g} s"
            )
        return user

    def _new_view(
        self, view: Mapping[str, Any], default_type: str, view_id: str | None = None
    ) -> dict[str, Any]:
        view_id = view_id or "V" + uuid.uuid4().hex[:10].upper()
        return {
            "id": view_id,
            "team_id": self.identity["team_id"],
            "type": view.get("type", default_type),
            "title": copy.deepcopy(view.get("title")),
            "submit": copy.deepcopy(view.get("submit")),
            "close": copy.deepcopy(view.get("close")),
            "blocks": with_block_ids(view.get("blocks", [])),
            "callback_id": view.get("callback_id", ""),
            "private_metadata": view.get("private_metadata", ""),
            "external_id": view.get("external_id", ""),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "state": {"values": {}},
            "hash": uuid.uuid4().hex[:16],
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": self.identity["app_id"],
            "bot_id": self.identity["bot_id"],
        }

    def open_view(self, view: Mapping[str, Any], user: str | None, *, push: bool = False) -> dict[str, Any]:
        with self._lock:
            stack = self._modal_stacks.setdefault(user, []) if user else []
            created = self._new_view(view, "modal")
            if push and stack:
                created["root_view_id"] = self._views[stack[0]].view["root_view_id"]
                created["previous_view_id"] = stack[-1]
                stack.append(created["id"])
            elif user:
                stack[:] = [created["id"]]
            self._views[created["id"]] = _StoredView(created, user, time.monotonic())
            self._touch()
            return copy.deepcopy(created)

    def update_view(
        self, view: Mapping[str, Any], *, view_id: str = "", external_id: str = "", expected_hash: str = ""
    ) -> dict[str, Any]:
        with self._lock:
            stored = self._views.get(view_id) if view_id else None
            if stored is None and external_id:
                stored = next(
                    (v for v in self._views.values() if v.view.get("external_id") == external_id), None
                )
            if stored is None:
                return {"ok": False, "error": "not_found"}
            if expected_hash and expected_hash != stored.view["hash"]:
                return {"ok": False, "error": "hash_conflict"}
            replaced = self._new_view(view, stored.view["type"], stored.view["id"])
            replaced["root_view_id"] = stored.view["root_view_id"]
            replaced["previous_view_id"] = stored.view["previous_view_id"]
            stored.view = replaced
            self._touch()
            return {"ok": True, "view": copy.deepcopy(replaced)}

    def publish_home(self, user: str, view: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._users.setdefault(user, user.lower())
            created = self._new_view(view, "home", self._homes.get(user))
            self._homes[user] = created["id"]
            self._views[created["id"]] = _StoredView(created, user, time.monotonic())
            self._touch()
            return copy.deepcopy(created)

    def view(self, view_id: str) -> tuple[dict[str, Any], str | None] | None:
        """A view (copy) and the user it belongs to."""
        with self._lock:
            stored = self._views.get(view_id)
            return None if stored is None else (copy.deepcopy(stored.view), stored.user)

    def close_view(self, user: str, view_id: str, *, clear: bool = False) -> None:
        """The user closed ``view_id`` (or the app answered a submission with nothing or ``clear``)."""
        with self._lock:
            stack = self._modal_stacks.get(user, [])
            if clear or (stack and stack[0] == view_id):
                stack.clear()
            elif view_id in stack:
                del stack[stack.index(view_id) :]
            self._touch()

    # --- response_url ----------------------------------------------------------------------------
    def response_url(
        self, user: str, channel: str, *, message_ts: str | None = None, invocation: str | None = None
    ) -> str:
        """A ``response_url`` for an interaction; what the app posts to it shows up for ``user``."""
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._responders[token] = _Responder(
                user, self.conversation_for(channel)["id"], message_ts, invocation
            )
        return f"{self.root_url}/respond/{token}"

    def _respond(self, token: str, body: Mapping[str, Any]) -> tuple[int, str]:
        with self._lock:
            responder = self._responders.get(token)
            if responder is None:
                return 404, "no_service"
            channel, user = responder.channel, responder.user
            target = responder.message_ts
            if body.get("delete_original") and target:
                deleted = self.delete_message(channel, target, viewer=user)
                return (200, "ok") if deleted else (404, "message_not_found")
            if body.get("replace_original") and target:
                posted = self._find(channel, target, viewer=user)
                if posted is None:
                    return 404, "message_not_found"
                for key in _MESSAGE_CONTENT:
                    if body.get(key) is not None:
                        value = body[key]
                        posted.message[key] = (
                            with_block_ids(value) if key == "blocks" else copy.deepcopy(value)
                        )
                self._touch()
                return 200, "ok"
            if body.get("response_type") == "in_channel":
                self.post_message({**body, "channel": channel})
            else:
                self.post_ephemeral(channel, user, body, invocation=responder.invocation)
        if self._echo is not None:
            self._echo(
                f"[slack] response_url ({body.get('response_type') or 'ephemeral'}) to {user}: "
                f"{body.get('text', '')}"
            )
        return 200, "ok"

    # --- a page's view of it all -----------------------------------------------------------------
    def snapshot(self, user: str, *, limit: int = SNAPSHOT_MESSAGES) -> dict[str, Any]:
        """What ``user`` sees: their conversations with messages, their App Home and open modal."""
        with self._lock:
            conversations = [
                dict(c) for c in self._conversations.values() if not c["is_im"] or c.get("user") == user
            ]
            own_dm = dm_channel_for(user)
            if user and own_dm not in {c["id"] for c in conversations}:
                conversations.append({"id": own_dm, "name": user, "is_im": True, "user": user})
            messages: dict[str, list[dict[str, Any]]] = {}
            for conversation in conversations:
                visible = [
                    {
                        **copy.deepcopy(posted.message),
                        "ephemeral": posted.visible_to is not None,
                        "invocation": posted.invocation,
                    }
                    for posted in self._messages.get(conversation["id"], [])
                    if posted.visible_to in {None, user}
                ]
                messages[conversation["id"]] = visible[-limit:]
            home_id = self._homes.get(user)
            stack = self._modal_stacks.get(user, [])
            return {
                "version": self.version,
                "bot": {"id": self.identity["user_id"], "name": self.identity["user"]},
                "team": {"id": self.identity["team_id"], "domain": self.identity["team"]},
                "users": dict(sorted(self._users.items())),
                "conversations": sorted(conversations, key=lambda c: (c["is_im"], c["name"])),
                "messages": messages,
                "home": copy.deepcopy(self._views[home_id].view) if home_id else None,
                "modal": copy.deepcopy(self._views[stack[-1]].view) if stack else None,
                "modal_depth": len(stack),
            }

    # --- reading an earlier run back -----------------------------------------------------------
    def _replay(self, path: Path) -> None:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
                method, args = entry["method"], entry["args"]
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash: skip it, keep the rest
            if not isinstance(args, dict):
                continue
            if method == "chat.postMessage":
                self.post_message(args, ts=entry.get("ts") or self.next_ts())
            elif method == "chat.update":
                self.update_message(args)
            elif method == "views.publish" and args.get("user_id") and isinstance(args.get("view"), dict):
                self.publish_home(str(args["user_id"]), args["view"])
            # Ephemeral messages and modals do not outlive the moment, in Slack either.


def dm_channel_for(user_id: str) -> str:
    """The DM channel id Slack would use between the app and ``user_id`` (stable per user)."""
    return "D" + hashlib.sha256(user_id.encode()).hexdigest()[:10].upper()


def channel_id_for(name: str) -> str:
    """The id of the public channel called ``name`` (stable per name)."""
    return "C" + hashlib.sha256(name.encode()).hexdigest()[:10].upper()


def with_block_ids(blocks: Any) -> Any:
    """A copy of ``blocks`` in which every block has a ``block_id``, as Slack assigns them."""
    result = copy.deepcopy(blocks)
    if isinstance(result, list):
        for index, block in enumerate(result):
            if isinstance(block, dict) and not block.get("block_id"):
                block["block_id"] = f"b{index}{secrets.token_hex(2)}"
    return result


def _post_message(stand_in: SlackApiStandIn, args: dict[str, Any]) -> dict[str, Any]:
    return stand_in.post_message(args)


def _update_message(stand_in: SlackApiStandIn, args: dict[str, Any]) -> dict[str, Any]:
    return stand_in.update_message(args)


def _post_ephemeral(stand_in: SlackApiStandIn, args: dict[str, Any]) -> dict[str, Any]:
    channel, user = str(args.get("channel", "")), str(args.get("user", ""))
    if not channel:
        return {"ok": False, "error": "channel_not_found"}
    if not user:
        return {"ok": False, "error": "user_not_found"}
    return {"ok": True, "message_ts": stand_in.post_ephemeral(channel, user, args)}


def _views_open(stand_in: SlackApiStandIn, args: dict[str, Any], *, push: bool = False) -> dict[str, Any]:
    trigger_id = str(args.get("trigger_id") or args.get("interactivity_pointer") or "")
    view = args.get("view")
    if not trigger_id or not isinstance(view, dict):
        return {"ok": False, "error": "invalid_arguments"}
    # A trigger the local page issued names the user; others (rdsctl, tests) open an unowned view.
    user = stand_in._take_trigger(trigger_id)
    return {"ok": True, "view": stand_in.open_view(view, user, push=push)}


def _views_update(stand_in: SlackApiStandIn, args: dict[str, Any]) -> dict[str, Any]:
    view = args.get("view")
    if not isinstance(view, dict):
        return {"ok": False, "error": "invalid_arguments"}
    return stand_in.update_view(
        view,
        view_id=str(args.get("view_id") or ""),
        external_id=str(args.get("external_id") or ""),
        expected_hash=str(args.get("hash") or ""),
    )


def _views_publish(stand_in: SlackApiStandIn, args: dict[str, Any]) -> dict[str, Any]:
    view, user = args.get("view"), str(args.get("user_id") or "")
    if not isinstance(view, dict) or not user:
        return {"ok": False, "error": "invalid_arguments"}
    return {"ok": True, "view": stand_in.publish_home(user, view)}


def _auth_test(stand_in: SlackApiStandIn, args: dict[str, Any]) -> dict[str, Any]:
    identity = stand_in.identity
    return {
        "ok": True,
        "url": f"https://{identity['team']}.slack.com/",
        "team": identity["team"],
        "user": identity["user"],
        "team_id": identity["team_id"],
        "user_id": identity["user_id"],
        "bot_id": identity["bot_id"],
        "is_enterprise_install": False,
    }


def _conversations_open(stand_in: SlackApiStandIn, args: dict[str, Any]) -> dict[str, Any]:
    users = str(args.get("users", "")).split(",")
    if not users[0]:
        return {"ok": False, "error": "users_list_not_supplied"}
    return {"ok": True, "channel": {"id": stand_in.conversation_for(users[0])["id"]}}


def _permalink(stand_in: SlackApiStandIn, args: dict[str, Any]) -> dict[str, Any]:
    channel, ts = args.get("channel", ""), str(args.get("message_ts", ""))
    return {
        "ok": True,
        "channel": channel,
        "permalink": (
            f"https://{stand_in.identity['team']}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        ),
    }


_RESPONSES: Mapping[str, Callable[[SlackApiStandIn, dict[str, Any]], dict[str, Any]]] = {
    "api.test": lambda _stand_in, args: {"ok": True, "args": args},
    "auth.test": _auth_test,
    "chat.postMessage": _post_message,
    "chat.postEphemeral": _post_ephemeral,
    "chat.update": _update_message,
    "chat.getPermalink": _permalink,
    "conversations.open": _conversations_open,
    "views.open": _views_open,
    "views.push": lambda stand_in, args: _views_open(stand_in, args, push=True),
    "views.update": _views_update,
    "views.publish": _views_publish,
}


def describe_call(method: str, args: Mapping[str, Any]) -> str:
    """One readable line (plus the message text) for a call, for the local stack's console."""
    if method in _MESSAGE_METHODS:
        where = args.get("channel", "?")
        thread = f" (thread {args['thread_ts']})" if args.get("thread_ts") else ""
        return f"[slack] {method} to {where}{thread}: {args.get('text', '')}"
    if method.startswith("views."):
        raw_view = args.get("view")
        view: Mapping[str, Any] = raw_view if isinstance(raw_view, dict) else {}
        target = args.get("user_id") or args.get("trigger_id") or args.get("view_id") or "?"
        return f"[slack] {method} {view.get('type', '')} {view.get('callback_id', '')} for {target}".rstrip()
    return f"[slack] {method}"


def _parse_body(content_type: str, raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        data = json.loads(raw.decode("utf-8"))
        return dict(data) if isinstance(data, dict) else {}
    args: dict[str, Any] = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    for key in _JSON_ARGUMENTS & args.keys():
        with contextlib.suppress(ValueError):  # not JSON after all: keep the string
            args[key] = json.loads(args[key])
    return args


def _handler_for(stand_in: SlackApiStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self._handle()

        def do_GET(self) -> None:
            self._handle()

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            method = parts.path.rstrip("/").rsplit("/", 1)[-1]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if parts.path.startswith("/respond/"):
                self._respond(method, raw)
                return
            try:
                args = _parse_body(self.headers.get("Content-Type", ""), raw)
            except ValueError:
                self._send(200, {}, {"ok": False, "error": "invalid_json"})
                return
            args.update(dict(parse_qsl(parts.query)))
            token = args.pop("token", None)
            authed = bool(token) or self.headers.get("Authorization", "").startswith("Bearer ")
            status, headers, body = stand_in._answer(method, args, authed)
            self._send(status, headers, body)

        def _respond(self, token: str, raw: bytes) -> None:
            # A response_url takes JSON, like Slack's; it answers "ok" in plain text.
            try:
                body = json.loads(raw.decode("utf-8")) if raw else {}
            except ValueError:
                body = None
            status, text = (
                (400, "invalid_payload") if not isinstance(body, dict) else stand_in._respond(token, body)
            )
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _send(self, status: int, headers: Mapping[str, str], body: Mapping[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return  # the calls are recorded; per-request access logs would only be noise

    return Handler
