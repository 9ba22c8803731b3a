"""Errors the services raise; each frontend maps them to its own answer (HTTP status, Slack text)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class ProvisionerError(Exception):
    """Base of every error this product raises on purpose.

    ``message`` names people by their id (``already approved by U0ALICE``), as the HTTP API says
    it; ``people`` lists the ids it names, so a chat can show each as a mention.
    """

    def __init__(self, message: str, *, people: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.people = people


class ValidationFailed(ProvisionerError):
    """The input is invalid; nothing was changed."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors) or "invalid request")
        self.errors = errors


class NotAllowed(ProvisionerError):
    """The requester may not make this request (for example prod without being on the allowlist)."""


class AlreadyRequested(ProvisionerError):
    """This database is already requested or exists in that environment."""

    def __init__(self, message: str, existing_request_id: str | None = None) -> None:
        super().__init__(message)
        self.existing_request_id = existing_request_id


class ChangedMeanwhile(ProvisionerError):
    """The request is no longer what the caller saw (someone else decided or moved it): nothing
    was changed."""

    def __init__(self, message: str, request_id: str | None = None, *, people: tuple[str, ...] = ()) -> None:
        super().__init__(message, people=people)
        self.request_id = request_id


class IdempotencyConflict(ProvisionerError):
    """The Idempotency-Key was used before with a different body."""


class QueueUnavailable(ProvisionerError):
    """The request could not be queued; the claim was undone and nothing is recorded."""


class NotFound(ProvisionerError):
    """No such request."""


class RetryableError(ProvisionerError):
    """A transient failure (5xx, rate limit, timeout): the message goes back to the queue."""

    def __init__(self, message: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class OutOfTime(RetryableError):
    """The invocation's time ran out before the next step could start: not a failure, the work
    goes back to the queue at once and resumes (every step is safe to repeat)."""


class RateLimited(RetryableError):
    """GitHub said "wait" (a rate limit), or this stack's share of GitHub's write budget is spent.

    Not a failure: the work is retried after ``retry_after_seconds`` without spending the
    message's retries.
    """

    retry_after_seconds: float

    def __init__(self, message: str, retry_after_seconds: float) -> None:
        super().__init__(message, retry_after_seconds=retry_after_seconds)

    def waiting_reason(self, now: datetime) -> str:
        """What the request says while it waits (``now`` in UTC)."""
        until = now + timedelta(seconds=self.retry_after_seconds)
        return f"waiting for GitHub's rate limit until {until:%Y-%m-%d %H:%M:%S} UTC ({self.message})"


class PermanentError(ProvisionerError):
    """Retrying cannot help: the request is marked failed and the requester is told why."""


class DatabaseAlreadyExists(PermanentError):
    """The Terraform file for this database is already on the base branch: the request is rejected."""
