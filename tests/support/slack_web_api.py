"""Which Slack Web API methods the app calls, and which bot scopes those need.

Two derivations that check each other:

- **static**: every reference in ``bot/`` and ``backend/`` (the local stack and the Slack stand-in
  in ``local`` play Slack's side, so they are left out) to a ``WebClient`` method
  (``client.chat_postMessage``), to a method's name (``api_call("chat.update")``) or to Bolt's
  ``say`` (which posts with ``chat.postMessage``); a reference counts whether or not a test ever
  runs it, and a call the scan cannot resolve (``api_call(name)``, ``getattr(client, name)``) stops
  the scan instead of being skipped;
- **recorded**: every call the Slack stand-in answered or refused while the Slack tests drove the
  app (``assert_app_calls_conform``), which must all be among the static ones, so a way of calling
  Slack the scan does not know about fails the test that uses it.

``BOT_SCOPE_OF_METHOD`` is the table from method to scope; a method missing from it fails the
manifest test until someone looks its scope up and adds it.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from slack_sdk.web import client as web_client

from tests.support.block_kit import assert_valid_block, assert_valid_view

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_SOURCES = (REPO_ROOT / "bot", REPO_ROOT / "backend")
NOT_THE_APP = (REPO_ROOT / "backend" / "local",)

# The bot-token scope each Web API method needs; None: Slack documents "No scopes required".
# Source: the "Facts" box of https://docs.slack.dev/reference/methods/<method> and the compatible
# methods listed on https://docs.slack.dev/reference/scopes/chat.write (read 2026-11).
BOT_SCOPE_OF_METHOD: Mapping[str, str | None] = {
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "chat.getPermalink": None,
    "views.open": None,
    "views.push": None,
    "views.update": None,
    "views.publish": None,
    # Opening a DM by user id; group DMs would need mpim:write, channels channels:manage.
    "conversations.open": "im:write",
    "users.info": "users:read",
}

# Scopes a manifest feature needs by itself, whatever the code calls.
# https://docs.slack.dev/reference/scopes/commands: "Add shortcuts and slash commands".
FEATURE_SCOPES: Mapping[str, str] = {"slash_commands": "commands", "shortcuts": "commands"}

# The bot-token scope each subscribed event needs; None: "No scopes required".
# https://docs.slack.dev/reference/events/app_home_opened (it needs a bot user, no scope).
BOT_SCOPE_OF_EVENT: Mapping[str, str | None] = {"app_home_opened": None}

# Bolt's listener utilities that call the Web API themselves.
BOLT_UTILITIES: Mapping[str, str] = {"say": "chat.postMessage"}

# Methods that post a message: Slack shows their ``text`` in notifications and reads it out to
# screen readers, so every one must carry it beside its blocks.
MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update"})
VIEW_METHODS = frozenset({"views.open", "views.push", "views.update", "views.publish"})


class UnresolvableCall(Exception):
    """Code calls Slack in a way the scan cannot name (so it could not say what scope it needs)."""


@dataclass(frozen=True)
class Use:
    method: str
    where: str  # path:line


@lru_cache(maxsize=1)
def webclient_methods() -> Mapping[str, frozenset[str]]:
    """``WebClient`` attribute -> the Web API methods it calls (read from slack_sdk's own source)."""
    tree = ast.parse(inspect.getsource(web_client))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "WebClient")
    direct: dict[str, set[str]] = {}
    delegates: dict[str, set[str]] = {}
    for function in cls.body:
        if not isinstance(function, ast.FunctionDef):
            continue
        direct[function.name] = set()
        delegates[function.name] = set()
        for node in ast.walk(function):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr == "api_call" and node.args and isinstance(node.args[0], ast.Constant):
                direct[function.name].add(str(node.args[0].value))
            elif isinstance(node.func.value, ast.Name) and node.func.value.id == "self":
                delegates[function.name].add(node.func.attr)
    # A helper such as files_upload_v2 calls other methods of the client rather than api_call.
    resolved = {name: set(methods) for name, methods in direct.items()}
    changed = True
    while changed:
        changed = False
        for name, called in delegates.items():
            for other in called & resolved.keys():
                if not resolved[other] <= resolved[name]:
                    resolved[name] |= resolved[other]
                    changed = True
    return {name: frozenset(methods) for name, methods in resolved.items() if methods}


def api_method_names() -> frozenset[str]:
    return frozenset().union(*webclient_methods().values())


