"""Where the product talks with someone about a request: a reference the chat adapter hands back
when it starts a conversation and reads again to continue it (pure, no chat vocabulary)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class ConversationKind(StrEnum):
    DIRECT = "direct"  # a person's direct messages with the app
    CHANNEL = "channel"  # a shared channel (the approvers', the API requests')


class Conversation(BaseModel):
    """A conversation: its channel id, the message it hangs from (later messages reply to it, or
    replace it), and the person it is with, for direct ones."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    channel: str
    thread_ts: str | None = None
    user_id: str | None = None
    kind: ConversationKind = ConversationKind.DIRECT


# Records written before ``Conversation`` kept its parts in attributes of their own:
# (new field, old channel attribute, old message attribute, kind).
_LEGACY: tuple[tuple[str, str, str, ConversationKind], ...] = (
    ("conversation", "slack_channel", "slack_thread_ts", ConversationKind.DIRECT),
    ("approval_message", "approval_channel", "approval_ts", ConversationKind.CHANNEL),
)


def upgrade_legacy_conversations(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (a stored record) with its old conversation attributes read into ``Conversation``s."""
    upgraded = dict(data)
    for field, channel_key, ts_key, kind in _LEGACY:
        channel, ts = upgraded.pop(channel_key, None), upgraded.pop(ts_key, None)
        if channel and upgraded.get(field) is None:
            upgraded[field] = {"channel": channel, "thread_ts": ts, "kind": kind.value}
    return upgraded
