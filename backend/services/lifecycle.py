"""After the pull request: record ``merged``, ``applied`` or ``failed`` and tell the requester once.

Who calls it:
- the GitHub webhook (``backend.handlers.github_webhook``) when a request's PR is closed, merged
  or not (the PR body's marker names the request);
- the dead-letter handler (``backend.handlers.dead_letters``) when the queue gave up on a
  request's message;
- the local stack's "Merge" button and ``rdsctl merge`` (the same service, so the status has one
  code path);
- CircleCI after a successful ``terraform apply``, through ``python -m backend.cli.record_applied``
  (locally ``rdsctl applied``, which stands in for it): a request whose change is on main as its
  step wrote it (its file with its request id, or no file for a decommission) is ``applied``,
  or moves on to its next step (a prod decommission's deleting pull request).

Every event is safe to repeat (GitHub redelivers, CI jobs get re-run): the request is found by
its id (or, for CI, by its name claim), the status change is the store's conditional
``transition`` (re-recording the current status changes nothing) and the message goes out
through ``notify_once``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from aws_lambda_powertools import Logger

from backend.adapters.queue import ProvisionMessage, RequestTopic
from backend.adapters.store import RequestStore, StatusConflict
from backend.domain import FileChange, RequestRecord, RequestStatus, Step, policy_for
from backend.domain.actions import FILE_CHANGES, next_step, steps_of
from backend.services.notifications import Notifier, notify_once

logger = Logger(child=True)

CLOSED_WITHOUT_MERGE = "the pull request was closed without merging"
GAVE_UP = "the pull request could not be opened after repeated attempts"


class LifecycleOutcome(StrEnum):
    RECORDED = "recorded"  # this call changed the status
    UNCHANGED = "unchanged"  # the request already had that status (a redelivery)
    UNKNOWN = "unknown"  # no request holds this database name (not ours, or already released)
    OTHER_PULL_REQUEST = "other_pull_request"  # the request's PR is another one than this event's
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


class LifecycleService:
    def __init__(self, store: RequestStore, notifier: Notifier, topic: RequestTopic) -> None:
        self._store = store
        self._notifier = notifier
        self._topic = topic

    def pull_request_closed(
        self,
        request_id: str,
        *,
        pr_number: int,
        pr_url: str | None = None,
        merged: bool,
        actor: str | None = None,
    ) -> LifecycleResult:
        """The request's PR was closed: merged -> ``merged`` ("CircleCI is applying it"); not
        merged -> ``failed``, which releases the name for a new request.

        Only the request's own PR counts: an event about another PR (an earlier request's, on a
        branch of the same name) changes nothing. A PR closed before the worker recorded it (a
        fast reviewer) is recorded first, from the event.
        """
        record = self._store.get(request_id)
        where = {"request_id": request_id, "pr_number": pr_number, "merged": merged}
        if record is None:
            logger.info("no such request; nothing to record", extra=where)
            return LifecycleResult(LifecycleOutcome.UNKNOWN, detail=f"no request {request_id}")
        if record.pr_number is None and record.status is RequestStatus.ACCEPTED and pr_url:
            record = self._store.transition(
                request_id, RequestStatus.PR_OPENED, pr_url=pr_url, pr_number=pr_number
            ).record
            notify_once(self._store, self._notifier, record)
        if record.pr_number != pr_number:
            logger.warning("event is about another pull request; ignored", extra=where)
            return LifecycleResult(
                LifecycleOutcome.OTHER_PULL_REQUEST,
                record,
                detail=f"request {request_id} belongs to PR #{record.pr_number}, not #{pr_number}",
            )
        if merged:
            return self._record(record, RequestStatus.MERGED, actor=actor)
        return self._record(record, RequestStatus.FAILED, actor=actor, error=CLOSED_WITHOUT_MERGE)

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
        if record.status is RequestStatus.ACCEPTED and record.step is not self._first_step(record):
            # An earlier run moved it on but could not queue it (a CI re-run heals that).
            self._topic.publish(ProvisionMessage.of(record, record.updated_at))
            return LifecycleResult(LifecycleOutcome.NEXT_STEP, record, detail="queued again")
        if record.status not in {RequestStatus.PR_OPENED, RequestStatus.MERGED}:
            return LifecycleResult(LifecycleOutcome.UNCHANGED, record)
        deleting = FILE_CHANGES[record.step] is FileChange.DELETE
        done = on_main is None if deleting else on_main is not None and written_by(on_main, record.request_id)
        if not done:
            return LifecycleResult(
                LifecycleOutcome.NOT_ON_MAIN, record, detail=f"main does not hold its {record.step.value} yet"
            )
        if record.status is RequestStatus.PR_OPENED:
            record = self._store.transition(record.request_id, RequestStatus.MERGED).record
        following = next_step(
            record.action, record.step, deletion_protected=policy_for(record.environment).deletion_protection
        )
        if following is None:
            return self._record(record, RequestStatus.APPLIED)
        transition = self._store.advance_step(record.request_id, done=record.step, to=following)
        if transition.changed:
            self._topic.publish(ProvisionMessage.of(transition.record, transition.record.updated_at))
            notify_once(self._store, self._notifier, transition.record)
        return LifecycleResult(LifecycleOutcome.NEXT_STEP, transition.record, detail=f"now {following.value}")

    def databases_changing(self, environment: str) -> list[str]:
        """Names of the databases of ``environment`` with a change in flight (CI checks them all,
        since a decommission's file is no longer on main to be listed)."""
        return [d.database_name for d in self._store.list_databases(environment) if d.change_request_id]

    @staticmethod
    def _first_step(record: RequestRecord) -> Step:
        deletion_protected = policy_for(record.environment).deletion_protection
        return steps_of(record.action, deletion_protected=deletion_protected)[0]

    def gave_up(self, request_id: str) -> LifecycleResult:
        """The queue gave up on the request's message (its retries ran out): ``failed``, told, freed.

        Only a request still ``accepted`` ends here: one that got further (its PR is open and only
        the notification kept failing) keeps its status.
        """
        record = self._store.get(request_id)
        if record is None:
            return LifecycleResult(LifecycleOutcome.UNKNOWN, detail=f"no request {request_id}")
        if record.status is not RequestStatus.ACCEPTED:
            return LifecycleResult(
                LifecycleOutcome.UNCHANGED, record, detail=f"request {request_id} is {record.status.value}"
            )
        cause = record.last_error or "it did not finish in time"
        reason = f"{GAVE_UP} (the last attempt: {cause}). Nothing was created; please ask again."
        return self._record(record, RequestStatus.FAILED, error=reason)

    def _record(
        self,
        record: RequestRecord,
        status: RequestStatus,
        *,
        actor: str | None = None,
        error: str | None = None,
    ) -> LifecycleResult:
        where = {"request_id": record.request_id, "status": status, "by": actor}
        try:
            transition = self._store.transition(record.request_id, status, error=error)
        except StatusConflict as conflict:
            logger.warning("status change not allowed", extra={**where, "current": conflict.current})
            return LifecycleResult(LifecycleOutcome.CONFLICT, record, detail=str(conflict))
        logger.info("request status recorded", extra={**where, "changed": transition.changed})
        notified = notify_once(self._store, self._notifier, transition.record)
        outcome = LifecycleOutcome.RECORDED if transition.changed else LifecycleOutcome.UNCHANGED
        return LifecycleResult(outcome, transition.record, notified)
