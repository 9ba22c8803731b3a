"""The request modal: the form, what its submission carries, and errors on their blocks (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from backend.adapters.slack_blocks import option, plain, truncate
from backend.domain import Engine, Environment, FieldError, environment_policies, policy_for
from backend.domain.kinds import ENGINE_LABELS
from backend.domain.pricing import estimate, source_note
from bot.blocks.ids import (
    DATABASE_ENGINE,
    DATABASE_NAME,
    ENVIRONMENT,
    FIELD_LABELS,
    INPUT_ACTION_ID,
    MODAL_BLOCK_IDS,
    MODAL_CALLBACK_ID,
    OWNER,
    PURPOSE,
    with_labels,
)

# Slack shows an input error in far less room than a section.
_ERROR_TEXT_LIMIT = 250


def _environment_label(environment: Environment) -> str:
    """``dev (db.t3.micro; Aurora db.serverless up to 2 ACU)``: what each kind of database gets."""
    policy = policy_for(environment)
    aurora = policy.new_sizing(Engine.AURORA_MYSQL).summary
    return f"{environment.value} ({policy.instance_class}; Aurora {aurora})"


def _estimates_line(environment: Environment) -> str:
    """``dev: MySQL $14.71, PostgreSQL $15.44, ...``: each engine at the size it gets there."""
    policy = policy_for(environment)
    figures = [
        f"{label} ${estimate(engine, environment, policy.new_sizing(engine)).monthly_usd:,.2f}"
        for engine, label in ENGINE_LABELS.items()
    ]
    return f"*{environment.value}*: " + ", ".join(figures)


def _estimates() -> dict[str, Any]:
    """What a new database costs a month in each environment (the form cannot know the choice)."""
    lines = "\n".join(_estimates_line(environment) for environment in environment_policies())
    return {
        "type": "context",
        "block_id": "estimates",
        "elements": [
            {
                "type": "mrkdwn",
                "text": f"Estimated monthly cost at the size each environment gives ({source_note()}; "
                f"Aurora Serverless at its capacity maximum):\n{lines}",
            }
        ],
    }


def provision_modal() -> dict[str, Any]:
    """The request form; its input ``block_id``s are the request's field names."""
    engine_options = [option(engine.value, label) for engine, label in ENGINE_LABELS.items()]
    environment_options = [option(env.value, _environment_label(env)) for env in environment_policies()]
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK_ID,
        "title": plain("Request a database"),
        "submit": plain("Request"),
        "close": plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": DATABASE_NAME,
                "label": plain(FIELD_LABELS[DATABASE_NAME]),
                "hint": plain(
                    "A lowercase letter, then lowercase letters, digits and single underscores "
                    "(at most 50 characters)."
                ),
                "element": {
                    "type": "plain_text_input",
                    "action_id": INPUT_ACTION_ID,
                    "max_length": 50,
                    "placeholder": plain("orders"),
                },
            },
            {
                "type": "input",
                "block_id": DATABASE_ENGINE,
                "label": plain(FIELD_LABELS[DATABASE_ENGINE]),
                "element": {
                    "type": "static_select",
                    "action_id": INPUT_ACTION_ID,
                    "placeholder": plain("Choose an engine"),
                    "options": engine_options,
                },
            },
            {
                "type": "input",
                "block_id": ENVIRONMENT,
                "label": plain(FIELD_LABELS[ENVIRONMENT]),
                "element": {
                    "type": "static_select",
                    "action_id": INPUT_ACTION_ID,
                    "placeholder": plain("Choose an environment"),
                    "options": environment_options,
                    "initial_option": environment_options[0],
                },
            },
            _estimates(),
            {
                "type": "input",
                "block_id": OWNER,
                "optional": True,
                "label": plain("Owner (team or person)"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": INPUT_ACTION_ID,
                    "max_length": 64,
                    "placeholder": plain("payments-team"),
                },
            },
            {
                "type": "input",
                "block_id": PURPOSE,
                "optional": True,
                "label": plain("Purpose"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": INPUT_ACTION_ID,
                    "multiline": True,
                    "max_length": 256,
                    "placeholder": plain("order history for the checkout service"),
                },
            },
        ],
    }


def modal_values(state_values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, str]:
    """The request fields a submitted modal carries (``view.state.values``); empty inputs are left out.

    Only the known block ids are read, so a tampered payload cannot smuggle extra fields in.
    """
    data: dict[str, str] = {}
    for block_id in MODAL_BLOCK_IDS:
        element = state_values.get(block_id, {}).get(INPUT_ACTION_ID)
        if not element:
            continue
        selected = element.get("selected_option")
        value = selected.get("value") if isinstance(selected, Mapping) else element.get("value")
        if isinstance(value, str) and value.strip():
            data[block_id] = value.strip()
    return data


def modal_errors(
    errors: Iterable[FieldError],
    block_ids: Sequence[str] = MODAL_BLOCK_IDS,
    fields: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``response_action: errors`` payload: each message on its own input block (a field's block
    is its name, or ``fields[name]``; the rest go on the first block)."""
    result: dict[str, str] = {}
    for error in errors:
        named = (fields or {}).get(error.field, error.field)
        block_id = named if named in block_ids else block_ids[0]
        message = truncate(with_labels(error.field, error.message), _ERROR_TEXT_LIMIT)
        result[block_id] = f"{result[block_id]} {message}" if block_id in result else message
    return result
