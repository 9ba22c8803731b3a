"""Modal submissions: the request form, and the resize and decommission forms of day 2. Each goes
through the intake and answers its refusals on the block they belong to."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from backend.adapters.slack_blocks import mentioning
from backend.domain import Action, ChangedMeanwhile, NotAllowed, NotFound, Source, ValidationFailed
from bot import blocks
from bot.backend_access import backend_of
from bot.blocks.change_forms import CHANGE_FORMS, ChangeForm
from bot.confirmations import confirm_in_dm
from bot.intake_answers import REFUSALS, answer_for

if TYPE_CHECKING:  # the intake itself comes from the container, on the first submission
    from backend.services.intake import IntakeService, Submission

    Submit = Callable[[IntakeService, dict[str, Any], str], Submission]


def _submitted(
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    logger: logging.Logger,
    *,
    submit: Submit,
    block_ids: Sequence[str] | Callable[[dict[str, Any]], Sequence[str]],
    fields: Mapping[str, str] | None = None,
) -> None:
    backend = backend_of(context)
    try:
        submission = submit(backend.intake, body["view"], body["user"]["id"])
    except REFUSALS as refused:
        answer = answer_for(refused)
        if answer.ours:
            logger.exception("submission failed on our side")
        shown = block_ids(body["view"]) if callable(block_ids) else block_ids
        ack(response_action="errors", errors=blocks.modal_errors(answer.fields(refused), shown, fields))
        return
    ack()  # closes the modal; the confirmation goes to the DM below
    confirm_in_dm(client, backend, submission.record, logger)


def _create(intake: IntakeService, view: dict[str, Any], user: str) -> Submission:
    data = blocks.modal_values(view.get("state", {}).get("values", {}))
    return intake.submit(data, requested_by=user, source=Source.SLACK)


def provision_modal_submitted(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, logger: logging.Logger
) -> None:
    _submitted(ack, body, client, context, logger, submit=_create, block_ids=blocks.MODAL_BLOCK_IDS)


def _change_submitted(action: Action, form: ChangeForm) -> Callable[..., None]:
    """The listener of ``form``'s modal: its values, as ``action`` of the database it names."""

    def submit(intake: IntakeService, view: dict[str, Any], user: str) -> Submission:
        environment, name = blocks.modal_database(view)
        data = form.values(view.get("state", {}).get("values", {}))
        return intake.submit_change(action, environment, name, data, requested_by=user, source=Source.SLACK)

    def change_modal_submitted(
        ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, logger: logging.Logger
    ) -> None:
        _submitted(
            ack, body, client, context, logger, submit=submit, block_ids=form.block_ids, fields=form.fields
        )

    return change_modal_submitted


def deny_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, logger: logging.Logger
) -> None:
    reason = blocks.deny_reason(view.get("state", {}).get("values", {}))
    try:
        backend_of(context).approvals.deny(str(view.get("private_metadata", "")), body["user"]["id"], reason)
    except (NotAllowed, NotFound, ValidationFailed, ChangedMeanwhile) as refused:
        # Someone approved (or it timed out) after this form opened: the form says who, nothing changes.
        logger.info("denial refused: %s", refused.message)
        ack(response_action="errors", errors={blocks.REASON: mentioning(refused)})
        return
    ack()


def register(app: App) -> None:
    app.view(blocks.DENY_CALLBACK_ID)(deny_submitted)
    app.view(blocks.MODAL_CALLBACK_ID)(provision_modal_submitted)
    for action, form in CHANGE_FORMS.items():
        app.view(form.callback_id)(_change_submitted(action, form))
