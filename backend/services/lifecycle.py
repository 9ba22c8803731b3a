"""After the pull request: record ``merged``, ``applied`` or ``failed`` and tell the requester once.

Who calls it:
- the GitHub webhook (``backend.handlers.github_webhook``) when a request's PR is closed, merged
  or not (the PR body's marker names the request, the branch names its step);
- the dead-letter handler (``backend.handlers.dead_letters``) when the queue gave up on a
  request's message;
- the worker (``backend.services.provisioner``), whose permanent failures end a request here;
- an extension of a dev database, which cancels the decommission its expiry asked for;
- the local stack's "Merge" button and ``rdsctl merge`` (the same service, so the status has one
  code path);
- CircleCI after a successful ``terraform apply``, through ``python -m backend.cli.record_applied``
  (locally ``rdsctl applied``, which stands in for it): a request whose change is on main as its
  step wrote it (its file with its request id, or no file for a decommission) is ``applied``,
  or moves on to its next step (a prod decommission's deleting pull request).

One authority over each request: every change is the store's conditional write on the status,
step and pull request the caller saw, so an actor whose view is stale (an event about an earlier
step's PR, a decision after someone else's, a redelivery) changes nothing and learns why. A
request that fails after an earlier step of it was applied hands its database to the request
that undoes that step (a prod decommission's ``reprotect``), in the same transaction.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from aws_lambda_powertools import Logger

from backend.adapters.gitops.base import PullRequestPublisher, Withdrawn
from backend.adapters.queue import ProvisionMessage, RequestTopic
from backend.domain import (
    Action,
    AlreadyRequested,
    FileChange,
    QueueUnavailable,
    RequestRecord,
    RequestStatus,
    RetryableError,
    Step,
)
from backend.domain.actions import step_spec
from backend.domain.transitions import StatusConflict, Transition
from backend.services.notifications import Notifier, notify_once
from backend.services.ports import Store

logger = Logger(child=True)

CLOSED_WITHOUT_MERGE = "the pull request was closed without merging"
GAVE_UP = "the pull request could not be opened after repeated attempts"


class LifecycleOutcome(StrEnum):
    RECORDED = "recorded"  # this call changed the status
    UNCHANGED = "unchanged"  # the request already had that status (a redelivery)
    UNKNOWN = "unknown"  # no request holds this database name (not ours, or already released)
    OTHER_PULL_REQUEST = "other_pull_request"  # the event is about another PR than the request's step's
    CONFLICT = "conflict"  # the request is in a status the event may not follow
    NEXT_STEP = "next_step"  # its pull request is applied; the next one is being opened
    NOT_ON_MAIN = "not_on_main"  # main does not hold the request's change (yet)


@dataclass(frozen=True)
class LifecycleResult:
    outcome: LifecycleOutcome
    record: RequestRecord | None = None
    # True when this call sent the notification.
    notified: bool = False
    detail: str = ""


def written_by(content: str, request_id: str) -> bool:
    """True when a rendered file carries ``request_id`` (its ``RequestId`` tag): that request wrote it."""
    return re.search(rf'RequestId\s*=\s*"{re.escape(request_id)}"', content) is not None


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


class LifecycleService:
    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        topic: RequestTopic,
        publisher: PullRequestPublisher,
        *,
        clock: Callable[[], datetime] = _now,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._topic = topic
        self._publisher = publisher
        self._clock = clock
        self._new_id = new_id

    # --- GitHub ------------------------------------------------------------------------------------
    def pull_request_closed(
        self,
        request_id: str,
        *,
        pr_number: int,
        pr_url: str | None = None,
        branch: str | None = None,
        merged: bool,
        actor: str | None = None,
    ) -> LifecycleResult:
        """The request's PR was closed: merged -> ``merged`` ("CircleCI is applying it"); not
        merged -> ``failed``, which releases the name for a new request.

        Only the PR of the request's current step counts: an event about another PR (an earlier
        step's, or an earlier request's on a branch of the same name), even redelivered late,
        changes nothing. A PR closed before the worker recorded it (a fast reviewer) is recorded
        first, from the event, when its branch is the current step's.
        """
        record = self._store.get(request_id)
        where = {"request_id": request_id, "pr_number": pr_number, "merged": merged}
        if record is None:
            logger.info("no such request; nothing to record", extra=where)
            return LifecycleResult(LifecycleOutcome.UNKNOWN, detail=f"no request {request_id}")
        if branch is not None and branch != record.branch_name:
            return self._other_pull_request(
                record, pr_number, f"it is {branch}'s, not {record.branch_name}'s"
            )
        if record.pr_number is None and record.status is RequestStatus.ACCEPTED and pr_url and branch:
            try:
                record = self._store.transition(
                    request_id, RequestStatus.PR_OPENED, seen=record, pr_url=pr_url, pr_number=pr_number
                ).record
            except StatusConflict as stale:
                record = stale.record
            notify_once(self._store, self._notifier, record)
        if record.pr_number != pr_number:
            return self._other_pull_request(record, pr_number, f"it belongs to PR #{record.pr_number}")
        if merged:
            return self.end(record, RequestStatus.MERGED, actor=actor)
        return self.end(record, RequestStatus.FAILED, actor=actor, error=CLOSED_WITHOUT_MERGE)

    @staticmethod
    def _other_pull_request(record: RequestRecord, pr_number: int, why: str) -> LifecycleResult:
        logger.warning(
            "event is about another pull request; ignored",
            extra={"request_id": record.request_id, "pr_number": pr_number, "why": why},
        )
        return LifecycleResult(
            LifecycleOutcome.OTHER_PULL_REQUEST,
            record,
            detail=f"PR #{pr_number} is not the current pull request of request {record.request_id}: {why}",
        )

    # --- CI ----------------------------------------------------------------------------------------
    def applied(self, environment: str, database_name: str, on_main: str | None) -> LifecycleResult:
        """CI applied main, where the database's file reads ``on_main`` (None: there is none).

        The database's request in flight (its change, else its create) is ``applied`` when main
        holds what its step wrote, and the requester hears it; a prod decommission's first step
        moves on to the second instead. A request still ``pr_opened`` is recorded ``merged`` on the
        way, silently: what is applied was merged, even if the merge event never came.
        """
        database = self._store.get_database(environment, database_name)
        where = f"{environment}/{database_name}"
        if database is None:
            logger.info("no request holds this database; nothing to record", extra={"database": where})
            return LifecycleResult(LifecycleOutcome.UNKNOWN, detail=f"no request for {where}")
        record = self._store.get(database.change_request_id or database.request_id)
        if record is None:  # pragma: no cover - a database's requests outlive it
            return LifecycleResult(LifecycleOutcome.UNKNOWN, detail=f"no request for {where}")
        if record.status is RequestStatus.ACCEPTED and record.step is not self._queued_by_intake(record):
            # An earlier run moved it on (or handed the database to an undo) but could not queue it:
            # a CI re-run heals that.
            self._queue(record)
            return LifecycleResult(LifecycleOutcome.NEXT_STEP, record, detail="queued again")
        if record.status not in {RequestStatus.PR_OPENED, RequestStatus.MERGED}:
            return LifecycleResult(LifecycleOutcome.UNCHANGED, record)
        deleting = step_spec(record.step).file_change is FileChange.DELETE
        done = on_main is None if deleting else on_main is not None and written_by(on_main, record.request_id)
        if not done:
            return LifecycleResult(
                LifecycleOutcome.NOT_ON_MAIN, record, detail=f"main does not hold its {record.step.value} yet"
            )
        try:
            if record.status is RequestStatus.PR_OPENED:
                record = self._store.transition(record.request_id, RequestStatus.MERGED, seen=record).record
        except StatusConflict as stale:
            return LifecycleResult(LifecycleOutcome.CONFLICT, stale.record, detail=str(stale))
        following = record.next_step
        if following is None:
            return self.end(record, RequestStatus.APPLIED)
        transition = self._store.advance_step(record, to=following)
        if transition.changed:
            self._queue(transition.record)
            notify_once(self._store, self._notifier, transition.record)
        return LifecycleResult(LifecycleOutcome.NEXT_STEP, transition.record, detail=f"now {following.value}")

    def databases_changing(self, environment: str) -> list[str]:
        """Names of the databases of ``environment`` with a change in flight (CI checks them all,
        since a decommission's file is no longer on main to be listed)."""
        return [d.database_name for d in self._store.list_databases(environment) if d.change_request_id]

    def _queued_by_intake(self, record: RequestRecord) -> Step | None:
        """The step the intake queued ``record`` at (None: the intake never queued it, an undo)."""
        if record.undoes_request_id is not None:
            return None
        return record.steps[0]

    def _queue(self, record: RequestRecord) -> None:
        try:
            self._topic.publish(ProvisionMessage.of(record, record.updated_at))
        except QueueUnavailable:
            # Recorded and not queued: the next record-applied run (CI re-run) queues it again.
            logger.exception("could not queue the next step", extra={"request_id": record.request_id})

    # --- the queue ---------------------------------------------------------------------------------
    def gave_up(self, request_id: str, step: Step | None = None) -> LifecycleResult:
        """The queue gave up on the request's message (its retries ran out): ``failed``, told, freed.

        Only a request still ``accepted`` at the message's step ends here: one that got further
        (its PR is open and only the notification kept failing) keeps its status, and a message of
        an earlier step changes nothing. A PR an attempt opened without recording it is closed; one
        a reviewer merged meanwhile is left to the merge's event, which records it.
        """
        record = self._store.get(request_id)
        if record is None:
            return LifecycleResult(LifecycleOutcome.UNKNOWN, detail=f"no request {request_id}")
        if record.status is not RequestStatus.ACCEPTED or (step is not None and step is not record.step):
            return LifecycleResult(
                LifecycleOutcome.UNCHANGED,
                record,
                detail=f"request {request_id} is {record.status.value} at {record.step.value}",
            )
        cause = record.last_error or "it did not finish in time"
        reason = f"{GAVE_UP} (the last attempt: {cause}). Nothing was created; please ask again."
        if record.step is not Step.CREATE:
            reason = f"{GAVE_UP} (the last attempt: {cause}). Please ask again."
        try:
            return self.cancel(record, reason)
        except AlreadyRequested:
            # An attempt opened the PR and ended before recording it, and a reviewer merged it: too
            # late to fail. The merge's event records the PR and the merge (``pull_request_closed``),
            # then CI's apply ends the request as any merged one; failing here would only repeat.
            logger.warning(
                "its unrecorded pull request is merged already; left to the merge's event",
                extra={"request_id": request_id},
            )
            return LifecycleResult(
                LifecycleOutcome.UNCHANGED,
                record,
                detail=f"request {request_id}'s pull request is merged already; its event records it",
            )
        except RetryableError as unreachable:
            # GitHub is what kept failing: an attempt that opened a PR without recording it is rare,
            # and the request must still end rather than wait in the dead-letter queue.
            logger.warning(
                "could not look for a pull request to close; ending the request anyway",
                extra={"request_id": request_id, "error": unreachable.message},
            )
            return self.end(record, RequestStatus.FAILED, error=reason)

    # --- ending ------------------------------------------------------------------------------------
    def cancel(self, seen: RequestRecord, reason: str, *, actor: str | None = None) -> LifecycleResult:
        """End ``seen`` ``failed`` with ``reason``, its pull request (if any) closed unmerged first.

        Raises AlreadyRequested when that pull request was merged meanwhile: too late to cancel.
        """
        withdrawn = self._publisher.withdraw(seen.branch_name, seen.request_id, reason)
        if withdrawn is Withdrawn.MERGED:
            raise AlreadyRequested(
                f"its {seen.action.value} (request {seen.request_id}) is merged already; it is being applied",
                existing_request_id=seen.request_id,
            )
        return self.end(seen, RequestStatus.FAILED, actor=actor, error=reason)

    def end(
        self,
        seen: RequestRecord,
        status: RequestStatus,
        *,
        actor: str | None = None,
        error: str | None = None,
    ) -> LifecycleResult:
        """Record ``status`` on the request as ``seen``, and tell its requester once.

        A request that fails after an earlier step was applied hands its database to the request
        that undoes it (``undo_of``), queued here.
        """
        where = {"request_id": seen.request_id, "status": status, "by": actor}
        undo = seen.undo
        try:
            if status is RequestStatus.FAILED and undo is not None and not seen.status.is_final:
                transition = self._fail_and_undo(seen, error or "it failed", undo)
            else:
                transition = self._store.transition(seen.request_id, status, seen=seen, error=error)
        except StatusConflict as stale:
            logger.warning("status change not allowed", extra={**where, "current": stale.current})
            return LifecycleResult(LifecycleOutcome.CONFLICT, stale.record, detail=str(stale))
        logger.info("request status recorded", extra={**where, "changed": transition.changed})
        notified = notify_once(self._store, self._notifier, transition.record)
        outcome = LifecycleOutcome.RECORDED if transition.changed else LifecycleOutcome.UNCHANGED
        return LifecycleResult(outcome, transition.record, notified)

    def tell(self, record: RequestRecord) -> bool:
        """Tell ``record``'s requester about its status unless someone already did."""
        return notify_once(self._store, self._notifier, record)

    def _fail_and_undo(self, seen: RequestRecord, error: str, undo: Action) -> Transition:
        now = self._clock()
        undoing = seen.model_copy(
            update={
                "request_id": self._new_id(),
                "status": RequestStatus.ACCEPTED,
                "action": undo,
                "created_at": now,
                "updated_at": now,
                "pr_url": None,
                "pr_number": None,
                "error": None,
                "last_error": None,
                "idempotency_key": None,
                "approved_by": None,
                "approved_at": None,
                "approval_message": None,
                "previous_instance_class": None,
                "previous_allocated_storage": None,
                "previous_max_capacity": None,
                "undoes_request_id": seen.request_id,
            }
        )
        undoing = undoing.model_copy(update={"step": undoing.steps[0]})
        undoing = undoing.model_copy(update={"branch": undoing.branch_name})
        transition = self._store.fail_and_undo(seen, error, undoing)
        if transition.changed:
            logger.info(
                "undoing what the failed request applied",
                extra={"request_id": seen.request_id, "undo": undoing.request_id, "action": undo.value},
            )
            self._queue(undoing)
        return transition