def _python_files(roots: Iterable[Path], excluded: Iterable[Path]) -> list[Path]:
    skipped = tuple(excluded)
    return sorted(
        path
        for root in roots
        for path in root.rglob("*.py")
        if not any(path.is_relative_to(folder) for folder in skipped)
    )


def _uses_in(tree: ast.AST, where: str) -> list[Use]:
    attributes = webclient_methods()
    names = api_method_names()
    uses: list[Use] = []
    for node in ast.walk(tree):
        line = f"{where}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Attribute) and node.attr in attributes:
            uses += [Use(method, line) for method in sorted(attributes[node.attr])]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
            uses.append(Use(node.value, line))
        elif isinstance(node, ast.Name | ast.arg):
            name = node.id if isinstance(node, ast.Name) else node.arg
            if name in BOLT_UTILITIES:
                uses.append(Use(BOLT_UTILITIES[name], line))
        elif isinstance(node, ast.Call):
            _refuse_dynamic(node, line)
    return uses


def _refuse_dynamic(call: ast.Call, where: str) -> None:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "api_call":
        method = (
            call.args[0]
            if call.args
            else next((k.value for k in call.keywords if k.arg == "api_method"), None)
        )
        if not isinstance(method, ast.Constant):
            raise UnresolvableCall(f"{where}: api_call with a method name the scan cannot read")
    is_getattr = isinstance(func, ast.Name) and func.id == "getattr" and len(call.args) >= 2
    if is_getattr and not isinstance(call.args[1], ast.Constant):
        raise UnresolvableCall(f"{where}: getattr with a computed name could call any Web API method")


def web_api_uses(roots: Iterable[Path] = APP_SOURCES, excluded: Iterable[Path] = NOT_THE_APP) -> list[Use]:
    """Every place the app's code reaches the Slack Web API, with the method it calls."""
    uses: list[Use] = []
    for path in _python_files(roots, excluded):
        where = str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)
        uses += _uses_in(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), where)
    return uses


@lru_cache(maxsize=1)
def app_web_api_methods() -> frozenset[str]:
    """The Web API methods the app's code calls (the static derivation over the repository)."""
    return frozenset(use.method for use in web_api_uses())


def required_bot_scopes(methods: Iterable[str], manifest: Mapping[str, Any]) -> dict[str, set[str]]:
    """Scope -> why it is needed, for ``methods`` plus the manifest's features and events.

    Raises KeyError naming a method or event missing from the tables above.
    """
    needed: dict[str, set[str]] = {}
    unknown = sorted(m for m in methods if m not in BOT_SCOPE_OF_METHOD)
    if unknown:
        raise KeyError(
            f"no scope known for {unknown}: look each up on https://docs.slack.dev/reference/methods/ "
            "and add it to BOT_SCOPE_OF_METHOD (tests/support/slack_web_api.py)"
        )
    for method in methods:
        scope = BOT_SCOPE_OF_METHOD[method]
        if scope:
            needed.setdefault(scope, set()).add(method)
    for feature, scope in FEATURE_SCOPES.items():
        if manifest.get("features", {}).get(feature):
            needed.setdefault(scope, set()).add(f"features.{feature}")
    for event in manifest.get("settings", {}).get("event_subscriptions", {}).get("bot_events", []):
        if event not in BOT_SCOPE_OF_EVENT:
            raise KeyError(f"no scope known for the event {event!r}: add it to BOT_SCOPE_OF_EVENT")
        event_scope = BOT_SCOPE_OF_EVENT[event]
        if event_scope:
            needed.setdefault(event_scope, set()).add(f"event {event}")
    return needed


def assert_app_calls_conform(calls: Iterable[Mapping[str, Any]]) -> None:
    """What the app sent the Slack stand-in (its ``calls`` and ``rejected``, or JSONL lines):

    every method is one the static scan found (else the scan missed a way of calling Slack, and
    the manifest test could not see the scope it needs), every message carries a ``text`` and
    every block and view is valid Block Kit.
    """
    known = app_web_api_methods()
    for call in calls:
        method, args = call["method"], call.get("args") or {}
        assert method in known, (
            f"the app called {method}, which the scan of bot/ and backend/ does not find: "
            "teach tests/support/slack_web_api.py how it was called"
        )
        if method in MESSAGE_METHODS:
            text = args.get("text")
            assert isinstance(text, str), f"{method} without a text fallback: {args}"
            assert text.strip(), f"{method} with an empty text fallback: {args}"
            for block in args.get("blocks") or []:
                assert_valid_block(block)
        if method in VIEW_METHODS:
            assert_valid_view(args["view"])
