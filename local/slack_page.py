"""``/_local/slack``: the Slack stand-in's conversations in a browser, and a way to act in them.

The page (static HTML, ``static/slack.js`` and ``static/slack.css``) polls
``GET /_local/slack/state.json`` for what the chosen user sees, and posts what they do to
``POST /_local/slack/send``. This module turns each of those into the request Slack would send:
a form-encoded slash command, a ``block_actions`` or ``view_submission`` interaction, an
``app_home_opened`` event, each signed with the signing secret the functions verify, and sends
it through the gateway's own ``POST /slack/events``, so the real Bolt app checks the signature
and answers as it would in AWS. The answer is then shown as Slack shows it: an ephemeral
message, a closed modal, inline errors under the right input block.

Nothing from a message reaches the page as HTML: mrkdwn is parsed here (``mrkdwn.annotate``)
into nodes the page builds with ``textContent``.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from slack_sdk.signature import SignatureVerifier

from local.gateway import LocalRoute, Page
from local.mrkdwn import annotate, parse

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from local.slack_api import SlackApiStandIn

DEFAULT_USER = "U0LOCALUSER"
VERIFICATION_TOKEN = "local-verification-token"  # noqa: S105 - Slack's legacy field, not checked
SLACK_DEADLINE_SECONDS = 3.0
REQUIRED_FIELD = "Please complete this required field."

_USER_ID = re.compile(r"^[UW][A-Z0-9]{1,20}$")
_CONVERSATION_ID = re.compile(r"^[CDG][A-Z0-9]{1,20}$")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
_MAX_SEND_BYTES = 64 * 1024

SHELL = """<!doctype html>
<html lang=en>
<head>
<meta charset=utf-8>
<meta name=viewport content="width=device-width, initial-scale=1">
<title>Slack (local) \u00b7 rds-provisioner</title>
<link rel=icon href="data:,">
<link rel=stylesheet href="/_local/static/slack.css">
<script src="/_local/static/slack.js" defer></script>
</head>
<body>
<noscript>This page needs JavaScript: it shows the Slack stand-in's conversations as they
change.</noscript>
<div id=app></div>
</body>
</html>
"""

UNAVAILABLE = """<!doctype html>
<html lang=en><head><meta charset=utf-8><title>Slack (local)</title>
<link rel=stylesheet href="/_local/static/prs.css"></head>
<body><h1>Slack (local)</h1>
<p>The Slack stand-in is not running: this stack is connected to a real workspace over Socket
Mode (SLACK_BOT_TOKEN and SLACK_APP_TOKEN are set), so the conversations are in Slack itself.</p>
<p><a href="/">home</a></p></body></html>
"""


class SendError(Exception):
    """A bad request from the page: 400 with this message."""


def slack_link(*, user: str | None = None, channel: str | None = None, thread: str | None = None) -> str:
    """A link into the local Slack page: as ``user``, in ``channel``, with ``thread`` open."""
    fragment = {
        key: value for key, value in (("user", user), ("channel", channel), ("thread", thread)) if value
    }
    return "/_local/slack" + ("#" + urlencode(fragment) if fragment else "")


def _json(status: int, payload: Any) -> Page:
    return Page(status, json.dumps(payload), "application/json")


def _signed_headers(body: bytes, secret: str, content_type: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature or "",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }


def _find_element(
    blocks: Sequence[Mapping[str, Any]], block_id: str, action_id: str
) -> Mapping[str, Any] | None:
    for block in blocks:
        if block.get("block_id") != block_id:
            continue
        candidates: list[Any] = list(block.get("elements") or [])
        candidates += [block.get("accessory"), block.get("element")]
        for element in candidates:
            if isinstance(element, Mapping) and element.get("action_id") == action_id:
                return element
    return None


def _options(element: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += list(group.get("options") or [])
    return [option for option in options if isinstance(option, Mapping)]


def _option(element: Mapping[str, Any], value: Any) -> Mapping[str, Any] | None:
    return next((option for option in _options(element) if option.get("value") == value), None)


class SlackPage:
    """The page's endpoints, bound to a stand-in (None when Slack is the real one)."""

    def __init__(
        self,
        stand_in: Callable[[], SlackApiStandIn | None],
        *,
        signing_secret: str,
        events_url: Callable[[], str],
        commands: Sequence[str],
        app_id: str = "A0LOCAL",
        log: Callable[[str], None] | None = None,
        timeout_seconds: float = 15.0,
    ) -> None:
        self._stand_in = stand_in
        self._secret = signing_secret
        self._events_url = events_url
        self._commands = tuple(commands)
        self._app_id = app_id
        self._log = log or (lambda _line: None)
        self._timeout = timeout_seconds

    def routes(self) -> list[LocalRoute]:
        return [
            LocalRoute("/_local/slack", self.shell),
            LocalRoute("/_local/slack/state.json", self.state, quiet=True),
            LocalRoute("/_local/slack/send", self.send, methods=("POST",)),
        ]

    # --- pages ---------------------------------------------------------------------------------
    def shell(self, request: Request) -> Page:
        return Page(200, SHELL) if self._stand_in() is not None else Page(503, UNAVAILABLE)

    def state(self, request: Request) -> Page:
        slack = self._stand_in()
        if slack is None:
            return _json(503, {"message": "no Slack stand-in: connected to a real workspace"})
        user = request.args.get("user") or DEFAULT_USER
        if not _USER_ID.match(user):
            return _json(400, {"message": "user must be a Slack user id such as U0LOCALUSER"})
        since = request.args.get("since")
        if since is not None and since == str(slack.version):
            return _json(200, {"version": slack.version})
        snapshot = slack.snapshot(user)
        for messages in snapshot["messages"].values():
            for message in messages:
                message["text_nodes"] = parse(str(message.get("text") or ""))
                for key in ("blocks", "attachments"):
                    if key in message:
                        message[key] = annotate(message[key])
        for key in ("home", "modal"):
            if snapshot[key] is not None:
                snapshot[key] = annotate(snapshot[key])
        snapshot["me"] = user
        snapshot["commands"] = list(self._commands)
        return _json(200, snapshot)

    def send(self, request: Request) -> Page:
        slack = self._stand_in()
        if slack is None:
            return _json(503, {"message": "no Slack stand-in: connected to a real workspace"})
        refusal = self._refuse_cross_site(request)
        if refusal:
            return _json(403, {"message": refusal})
        try:
            data = json.loads(request.get_data(cache=False)[:_MAX_SEND_BYTES] or b"null")
            if not isinstance(data, dict):
                raise SendError("expected a JSON object")
            user = str(data.get("user") or "")
            if not _USER_ID.match(user):
                raise SendError("user must be a Slack user id such as U0LOCALUSER")
            slack.note_user(user)
            kind = data.get("kind")
            if kind == "command":
                return _json(200, self._command(slack, user, data))
            if kind == "action":
                return _json(200, self._action(slack, user, data))
            if kind == "submit":
                return _json(200, self._submit(slack, user, data))
            if kind == "close":
                return _json(200, self._close(slack, user, data))
            if kind == "home":
                return _json(200, self._home_opened(slack, user))
            raise SendError("kind must be command, action, submit, close or home")
        except SendError as error:
            return _json(400, {"message": str(error)})
        except ValueError:
            return _json(400, {"message": "the body is not JSON"})

    @staticmethod
    def _refuse_cross_site(request: Request) -> str | None:
        """Only this page may act as a user: JSON only (no cross-site form), same origin, loopback."""
        if request.mimetype != "application/json":
            return "send JSON (Content-Type: application/json)"
        host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        if host not in _LOOPBACK_HOSTS:
            return f"the local Slack page answers on loopback addresses only, not {request.host}"
        origin = request.headers.get("Origin")
        if origin and urlsplit(origin).netloc != request.host:
            return "cross-origin requests are refused"
        return None

    # --- what a user does ------------------------------------------------------------------------
    def _conversation(self, slack: SlackApiStandIn, user: str, channel: Any) -> dict[str, Any]:
        channel = str(channel or "")
        if not _CONVERSATION_ID.match(channel):
            raise SendError("channel must be a conversation id such as D0123 or C0123")
        conversation = slack.conversation_for(channel)
        if conversation["is_im"] and conversation.get("user") not in {None, user}:
            raise SendError("that is someone else's direct message")
        return conversation

    def _command(self, slack: SlackApiStandIn, user: str, data: Mapping[str, Any]) -> dict[str, Any]:
        conversation = self._conversation(slack, user, data.get("channel"))
        typed = str(data.get("text") or "").strip()
        command, _, text = typed.partition(" ")
        if command not in self._commands:
            # Slack answers this itself; the app never hears of it.
            known = ", ".join(self._commands)
            slack.post_ephemeral(
                conversation["id"],
                user,
                {"text": f"`{_escape(command or typed)}` is not a valid command. This app has: {known}"},
                invocation=typed,
            )
            return {"ok": False, "sent": False}
        form = {
            "token": VERIFICATION_TOKEN,
            "team_id": slack.identity["team_id"],
            "team_domain": slack.identity["team"],
            "channel_id": conversation["id"],
            "channel_name": "directmessage" if conversation["is_im"] else conversation["name"],
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text.strip(),
            "api_app_id": self._app_id,
            "is_enterprise_install": "false",
            "response_url": slack.response_url(user, conversation["id"], invocation=typed),
            "trigger_id": slack.issue_trigger(user),
        }
        status, answer, elapsed = self._forward(urlencode(form).encode(), "application/x-www-form-urlencoded")
        if status != 200:
            slack.post_ephemeral(
                conversation["id"], user, {"text": _dispatch_failed(command, status)}, invocation=typed
            )
            return {"ok": False, "status": status, "elapsed_ms": elapsed}
        if answer:
            content = answer if isinstance(answer, dict) else {"text": str(answer)}
            if content.get("response_type") == "in_channel":
                slack.post_message({**content, "channel": conversation["id"]})
            elif content.get("text") or content.get("blocks"):
                slack.post_ephemeral(conversation["id"], user, content, invocation=typed)
        return {"ok": True, "status": status, "elapsed_ms": elapsed}

    def _action(self, slack: SlackApiStandIn, user: str, data: Mapping[str, Any]) -> dict[str, Any]:
        block_id, action_id = str(data.get("block_id") or ""), str(data.get("action_id") or "")
        payload: dict[str, Any] = {
            "type": "block_actions",
            **self._who(slack, user),
            "trigger_id": slack.issue_trigger(user),
        }
        if data.get("view_id"):
            found = slack.view(str(data["view_id"]))
            if found is None or found[1] not in {None, user}:
                raise SendError("no such view for this user")
            view, _owner = found
            view["state"] = {"values": self._state_values(view, data.get("values"))}
            blocks = view.get("blocks") or []
            payload |= {"container": {"type": "view", "view_id": view["id"]}, "view": view}
        else:
            conversation = self._conversation(slack, user, data.get("channel"))
            ts = str(data.get("ts") or "")
            message = slack.message(conversation["id"], ts, viewer=user)
            if message is None:
                raise SendError("no such message")
            ephemeral = bool(message.pop("ephemeral", False))
            message.pop("invocation", None)
            blocks = message.get("blocks") or []
            container: dict[str, Any] = {
                "type": "message",
                "message_ts": ts,
                "channel_id": conversation["id"],
                "is_ephemeral": ephemeral,
            }
            if message.get("thread_ts"):
                container["thread_ts"] = message["thread_ts"]
            payload |= {
                "container": container,
                "channel": {"id": conversation["id"], "name": conversation["name"]},
                "message": message,
                "state": {"values": {}},
                "response_url": slack.response_url(user, conversation["id"], message_ts=ts),
            }
        element = _find_element(blocks, block_id, action_id)
        if element is None:
            raise SendError("no such element in that message or view")
        payload["actions"] = [self._action_of(element, block_id, data.get("value"))]
        status, _answer, elapsed = self._forward(
            urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
        )
        return {"ok": status == 200, "status": status, "elapsed_ms": elapsed}

    @staticmethod
    def _action_of(element: Mapping[str, Any], block_id: str, chosen: Any) -> dict[str, Any]:
        kind = element.get("type")
        action: dict[str, Any] = {
            "type": kind,
            "block_id": block_id,
            "action_id": element["action_id"],
            "action_ts": f"{time.time():.6f}",
        }
        if kind == "button":
            action["text"] = element.get("text")
            for key in ("value", "style", "url"):
                if element.get(key) is not None:
                    action[key] = element[key]
            return action
        if kind in {"static_select", "overflow", "radio_buttons"}:
            option = _option(element, chosen)
            if option is None:
                raise SendError("that option is not one of the element's options")
            action["selected_option"] = option
            if element.get("placeholder"):
                action["placeholder"] = element["placeholder"]
            return action
        raise SendError(f"the local page does not send {kind} elements")

    def _state_values(self, view: Mapping[str, Any], given: Any) -> dict[str, dict[str, Any]]:
        """``view.state.values`` as Slack builds it from the view's input blocks and what was entered."""
        entered: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        values: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks") or []:
            element = block.get("element") if block.get("type") == "input" else None
            if not isinstance(element, Mapping) or not element.get("action_id"):
                continue
            block_id, action_id = str(block["block_id"]), str(element["action_id"])
            raw = (
                entered.get(block_id, {}).get(action_id)
                if isinstance(entered.get(block_id), Mapping)
                else None
            )
            kind = element.get("type")
            if kind == "static_select":
                state: dict[str, Any] = {
                    "type": kind,
                    "selected_option": _option(element, raw) if raw else None,
                }
            elif kind == "plain_text_input":
                text = str(raw) if raw is not None else ""
                max_length = element.get("max_length")
                if isinstance(max_length, int):
                    text = text[:max_length]
                state = {"type": kind, "value": text or None}
            else:
                state = {"type": kind, "value": raw}
            values[block_id] = {action_id: state}
        return values

    def _submit(self, slack: SlackApiStandIn, user: str, data: Mapping[str, Any]) -> dict[str, Any]:
        found = slack.view(str(data.get("view_id") or ""))
        if found is None or found[1] not in {None, user} or found[0].get("type") != "modal":
            raise SendError("no such modal for this user")
        view, _owner = found
        values = self._state_values(view, data.get("values"))
        # Slack's own client refuses to submit an empty required input; the app never sees it.
        missing = {
            block["block_id"]: REQUIRED_FIELD
            for block in view.get("blocks") or []
            if block.get("type") == "input"
            and not block.get("optional")
            and block.get("block_id") in values
            and not any(
                v.get("value") or v.get("selected_option") for v in values[block["block_id"]].values()
            )
        }
        if missing:
            return {"ok": False, "errors": missing, "closed": False}
        view["state"] = {"values": values}
        payload = {
            "type": "view_submission",
            **self._who(slack, user),
            "trigger_id": slack.issue_trigger(user),
            "view": view,
            "response_urls": [],
        }
        status, answer, elapsed = self._forward(
            urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
        )
        result: dict[str, Any] = {
            "ok": status == 200,
            "status": status,
            "elapsed_ms": elapsed,
            "closed": False,
        }
        if status != 200:
            result["message"] = "We had some trouble connecting. Try again?"
            return result
        action = answer.get("response_action") if isinstance(answer, dict) else None
        if action == "errors":
            result["errors"] = dict(answer.get("errors") or {})
        elif action == "update" and isinstance(answer.get("view"), dict):
            slack.update_view(answer["view"], view_id=view["id"])
        elif action == "push" and isinstance(answer.get("view"), dict):
            slack.open_view(answer["view"], user, push=True)
        else:  # an empty ack, or "clear"
            slack.close_view(user, view["id"], clear=action == "clear")
            result["closed"] = True
        return result

    def _close(self, slack: SlackApiStandIn, user: str, data: Mapping[str, Any]) -> dict[str, Any]:
        found = slack.view(str(data.get("view_id") or ""))
        if found is None or found[1] not in {None, user}:
            raise SendError("no such modal for this user")
        view, _owner = found
        status = 200
        if view.get("notify_on_close"):
            payload = {"type": "view_closed", **self._who(slack, user), "view": view, "is_cleared": False}
            status, _answer, _elapsed = self._forward(
                urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
            )
        slack.close_view(user, view["id"])
        return {"ok": status == 200, "status": status, "closed": True}

    def _home_opened(self, slack: SlackApiStandIn, user: str) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": slack.conversation_for(user)["id"],
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        home = slack.snapshot(user)["home"]
        if home is not None:
            event["view"] = home
        body = {
            "token": VERIFICATION_TOKEN,
            "team_id": slack.identity["team_id"],
            "api_app_id": self._app_id,
            "event": event,
            "type": "event_callback",
            "event_id": "Ev" + uuid.uuid4().hex[:10].upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": slack.identity["team_id"],
                    "user_id": slack.identity["user_id"],
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        status, _answer, elapsed = self._forward(json.dumps(body).encode(), "application/json")
        return {"ok": status == 200, "status": status, "elapsed_ms": elapsed}

    def _who(self, slack: SlackApiStandIn, user: str) -> dict[str, Any]:
        team = slack.identity["team_id"]
        return {
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
            "team": {"id": team, "domain": slack.identity["team"]},
            "enterprise": None,
            "is_enterprise_install": False,
            "api_app_id": self._app_id,
            "token": VERIFICATION_TOKEN,
        }

    # --- to the app, as Slack sends it -----------------------------------------------------------
    def _forward(self, body: bytes, content_type: str) -> tuple[int, Any, int]:
        """POST ``body``, signed, to ``/slack/events``; (status, parsed answer, milliseconds)."""
        request = urllib.request.Request(  # noqa: S310 - the gateway's own loopback URL
            self._events_url(),
            data=body,
            method="POST",
            headers=_signed_headers(body, self._secret, content_type),
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except (urllib.error.URLError, TimeoutError) as error:
            self._log(f"[slack page] could not reach /slack/events: {error}")
            return 502, None, int((time.monotonic() - started) * 1000)
        elapsed = time.monotonic() - started
        if elapsed > SLACK_DEADLINE_SECONDS:
            self._log(
                f"[slack page] the app answered after {elapsed:.1f} s; Slack stops waiting after "
                f"{SLACK_DEADLINE_SECONDS:g} s (operation_timeout)"
            )
        text = raw.decode("utf-8", errors="replace")
        try:
            answer: Any = json.loads(text) if text.strip() else None
        except ValueError:
            answer = text
        return status, answer, int(elapsed * 1000)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _dispatch_failed(command: str, status: int) -> str:
    hint = (
        " (the signature did not verify: is SLACK_SIGNING_SECRET the same everywhere?)"
        if status == 401
        else ""
    )
    return f'{command} failed with the error "dispatch_failed": the app answered HTTP {status}{hint}'
