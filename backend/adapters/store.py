"""The request store: one DynamoDB table holding requests, databases (the claims on their names)
and idempotency keys, all under the single partition key ``pk``.

Each kind of item has its module: ``request_items`` (``REQ#<request_id>``), ``database_items``
(``DB#<environment>#<database_name>``) and ``idempotency_keys`` (``IDEM#<key>``), over the toolkit
in ``dynamodb``. ``RequestStore`` is what the services use (they see it through the Protocols of
``backend.services.ports``); it holds the writes that span kinds, each ONE transaction:

- accepting a request: the claim on the database's name (a create) or its change lock (a change),
  the record [+ the idempotency key], so two concurrent requests for the same database cannot
  both be accepted;
- status changes: conditional updates that enforce ``can_transition``, with what the status does
  to the database (``backend.domain.actions.DATABASE_EFFECTS``) in the same transaction;
  re-recording the current status is a no-op (SQS redelivery);
- extending a database's expiry, shown on its create request too.

This module is also where callers import the store's errors and values from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from backend.adapters.database_items import DATABASES_INDEX, EXPIRY_INDEX, DatabaseItems
from backend.adapters.dynamodb import CONDITION_FAILED, StoreUnavailable, Table, timestamp
from backend.adapters.idempotency_keys import IdempotencyKeys
from backend.adapters.request_items import REQUESTER_INDEX, STATUS_INDEX, RequestItems
from backend.domain import (
    Action,
    AlreadyRequested,
    DatabaseRecord,
    NotFound,
    ProvisionerError,
    RequestRecord,
    RequestStatus,
    Step,
    can_transition,
)
from backend.domain.actions import database_effects, touches_database
from backend.domain.conversation import Conversation
from backend.domain.idempotency import IDEMPOTENCY_TTL, IdempotencyEntry, IdempotencyKeyInUse, fingerprint
from backend.domain.statuses import predecessors
from backend.domain.transitions import StatusConflict, Transition, decision

__all__ = [
    "DATABASES_INDEX",
    "EXPIRY_INDEX",
    "IDEMPOTENCY_TTL",
    "REQUESTER_INDEX",
    "STATUS_INDEX",
    "IdempotencyEntry",
    "IdempotencyKeyInUse",
    "RequestStore",
    "StatusConflict",
    "StoreUnavailable",
    "Transition",
    "fingerprint",
]

logger = Logger(child=True)


def _now() -> datetime:
    return datetime.now(UTC)


class RequestStore:
    def __init__(self, table: Any, *, retention_days: int, clock: Callable[[], datetime] = _now) -> None:
        self._table = Table(table)
        self._clock = clock
        self._requests = RequestItems(self._table, retention=timedelta(days=retention_days), clock=clock)
        self._databases = DatabaseItems(self._table)
        self._idempotency = IdempotencyKeys(self._table, clock=clock)

    # --- accepting ---------------------------------------------------------------------------
    def accept(self, record: RequestRecord, *, idempotency: IdempotencyEntry | None = None) -> None:
        """Record the request with its hold on the database (and the idempotency key), atomically.

        A create puts its database's record, the claim on the name; a change of an existing
        database takes its change lock (one change at a time).
        Raises AlreadyRequested (with the holder's request id), NotFound or IdempotencyKeyInUse.
        """
        if record.action is Action.CREATE:
            hold = self._databases.claim(DatabaseRecord.created_by(record))
        else:
            hold = self._databases.lock(record)
        items = [hold, self._requests.put(record)]
        if idempotency is not None:
            items.append(self._idempotency.reserve(idempotency))
        reasons = self._table.transact(items)
        if reasons is None:
            return
        if idempotency is not None and reasons[2] == CONDITION_FAILED:
            raise IdempotencyKeyInUse(idempotency.key)
        if reasons[0] == CONDITION_FAILED:
            raise self._why_taken(record)
        raise StoreUnavailable(f"could not record the request ({', '.join(reasons)})")

    def _why_taken(self, record: RequestRecord) -> ProvisionerError:
        where = f"{record.environment.value} database {record.database_name}"
        held = self.get_database(record.environment.value, record.database_name)
        if record.action is Action.CREATE:
            return AlreadyRequested(
                f"A {where} is already requested or exists",
                existing_request_id=held.request_id if held else None,
            )
        if held is None:
            return NotFound(f"There is no {where}")
        return AlreadyRequested(
            f"Another change of the {where} is in flight; wait until it is done",
            existing_request_id=held.change_request_id or held.request_id,
        )

    def undo_accept(self, record: RequestRecord, *, idempotency_key: str | None = None) -> None:
        """Remove what ``accept`` wrote (the message could not be queued): nothing half-recorded."""
        if record.action is Action.CREATE:
            release = self._databases.release_claim(record)
        else:
            release = self._databases.unlock(record)
        items = [release, self._requests.delete(record.request_id)]
        if idempotency_key is not None:
            items.append(self._idempotency.release(idempotency_key, record.request_id))
        reasons = self._table.transact(items)
        if reasons is not None:
            raise StoreUnavailable(f"could not undo request {record.request_id} ({', '.join(reasons)})")

    def get_idempotency(self, key: str) -> IdempotencyEntry | None:
        return self._idempotency.get(key)

    def set_idempotency_message_id(self, key: str, request_id: str, sns_message_id: str) -> None:
        """Remember the SNS message id so a replay answers exactly what the first call answered."""
        self._idempotency.set_message_id(key, request_id, sns_message_id)

    # --- reading -----------------------------------------------------------------------------
    def get(self, request_id: str) -> RequestRecord | None:
        return self._requests.get(request_id)

    def get_many(self, request_ids: Iterable[str]) -> dict[str, RequestRecord]:
        """The requests with these ids that exist, by id (batched reads)."""
        return self._requests.get_many(request_ids)

    def list_by_requester(self, requested_by: str, limit: int = 10) -> list[RequestRecord]:
        """This person's requests, newest first."""
        return self._requests.list_by_requester(requested_by, limit)

    def list_recent(self, limit: int = 50) -> list[RequestRecord]:
        """The newest requests of anyone."""
        return self._requests.list_recent(limit)

    def list_by_status(self, status: RequestStatus, *, created_before: datetime) -> list[RequestRecord]:
        """The requests now at ``status`` asked for before ``created_before``, oldest first."""
        return self._requests.list_by_status(status, created_before=created_before)

    def get_database(self, environment: str, database_name: str) -> DatabaseRecord | None:
        return self._databases.get(environment, database_name)

    def list_databases(self, environment: str) -> list[DatabaseRecord]:
        """The databases of ``environment`` (requested, being created, or existing), by name."""
        return self._databases.in_environment(environment)

    # --- changing a request ------------------------------------------------------------------
    def transition(
        self,
        request_id: str,
        status: RequestStatus,
        *,
        seen: RequestRecord | None = None,
        pr_url: str | None = None,
        pr_number: int | None = None,
        branch: str | None = None,
        file_path: str | None = None,
        error: str | None = None,
        decided_by: str | None = None,
    ) -> Transition:
        """Move a request to ``status``, with the given details, and apply what that does to its
        database (``DATABASE_EFFECTS``) in the same transaction.

        ``seen`` is the request as the caller read it: the write holds only while the request is
        still at that status, step and pull request, so an actor acting on a stale view changes
        nothing (StatusConflict, with the request as it is now). Without it, any status the
        status table allows before ``status`` will do. Re-recording the current status at the same
        step changes nothing and returns ``changed=False``. Raises NotFound for an unknown request.
        """
        if seen is not None and not can_transition(seen.status, status):
            raise StatusConflict(seen, status)
        before = sorted(s.value for s in predecessors(status))
        if not before or (seen is not None and seen.status == status):
            return self._unchanged_or_conflict(request_id, status, seen)
        details = {
            "pr_url": pr_url,
            "pr_number": pr_number,
            "branch": branch,
            "file_path": file_path,
            "error": error,
        }
        if decided_by is not None:
            who = decision(status)
            details |= {f"{who}_by": decided_by, f"{who}_at": timestamp(self._clock())}
        update = self._requests.status_update(
            request_id,
            status,
            {name: value for name, value in details.items() if value is not None},
            condition_statuses=[seen.status.value] if seen is not None else before,
            seen=seen,
        )
        current = seen
        if current is None and touches_database(status):
            current = self.get(request_id)
        effects = database_effects(current.action, status) if current is not None else ()
        if not effects:
            # One item needs no transaction: a conditional UpdateItem returns the new record too,
            # one DynamoDB call per status change instead of a transaction plus a read.
            return self._update_status(request_id, status, update, seen)
        assert current is not None
        return self._transact_status(
            request_id, status, update, [self._databases.effect(current, effects)], seen
        )

    def advance_step(self, seen: RequestRecord, *, to: Step) -> Transition:
        """``seen``'s pull request is applied: it is ``accepted`` again, at step ``to`` (a prod
        decommission's second pull request), and its database's deletion protection is what that
        step left. Only one caller wins; the rest see no change.
        """
        update = self._requests.status_update(
            seen.request_id,
            RequestStatus.ACCEPTED,
            {"step": to.value},
            condition_statuses=[RequestStatus.MERGED.value],
            remove=("pr_url", "pr_number", "branch", "file_path", "error", "last_error"),
            seen=seen,
            match_status=False,
        )
        database = self._databases.record_protection(seen)
        try:
            return self._transact_status(seen.request_id, RequestStatus.ACCEPTED, update, [database], seen)
        except StatusConflict as stale:
            return Transition(stale.record, changed=False)

    def fail_and_undo(self, seen: RequestRecord, error: str, undo: RequestRecord) -> Transition:
        """End ``seen`` ``failed`` and hand its database's change lock to ``undo`` (recorded here,
        ``accepted``), which puts back what ``seen``'s applied steps changed: one transaction."""
        update = self._requests.status_update(
            seen.request_id,
            RequestStatus.FAILED,
            {"error": error},
            condition_statuses=[seen.status.value],
            seen=seen,
        )
        hand_over = self._databases.hand_over(seen, to=undo)
        reasons = self._table.transact([{"Update": update}, hand_over, self._requests.put(undo)])
        if reasons is None:
            return Transition(seen.model_copy(update={"status": RequestStatus.FAILED, "error": error}), True)
        if reasons[0] == CONDITION_FAILED:
            return self._unchanged_or_conflict(seen.request_id, RequestStatus.FAILED, seen)
        raise StoreUnavailable(f"could not end request {seen.request_id} ({', '.join(reasons)})")

    def note_failed_attempt(self, request_id: str, reason: str) -> None:
        """Remember why an attempt of a request still ``accepted`` failed (it will be retried)."""
        self._requests.note_failed_attempt(request_id, reason)

    def set_approval_message(self, request_id: str, message: Conversation) -> None:
        """Where the approval request was posted, so the decision updates it in place."""
        self._requests.set_approval_message(request_id, message)

    def undo_approval(self, request_id: str, approved_by: str) -> bool:
        """Put an approved request back to ``awaiting_approval`` (its message could not be queued)."""
        return self._requests.undo_approval(request_id, approved_by)

    def set_conversation(self, request_id: str, conversation: Conversation) -> None:
        """The conversation begun with the requester, so later messages follow it."""
        self._requests.set_conversation(request_id, conversation)

    def claim_notification(self, request_id: str, status: RequestStatus) -> bool:
        """True for exactly one caller per (request, status): that caller sends the notification."""
        return self._requests.claim_notification(request_id, status)

    def release_notification(self, request_id: str, status: RequestStatus) -> None:
        """Undo ``claim_notification`` after the notifier failed, so a redelivery tries again."""
        self._requests.release_notification(request_id, status)

    # --- expiry (the sweeper, extensions) ---------------------------------------------------------
    def list_expiring(self, environment: str, *, on_or_before: date) -> list[DatabaseRecord]:
        """The databases of ``environment`` that expire on or before ``on_or_before``, soonest first."""
        return self._databases.list_expiring(environment, on_or_before=on_or_before)

    def claim_reminder(self, database: DatabaseRecord) -> bool:
        """True for exactly one caller per (database, expiry): that caller sends the reminder."""
        return self._databases.claim_reminder(database)

    def release_reminder(self, database: DatabaseRecord) -> None:
        """Undo ``claim_reminder`` after the reminder could not be sent, so the next sweep tries again."""
        self._databases.release_reminder(database)

    def record_expiry_request(self, database: DatabaseRecord, request_id: str) -> bool:
        """Remember the decommission its expiry asked for, so no sweep asks twice for that expiry."""
        return self._databases.record_expiry_request(database, request_id)

    def extend_expiry(self, database: DatabaseRecord, expires_on: date) -> DatabaseRecord:
        """Move ``database``'s expiry (still the one it was read with) to ``expires_on``, forgetting
        the reminder and the decommission request of the old one; its create request shows it too.

        Raises AlreadyRequested when the expiry changed since it was read (a concurrent extension).
        """
        items = [self._databases.extend(database, expires_on)]
        if self.get(database.request_id) is not None:
            items.append(self._requests.set_expires_on(database.request_id, expires_on))
        reasons = self._table.transact(items)
        if reasons is not None and CONDITION_FAILED in reasons:
            raise AlreadyRequested(
                f"the expiry of {database.environment.value} database {database.database_name} changed "
                "meanwhile; look again",
                existing_request_id=database.request_id,
            )
        if reasons is not None:
            raise StoreUnavailable(f"could not extend {database.database_name} ({', '.join(reasons)})")
        return database.model_copy(
            update={"expires_on": expires_on, "reminded_for": None, "expiry_request_id": None}
        )

    # --- internals ---------------------------------------------------------------------------
    def _transact_status(
        self,
        request_id: str,
        status: RequestStatus,
        update: dict[str, Any],
        others: list[dict[str, Any]],
        seen: RequestRecord | None,
    ) -> Transition:
        """The status ``update`` and the writes to other items it takes, as one transaction."""
        reasons = self._table.transact([{"Update": update}, *others])
        if reasons is not None and reasons[0] != CONDITION_FAILED and CONDITION_FAILED in reasons:
            # The database no longer matches (changed by hand, or an earlier run got there): the
            # request's own status is what must not be lost.
            logger.warning(
                "database record did not match; recording the status alone",
                extra={"request_id": request_id, "status": status.value},
            )
            return self._update_status(request_id, status, update, seen)
        if reasons is None:
            record = self.get(request_id)
            if record is None:  # pragma: no cover - we just wrote it
                raise NotFound(f"no request {request_id}")
            return Transition(record, changed=True)
        if reasons[0] == CONDITION_FAILED:
            return self._unchanged_or_conflict(request_id, status, seen)
        raise StoreUnavailable(f"could not update request {request_id} ({', '.join(reasons)})")

    def _update_status(
        self, request_id: str, status: RequestStatus, update: dict[str, Any], seen: RequestRecord | None
    ) -> Transition:
        record = self._requests.update_status(update)
        if record is None:
            return self._unchanged_or_conflict(request_id, status, seen)
        return Transition(record, changed=True)

    def _unchanged_or_conflict(
        self, request_id: str, status: RequestStatus, seen: RequestRecord | None = None
    ) -> Transition:
        current = self.get(request_id)
        if current is None:
            raise NotFound(f"no request {request_id}")
        if current.status == status and (seen is None or current.step == seen.step):
            return Transition(current, changed=False)
        raise StatusConflict(current, status)
