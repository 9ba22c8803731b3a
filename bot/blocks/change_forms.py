"""Day 2 in Slack: the databases a user has, and the resize and decommission modals (pure).

``CHANGE_FORMS`` holds one row per change people ask for: App Home's button, the modal it (and
``/provision-rds <action> <name> <env>``) opens, and how a submitted modal is read; the listeners
register from it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from backend.adapters.slack_blocks import (
    Block,
    Message,
    context,
    database_key,
    escape,
    escape_keeping_mentions,
    message,
    option,
    plain,
    section,
    status_line,
)
from backend.domain import Action, DatabaseRecord, policy_for
from backend.domain.naming import rds_identifier
from backend.domain.policy import capacity_text
from backend.domain.pricing import priced
from bot.blocks.ids import (
    ALLOCATED_STORAGE,
    COMMAND,
    CONFIRM_NAME,
    INPUT_ACTION_ID,
    INSTANCE_CLASS,
    MAX_CAPACITY,
    change_button_id,
    change_callback_id,
)

if TYPE_CHECKING:  # only named in annotations: the inventory service loads when a list is asked for
    from backend.services.inventory import InventoryEntry

RESIZE_BLOCK_IDS = (INSTANCE_CLASS, ALLOCATED_STORAGE, MAX_CAPACITY)
DECOMMISSION_BLOCK_IDS = (CONFIRM_NAME,)
# The API's field names -> the decommission modal's block.
DECOMMISSION_FIELDS = {"confirm": CONFIRM_NAME}


def _size(database: DatabaseRecord) -> str:
    return database.sizing.summary


def _entry_lines(entry: InventoryEntry) -> str:
    database = entry.database
    last = entry.last_request
    lines = [
        f"*`{database.database_name}`* ({database.database_engine.value}, {database.environment.value}) · "
        f"{_size(database)}",
        f"Last request: {last.action.value} · {status_line(last)}"
        if last
        else "Running (its requests have aged out)",
    ]
    return "\n".join(lines)


def _buttons(database: DatabaseRecord) -> Block:
    key = database_key(database)
    return {
        "type": "actions",
        "block_id": f"database:{key}",
        "elements": [
            {
                "type": "button",
                "action_id": form.open_action_id,
                "value": key,
                "text": plain(form.button),
                **({"style": "danger"} if form.danger else {}),
            }
            for form in CHANGE_FORMS.values()
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
                "Change one with "
                + " or ".join(f"`{COMMAND} {action.value} <name> <env>`" for action in CHANGE_FORMS)
                + "."
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


# Each resize block: its label, hint, and how an option reads; which blocks a database's modal has
# is the policy's (``resize_choices``), so an Aurora cluster never sees a storage select.
_RESIZE_BLOCKS: Mapping[str, tuple[str, str, Callable[[Any], str]]] = {
    INSTANCE_CLASS: ("Instance class", "The environment policy's classes.", str),
    ALLOCATED_STORAGE: (
        "Storage",
        "Storage can only grow: RDS cannot shrink it.",
        lambda size: f"{size} GiB",
    ),
    MAX_CAPACITY: (
        "Serverless v2 capacity maximum",
        "Aurora scales between the policy's minimum and this maximum by itself.",
        lambda acu: f"up to {capacity_text(acu)} ACU",
    ),
}


def _resize_options(database: DatabaseRecord, field: str, choices: Sequence[Any]) -> list[dict[str, Any]]:
    current = asdict(database.sizing)[field]
    _, _, shown = _RESIZE_BLOCKS[field]
    wanted = [choice for choice in choices if choice != current]
    if field == ALLOCATED_STORAGE:  # it only grows
        wanted = [choice for choice in wanted if current is None or choice > current]
    value = capacity_text if field == MAX_CAPACITY else str

    def label(choice: Any) -> str:
        # What the database would cost with only this changed: the price of each choice.
        figure = priced(
            database.database_engine,
            database.environment,
            dataclasses.replace(database.sizing, **{field: choice}),
        )
        return shown(choice) if figure is None else f"{shown(choice)} · ~{figure.text}"

    return [option(value(choice), label(choice)) for choice in wanted]


def _costing(database: DatabaseRecord) -> str:
    figure = database.estimate
    return "" if figure is None else f", ~{figure.text}"


def resize_modal(database: DatabaseRecord) -> dict[str, Any]:
    """The resize form: only what the environment policy lets this database change, and to what."""
    choices = policy_for(database.environment).resize_choices(database.database_engine)
    blocks: list[Block] = [
        section(
            f"Resize *`{escape(database.database_name)}`* ({database.environment.value}), "
            f"now {_size(database)}{_costing(database)}."
        )
    ]
    for field, allowed in choices.items():
        options = _resize_options(database, field, allowed)
        if options:
            label, hint, _ = _RESIZE_BLOCKS[field]
            blocks.append(_select(field, label, options, hint))
    return {
        "type": "modal",
        "callback_id": change_callback_id(Action.RESIZE),
        "private_metadata": _metadata(database),
        "title": plain("Resize a database"),
        "submit": plain("Open the pull request"),
        "close": plain("Cancel"),
        "blocks": blocks,
    }


def _number(value: str) -> int | float | str:
    """A selected option's value as the API field takes it (a malformed one is left for validation)."""
    try:
        return int(value) if value.isdigit() else float(value)
    except ValueError:
        return value


