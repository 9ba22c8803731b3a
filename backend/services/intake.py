"""The one entry every frontend (Slack, HTTP API) uses to ask for something: a new database
(``submit``), or a change of one (``submit_resize``, ``submit_decommission``).

Validate -> check who may ask -> record the request with its hold on the database (one
transaction: the name's claim for a create, the change lock for a change) -> publish the message
to SNS. If publishing fails, what was recorded is removed again and the caller gets
QueueUnavailable: a request is either fully accepted (recorded AND queued) or not at all.
Clients are injected; this module reads no settings and builds no client.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from pydantic import BaseModel

from backend.adapters.queue import ProvisionMessage, RequestTopic
from backend.domain import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IDEMPOTENCY_KEY_PATTERN,
    Action,
    DatabaseRecord,
    DecommissionRequest,
    FieldError,
    IdempotencyConflict,
    NotFound,
    ProvisionRequest,
    QueueUnavailable,
    RequestRecord,
    RequestStatus,
    ResizeRequest,
    Sizing,
    Source,
    UnknownEnvironment,
    ValidationFailed,
    check_prod_access,
    environment_policies,
    parse_as,
    parse_request,
    policy_for,
)
from backend.domain.access import check_may_change
from backend.domain.actions import steps_of
from backend.domain.changes import check_changeable, check_confirmation, resized
from backend.domain.expiry import ExpiryPolicy
from backend.domain.idempotency import IdempotencyEntry, IdempotencyKeyInUse, fingerprint
from backend.services.approvals import ApprovalService
from backend.services.ports import Store

logger = Logger(child=True)

_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


@dataclass(frozen=True)
class Submission:
    request_id: str
    # None only for a replay racing the first call, before that call stored its message id.
    sns_message_id: str | None
    record: RequestRecord
    # True when an Idempotency-Key replay returned an earlier request (nothing new was queued).
    replayed: bool = False


@dataclass(frozen=True)
class Caller:
    """Who asks, from where, and (optionally) the key that makes a retried call the same request."""

    requested_by: str
    source: Source
    idempotency_key: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


class IntakeService:
    def __init__(
        self,
        store: Store,
        topic: RequestTopic,
        *,
        approvals: ApprovalService | None = None,
        prod_allowed_slack_users: Collection[str] = (),
        platform_admins: Collection[str] = (),
        expiry: ExpiryPolicy | None = None,
        clock: Callable[[], datetime] = _now,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self._store = store
        self._expiry = expiry or ExpiryPolicy()
        self._topic = topic
        self._approvals = approvals
        self._prod_allowed = tuple(prod_allowed_slack_users)
        self._platform_admins = tuple(platform_admins)
        self._clock = clock
        self._new_id = new_id

    # --- what can be asked for ---------------------------------------------------------------
    def submit(
        self,
        data: Mapping[str, Any] | ProvisionRequest,
        *,
        requested_by: str,
        source: Source,
        idempotency_key: str | None = None,
    ) -> Submission:
        """Accept a request for a new database, or raise why not (nothing is changed on any error).

        Raises ValidationFailed, NotAllowed, AlreadyRequested, IdempotencyConflict, QueueUnavailable.
        """
        request = data if isinstance(data, ProvisionRequest) else parse_request(data)
        caller = self._caller(requested_by, source, idempotency_key)
        check_prod_access(request, requested_by, source, self._prod_allowed)
        sizing = policy_for(request.environment).new_sizing(request.database_engine)
        expires_on = self._expiry.expires_on(request.environment, self._clock().date(), request.ttl_days)

        def build(request_id: str, now: datetime) -> RequestRecord:
            return self._record(
                request, caller, request_id, now, action=Action.CREATE, sizing=sizing, expires_on=expires_on
            )

        return self._accept(caller, {"request": request.model_dump(mode="json")}, build)

    def submit_resize(
        self,
        environment: str,
        database_name: str,
        data: Mapping[str, Any] | ResizeRequest,
        *,
        requested_by: str,
        source: Source,
        idempotency_key: str | None = None,
    ) -> Submission:
        """Accept a new size for an existing database (404 none, 409 not yet created or busy)."""
        wanted = data if isinstance(data, ResizeRequest) else parse_as(ResizeRequest, data)
        caller = self._caller(requested_by, source, idempotency_key)
        database = self._changeable(environment, database_name, caller)
        previous = database.sizing
        sizing = resized(policy_for(database.environment), database.database_engine, previous, wanted)

        def build(request_id: str, now: datetime) -> RequestRecord:
            return self._record(
                database, caller, request_id, now, action=Action.RESIZE, sizing=sizing, previous=previous
            )

        return self._accept(caller, {"resize": wanted.model_dump(), "of": database.request_id}, build)

    def submit_decommission(
        self,
        environment: str,
        database_name: str,
        data: Mapping[str, Any] | DecommissionRequest,
        *,
        requested_by: str,
        source: Source,
        idempotency_key: str | None = None,
    ) -> Submission:
        """Accept the end of an existing database, confirmed by its name typed again."""
        wanted = data if isinstance(data, DecommissionRequest) else parse_as(DecommissionRequest, data)
        caller = self._caller(requested_by, source, idempotency_key)
        database = self._changeable(environment, database_name, caller)
        check_confirmation(database.database_name, wanted)

        def build(request_id: str, now: datetime) -> RequestRecord:
            return self._record(
                database, caller, request_id, now, action=Action.DECOMMISSION, sizing=database.sizing
            )

        return self._accept(caller, {"decommission": database.request_id}, build)

    def submit_change(
        self,
        action: Action,
        environment: str,
        database_name: str,
        data: Mapping[str, Any] | BaseModel,
        *,
        requested_by: str,
        source: Source,
        idempotency_key: str | None = None,
    ) -> Submission:
        """Accept ``action`` (one of ``CHANGES``) of an existing database: its own submit, by action."""
        submit = CHANGES[action]
        return submit(
            self,
            environment,
            database_name,
            data,
            requested_by=requested_by,
            source=source,
            idempotency_key=idempotency_key,
        )

    # --- the one way in ------------------------------------------------------------------------
    def _caller(self, requested_by: str, source: Source, idempotency_key: str | None) -> Caller:
        if idempotency_key is not None and not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise ValidationFailed(
                [
                    FieldError(
                        "Idempotency-Key",
                        f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII "
                        "characters without spaces",
                    )
                ]
            )
        return Caller(requested_by, source, idempotency_key)

    def _changeable(self, environment: str, database_name: str, caller: Caller) -> DatabaseRecord:
        if environment not in environment_policies():
            raise ValidationFailed([FieldError("environment", str(UnknownEnvironment(environment)))])
        database = self._store.get_database(environment, database_name)
        if database is None:
            raise NotFound(f"There is no {environment} database {database_name}")
        check_may_change(database, caller.requested_by, caller.source, self._platform_admins)
        check_changeable(database, self._store.get(database.request_id))
        return database

    def _record(
        self,
        fields: ProvisionRequest | DatabaseRecord,
        caller: Caller,
        request_id: str,
        now: datetime,
        *,
        action: Action,
        sizing: Sizing,
        previous: Sizing | None = None,
        expires_on: date | None = None,
    ) -> RequestRecord:
        deletion_protected = policy_for(fields.environment).deletion_protection
        waits = self._approvals is not None and self._approvals.needed_for(fields.environment)
        record = RequestRecord(
            request_id=request_id,
            status=RequestStatus.AWAITING_APPROVAL if waits else RequestStatus.ACCEPTED,
            action=action,
            step=steps_of(action, deletion_protected=deletion_protected)[0],
            database_name=fields.database_name,
            database_engine=fields.database_engine,
            environment=fields.environment,
            owner=fields.owner,
            purpose=fields.purpose,
            requested_by=caller.requested_by,
            source=caller.source,
            created_at=now,
            updated_at=now,
            idempotency_key=caller.idempotency_key,
            instance_class=sizing.instance_class,
            allocated_storage=sizing.allocated_storage,
            max_capacity=sizing.max_capacity,
            previous_instance_class=previous.instance_class if previous else None,
            previous_allocated_storage=previous.allocated_storage if previous else None,
            previous_max_capacity=previous.max_capacity if previous else None,
            expires_on=expires_on,
        )
        return record.model_copy(update={"branch": record.branch_name, "file_path": record.request.file_path})

    def _accept(
        self,
        caller: Caller,
        asked: Mapping[str, Any],
        build: Callable[[str, datetime], RequestRecord],
    ) -> Submission:
        """Record and queue what ``build`` makes of a new request id, or replay an idempotent call."""
        # What makes two calls "the same request": what was asked and who asked, not JSON formatting.
        print_ = fingerprint({**asked, "requested_by": caller.requested_by, "source": caller.source.value})
        key = caller.idempotency_key
        if key is not None:
            replay = self._replay(key, print_)
            if replay is not None:
                return replay
        record = build(self._new_id(), self._clock())
        entry = None if key is None else IdempotencyEntry(key, record.request_id, print_)
        try:
            self._store.accept(record, idempotency=entry)
        except IdempotencyKeyInUse:
            # A concurrent call with the same key won the race: answer as its replay would.
            replay = self._replay(key or "", print_)
            if replay is None:  # pragma: no cover - the key vanished between the two reads
                raise IdempotencyConflict("this Idempotency-Key is being used; retry") from None
            return replay
        message_id = self._publish(record, key)
        if key is not None and message_id is not None:
            self._store.set_idempotency_message_id(key, record.request_id, message_id)
        logger.info(
            "request accepted",
            extra={
                "request_id": record.request_id,
                "action": record.action.value,
                "database_name": record.database_name,
                "environment": record.environment.value,
                "source": caller.source.value,
                "sns_message_id": message_id,
            },
        )
        return Submission(record.request_id, message_id, record, replayed=False)

    def _replay(self, key: str, print_: str) -> Submission | None:
        entry = self._store.get_idempotency(key)
        if entry is None:
            return None
        if entry.fingerprint != print_:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used for a different request; use a new key"
            )
        record = self._store.get(entry.request_id)
        if record is None:  # pragma: no cover - undo removes the key together with the record
            return None
        logger.info("idempotent replay", extra={"request_id": record.request_id})
        return Submission(record.request_id, entry.sns_message_id, record, replayed=True)

    def _publish(self, record: RequestRecord, idempotency_key: str | None) -> str | None:
        """Queue ``record`` (its SNS message id), or ask an approver first (None: nothing queued yet)."""
        try:
            if record.status is RequestStatus.AWAITING_APPROVAL and self._approvals is not None:
                self._approvals.ask(record)
                return None
            return self._topic.publish(ProvisionMessage.of(record, record.created_at))
        except QueueUnavailable:
            logger.warning("could not publish; undoing the request", extra={"request_id": record.request_id})
            try:
                self._store.undo_accept(record, idempotency_key=idempotency_key)
            except Exception:
                # Left accepted but never queued: logged loudly so an operator can remove it.
                logger.exception(
                    "could not undo an unpublished request", extra={"request_id": record.request_id}
                )
            raise


class ChangeSubmit(Protocol):
    def __call__(
        self,
        intake: IntakeService,
        environment: str,
        database_name: str,
        # Its body: a mapping, or its model (``ResizeRequest`` for a resize, ...).
        data: Any,
        /,
        *,
        requested_by: str,
        source: Source,
        idempotency_key: str | None = None,
    ) -> Submission: ...


# The changes of an existing database people ask for, each its own submit (every entry point takes
# them from here: an API route per action, a Slack modal per action, an rdsctl command per action).
CHANGES: Mapping[Action, ChangeSubmit] = {
    Action.RESIZE: IntakeService.submit_resize,
    Action.DECOMMISSION: IntakeService.submit_decommission,
}
