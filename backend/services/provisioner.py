"""Process one queued request: render -> open the PR -> record the outcome -> tell the requester.

Every step is safe to repeat, because SQS delivers at least once:
- the request id keys everything; a request past ``accepted`` is not worked on again;
- the publisher finds the branch/PR an earlier attempt created instead of making another;
- the status change is a conditional write, and only the delivery whose write changed it
  notifies (``claim_notification``), so three deliveries yield one PR and one message.

A RetryableError propagates (the SQS record fails and comes back later); a PermanentError ends
the request ``failed`` (or ``rejected`` when the database already exists) and is not raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from aws_lambda_powertools import Logger

from backend.adapters.gitops.base import ChangeSet, PullRequestPublisher
from backend.adapters.queue import ProvisionMessage
from backend.domain import (
    DatabaseAlreadyExists,
    FileChange,
    PermanentError,
    ProvisionRequest,
    RequestRecord,
    RequestStatus,
    Sizing,
    Step,
)
from backend.domain.actions import step_spec
from backend.domain.transitions import StatusConflict
from backend.services.lifecycle import LifecycleService
from backend.services.ports import Requests

logger = Logger(child=True)

# Recording the outcome (DynamoDB) and telling the requester (Slack, with its short 429 retries).
RECORD_AND_NOTIFY_SECONDS = 10.0


class RenderedFileLike(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def content(self) -> str: ...


class Renderer(Protocol):
    """What the provisioner needs from ``backend.render`` (a module satisfies it)."""

    def render_database(
        self,
        request: ProvisionRequest,
        *,
        request_id: str,
        requested_by: str,
        sizing: Sizing | None = None,
        unprotecting: bool = False,
    ) -> RenderedFileLike: ...

    def pull_request_text(self, record: RequestRecord) -> tuple[str, str]: ...


class ProvisionOutcome(StrEnum):
    PR_OPENED = "pr_opened"
    FAILED = "failed"
    REJECTED = "rejected"
    # Nothing to do: an earlier delivery got there, or the request is unknown (undone).
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ProvisionResult:
    outcome: ProvisionOutcome
    record: RequestRecord | None
    # True when this delivery sent the notification.
    notified: bool = False


class Provisioner:
    def __init__(
        self,
        store: Requests,
        publisher: PullRequestPublisher,
        lifecycle: LifecycleService,
        *,
        labels: tuple[str, ...] = (),
        renderer: Renderer | None = None,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._lifecycle = lifecycle
        self._labels = tuple(labels)
        self._renderer = renderer

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            # Imported on first use (cold starts that never render pay nothing for jinja2).
            import backend.render as render_module

            self._renderer = render_module
        return self._renderer

    @property
    def seconds_needed(self) -> float:
        """Time a record needs left to be worth starting: one publishing step plus recording it."""
        return self._publisher.worst_call_seconds + RECORD_AND_NOTIFY_SECONDS

    def process(
        self, message: ProvisionMessage, *, redelivered: bool = False, deadline: float | None = None
    ) -> ProvisionResult:
        """Handle one delivery of ``message``; ``redelivered`` when SQS has handed it out before.

        ``deadline`` (``time.monotonic()``) is when publishing must stop so the outcome can still
        be recorded before the invocation ends.
        """
        record = self._store.get(message.request_id)
        if record is None:
            # Intake writes the record before it publishes, so a message without a record is one
            # whose publish was reported failed (the caller got 503 and the record was undone).
            logger.warning("no such request; skipping", extra={"request_id": message.request_id})
            return ProvisionResult(ProvisionOutcome.SKIPPED, None)
        if record.status is not RequestStatus.ACCEPTED:
            logger.info(
                "request already handled", extra={"request_id": record.request_id, "status": record.status}
            )
            # An earlier delivery may have recorded the outcome but failed to notify.
            notified = self._lifecycle.tell(record)
            return ProvisionResult(ProvisionOutcome.SKIPPED, record, notified)

        try:
            change = self._change_set(record, message)
            publish_by = None if deadline is None else deadline - RECORD_AND_NOTIFY_SECONDS
            pull_request = self._publisher.open_pull_request(change, resume=redelivered, deadline=publish_by)
        except DatabaseAlreadyExists as error:
            return self._finish(record, RequestStatus.REJECTED, error.message)
        except PermanentError as error:
            return self._finish(record, RequestStatus.FAILED, error.message)

        try:
            transition = self._store.transition(
                record.request_id,
                RequestStatus.PR_OPENED,
                seen=record,
                pr_url=pull_request.url,
                pr_number=pull_request.number,
                branch=pull_request.branch,
                file_path=change.file_path,
            )
        except StatusConflict as stale:
            return self._withdraw(stale.record, change)
        logger.info(
            "pull request opened",
            extra={
                "request_id": record.request_id,
                "pr_url": pull_request.url,
                "pr_created": pull_request.created,
                "changed": transition.changed,
            },
        )
        return ProvisionResult(
            ProvisionOutcome.PR_OPENED, transition.record, self._lifecycle.tell(transition.record)
        )

    def _withdraw(self, current: RequestRecord, change: ChangeSet) -> ProvisionResult:
        """The request moved on while its PR was being opened (it ended, or another delivery got
        further): a PR of a request that ended is closed, so nobody merges what nobody tracks."""
        logger.info(
            "request changed while its pull request was opened",
            extra={"request_id": current.request_id, "status": current.status},
        )
        if current.status.is_final:
            self._publisher.withdraw(
                change.branch, current.request_id, f"request {current.request_id} is {current.status.value}"
            )
        return ProvisionResult(ProvisionOutcome.SKIPPED, current, self._lifecycle.tell(current))

    def note_failed_attempt(self, request_id: str, reason: str) -> None:
        """Remember why this attempt failed: the reason the requester hears if the retries run out."""
        try:
            self._store.note_failed_attempt(request_id, reason)
        except Exception:
            # Only a better reason is lost; the retry itself must not fail because of it.
            logger.exception("could not remember why the attempt failed", extra={"request_id": request_id})

    def _finish(self, seen: RequestRecord, status: RequestStatus, reason: str) -> ProvisionResult:
        result = self._lifecycle.end(seen, status, error=reason)
        logger.warning(
            "request ended", extra={"request_id": seen.request_id, "status": status, "error": reason}
        )
        outcome = ProvisionOutcome.REJECTED if status is RequestStatus.REJECTED else ProvisionOutcome.FAILED
        return ProvisionResult(outcome, result.record, result.notified)

    def _change_set(self, record: RequestRecord, message: ProvisionMessage) -> ChangeSet:
        request = record.request
        spec = step_spec(record.step)
        change = spec.file_change
        content = None
        if change is not FileChange.DELETE:
            rendered = self.renderer.render_database(
                request,
                request_id=record.request_id,
                requested_by=record.requested_by,
                sizing=record.sizing,
                unprotecting=record.step is Step.UNPROTECT,
            )
            if rendered.path != request.file_path:
                raise PermanentError(f"renderer wrote {rendered.path}, expected {request.file_path}")
            content = rendered.content
        title, body = self.renderer.pull_request_text(record)
        subject = spec.commit_subject.format(
            engine=request.database_engine.value, name=request.database_name, env=request.environment.value
        )
        return ChangeSet(
            request_id=record.request_id,
            branch=record.branch_name,
            file_path=request.file_path,
            content=content,
            change=change,
            commit_message=(
                f"{subject}\n\nRequest {record.request_id} by {record.requested_by} "
                f"via {message.source.value}."
            ),
            title=title,
            body=body,
            labels=self._labels,
        )
