"""The Slack app manifest (``bot/manifest.json``), filled in for an HTTP request URL or Socket Mode.

``manifest.json`` is what "Create an app -> From a manifest" takes, with placeholder URLs;
``rdsctl slack-manifest`` prints it filled in. One request URL serves the slash command,
interactivity and events alike (the stack's ``SlackRequestUrl`` output, ``.../slack/events``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MANIFEST_PATH = Path(__file__).with_name("manifest.json")

# Slack's limit for an app's name (the manifest schema; the bot's display name may be longer).
_NAME_LIMIT = 35


class ManifestError(ValueError):
    """The manifest cannot be filled in with what was given; the message says why."""


def load() -> dict[str, Any]:
    """The manifest as committed (placeholder URLs)."""
    manifest: dict[str, Any] = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    return manifest


def for_request_url(url: str, *, name: str | None = None) -> dict[str, Any]:
    """The manifest delivering everything over HTTP to ``url`` (an ``https://`` URL)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or any(c.isspace() for c in url):
        raise ManifestError(f"the request URL must be an https:// URL (Slack sends to no other), got {url!r}")
    manifest = _renamed(_with_environments(load()), name)
    for command in manifest["features"]["slash_commands"]:
        command["url"] = url
    settings = manifest["settings"]
    settings["interactivity"]["request_url"] = url
    settings["event_subscriptions"]["request_url"] = url
    settings["socket_mode_enabled"] = False
    return manifest


def for_socket_mode(*, name: str | None = None) -> dict[str, Any]:
    """The manifest for Socket Mode: no URLs at all, Slack delivers over the app's WebSocket."""
    manifest = _renamed(_with_environments(load()), name)
    for command in manifest["features"]["slash_commands"]:
        command.pop("url", None)
    settings = manifest["settings"]
    settings["interactivity"].pop("request_url", None)
    settings["event_subscriptions"].pop("request_url", None)
    settings["socket_mode_enabled"] = True
    return manifest


def request_urls(manifest: dict[str, Any]) -> list[str]:
    """Every URL Slack would send requests to under ``manifest``."""
    settings = manifest.get("settings", {})
    urls = [command.get("url") for command in manifest.get("features", {}).get("slash_commands", [])]
    urls += [settings.get("interactivity", {}).get("request_url")]
    urls += [settings.get("event_subscriptions", {}).get("request_url")]
    return [url for url in urls if url]


def _with_environments(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` whose command usage names the configured environments (the committed one: dev|prod)."""
    from bot.blocks.ids import environment_choices

    for command in manifest["features"]["slash_commands"]:
        command["usage_hint"] = command["usage_hint"].replace("<dev|prod>", f"<{environment_choices()}>")
    return manifest


def _renamed(manifest: dict[str, Any], name: str | None) -> dict[str, Any]:
    """``manifest`` under another name (a second app, e.g. for Socket Mode, tells itself apart)."""
    if name is None:
        return manifest
    if not 0 < len(name) <= _NAME_LIMIT:
        raise ManifestError(f"the app name must be 1 to {_NAME_LIMIT} characters, got {len(name)}")
    manifest["display_information"]["name"] = name
    manifest["features"]["bot_user"]["display_name"] = name
    return manifest
