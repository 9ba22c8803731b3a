"""The DM confirmation whose thread the requester's later messages go into."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from backend.adapters.slack import SlackSender
from backend.domain import RequestRecord
from backend.domain.conversation import Conversation
from bot import blocks
from bot.backend_access import BackendAccess


def confirm_in_dm(
    client: WebClient, backend: BackendAccess, record: RequestRecord, logger: logging.Logger
) -> None:
    """Post the confirmation to the requester's DM with the app and remember where it went.

    Runs after ``ack()``. The request is already accepted, so a failure here must not turn the
    answer into an error: the later messages then start a new DM message instead of a thread reply.
    """
    try:
        posted = SlackSender(client).post(record.requested_by, blocks.dm_confirmation(record))
        if posted is not None:
            begun = Conversation(channel=posted.channel, thread_ts=posted.ts, user_id=record.requested_by)
            backend.store.set_conversation(record.request_id, begun)
    except Exception:
        logger.exception("could not post or record the DM confirmation for %s", record.request_id)
