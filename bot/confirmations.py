"""The DM confirmation whose thread the worker later answers in."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from backend.domain import RequestRecord
from bot import blocks
from bot.services import BotServices


def confirm_in_dm(
    client: WebClient, services: BotServices, record: RequestRecord, logger: logging.Logger
) -> None:
    """Post the confirmation to the requester's DM with the app and remember where it went.

    Runs after ``ack()``. The request is already accepted, so a failure here must not turn the
    answer into an error: the worker then posts its result as a new DM message instead of a
    thread reply.
    """
    try:
        response = client.chat_postMessage(channel=record.requested_by, **blocks.dm_confirmation(record))
        channel, ts = response.get("channel"), response.get("ts")
        if isinstance(channel, str) and isinstance(ts, str):
            services.store.set_slack_thread(record.request_id, channel, ts)
    except Exception:
        logger.exception("could not post or record the DM confirmation for %s", record.request_id)
