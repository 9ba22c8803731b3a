"""``/provision-rds``: submit directly, open the form, and the commands (``help``, ``status``, ``list``,
``resize``, ``decommission``); a mistyped command is answered with the closest one."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from backend.adapters.slack_blocks import mentioning
from backend.domain import DatabaseRecord, FieldError, NotAllowed, Source
from bot import blocks
from bot.backend_access import BackendAccess, backend_of
from bot.blocks.change_forms import CHANGE_FORMS
from bot.blocks.ids import ENGINE_CHOICES
from bot.confirmations import confirm_in_dm
from bot.intake_answers import REFUSALS, answer_for

POSITIONAL_FIELDS = (blocks.DATABASE_NAME, blocks.DATABASE_ENGINE, blocks.ENVIRONMENT)
# ``/provision-rds resize|decommission <database_name> <environment>``: the modal each opens.
CHANGE_MODALS: dict[str, Callable[[DatabaseRecord], dict[str, Any]]] = {
    action.value: form.modal for action, form in CHANGE_FORMS.items()
}


def meant_command(words: list[str]) -> str | None:
    """The command a mistyped first word was most likely meant to be (``lst`` -> ``list``), unless
    the words read as a request (``lists postgres dev`` asks for a database named ``lists``)."""
    close = difflib.get_close_matches(words[0].lower(), blocks.COMMAND_WORDS, n=1, cutoff=0.6)
    if not close or (len(words) == len(POSITIONAL_FIELDS) and words[1].lower() in ENGINE_CHOICES.split("|")):
        return None
    return close[0]


def provision_rds(
    ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext, logger: logging.Logger
) -> None:
    words = (command.get("text") or "").split()
    subcommand = words[0].lower() if words else ""
    if not words:
        open_modal(ack, client, command["trigger_id"], logger)
    elif subcommand == "help":
        ack(**blocks.help_message())
    elif subcommand == "status":
        show_status(ack, backend_of(context), command["user_id"], words[1:])
    elif subcommand == "list":
        ack(**blocks.list_message(backend_of(context).inventory.databases(requested_by=command["user_id"])))
    elif subcommand in CHANGE_MODALS:
        open_change_modal(ack, client, backend_of(context), command, words=words, logger=logger)
    elif meant := meant_command(words):
        ack(**blocks.unknown_command(words[0], meant))
    else:
        submit(ack, client, backend_of(context), command, words=words, logger=logger)


def register(app: App) -> None:
    app.command(blocks.COMMAND)(provision_rds)


def open_modal(
    ack: Ack, client: WebClient, trigger_id: str, logger: logging.Logger, view: dict[str, Any] | None = None
) -> None:
    # views.open before ack(): the trigger id is only valid for three seconds, and a failure
    # can still be told to the user in the acknowledgement.
    try:
        client.views_open(trigger_id=trigger_id, view=view or blocks.provision_modal())
    except SlackApiError as exc:
        logger.warning("views.open failed: %s", exc.response.get("error"))
        ack(**blocks.modal_open_failed())
        return
    ack()


def open_change_modal(
    ack: Ack,
    client: WebClient,
    backend: BackendAccess,
    command: dict[str, Any],
    *,
    words: list[str],
    logger: logging.Logger,
) -> None:
    if len(words) != 3:
        ack(**blocks.usage_error(f"`{words[0]}` takes a database name and an environment."))
        return
    name, environment = words[1], words[2]
    try:
        database = backend.changeable(environment, name, command["user_id"])
    except NotAllowed as refused:
        ack(**blocks.change_refused(mentioning(refused)))
        return
    if database is None:
        ack(**blocks.no_such_database(environment, name))
        return
    open_modal(ack, client, command["trigger_id"], logger, CHANGE_MODALS[words[0].lower()](database))


def show_status(ack: Ack, backend: BackendAccess, user_id: str, arguments: list[str]) -> None:
    if len(arguments) != 1:
        ack(**blocks.usage_error("`status` takes exactly one request id."))
        return
    record = backend.lookup.visible_to(arguments[0], user_id)
    ack(**(blocks.status_message(record) if record else blocks.request_not_visible(arguments[0])))


def submit(
    ack: Ack,
    client: WebClient,
    backend: BackendAccess,
    command: dict[str, Any],
    *,
    words: list[str],
    logger: logging.Logger,
) -> None:
    typed = command.get("text", "")
    if len(words) > len(POSITIONAL_FIELDS):
        extra = " ".join(words[len(POSITIONAL_FIELDS) :])
        problem = FieldError("text", f"expected 3 words, got {len(words)} (unexpected: {extra})")
        ack(**blocks.invalid_command([problem], text=typed))
        return
    data = dict(zip(POSITIONAL_FIELDS, words, strict=False))
    try:
        submission = backend.intake.submit(data, requested_by=command["user_id"], source=Source.SLACK)
    except REFUSALS as refused:
        answer = answer_for(refused)
        if answer.ours:
            logger.exception("submission failed on our side")
        ack(**answer.command(refused, typed))
        return
    ack(**blocks.submitted(submission.record))
    confirm_in_dm(client, backend, submission.record, logger)
