"""Day 2 in Slack: the databases a user has, and the resize and decommission modals (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from backend.adapters.slack_blocks import (
    Block,
    Message,
    context,
    database_key,
    escape,
    message,
    option,
    plain,
    section,
    status_line,
)
from backend.domain import DatabaseRecord, FieldError, policy_for
from backend.domain.naming import rds_identifier
from backend.services.inventory import InventoryEntry
from bot.blocks.ids import (
    ALLOCATED_STORAGE,
    COMMAND,
    CONFIRM_NAME,
    DECOMMISSION_ACTION_ID,
    DECOMMISSION_CALLBACK_ID,
    INPUT_ACTION_ID,
    INSTANCE_CLASS,
    RESIZE_ACTION_ID,
    RESIZE_CALLBACK_ID,
)
from bot.blocks.modal import modal_errors

RESIZE_BLOCK_IDS = (INSTANCE_CLASS, ALLOCATED_STORAGE)
DECOMMISSION_BLOCK_IDS = (CONFIRM_NAME,)
# The API's field names -> the decommission modal's block.
DECOMMISSION_FIELDS = {"confirm": CONFIRM_NAME}


def _size(database: DatabaseRecord) -> str:
    return f"`{database.instance_class}`, {database.allocated_storage} GiB"


def _entry_lines(entry: InventoryEntry) -> str:
    database = entry.database
    lines = [
        f"*`{database.database_name}`* ({database.database_engine.value}, {database.environment.value}) · "
        f"{_size(database)}",
        f"Last request: {entry.last_request.action.value} · {status_line(entry.last_request)}",
    ]
    return "\n".join(lines)


def _buttons(database: DatabaseRecord) -> Block:
    key = database_key(database)
    return {
        "type": "actions",
        "block_id": f"database:{key}",
        "elements": [
            {"type": "button", "action_id": RESIZE_ACTION_ID, "value": key, "text": plain("Resize")},
            {
                "type": "button",
                "action_id": DECOMMISSION_ACTION_ID,
                "value": key,
                "style": "danger",
                "text": plain("Decommission"),
            },
        ],
    }


def database_blocks(entries: Sequence[InventoryEntry], *, with_buttons: bool) -> list[Block]:
    """One section per database (with Resize and Decommission buttons in App Home)."""
    blocks: list[Block] = []
    for entry in entries:
        blocks.append(section(_entry_lines(entry)))
        if with_buttons:
            blocks.append(_buttons(entry.database))
    return blocks


def list_message(entries: Sequence[InventoryEntry]) -> Message:
    """``/provision-rds list``: the caller's databases."""
    if not entries:
        text = f"You have no databases yet. Ask for one with `{COMMAND} <database_name> <engine> <env>`."
        return message(text, [section(text)])
    text = f"Your databases ({len(entries)}):"
    return message(
        text + " " + ", ".join(e.database.database_name for e in entries),
        [
            section(f"*{text}*"),
            *database_blocks(entries, with_buttons=False),
            context(
                f"Change one with `{COMMAND} resize <name> <env>` or `{COMMAND} decommission <name> <env>`."
            ),
        ],
    )


def _metadata(database: DatabaseRecord) -> str:
    return json.dumps({"environment": database.environment.value, "database_name": database.database_name})


def modal_database(view: Mapping[str, Any]) -> tuple[str, str]:
    """Which database a submitted change modal is about (its ``private_metadata``)."""
    data = json.loads(view.get("private_metadata") or "{}")
    return str(data.get("environment", "")), str(data.get("database_name", ""))


def _select(block_id: str, label: str, options: list[dict[str, Any]], hint: str) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": plain(label),
        "hint": plain(hint),
        "element": {
            "type": "static_select",
            "action_id": INPUT_ACTION_ID,
            "placeholder": plain("Keep as it is"),
            "options": options,
        },
    }


def resize_modal(database: DatabaseRecord) -> dict[str, Any]:
    """The resize form: only the classes and (larger) sizes the environment policy allows."""
    policy = policy_for(database.environment)
    classes = [option(name, name) for name in policy.instance_classes if name != database.instance_class]
    sizes = [
        option(str(size), f"{size} GiB") for size in policy.storage_sizes if size > database.allocated_storage
    ]
    blocks: list[Block] = [
        section(
            f"Resize *`{escape(database.database_name)}`* ({database.environment.value}), "
            f"now {_size(database)}."
        )
    ]
    if classes:
        blocks.append(_select(INSTANCE_CLASS, "Instance class", classes, "The environment policy's classes."))
    if sizes:
        blocks.append(
            _select(ALLOCATED_STORAGE, "Storage", sizes, "Storage can only grow: RDS cannot shrink it.")
        )
    return {
        "type": "modal",
        "callback_id": RESIZE_CALLBACK_ID,
        "private_metadata": _metadata(database),
        "title": plain("Resize a database"),
        "submit": plain("Open the pull request"),
        "close": plain("Cancel"),
        "blocks": blocks,
    }


def resize_values(state_values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The resize fields a submitted modal carries; what is left as it is stays out."""
    data: dict[str, Any] = {}
    for block_id in RESIZE_BLOCK_IDS:
        selected = (state_values.get(block_id, {}).get(INPUT_ACTION_ID) or {}).get("selected_option")
        if isinstance(selected, Mapping) and isinstance(selected.get("value"), str):
            value = selected["value"]
            data[block_id] = int(value) if block_id == ALLOCATED_STORAGE and value.isdigit() else value
    return data


def decommission_modal(database: DatabaseRecord) -> dict[str, Any]:
    """The decommission form: the name typed again, and what will be destroyed and kept."""
    identifier = rds_identifier(database.database_name, database.environment.value)
    steps = (
        "Two pull requests: the first turns deletion protection off; once it is applied, the second, "
        "which deletes the database, opens by itself."
        if policy_for(database.environment).deletion_protection
        else "One pull request deletes the database's file."
    )
    return {
        "type": "modal",
        "callback_id": DECOMMISSION_CALLBACK_ID,
        "private_metadata": _metadata(database),
        "title": plain("Decommission"),
        "submit": plain("Decommission"),
        "close": plain("Cancel"),
        "blocks": [
            section(
                f":warning: This destroys *`{escape(database.database_name)}`* "
                f"({database.environment.value}). RDS keeps the final snapshot `{identifier}-final`."
            ),
            context(steps),
            {
                "type": "input",
                "block_id": CONFIRM_NAME,
                "label": plain("Type the database's name to confirm"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": INPUT_ACTION_ID,
                    "placeholder": plain(database.database_name),
                },
            },
        ],
    }


def decommission_values(state_values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, Any]:
    typed = (state_values.get(CONFIRM_NAME, {}).get(INPUT_ACTION_ID) or {}).get("value")
    return {"confirm": typed.strip() if isinstance(typed, str) else ""}


def change_errors(callback_id: str, errors: Sequence[FieldError]) -> dict[str, str]:
    """A change modal's inline errors, each on its block."""
    if callback_id == RESIZE_CALLBACK_ID:
        return modal_errors(errors, RESIZE_BLOCK_IDS)
    return modal_errors(errors, DECOMMISSION_BLOCK_IDS, DECOMMISSION_FIELDS)


def no_such_database(environment: str, database_name: str) -> Message:
    text = f"There is no {escape(environment)} database `{escape(database_name)}`."
    return message(text, [section(f":grey_question: {text}")])
