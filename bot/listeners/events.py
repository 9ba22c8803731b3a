"""Events: ``app_home_opened`` publishes the user's App Home."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot import blocks
from bot.backend_access import backend_of

RECENT_REQUESTS = 10


def app_home_opened(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    if event.get("tab", "home") != "home":
        return
    user_id: str = event["user"]
    backend = backend_of(context)
    records = backend.store.list_by_requester(user_id, limit=RECENT_REQUESTS)
    databases = backend.inventory.databases(requested_by=user_id)
    client.views_publish(user_id=user_id, view=blocks.home_view(records, databases))


def register(app: App) -> None:
    app.event("app_home_opened")(app_home_opened)
