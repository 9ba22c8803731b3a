"""The request modal: validate through the intake and answer errors on the block they belong to."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from backend.domain import (
    AlreadyRequested,
    NotAllowed,
    QueueUnavailable,
    RetryableError,
    Source,
    ValidationFailed,
)
from bot import blocks
from bot.confirmations import confirm_in_dm
from bot.services import BotServices


def register(app: App, services: BotServices) -> None:
    @app.view(blocks.MODAL_CALLBACK_ID)
    def submit_modal(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, logger: logging.Logger
    ) -> None:
        user_id: str = body["user"]["id"]
        data = blocks.modal_values(view.get("state", {}).get("values", {}))
        try:
            submission = services.intake.submit(data, requested_by=user_id, source=Source.SLACK)
        except ValidationFailed as exc:
            ack(response_action="errors", errors=blocks.modal_errors(exc.errors))
            return
        except NotAllowed as exc:
            ack(response_action="errors", errors={blocks.ENVIRONMENT: exc.message})
            return
        except AlreadyRequested as exc:
            hint = f" (request {exc.existing_request_id})" if exc.existing_request_id else ""
            ack(response_action="errors", errors={blocks.DATABASE_NAME: exc.message + hint})
            return
        except (QueueUnavailable, RetryableError):
            logger.exception("submission failed transiently")
            ack(
                response_action="errors",
                errors={
                    blocks.DATABASE_NAME: "The request could not be queued right now; nothing was "
                    "recorded. Please submit again in a minute."
                },
            )
            return
        ack()  # closes the modal; the confirmation goes to the DM below
        confirm_in_dm(client, services, submission.record, logger)
