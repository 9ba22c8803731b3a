"""Block actions: the buttons the app's messages and App Home carry."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from backend.adapters.slack_blocks import mentioning
from backend.adapters.slack_notices import render
from backend.domain import (
    Action,
    AlreadyRequested,
    ChangedMeanwhile,
    DatabaseRecord,
    NotAllowed,
    NotFound,
    QueueUnavailable,
    Source,
    ValidationFailed,
)
from backend.domain.notices import Happening, Notice
from bot import blocks
from bot.backend_access import backend_of
from bot.blocks.change_forms import CHANGE_FORMS


def _open(client: WebClient, trigger_id: str, view: dict[str, Any], logger: logging.Logger) -> None:
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        logger.warning("views.open failed: %s", exc.response.get("error"))


def open_provision_modal(ack: Ack, body: dict[str, Any], client: WebClient, logger: logging.Logger) -> None:
    _open(client, body["trigger_id"], blocks.provision_modal(), logger)
    ack()


def _open_change(
    body: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    logger: logging.Logger,
    modal: Callable[[DatabaseRecord], dict[str, Any]],
) -> None:
    environment, name = blocks.parse_key(str(body["actions"][0].get("value", "")))
    try:
        database = backend_of(context).changeable(environment, name, body["user"]["id"])
    except NotAllowed as refused:
        _refuse(client, body, mentioning(refused))
        return
    if database is None:
        logger.warning("a button for %s/%s, which is gone", environment, name)
        return
    _open(client, body["trigger_id"], modal(database), logger)


def _opener(modal: Callable[[DatabaseRecord], dict[str, Any]]) -> Callable[..., None]:
    """The listener of a button that opens ``modal`` for the database its value names."""

    def open_change_modal(
        ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, logger: logging.Logger
    ) -> None:
        _open_change(body, client, context, logger, modal)
        ack()

    return open_change_modal


def extend_ttl(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, logger: logging.Logger
) -> None:
    """The reminder's "Keep it" button: the expiry moves (no PR) and the reminder says until when."""
    ack()
    environment, name = blocks.parse_key(str(body["actions"][0].get("value", "")))
    user = body["user"]["id"]
    try:
        database = backend_of(context).expiry.extend(
            environment, name, requested_by=user, source=Source.SLACK
        )
    except (NotAllowed, NotFound, ValidationFailed, AlreadyRequested) as refused:
        logger.info("extension of %s/%s refused: %s", environment, name, refused.message)
        _refuse(client, body, mentioning(refused))
        return
    container = body.get("container") or {}
    if container.get("channel_id") and container.get("message_ts"):
        kept = render(Notice(Happening.EXTENDED, database=database, by=user))
        client.chat_update(channel=container["channel_id"], ts=container["message_ts"], **kept)


def register(app: App) -> None:
    app.action(blocks.OPEN_MODAL_ACTION_ID)(open_provision_modal)
    for form in CHANGE_FORMS.values():
        app.action(form.open_action_id)(_opener(form.modal))
    # The expiry reminder's buttons: keep it longer, or the decommission form right away.
    app.action(blocks.EXTEND_TTL_ACTION_ID)(extend_ttl)
    app.action(blocks.DECOMMISSION_NOW_ACTION_ID)(_opener(CHANGE_FORMS[Action.DECOMMISSION].modal))
    register_approvals(app)


def _refuse(client: WebClient, body: dict[str, Any], reason: str) -> None:
    """Tell only the clicker why nothing changed."""
    channel = (body.get("channel") or {}).get("id") or body["user"]["id"]
    client.chat_postEphemeral(channel=channel, user=body["user"]["id"], **blocks.decision_refused(reason))


def approve_request(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, logger: logging.Logger
) -> None:
    ack()
    request_id = str(body["actions"][0].get("value", ""))
    try:
        backend_of(context).approvals.approve(request_id, body["user"]["id"])
    except (NotAllowed, NotFound, QueueUnavailable, ChangedMeanwhile) as refused:
        logger.info("approval of %s refused: %s", request_id, refused.message)
        _refuse(client, body, mentioning(refused))


def open_deny_modal(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, logger: logging.Logger
) -> None:
    request_id = str(body["actions"][0].get("value", ""))
    try:
        backend_of(context).approvals.check_decider(request_id, body["user"]["id"])
    except (NotAllowed, NotFound) as refused:
        ack()
        _refuse(client, body, mentioning(refused))
        return
    _open(client, body["trigger_id"], blocks.deny_modal(request_id), logger)
    ack()


def register_approvals(app: App) -> None:
    app.action(blocks.APPROVE_ACTION_ID)(approve_request)
    app.action(blocks.DENY_ACTION_ID)(open_deny_modal)
