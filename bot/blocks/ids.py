"""The Slack contract's ids (docs/slack.md): command, callback ids, block ids, action ids."""

from __future__ import annotations

import re
from collections.abc import Mapping

from backend.adapters.slack_blocks import COMMAND
from backend.adapters.slack_notices import (
    APPROVE_ACTION_ID,
    DECOMMISSION_NOW_ACTION_ID,
    DENY_ACTION_ID,
    EXTEND_TTL_ACTION_ID,
)
from backend.domain import Action, Engine, environment_policies
from backend.domain.actions import DATABASE_CHANGES

__all__ = [
    "APPROVE_ACTION_ID",
    "COMMAND",
    "DECOMMISSION_NOW_ACTION_ID",
    "DENY_ACTION_ID",
    "EXTEND_TTL_ACTION_ID",
]

# What the slash command takes, as its usage lines show it.
ENGINE_CHOICES = "|".join(engine.value for engine in Engine)


def environment_choices() -> str:
    """``dev|prod``: the configured environments, as the usage lines show them."""
    return "|".join(environment_policies())


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

# Day 2 (docs/day-2.md): the change modals, their blocks, and App Home's buttons (whose
# value is "<environment>/<database_name>").
INSTANCE_CLASS = "instance_class"
ALLOCATED_STORAGE = "allocated_storage"
MAX_CAPACITY = "max_capacity"
CONFIRM_NAME = "confirm_name"


def change_callback_id(action: Action) -> str:
    """The callback id of ``action``'s modal (``resize_rds``)."""
    return f"{action.value}_rds"


def change_button_id(action: Action) -> str:
    """The action id of App Home's button that opens ``action``'s modal (``resize_database``)."""
    return f"{action.value}_database"


# Prod approvals (docs/lifecycle.md): the approval message's buttons (value: the request id;
# the message is the approval service's) and the modal that asks a denier why.
DENY_CALLBACK_ID = "deny_request"
REASON = "reason"

# The words ``/provision-rds`` takes as a command rather than a database name.
COMMAND_WORDS = ("help", "status", "list", *(action.value for action in DATABASE_CHANGES))

# What the forms call each field: Slack names a field by its label, never by its id.
FIELD_LABELS: Mapping[str, str] = {
    DATABASE_NAME: "Database name",
    DATABASE_ENGINE: "Engine",
    ENVIRONMENT: "Environment",
    OWNER: "Owner",
    PURPOSE: "Purpose",
    "ttl_days": "Days to keep it",
    INSTANCE_CLASS: "Instance class",
    ALLOCATED_STORAGE: "Storage",
    MAX_CAPACITY: "Serverless v2 capacity maximum",
    "confirm": "Database name, again",
}
# Ids with an underscore are never ordinary words, so they are replaced wherever they appear.
_FIELD_IDS = re.compile(r"\b(" + "|".join(re.escape(f) for f in FIELD_LABELS if "_" in f) + r")\b")


def with_labels(field: str, message: str) -> str:
    """``message`` about ``field`` with each field id read as its label ("Database name must ...")."""
    if field in FIELD_LABELS and message.startswith(field + " "):
        message = FIELD_LABELS[field] + message[len(field) :]
    return _FIELD_IDS.sub(lambda match: FIELD_LABELS[match.group(1)], message)


def usage() -> str:
    """The slash command's usage line (with the configured environments)."""
    return (
        f"Usage: `{COMMAND} <database_name> <{ENGINE_CHOICES}> <{environment_choices()}>`, "
        f"`{COMMAND}` alone for a form, `{COMMAND} list`, "
        + "".join(f"`{COMMAND} {action.value} <database_name> <env>`, " for action in DATABASE_CHANGES)
        + f"`{COMMAND} status <request_id>`, `{COMMAND} help`."
    )
