"""The request modal: validate through the intake and answer errors on the block they belong to."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from backend.domain import Source
from bot import blocks
from bot.confirmations import confirm_in_dm
from bot.intake_answers import REFUSALS, answer_for
from bot.services import services_of


def provision_modal_submitted(  # noqa: PLR0917 - Bolt injects listener arguments by name
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    logger: logging.Logger,
) -> None:
    services = services_of(context)
    data = blocks.modal_values(view.get("state", {}).get("values", {}))
    try:
        submission = services.intake.submit(data, requested_by=body["user"]["id"], source=Source.SLACK)
    except REFUSALS as refused:
        answer = answer_for(refused)
        if answer.ours:
            logger.exception("submission failed on our side")
        ack(response_action="errors", errors=answer.modal(refused))
        return
    ack()  # closes the modal; the confirmation goes to the DM below
    confirm_in_dm(client, services, submission.record, logger)


def register(app: App) -> None:
    app.view(blocks.MODAL_CALLBACK_ID)(provision_modal_submitted)
