"""Valid Block Kit, judged by slack_sdk's own models (``Block.parse``, ``View``, ``validate_json``).

Valid means: ``Block.parse`` knows each block, ``validate_json()`` finds no limit broken, and the
parsed block gives back exactly the dict the app sends (nothing misspelled, nothing Slack would
drop); views likewise through ``View``. A message carries a non-empty ``text`` fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from backend.adapters.slack_blocks import Message
from backend.adapters.slack_notices import render
from backend.domain import RequestRecord
from backend.domain.notices import status_notice

# Slack's limit of blocks in a message (views: 100, which View.validate_json checks).
MESSAGE_BLOCKS_LIMIT = 50


def message_for(record: RequestRecord, outputs: Mapping[str, str] | None = None) -> Message | None:
    """What ``record``'s requester reads in Slack about its status now (None: nothing is said)."""
    notice = status_notice(record, outputs)
    return None if notice is None else render(notice)


def assert_valid_block(block: dict[str, Any]) -> None:
    parsed = Block.parse(block)
    assert parsed is not None, f"not a block slack_sdk knows: {block}"
    parsed.validate_json()
    assert parsed.to_dict() == block, f"slack_sdk reads {block} as {parsed.to_dict()}"


def assert_valid_message(message: dict[str, Any]) -> None:
    assert isinstance(message.get("text"), str)
    assert message["text"].strip(), "a message needs its text fallback (notifications, screen readers)"
    assert 0 < len(message["blocks"]) <= MESSAGE_BLOCKS_LIMIT
    for block in message["blocks"]:
        assert_valid_block(block)


def assert_valid_view(view: dict[str, Any]) -> None:
    parsed = View(**view)
    parsed.validate_json()
    assert parsed.to_dict() == view, f"slack_sdk reads the view as {parsed.to_dict()}"
    for block in view["blocks"]:
        assert_valid_block(block)


def assert_valid_payload(payload: dict[str, Any]) -> None:
    if payload.get("type") in {"modal", "home"}:
        assert_valid_view(payload)
    else:
        assert_valid_message(payload)
