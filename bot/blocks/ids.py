"""The Slack contract's ids (DESIGN.md section 3, "Slack"): command, callback ids, block ids."""

from __future__ import annotations

from backend.adapters.slack_blocks import COMMAND

__all__ = ["COMMAND"]

MODAL_CALLBACK_ID = "provision_rds"
OPEN_MODAL_ACTION_ID = "open_provision_modal"

# Input block ids double as the request's field names, so a FieldError lands on its own block.
DATABASE_NAME = "database_name"
DATABASE_ENGINE = "database_engine"
ENVIRONMENT = "environment"
OWNER = "owner"
PURPOSE = "purpose"
MODAL_BLOCK_IDS = (DATABASE_NAME, DATABASE_ENGINE, ENVIRONMENT, OWNER, PURPOSE)
INPUT_ACTION_ID = "value"

USAGE = (
    f"Usage: `{COMMAND} <database_name> <mysql|postgres> <dev|prod>`, "
    f"`{COMMAND}` alone for a form, `{COMMAND} status <request_id>`, `{COMMAND} help`."
)