def resize_values(state_values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The resize fields a submitted modal carries; what is left as it is stays out."""
    data: dict[str, Any] = {}
    for block_id in RESIZE_BLOCK_IDS:
        selected = (state_values.get(block_id, {}).get(INPUT_ACTION_ID) or {}).get("selected_option")
        if isinstance(selected, Mapping) and isinstance(selected.get("value"), str):
            value = selected["value"]
            data[block_id] = value if block_id == INSTANCE_CLASS else _number(value)
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
        "callback_id": change_callback_id(Action.DECOMMISSION),
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


def resize_block_ids(view: Mapping[str, Any]) -> tuple[str, ...]:
    """The resize blocks a submitted modal has (Slack sends the view's blocks back): an error goes on
    one of them, never on a block the database's modal does not show (an Aurora cluster's storage)."""
    shown = {block.get("block_id") for block in view.get("blocks") or () if isinstance(block, Mapping)}
    return tuple(block_id for block_id in RESIZE_BLOCK_IDS if block_id in shown) or RESIZE_BLOCK_IDS


def change_refused(reason: str) -> Message:
    """Why someone may not change a database (its size and cost are not shown to them)."""
    return message(reason, [section(f":no_entry: {escape_keeping_mentions(reason)}")])


def no_such_database(environment: str, database_name: str) -> Message:
    text = f"There is no {escape(environment)} database `{escape(database_name)}`."
    return message(text, [section(f":grey_question: {text}")])


StateValues = Mapping[str, Mapping[str, Mapping[str, Any]]]


@dataclass(frozen=True)
class ChangeForm:
    """A change of a database people ask for in Slack."""

    # App Home's button that opens the modal (its value: "<environment>/<database_name>").
    button: str
    open_action_id: str
    callback_id: str
    modal: Callable[[DatabaseRecord], dict[str, Any]]
    # The request body a submitted modal carries.
    values: Callable[[StateValues], dict[str, Any]]
    # The modal's blocks an error may land on, from the view Slack sends back.
    block_ids: Callable[[Mapping[str, Any]], Sequence[str]]
    # The request's field names -> the modal's blocks, where they differ.
    fields: Mapping[str, str] | None = None
    danger: bool = False


CHANGE_FORMS: Mapping[Action, ChangeForm] = {
    Action.RESIZE: ChangeForm(
        button="Resize",
        open_action_id=change_button_id(Action.RESIZE),
        callback_id=change_callback_id(Action.RESIZE),
        modal=resize_modal,
        values=resize_values,
        block_ids=resize_block_ids,
    ),
    Action.DECOMMISSION: ChangeForm(
        button="Decommission",
        open_action_id=change_button_id(Action.DECOMMISSION),
        callback_id=change_callback_id(Action.DECOMMISSION),
        modal=decommission_modal,
        values=decommission_values,
        block_ids=lambda _view: DECOMMISSION_BLOCK_IDS,
        fields=DECOMMISSION_FIELDS,
        danger=True,
    ),
}
