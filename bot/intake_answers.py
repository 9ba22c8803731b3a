"""One table from what the intake refuses to what Slack shows: the slash command's answer and the
modals' inline errors, so the frontends can never word a refusal differently."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backend.adapters.slack_blocks import mentioning
from backend.domain import (
    AlreadyRequested,
    FieldError,
    NotAllowed,
    NotFound,
    ProvisionerError,
    QueueUnavailable,
    RetryableError,
    ValidationFailed,
)
from bot import blocks

_NOT_QUEUED = (
    "The request could not be queued right now; nothing was recorded. Please submit again in a minute."
)


@dataclass(frozen=True)
class IntakeAnswer:
    # The ephemeral answer to ``/provision-rds <text>``.
    command: Callable[[Any, str], blocks.Message]
    # The field errors a modal shows on its blocks (a field it has no block for: its first block).
    fields: Callable[[Any], list[FieldError]]
    # A failure on our side (not the request's): logged with its traceback.
    ours: bool = False


def _existing(error: AlreadyRequested) -> str:
    return f" (request {error.existing_request_id})" if error.existing_request_id else ""


# Checked in order; the first class the error is an instance of answers.
INTAKE_ANSWERS: tuple[tuple[type[ProvisionerError], IntakeAnswer], ...] = (
    (
        ValidationFailed,
        IntakeAnswer(
            command=lambda error, text: blocks.invalid_command(error.errors, text=text),
            fields=lambda error: list(error.errors),
        ),
    ),
    (
        NotAllowed,
        IntakeAnswer(
            command=lambda error, _text: blocks.not_allowed(mentioning(error)),
            fields=lambda error: [FieldError("environment", mentioning(error))],
        ),
    ),
    (
        AlreadyRequested,
        IntakeAnswer(
            command=lambda error, _text: blocks.already_requested(error.message, error.existing_request_id),
            fields=lambda error: [FieldError("database_name", error.message + _existing(error))],
        ),
    ),
    (
        NotFound,
        IntakeAnswer(
            command=lambda error, _text: blocks.not_found(mentioning(error)),
            fields=lambda error: [FieldError("body", mentioning(error))],
        ),
    ),
    (
        QueueUnavailable,
        IntakeAnswer(
            command=lambda _error, _text: blocks.queue_unavailable(),
            fields=lambda _error: [FieldError("body", _NOT_QUEUED)],
            ours=True,
        ),
    ),
    (
        # DynamoDB throttled or unreachable: the intake changed nothing, so the person may retry.
        RetryableError,
        IntakeAnswer(
            command=lambda _error, _text: blocks.try_again_later(),
            fields=lambda _error: [FieldError("body", _NOT_QUEUED)],
            ours=True,
        ),
    ),
)
REFUSALS = tuple(kind for kind, _ in INTAKE_ANSWERS)


def answer_for(error: ProvisionerError) -> IntakeAnswer:
    """How Slack answers ``error`` (one of ``REFUSALS``)."""
    return next(answer for kind, answer in INTAKE_ANSWERS if isinstance(error, kind))
