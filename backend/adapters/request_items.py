"""Requests in the requests table: ``REQ#<request_id>`` holds the ``RequestRecord``'s fields.

Only these items carry ``requested_by``/``created_at``, so the ``by_requester`` index is sparse:
it holds requests only; every request is in the ``by_status`` index (status, age). A request gets
the TTL attribute ``PURGE_AT`` (its retention) only once it is final.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from backend.adapters.dynamodb import PURGE_AT, Table, plain, timestamp
from backend.domain import NotFound, RequestRecord, RequestStatus, Step
from backend.domain.conversation import Conversation

REQUESTER_INDEX = "by_requester"
# Requests by status and age (the sweeper finds the ones waiting too long); every request has both.
STATUS_INDEX = "by_status"
_PREFIX = "REQ#"


def request_key(request_id: str) -> str:
    return f"{_PREFIX}{request_id}"


def to_record(item: Mapping[str, Any]) -> RequestRecord:
    return RequestRecord.model_validate({k: plain(v) for k, v in item.items()})


class RequestItems:
    def __init__(self, table: Table, *, retention: timedelta, clock: Callable[[], datetime]) -> None:
        self._table = table
        self._retention = retention
        self._clock = clock

    def item(self, record: RequestRecord) -> dict[str, Any]:
        data = record.model_dump(mode="json", exclude_none=True)
        data["created_at"] = timestamp(record.created_at)
        data["updated_at"] = timestamp(record.updated_at)
        data["pk"] = request_key(record.request_id)
        if record.status.is_final:
            data[PURGE_AT] = int((record.updated_at + self._retention).timestamp())
        return data

    # --- reading -----------------------------------------------------------------------------
    def get(self, request_id: str) -> RequestRecord | None:
        item = self._table.get_item(request_key(request_id))
        return None if item is None else to_record(item)

    def get_many(self, request_ids: Iterable[str]) -> dict[str, RequestRecord]:
        """The requests with these ids that exist, by id (batched reads)."""
        found = (
            to_record(item)
            for item in self._table.batch_get([request_key(i) for i in sorted(set(request_ids))])
        )
        return {record.request_id: record for record in found}

    def list_by_requester(self, requested_by: str, limit: int = 10) -> list[RequestRecord]:
        """This person's requests, newest first."""
        items = self._table.query(
            IndexName=REQUESTER_INDEX,
            KeyConditionExpression="requested_by = :who",
            ExpressionAttributeValues={":who": requested_by},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [to_record(item) for item in items]

    def list_recent(self, limit: int = 50) -> list[RequestRecord]:
        """The newest requests of anyone.

        A filtered scan: the table holds a few thousand requests at most (TTL removes finished
        ones), which DynamoDB scans in a page or two. A per-day GSI would replace it at scale.
        """
        records = [to_record(item) for item in self._table.scan_prefix(_PREFIX)]
        records.sort(key=lambda r: r.created_at, reverse=True)
        return records[:limit]

    def list_by_status(self, status: RequestStatus, *, created_before: datetime) -> list[RequestRecord]:
        """The requests now at ``status`` asked for before ``created_before``, oldest first."""
        kwargs: dict[str, Any] = {
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#status = :status AND created_at < :before",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":status": status.value, ":before": timestamp(created_before)},
        }
        return self._table.query_all(kwargs, to_record)

    # --- changing one request ------------------------------------------------------------------
    def note_failed_attempt(self, request_id: str, reason: str) -> None:
        """Remember why an attempt of a request still ``accepted`` failed (it will be retried)."""
        self._table.conditional_update(
            Key={"pk": request_key(request_id)},
            UpdateExpression="SET last_error = :e",
            ConditionExpression="#status = :accepted",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":e": reason[:500], ":accepted": RequestStatus.ACCEPTED.value},
        )

    def set_approval_message(self, request_id: str, message: Conversation) -> None:
        """Where the approval request was posted, so the decision updates it in place."""
        self._table.conditional_update(
            Key={"pk": request_key(request_id)},
            # Older items kept it in attributes of their own (``RequestRecord`` still reads them).
            UpdateExpression="SET approval_message = :m REMOVE approval_channel, approval_ts",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":m": message.model_dump(mode="json", exclude_none=True)},
        )

    def undo_approval(self, request_id: str, approved_by: str) -> bool:
        """Put an approved request back to ``awaiting_approval`` (its message could not be queued)."""
        return self._table.conditional_update(
            Key={"pk": request_key(request_id)},
            UpdateExpression="SET #status = :waiting REMOVE approved_by, approved_at",
            ConditionExpression="#status = :accepted AND approved_by = :by",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":waiting": RequestStatus.AWAITING_APPROVAL.value,
                ":accepted": RequestStatus.ACCEPTED.value,
                ":by": approved_by,
            },
        )

    def set_conversation(self, request_id: str, conversation: Conversation) -> None:
        """The conversation begun with the requester (their confirmation), so later messages follow it."""
        found = self._table.conditional_update(
            Key={"pk": request_key(request_id)},
            # Older items kept it in attributes of their own (``RequestRecord`` still reads them).
            UpdateExpression="SET conversation = :c REMOVE slack_channel, slack_thread_ts",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":c": conversation.model_dump(mode="json", exclude_none=True)},
        )
        if not found:
            raise NotFound(f"no request {request_id}")

    def claim_notification(self, request_id: str, status: RequestStatus) -> bool:
        """True for exactly one caller per (request, status): that caller sends the notification."""
        return self._table.conditional_update(
            Key={"pk": request_key(request_id)},
            UpdateExpression="SET #n = :s",
            ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(#n) OR #n <> :s)",
            ExpressionAttributeNames={"#n": "notified_status"},
            ExpressionAttributeValues={":s": status.value},
        )

    def release_notification(self, request_id: str, status: RequestStatus) -> None:
        """Undo ``claim_notification`` after the notifier failed, so a redelivery tries again."""
        self._table.conditional_update(
            Key={"pk": request_key(request_id)},
            UpdateExpression="REMOVE #n",
            ConditionExpression="#n = :s",
            ExpressionAttributeNames={"#n": "notified_status"},
            ExpressionAttributeValues={":s": status.value},
        )

    def update_status(self, update: Mapping[str, Any]) -> RequestRecord | None:
        """Run a ``status_update`` alone; the request as it is now, or None if its condition failed."""
        item = self._table.update_returning(update)
        return None if item is None else to_record(item)

    # --- transaction items -------------------------------------------------------------------
    def put(self, record: RequestRecord) -> dict[str, Any]:
        """Record a new request."""
        return self._table.put(self.item(record), condition="attribute_not_exists(pk)")

    def delete(self, request_id: str) -> dict[str, Any]:
        return self._table.delete(request_key(request_id))

    def set_expires_on(self, request_id: str, expires_on: date) -> dict[str, Any]:
        """Show a database's new expiry on its create request."""
        return self._table.update(
            request_key(request_id),
            "SET expires_on = :new",
            condition="attribute_exists(pk)",
            values={":new": expires_on.isoformat()},
        )

    def status_update(
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
        """The conditional update of a request to ``status`` (a transaction item's ``Update``):
        from one of ``condition_statuses`` and, with ``seen``, only while it is at ``seen``'s step
        and pull request (and status, unless ``match_status`` is off)."""
        now = self._clock()
        to_set: dict[str, Any] = {"status": status.value, "updated_at": timestamp(now), **fields}
        if status.is_final:
            to_set[PURGE_AT] = int((now + self._retention).timestamp())
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
            "TableName": self._table.name,
            "Key": {"pk": request_key(request_id)},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
