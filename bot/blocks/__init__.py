"""Block Kit builders of the Slack app: pure functions from domain values to Slack payloads.

``ids`` holds the contract's ids; ``modal``, ``answers`` and ``home`` the payloads. What the
requester hears later (PR opened, merged, ready, failed) is ``backend.services.notifications``.
"""

from backend.adapters.slack_blocks import COMMAND, Message, escape
from bot.blocks.answers import (
    already_requested,
    dm_confirmation,
    help_message,
    invalid_command,
    modal_open_failed,
    not_allowed,
    queue_unavailable,
    request_not_visible,
    status_message,
    submitted,
    try_again_later,
    usage_error,
)
from bot.blocks.home import home_view
from bot.blocks.ids import (
    DATABASE_ENGINE,
    DATABASE_NAME,
    ENVIRONMENT,
    INPUT_ACTION_ID,
    MODAL_BLOCK_IDS,
    MODAL_CALLBACK_ID,
    OPEN_MODAL_ACTION_ID,
    OWNER,
    PURPOSE,
    USAGE,
)
from bot.blocks.modal import modal_errors, modal_values, provision_modal

__all__ = [
    "COMMAND",
    "DATABASE_ENGINE",
    "DATABASE_NAME",
    "ENVIRONMENT",
    "INPUT_ACTION_ID",
    "MODAL_BLOCK_IDS",
    "MODAL_CALLBACK_ID",
    "OPEN_MODAL_ACTION_ID",
    "OWNER",
    "PURPOSE",
    "USAGE",
    "Message",
    "already_requested",
    "dm_confirmation",
    "escape",
    "help_message",
    "home_view",
    "invalid_command",
    "modal_errors",
    "modal_open_failed",
    "modal_values",
    "not_allowed",
    "provision_modal",
    "queue_unavailable",
    "request_not_visible",
    "status_message",
    "submitted",
    "try_again_later",
    "usage_error",
]
