"""Prod approvals in Slack: the modal that asks a denier why, and the refusals approvers see (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.adapters.slack_blocks import Message, escape, escape_keeping_mentions, message, plain, section
from bot.blocks.ids import DENY_CALLBACK_ID, INPUT_ACTION_ID, REASON

# Request ids are UUIDs; a button value is at most 2000 characters and private_metadata 3000.
_REQUEST_ID_LIMIT = 255


def deny_modal(request_id: str) -> dict[str, Any]:
    request_id = request_id[:_REQUEST_ID_LIMIT]
    return {
        "type": "modal",
        "callback_id": DENY_CALLBACK_ID,
        "private_metadata": request_id,
        "title": plain("Deny the request"),
        "submit": plain("Deny"),
        "close": plain("Cancel"),
        "blocks": [
            section(f"Deny request `{escape(request_id)}`? The requester is told your reason."),
            {
                "type": "input",
                "block_id": REASON,
                "label": plain("Why"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": INPUT_ACTION_ID,
                    "multiline": True,
                    "max_length": 500,
                },
            },
        ],
    }


def deny_reason(state_values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    typed = (state_values.get(REASON, {}).get(INPUT_ACTION_ID) or {}).get("value")
    return typed.strip() if isinstance(typed, str) else ""


def decision_refused(reason: str) -> Message:
    """What an approver who may not decide (or clicked too late) sees, only them."""
    return message(reason, [section(f":no_entry: {escape_keeping_mentions(reason)}")])
