"""The request store: one DynamoDB table holding requests, name claims and idempotency keys.

Item kinds, all under the single partition key ``pk``:

- ``REQ#<request_id>``: the request record (``RequestRecord`` fields). Only these carry
  ``requested_by``/``created_at``, so the ``by_requester`` GSI is sparse: it holds requests only.
- ``DB#<environment>#<database_name>``: the database (``DatabaseRecord``, its attributes named
  ``db_*`` so it stays out of the requests' index), which is also the claim on its name. It
  exists from the create's acceptance until the database is decommissioned; a create that ends
  ``failed`` or ``rejected`` removes it in the same transaction that records the status, so the
  person can fix the cause and ask again. ``db_change_request_id`` holds the one change (resize,
  decommission) in flight. What each request's status does to it is one table,
  ``backend.domain.actions.DATABASE_EFFECTS``. The sparse ``databases`` index (partition
  ``db_environment``) lists them per environment; the sparse ``expiring`` index (``db_environment``,
  ``db_expires_on``) holds the dev ones by expiry date for the sweeper.
- ``IDEM#<key>``: an Idempotency-Key -> ``request_id`` + a hash of what was asked; expires after
  ``IDEMPOTENCY_TTL`` like the keys of most HTTP APIs.

Accepting a request is ONE transaction (claim + record [+ idempotency key]), so two concurrent
requests for the same database cannot both be accepted. Status changes are conditional updates
that enforce ``can_transition``; re-recording the current status is a no-op (SQS redelivery).
A request gets the TTL attribute ``expires_at`` only once it is final.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from backend.domain import (
    Action,
    AlreadyRequested,
    DatabaseEffect,
    DatabaseRecord,
    NotFound,
    ProvisionerError,
    RequestRecord,
    RequestStatus,
    RetryableError,
    Step,
    policy_for,
)
from backend.domain.actions import database_effects
from backend.domain.conversation import Conversation
from backend.domain.statuses import ALLOWED_TRANSITIONS, can_transition

logger = Logger(child=True)
T = TypeVar("T")

REQUESTER_INDEX = "by_requester"
DATABASES_INDEX = "databases"
# Requests by status and age (the sweeper finds the ones waiting too long); every request has both.
STATUS_INDEX = "by_status"
# Dev databases by expiry date: sparse (only databases that expire carry ``db_expires_on``), so a
# sweep reads the ones due soon with one query, however many databases there are.
EXPIRY_INDEX = "expiring"
_DB = "db_"
IDEMPOTENCY_TTL = timedelta(hours=24)
# DynamoDB answers that mean "try again shortly", not "this request is wrong".
_TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
# Concurrent transactions on the same item: DynamoDB cancels one with TransactionConflict. A
# retry then sees the winner's write and fails (or passes) its condition for real.
_TRANSACTION_ATTEMPTS = 3
_BATCH_GET_LIMIT = 100


class StoreUnavailable(RetryableError):
    """DynamoDB could not be reached or throttled us; the same call may succeed later."""


class StatusConflict(ProvisionerError):
    """The request is not what the caller saw, or in a status the wanted one may not follow: the
    caller's view is stale, nothing was written. ``record`` is the request as it is now."""

    def __init__(self, record: RequestRecord, wanted: RequestStatus) -> None:
        where = f"{record.status.value}" + (
            f" at {record.step.value}" if record.step is not Step.CREATE else ""
        )
        super().__init__(f"request {record.request_id} is {where}; it cannot become {wanted.value}")
        self.record = record
        self.current = record.status
        self.wanted = wanted


class IdempotencyKeyInUse(ProvisionerError):
    """Another request already holds this Idempotency-Key (the caller decides: replay or conflict)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} is already in use")
        self.key = key


@dataclass(frozen=True)
class IdempotencyEntry:
    key: str
    request_id: str
    fingerprint: str
    sns_message_id: str | None = None


@dataclass(frozen=True)
class Transition:
    record: RequestRecord
    # False when the request already had that status (a redelivery): nothing was written.
    changed: bool


def fingerprint(payload: Mapping[str, Any]) -> str:
    """A stable hash of ``payload``: same content -> same hash, whatever the key order."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _request_key(request_id: str) -> str:
    return f"REQ#{request_id}"


