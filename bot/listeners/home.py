"""App Home: the user's recent requests and a button that opens the request modal."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.services import BotServices

RECENT_REQUESTS = 10


def register(app: App, services: BotServices) -> None:
    @app.event("app_home_opened")
    def publish_home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id: str = event["user"]
        records = services.store.list_by_requester(user_id, limit=RECENT_REQUESTS)
        client.views_publish(user_id=user_id, view=blocks.home_view(records))

    @app.action(blocks.OPEN_MODAL_ACTION_ID)
    def open_modal_from_home(
        ack: Ack, body: dict[str, Any], client: WebClient, logger: logging.Logger
    ) -> None:
        try:
            client.views_open(trigger_id=body["trigger_id"], view=blocks.provision_modal())
        except SlackApiError as exc:
            logger.warning("views.open failed: %s", exc.response.get("error"))
        ack()
