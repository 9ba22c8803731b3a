"""A local stand-in for the Slack Web API, for tests and the local stack.

It speaks enough of the Web API for what the app and the notifier call, the way slack_sdk calls
it (``POST <base_url><method>`` with a form or JSON body and a bearer token), and answers with
the fields real Slack returns, including the DM channel id Slack substitutes when a message is
posted to a user id. Every answered call is recorded (``.calls``) and, optionally, appended to a
JSONL file; ``fail_next`` makes the next calls of a method fail (a 429 with Retry-After, say).

    with SlackApiStandIn() as slack:
        client = WebClient(token="xoxb-local", base_url=slack.base_url)
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
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


@dataclass
class _Failure:
    status: int
    error: str
    retry_after: int | None
    remaining: int


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
    ) -> None:
        self.identity = {
            "team_id": team_id,
            "team": team,
            "user_id": bot_user_id,
            "user": "rds-provisioner",
            "bot_id": bot_id,
            "app_id": app_id,
        }
        self.calls: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self._jsonl_path = Path(jsonl_path) if jsonl_path else None
        self._echo = echo
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._failures: dict[str, list[_Failure]] = {}
        self._ts_counter = itertools.count(1)
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """What to give ``WebClient(base_url=...)`` (ends with ``/api/``, like Slack's)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

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
        body = build(self, args)
        self._record(method, args)
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

    def _record(self, method: str, args: dict[str, Any]) -> None:
        entry = {"method": method, "args": args}
        with self._changed:
            self.calls.append(entry)
            if self._jsonl_path:
                with self._jsonl_path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(entry, sort_keys=True) + "\n")
                    handle.flush()
            self._changed.notify_all()
        if self._echo is not None:
            self._echo(describe_call(method, args))

    def next_ts(self) -> str:
        with self._lock:
            return f"{int(time.time())}.{next(self._ts_counter):06d}"


def dm_channel_for(user_id: str) -> str:
    """The DM channel id Slack would use between the app and ``user_id`` (stable per user)."""
    return "D" + hashlib.sha256(user_id.encode()).hexdigest()[:10].upper()


def _channel(args: Mapping[str, Any]) -> str:
    channel = str(args.get("channel", ""))
    return dm_channel_for(channel) if channel[:1] in {"U", "W"} else channel


def _message(stand_in: SlackApiStandIn, args: Mapping[str, Any], ts: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "message",
        "user": stand_in.identity["user_id"],
        "bot_id": stand_in.identity["bot_id"],
        "app_id": stand_in.identity["app_id"],
        "team": stand_in.identity["team_id"],
        "text": args.get("text", ""),
        "ts": ts,
    }
    for key in ("blocks", "attachments", "thread_ts"):
        if key in args:
            message[key] = args[key]
    return message


def _post_message(stand_in: SlackApiStandIn, args: dict[str, Any]) -> dict[str, Any]:
    if not args.get("channel"):
        return {"ok": False, "error": "channel_not_found"}
    ts = stand_in.next_ts()
    return {"ok": True, "channel": _channel(args), "ts": ts, "message": _message(stand_in, args, ts)}


def _update_message(stand_in: SlackApiStandIn, args: dict[str, Any]) -> dict[str, Any]:
    ts = str(args.get("ts", ""))
    return {
        "ok": True,
        "channel": _channel(args),
        "ts": ts,
        "text": args.get("text", ""),
        "message": _message(stand_in, args, ts),
    }


def _post_ephemeral(stand_in: SlackApiStandIn, args: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "message_ts": stand_in.next_ts()}


def _view(stand_in: SlackApiStandIn, args: dict[str, Any], default_type: str) -> dict[str, Any]:
    view = args.get("view")
    if not isinstance(view, dict):
        return {"ok": False, "error": "invalid_arguments"}
    view_id = str(args.get("view_id") or "V" + uuid.uuid4().hex[:10].upper())
    return {
        "ok": True,
        "view": {
            "id": view_id,
            "team_id": stand_in.identity["team_id"],
            "type": view.get("type", default_type),
            "title": view.get("title"),
            "blocks": view.get("blocks", []),
            "callback_id": view.get("callback_id", ""),
            "private_metadata": view.get("private_metadata", ""),
            "state": {"values": {}},
            "hash": uuid.uuid4().hex[:16],
            "root_view_id": view_id,
            "app_id": stand_in.identity["app_id"],
            "bot_id": stand_in.identity["bot_id"],
        },
    }


def _views_open(stand_in: SlackApiStandIn, args: dict[str, Any]) -> dict[str, Any]:
    if not args.get("trigger_id") and not args.get("interactivity_pointer"):
        return {"ok": False, "error": "invalid_arguments"}
    return _view(stand_in, args, "modal")


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
    return {"ok": True, "channel": {"id": dm_channel_for(users[0])}}


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
    "views.push": _views_open,
    "views.update": lambda stand_in, args: _view(stand_in, args, "modal"),
    "views.publish": lambda stand_in, args: _view(stand_in, args, "home"),
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
