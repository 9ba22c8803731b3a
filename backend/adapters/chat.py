"""Where the product talks to people: a Protocol, implemented by Slack (``backend.adapters.slack``).

Without a Slack bot token (an API-only installation) messages go to the log instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aws_lambda_powertools import Logger

from backend.adapters.slack_blocks import Message

logger = Logger(child=True)


@dataclass(frozen=True)
class Posted:
    """Where a message landed: its channel (a user id becomes their DM's id) and its ``ts``."""

    channel: str
    ts: str


class ChatSender(Protocol):
    def post(self, channel: str, message: Message, *, thread_ts: str | None = None) -> Posted | None:
        """Post ``message`` to ``channel`` (a channel id, or a user id for their DM with the app).

        Raises RetryableError when the chat is briefly unavailable (the caller's SQS retry posts
        it later); other failures are logged, not raised: the request itself went fine.
        """
        ...

    def update(self, channel: str, ts: str, message: Message) -> None:
        """Replace the message ``ts`` of ``channel`` (the same failures as ``post``)."""
        ...


class LoggingChat:
    """``ChatSender`` for installations without Slack: each message is a log line."""

    def post(self, channel: str, message: Message, *, thread_ts: str | None = None) -> Posted | None:
        logger.info("message", extra={"channel": channel, "thread_ts": thread_ts, "text": message["text"]})
        return None

    def update(self, channel: str, ts: str, message: Message) -> None:
        logger.info("message updated", extra={"channel": channel, "ts": ts, "text": message["text"]})
