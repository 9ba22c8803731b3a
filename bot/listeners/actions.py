"""Block actions: the buttons the app's messages and App Home carry."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks


def open_provision_modal(ack: Ack, body: dict[str, Any], client: WebClient, logger: logging.Logger) -> None:
    try:
        client.views_open(trigger_id=body["trigger_id"], view=blocks.provision_modal())
    except SlackApiError as exc:
        logger.warning("views.open failed: %s", exc.response.get("error"))
    ack()


def register(app: App) -> None:
    app.action(blocks.OPEN_MODAL_ACTION_ID)(open_provision_modal)
