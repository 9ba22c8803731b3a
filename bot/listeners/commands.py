"""``/provision-rds``: submit directly, open the form, ``help`` and ``status <request_id>``."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from backend.domain import (
    AlreadyRequested,
    FieldError,
    NotAllowed,
    QueueUnavailable,
    RetryableError,
    Source,
    ValidationFailed,
)
from bot import blocks
from bot.confirmations import confirm_in_dm
from bot.services import BotServices

POSITIONAL_FIELDS = (blocks.DATABASE_NAME, blocks.DATABASE_ENGINE, blocks.ENVIRONMENT)


def register(app: App, services: BotServices) -> None:
    @app.command(blocks.COMMAND)
    def provision_rds(ack: Ack, command: dict[str, Any], client: WebClient, logger: logging.Logger) -> None:
        words = (command.get("text") or "").split()
        subcommand = words[0].lower() if words else ""
        if not words:
            open_modal(ack, client, command["trigger_id"], logger)
        elif subcommand == "help":
            ack(**blocks.help_message())
        elif subcommand == "status":
            show_status(ack, services, words[1:])
        else:
            submit(ack, client, services, command, words=words, logger=logger)


def open_modal(ack: Ack, client: WebClient, trigger_id: str, logger: logging.Logger) -> None:
    # views.open before ack(): the trigger id is only valid for three seconds, and a failure
    # can still be told to the user in the acknowledgement.
    try:
        client.views_open(trigger_id=trigger_id, view=blocks.provision_modal())
    except SlackApiError as exc:
        logger.warning("views.open failed: %s", exc.response.get("error"))
        ack(**blocks.modal_open_failed())
        return
    ack()


def show_status(ack: Ack, services: BotServices, arguments: list[str]) -> None:
    if len(arguments) != 1:
        ack(**blocks.usage_error("`status` takes exactly one request id."))
        return
    record = services.store.get(arguments[0])
    ack(**(blocks.status_message(record) if record else blocks.request_not_found(arguments[0])))


def submit(
    ack: Ack,
    client: WebClient,
    services: BotServices,
    command: dict[str, Any],
    *,
    words: list[str],
    logger: logging.Logger,
) -> None:
    if len(words) > len(POSITIONAL_FIELDS):
        extra = " ".join(words[len(POSITIONAL_FIELDS) :])
        ack(
            **blocks.invalid_command(
                [FieldError("text", f"expected 3 words, got {len(words)} (unexpected: {extra})")],
                text=command.get("text", ""),
            )
        )
        return
    data = dict(zip(POSITIONAL_FIELDS, words, strict=False))
    user_id: str = command["user_id"]
    try:
        submission = services.intake.submit(data, requested_by=user_id, source=Source.SLACK)
    except ValidationFailed as exc:
        ack(**blocks.invalid_command(exc.errors, text=command.get("text", "")))
        return
    except NotAllowed as exc:
        ack(**blocks.not_allowed(exc.message))
        return
    except AlreadyRequested as exc:
        ack(**blocks.already_requested(exc.message, exc.existing_request_id))
        return
    except QueueUnavailable:
        ack(**blocks.queue_unavailable())
        return
    except RetryableError:
        # DynamoDB throttled or unreachable: intake changed nothing, so the person may just retry.
        logger.exception("submission failed transiently")
        ack(**blocks.try_again_later())
        return
    ack(**blocks.submitted(submission.record))
    confirm_in_dm(client, services, submission.record, logger)