def _claim_key(environment: str, database_name: str) -> str:
    return f"DB#{environment}#{database_name}"


def _idempotency_key(key: str) -> str:
    return f"IDEM#{key}"


def _now() -> datetime:
    return datetime.now(UTC)


def _timestamp(moment: datetime) -> str:
    # Fixed width (always microseconds, always UTC) so string order is time order in the GSI.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _dynamodb(value: Any) -> Any:
    """``value`` as DynamoDB takes it: numbers that are not whole (ACU) as Decimal, never float."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _dynamodb(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dynamodb(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _to_database(item: Mapping[str, Any]) -> DatabaseRecord:
    return DatabaseRecord.model_validate(
        {name.removeprefix(_DB): _plain(value) for name, value in item.items() if name.startswith(_DB)}
    )


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class RequestStore:
    def __init__(self, table: Any, *, retention_days: int, clock: Callable[[], datetime] = _now) -> None:
        self._table = table
        # The resource's client takes and returns plain Python values (boto3 injects the
        # DynamoDB type (de)serialisation), so transactions read like the table calls.
        self._client = table.meta.client
        self._name: str = table.name
        self._retention = timedelta(days=retention_days)
        self._clock = clock

    # --- accepting ---------------------------------------------------------------------------
    def accept(self, record: RequestRecord, *, idempotency: IdempotencyEntry | None = None) -> None:
        """Record the request with its hold on the database (and the idempotency key), atomically.

        A create puts its database's record, the claim on the name; a change of an existing
        database takes its change lock (one change at a time).
        Raises AlreadyRequested (with the holder's request id), NotFound or IdempotencyKeyInUse.
        """
        database_pk = _claim_key(record.environment.value, record.database_name)
        if record.action is Action.CREATE:
            database = DatabaseRecord.created_by(
                record, policy_for(record.environment).new_sizing(record.database_engine)
            )
            hold = self._put(self._database_item(database), condition="attribute_not_exists(pk)")
        else:
            hold = self._update(
                database_pk,
                "SET #lock = :id",
                condition="attribute_exists(pk) AND attribute_not_exists(#lock)",
                names={"#lock": f"{_DB}change_request_id"},
                values={":id": record.request_id},
            )
        items: list[dict[str, Any]] = [
            hold,
            self._put(self._record_item(record), condition="attribute_not_exists(pk)"),
        ]
        if idempotency is not None:
            expires = int((self._clock() + IDEMPOTENCY_TTL).timestamp())
            items.append(
                self._put(
                    {
                        "pk": _idempotency_key(idempotency.key),
                        "request_id": idempotency.request_id,
                        "fingerprint": idempotency.fingerprint,
                        "expires_at": expires,
                    },
                    # An expired key that TTL has not swept yet is free again.
                    condition="attribute_not_exists(pk) OR expires_at < :now",
                    values={":now": int(self._clock().timestamp())},
                )
            )
        reasons = self._transact(items)
        if reasons is None:
            return
        if idempotency is not None and reasons[2] == "ConditionalCheckFailed":
            raise IdempotencyKeyInUse(idempotency.key)
        if reasons[0] == "ConditionalCheckFailed":
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
        mine = {":id": record.request_id}
        database_pk = _claim_key(record.environment.value, record.database_name)
        if record.action is Action.CREATE:
            release = self._delete(
                database_pk, condition=f"attribute_not_exists(pk) OR {_DB}request_id = :id", values=mine
            )
        else:
            release = self._update(
                database_pk,
                "REMOVE #lock",
                condition="attribute_exists(pk) AND #lock = :id",
                names={"#lock": f"{_DB}change_request_id"},
                values=mine,
            )
        items = [release, self._delete(_request_key(record.request_id))]
        if idempotency_key is not None:
            items.append(
                self._delete(
                    _idempotency_key(idempotency_key),
                    condition="attribute_not_exists(pk) OR request_id = :id",
                    values=mine,
                )
            )
        reasons = self._transact(items)
        if reasons is not None:
            raise StoreUnavailable(f"could not undo request {record.request_id} ({', '.join(reasons)})")

    def get_idempotency(self, key: str) -> IdempotencyEntry | None:
        item = self._get_item(_idempotency_key(key))
        if item is None or int(_plain(item.get("expires_at", 0))) < int(self._clock().timestamp()):
            return None
        return IdempotencyEntry(
            key=key,
            request_id=str(item["request_id"]),
            fingerprint=str(item["fingerprint"]),
            sns_message_id=item.get("sns_message_id"),
        )

    def set_idempotency_message_id(self, key: str, request_id: str, sns_message_id: str) -> None:
        """Remember the SNS message id so a replay answers exactly what the first call answered."""
        self._conditional(
            self._table.update_item,
            Key={"pk": _idempotency_key(key)},
            UpdateExpression="SET sns_message_id = :m",
            ConditionExpression="request_id = :id",
            ExpressionAttributeValues={":m": sns_message_id, ":id": request_id},
        )

    # --- reading -----------------------------------------------------------------------------
    def get(self, request_id: str) -> RequestRecord | None:
        item = self._get_item(_request_key(request_id))
        return None if item is None else self._to_record(item)

    def get_database(self, environment: str, database_name: str) -> DatabaseRecord | None:
        item = self._get_item(_claim_key(environment, database_name))
        return None if item is None else _to_database(item)

    def list_databases(self, environment: str) -> list[DatabaseRecord]:
        """The databases of ``environment`` (requested, being created, or existing), by name."""
        kwargs: dict[str, Any] = {
            "IndexName": DATABASES_INDEX,
            "KeyConditionExpression": "#env = :env",
            "ExpressionAttributeNames": {"#env": f"{_DB}environment"},
            "ExpressionAttributeValues": {":env": environment},
        }
        return self._query_all(kwargs, _to_database)

    def get_many(self, request_ids: Iterable[str]) -> dict[str, RequestRecord]:
        """The requests with these ids that exist, by id (batched reads)."""
        wanted = sorted(set(request_ids))
        found: dict[str, RequestRecord] = {}
        for start in range(0, len(wanted), _BATCH_GET_LIMIT):
            keys = [
                {"pk": _request_key(request_id)} for request_id in wanted[start : start + _BATCH_GET_LIMIT]
            ]
            request: dict[str, Any] = {self._name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self._call(self._client.batch_get_item, RequestItems=request)
                for item in response.get("Responses", {}).get(self._name, []):
                    record = self._to_record(item)
                    found[record.request_id] = record
                request = response.get("UnprocessedKeys") or {}
        return found

    def list_by_requester(self, requested_by: str, limit: int = 10) -> list[RequestRecord]:
        """This person's requests, newest first."""
        response = self._call(
            self._table.query,
            IndexName=REQUESTER_INDEX,
            KeyConditionExpression="requested_by = :who",
            ExpressionAttributeValues={":who": requested_by},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [self._to_record(item) for item in response.get("Items", [])]

    def list_recent(self, limit: int = 50) -> list[RequestRecord]:
        """The newest requests of anyone.

        A filtered scan: the table holds a few thousand requests at most (TTL removes finished
        ones), which DynamoDB scans in a page or two. A per-day GSI would replace it at scale.
        """
        records = [self._to_record(item) for item in self._scan_requests()]
        records.sort(key=lambda r: r.created_at, reverse=True)
        return records[:limit]

    # --- changing ----------------------------------------------------------------------------
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
        predecessors = sorted(s.value for s, nexts in ALLOWED_TRANSITIONS.items() if status in nexts)
        if not predecessors or (seen is not None and seen.status == status):
            return self._unchanged_or_conflict(request_id, status, seen)
        details = {
            "pr_url": pr_url,
            "pr_number": pr_number,
            "branch": branch,
            "file_path": file_path,
            "error": error,
        }
        if decided_by is not None:
            # An approver's decision: ``accepted`` approves, ``rejected`` denies.
            who = "approved" if status is RequestStatus.ACCEPTED else "denied"
            details |= {f"{who}_by": decided_by, f"{who}_at": _timestamp(self._clock())}
        update = self._status_update(
            request_id,
            status,
            {name: value for name, value in details.items() if value is not None},
            condition_statuses=[seen.status.value] if seen is not None else predecessors,
            seen=seen,
        )
        current = seen
        if current is None and (status.is_final or status is RequestStatus.APPLIED):
            current = self.get(request_id)
        effects = database_effects(current.action, status) if current is not None else ()
        if not effects:
            # One item needs no transaction: a conditional UpdateItem returns the new record too,
            # one DynamoDB call per status change instead of a transaction plus a read.
            return self._update_status(request_id, status, update, seen)
        assert current is not None
        return self._transact_status(
            request_id, status, update, [self._database_effect(current, effects)], seen
        )

    def _transact_status(
        self,
        request_id: str,
        status: RequestStatus,
        update: dict[str, Any],
        others: list[dict[str, Any]],
        seen: RequestRecord | None,
    ) -> Transition:
        """The status ``update`` and the writes to other items it takes, as one transaction."""
        reasons = self._transact([{"Update": update}, *others])
        if (
            reasons is not None
            and reasons[0] != "ConditionalCheckFailed"
            and "ConditionalCheckFailed" in reasons
        ):
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
        if reasons[0] == "ConditionalCheckFailed":
            return self._unchanged_or_conflict(request_id, status, seen)
        raise StoreUnavailable(f"could not update request {request_id} ({', '.join(reasons)})")

    def advance_step(self, seen: RequestRecord, *, to: Step) -> Transition:
        """``seen``'s pull request is applied: it is ``accepted`` again, at step ``to`` (a prod
        decommission's second pull request), and its database's deletion protection is what that
        step left. Only one caller wins; the rest see no change.
        """
        update = self._status_update(
            seen.request_id,
            RequestStatus.ACCEPTED,
            {"step": to.value},
            condition_statuses=[RequestStatus.MERGED.value],
            remove=("pr_url", "pr_number", "branch", "file_path", "error", "last_error"),
            seen=seen,
            match_status=False,
        )
        database = self._update(
            _claim_key(seen.environment.value, seen.database_name),
            "SET #protection = :protection",
            condition="attribute_exists(pk) AND #lock = :id",
            names={"#protection": f"{_DB}deletion_protection", "#lock": f"{_DB}change_request_id"},
            values={":protection": seen.protection_once_applied, ":id": seen.request_id},
        )
        try:
            return self._transact_status(seen.request_id, RequestStatus.ACCEPTED, update, [database], seen)
        except StatusConflict as stale:
            return Transition(stale.record, changed=False)

    def fail_and_undo(self, seen: RequestRecord, error: str, undo: RequestRecord) -> Transition:
        """End ``seen`` ``failed`` and hand its database's change lock to ``undo`` (recorded here,
        ``accepted``), which puts back what ``seen``'s applied steps changed: one transaction."""
        update = self._status_update(
            seen.request_id,
            RequestStatus.FAILED,
            {"error": error},
            condition_statuses=[seen.status.value],
            seen=seen,
        )
        hand_over = self._update(
            _claim_key(seen.environment.value, seen.database_name),
            "SET #lock = :undo, #last = :undo",
            condition="attribute_exists(pk) AND #lock = :id",
            names={"#lock": f"{_DB}change_request_id", "#last": f"{_DB}last_request_id"},
            values={":undo": undo.request_id, ":id": seen.request_id},
        )
        record = self._put(self._record_item(undo), condition="attribute_not_exists(pk)")
        reasons = self._transact([{"Update": update}, hand_over, record])
        if reasons is None:
            return Transition(seen.model_copy(update={"status": RequestStatus.FAILED, "error": error}), True)
        if reasons[0] == "ConditionalCheckFailed":
            return self._unchanged_or_conflict(seen.request_id, RequestStatus.FAILED, seen)
        raise StoreUnavailable(f"could not end request {seen.request_id} ({', '.join(reasons)})")

    def _status_update(
        self,
        request_id: str,
        status: RequestStatus,
        fields: Mapping[str, Any],
        *,
        condition_statuses: list[str],
        remove: tuple[str, ...] = (),
        seen: RequestRecord | None = None,
        match_status: bool = True,
    ) -> dict[str, Any]:
        """The conditional update of a request to ``status``: from one of ``condition_statuses``
        and, with ``seen``, only while it is at ``seen``'s step and pull request (and status, unless
        ``match_status`` is off)."""
        now = self._clock()
        to_set: dict[str, Any] = {"status": status.value, "updated_at": _timestamp(now), **fields}
        if status.is_final:
            to_set["expires_at"] = int((now + self._retention).timestamp())
        to_remove = list(remove)
        names = {f"#f{i}": name for i, name in enumerate([*to_set, *to_remove])}
        values: dict[str, Any] = {f":v{i}": value for i, value in enumerate(to_set.values())}
        values.update({f":p{i}": value for i, value in enumerate(condition_statuses)})
        expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(to_set)))
        if to_remove:
            expression += " REMOVE " + ", ".join(f"#f{len(to_set) + i}" for i in range(len(to_remove)))
        condition = (
            "attribute_exists(pk) AND #status IN ("
            + ", ".join(f":p{i}" for i in range(len(condition_statuses)))
            + ")"
        )
        names["#status"] = "status"
        if seen is not None:
            if match_status:
                condition += " AND #status = :seen_status"
                values[":seen_status"] = seen.status.value
            # Records older than the step field are at their create.
            condition += " AND (#step = :seen_step" + (
                " OR attribute_not_exists(#step))" if seen.step is Step.CREATE else ")"
            )
            names["#step"] = "step"
            values[":seen_step"] = seen.step.value
            names["#pr"] = "pr_number"
            if seen.pr_number is None:
                condition += " AND attribute_not_exists(#pr)"
            else:
                condition += " AND #pr = :seen_pr"
                values[":seen_pr"] = seen.pr_number
        return {
            "TableName": self._name,
            "Key": {"pk": _request_key(request_id)},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def _database_effect(self, record: RequestRecord, effects: tuple[DatabaseEffect, ...]) -> dict[str, Any]:
        """The one write to the database record that ``effects`` of ``record``'s status take."""
        pk = _claim_key(record.environment.value, record.database_name)
        holder = f"{_DB}request_id" if record.action is Action.CREATE else f"{_DB}change_request_id"
        mine = {":id": record.request_id}
        if DatabaseEffect.FREE_NAME in effects:
            return self._delete(pk, condition=f"attribute_not_exists(pk) OR {holder} = :id", values=mine)
        assignments = ["#last = :id"]
        values: dict[str, Any] = dict(mine)
        names = {"#last": f"{_DB}last_request_id", "#lock": f"{_DB}change_request_id"}
        if DatabaseEffect.RECORD_PROTECTION in effects:
            assignments.append("#protection = :protection")
            names["#protection"] = f"{_DB}deletion_protection"
            values[":protection"] = record.protection_once_applied
        if DatabaseEffect.RECORD_SIZING in effects and record.sizing is not None:
            # The fields of the database's kind (storage or capacity); the others stay absent.
            for number, (field, value) in enumerate(asdict(record.sizing).items()):
                if value is not None:
                    assignments.append(f"#size{number} = :size{number}")
                    names[f"#size{number}"] = f"{_DB}{field}"
                    values[f":size{number}"] = value
        return self._update(
            pk,
            "SET " + ", ".join(assignments) + " REMOVE #lock",
            condition="attribute_exists(pk) AND #lock = :id",
            names=names,
            values=values,
        )

    def _update_status(
        self, request_id: str, status: RequestStatus, update: dict[str, Any], seen: RequestRecord | None
    ) -> Transition:
        try:
            response = self._call(self._client.update_item, **update, ReturnValues="ALL_NEW")
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                return self._unchanged_or_conflict(request_id, status, seen)
            raise
        return Transition(self._to_record(response["Attributes"]), changed=True)

    def note_failed_attempt(self, request_id: str, reason: str) -> None:
        """Remember why an attempt of a request still ``accepted`` failed (it will be retried)."""
        self._conditional(
            self._table.update_item,
            Key={"pk": _request_key(request_id)},
            UpdateExpression="SET last_error = :e",
            ConditionExpression="#status = :accepted",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":e": reason[:500], ":accepted": RequestStatus.ACCEPTED.value},
        )

    def set_approval_message(self, request_id: str, message: Conversation) -> None:
        """Where the approval request was posted, so the decision updates it in place."""
        self._conditional(
            self._table.update_item,
            Key={"pk": _request_key(request_id)},
            # Older records kept it in attributes of their own (read by ``RequestRecord``).
            UpdateExpression="SET approval_message = :m REMOVE approval_channel, approval_ts",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":m": message.model_dump(mode="json", exclude_none=True)},
        )

    def undo_approval(self, request_id: str, approved_by: str) -> bool:
        """Put an approved request back to ``awaiting_approval`` (its message could not be queued)."""
        return self._conditional(
            self._table.update_item,
            Key={"pk": _request_key(request_id)},
            UpdateExpression="SET #status = :waiting REMOVE approved_by, approved_at",
            ConditionExpression="#status = :accepted AND approved_by = :by",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":waiting": RequestStatus.AWAITING_APPROVAL.value,
                ":accepted": RequestStatus.ACCEPTED.value,
                ":by": approved_by,
            },
        )

    def list_by_status(self, status: RequestStatus, *, created_before: datetime) -> list[RequestRecord]:
        """The requests now at ``status`` asked for before ``created_before``, oldest first."""
        kwargs: dict[str, Any] = {
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#status = :status AND created_at < :before",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":status": status.value, ":before": _timestamp(created_before)},
        }
        return self._query_all(kwargs, self._to_record)

    # --- expiry (the sweeper, extensions) ---------------------------------------------------------
    def list_expiring(self, environment: str, *, on_or_before: date) -> list[DatabaseRecord]:
        """The databases of ``environment`` that expire on or before ``on_or_before``, soonest first."""
        kwargs: dict[str, Any] = {
            "IndexName": EXPIRY_INDEX,
            "KeyConditionExpression": "#env = :env AND #expires <= :day",
            "ExpressionAttributeNames": {"#env": f"{_DB}environment", "#expires": f"{_DB}expires_on"},
            "ExpressionAttributeValues": {":env": environment, ":day": on_or_before.isoformat()},
        }
        return self._query_all(kwargs, _to_database)

    def claim_reminder(self, database: DatabaseRecord) -> bool:
        """True for exactly one caller per (database, expiry): that caller sends the reminder."""
        return self._conditional(
            self._table.update_item,
            **self._expiry_write(
                database, "SET #reminded = :day", "attribute_not_exists(#reminded) OR #reminded <> :day"
            ),
        )

    def release_reminder(self, database: DatabaseRecord) -> None:
        """Undo ``claim_reminder`` after the reminder could not be sent, so the next sweep tries again."""
        self._conditional(
            self._table.update_item, **self._expiry_write(database, "REMOVE #reminded", "#reminded = :day")
        )

    def record_expiry_request(self, database: DatabaseRecord, request_id: str) -> bool:
        """Remember the decommission its expiry asked for, so no sweep asks twice for that expiry."""
        write = self._expiry_write(database, "SET #asked = :id", "attribute_not_exists(#asked)")
        write["ExpressionAttributeValues"][":id"] = request_id
        return self._conditional(self._table.update_item, **write)

    def extend_expiry(self, database: DatabaseRecord, expires_on: date) -> DatabaseRecord:
        """Move ``database``'s expiry (still the one it was read with) to ``expires_on``, forgetting
        the reminder and the decommission request of the old one; its create request shows it too.

        Raises AlreadyRequested when the expiry changed since it was read (a concurrent extension).
        """
        write = self._expiry_write(
            database, "SET #expires = :new REMOVE #reminded, #asked", "#expires = :day"
        )
        write["ExpressionAttributeValues"][":new"] = expires_on.isoformat()
        items = [{"Update": {"TableName": self._name, **write}}]
        if self.get(database.request_id) is not None:
            items.append(
                self._update(
                    _request_key(database.request_id),
                    "SET expires_on = :new",
                    condition="attribute_exists(pk)",
                    values={":new": expires_on.isoformat()},
                )
            )
        reasons = self._transact(items)
        if reasons is not None and "ConditionalCheckFailed" in reasons:
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

    def _expiry_write(self, database: DatabaseRecord, expression: str, condition: str) -> dict[str, Any]:
        """An update of ``database``'s record that holds only while its expiry is the one it was read with."""
        if database.expires_on is None:
            raise ValueError(f"{database.database_name} does not expire")
        condition = f"#expires = :day AND ({condition})"
        names = {"#expires": "expires_on", "#reminded": "reminded_for", "#asked": "expiry_request_id"}
        return {
            "Key": {"pk": _claim_key(database.environment.value, database.database_name)},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            # DynamoDB refuses names an expression does not use.
            "ExpressionAttributeNames": {
                alias: f"{_DB}{name}" for alias, name in names.items() if alias in expression + condition
            },
            "ExpressionAttributeValues": {":day": database.expires_on.isoformat()},
        }

    def set_conversation(self, request_id: str, conversation: Conversation) -> None:
        """The conversation begun with the requester (their confirmation), so later messages follow it."""
        found = self._conditional(
            self._table.update_item,
            Key={"pk": _request_key(request_id)},
            # Older records kept it in attributes of their own (read by ``RequestRecord``).
            UpdateExpression="SET conversation = :c REMOVE slack_channel, slack_thread_ts",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":c": conversation.model_dump(mode="json", exclude_none=True)},
        )
        if not found:
            raise NotFound(f"no request {request_id}")

    def claim_notification(self, request_id: str, status: RequestStatus) -> bool:
        """True for exactly one caller per (request, status): that caller sends the notification."""
        return self._conditional(
            self._table.update_item,
            Key={"pk": _request_key(request_id)},
            UpdateExpression="SET #n = :s",
            ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(#n) OR #n <> :s)",
            ExpressionAttributeNames={"#n": "notified_status"},
            ExpressionAttributeValues={":s": status.value},
        )

    def release_notification(self, request_id: str, status: RequestStatus) -> None:
        """Undo ``claim_notification`` after the notifier failed, so a redelivery tries again."""
        self._conditional(
            self._table.update_item,
            Key={"pk": _request_key(request_id)},
            UpdateExpression="REMOVE #n",
            ConditionExpression="#n = :s",
            ExpressionAttributeNames={"#n": "notified_status"},
            ExpressionAttributeValues={":s": status.value},
        )

    # --- internals ---------------------------------------------------------------------------
    def _unchanged_or_conflict(
        self, request_id: str, status: RequestStatus, seen: RequestRecord | None = None
    ) -> Transition:
        current = self.get(request_id)
        if current is None:
            raise NotFound(f"no request {request_id}")
        if current.status == status and (seen is None or current.step == seen.step):
            return Transition(current, changed=False)
        raise StatusConflict(current, status)

    def _record_item(self, record: RequestRecord) -> dict[str, Any]:
        data = record.model_dump(mode="json", exclude_none=True)
        data["created_at"] = _timestamp(record.created_at)
        data["updated_at"] = _timestamp(record.updated_at)
        data["pk"] = _request_key(record.request_id)
        if record.status.is_final:
            data["expires_at"] = int((record.updated_at + self._retention).timestamp())
        return data

    @staticmethod
    def _database_item(database: DatabaseRecord) -> dict[str, Any]:
        data = database.model_dump(mode="json", exclude_none=True)
        data["created_at"] = _timestamp(database.created_at)
        item = {f"{_DB}{name}": value for name, value in data.items()}
        item["pk"] = _claim_key(database.environment.value, database.database_name)
        return item

    @staticmethod
    def _to_record(item: Mapping[str, Any]) -> RequestRecord:
        return RequestRecord.model_validate({k: _plain(v) for k, v in item.items()})

    def _put(
        self, item: Mapping[str, Any], *, condition: str, values: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        put: dict[str, Any] = {
            "TableName": self._name,
            "Item": _dynamodb(dict(item)),
            "ConditionExpression": condition,
        }
        if values:
            put["ExpressionAttributeValues"] = _dynamodb(dict(values))
        return {"Put": put}

    def _update(
        self,
        pk: str,
        expression: str,
        *,
        condition: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self._name,
            "Key": {"pk": pk},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
        }
        if names:
            update["ExpressionAttributeNames"] = dict(names)
        if values:
            update["ExpressionAttributeValues"] = _dynamodb(dict(values))
        return {"Update": update}

    def _delete(
        self, pk: str, *, condition: str | None = None, values: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        delete: dict[str, Any] = {"TableName": self._name, "Key": {"pk": pk}}
        if condition:
            delete["ConditionExpression"] = condition
        if values:
            delete["ExpressionAttributeValues"] = _dynamodb(dict(values))
        return {"Delete": delete}

    def _transact(self, items: list[dict[str, Any]]) -> list[str] | None:
        """Run one transaction; None on success, else the cancellation reason code per item."""
        for _attempt in range(_TRANSACTION_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=items)
            except ClientError as error:
                if _error_code(error) != "TransactionCanceledException":
                    raise self._unavailable(error) from error
                raw = error.response.get("CancellationReasons") or [{} for _ in items]
                reasons = [str(reason.get("Code") or "None") for reason in raw]
                if "TransactionConflict" in reasons:
                    continue
                return reasons
            except BotoCoreError as error:
                raise StoreUnavailable(f"DynamoDB is unreachable: {error}") from error
            else:
                return None
        return ["TransactionConflict"] * len(items)

    def _query_all(self, kwargs: dict[str, Any], convert: Callable[[Mapping[str, Any]], T]) -> list[T]:
        """Every item a query finds, page after page, converted."""
        found: list[T] = []
        while True:
            page = self._call(self._table.query, **kwargs)
            found += [convert(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}

    def _get_item(self, pk: str) -> dict[str, Any] | None:
        response = self._call(self._table.get_item, Key={"pk": pk}, ConsistentRead=True)
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _scan_requests(self) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "FilterExpression": "begins_with(pk, :req)",
            "ExpressionAttributeValues": {":req": "REQ#"},
        }
        while True:
            page = self._call(self._table.scan, **kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _call(self, operation: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        """Run one table call, mapping botocore errors onto the product's errors."""
        try:
            return operation(**kwargs)
        except ClientError as error:
            raise self._unavailable(error) from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"DynamoDB is unreachable: {error}") from error

    def _conditional(self, operation: Callable[..., dict[str, Any]], **kwargs: Any) -> bool:
        """Run one conditional write; False when its condition did not hold."""
        try:
            self._call(operation, **kwargs)
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    @staticmethod
    def _unavailable(error: ClientError) -> Exception:
        code = _error_code(error)
        if code in _TRANSIENT_CODES:
            return StoreUnavailable(f"DynamoDB is busy ({code}); try again shortly")
        # Anything else (missing table, bad credentials, a bug) is not the caller's to retry away.
        unchanged: Exception = error
        return unchanged
