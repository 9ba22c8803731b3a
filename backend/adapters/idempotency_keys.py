"""Idempotency-Keys in the requests table: ``IDEM#<key>`` -> ``request_id`` + a hash of what was
asked (+ the SNS message id once queued), expiring after ``IDEMPOTENCY_TTL``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from backend.adapters.dynamodb import PURGE_AT, Table, plain
from backend.domain.idempotency import IDEMPOTENCY_TTL, IdempotencyEntry


def idempotency_key(key: str) -> str:
    return f"IDEM#{key}"


class IdempotencyKeys:
    def __init__(self, table: Table, *, clock: Callable[[], datetime]) -> None:
        self._table = table
        self._clock = clock

    def get(self, key: str) -> IdempotencyEntry | None:
        item = self._table.get_item(idempotency_key(key))
        if item is None or int(plain(item.get(PURGE_AT, 0))) < int(self._clock().timestamp()):
            return None
        return IdempotencyEntry(
            key=key,
            request_id=str(item["request_id"]),
            fingerprint=str(item["fingerprint"]),
            sns_message_id=item.get("sns_message_id"),
        )

    def set_message_id(self, key: str, request_id: str, sns_message_id: str) -> None:
        """Remember the SNS message id so a replay answers exactly what the first call answered."""
        self._table.conditional_update(
            Key={"pk": idempotency_key(key)},
            UpdateExpression="SET sns_message_id = :m",
            ConditionExpression="request_id = :id",
            ExpressionAttributeValues={":m": sns_message_id, ":id": request_id},
        )

    # --- transaction items -------------------------------------------------------------------
    def reserve(self, entry: IdempotencyEntry) -> dict[str, Any]:
        """Take ``entry``'s key for its request, unless another request holds it."""
        now = self._clock()
        return self._table.put(
            {
                "pk": idempotency_key(entry.key),
                "request_id": entry.request_id,
                "fingerprint": entry.fingerprint,
                PURGE_AT: int((now + IDEMPOTENCY_TTL).timestamp()),
            },
            # An expired key that TTL has not swept yet is free again.
            condition=f"attribute_not_exists(pk) OR {PURGE_AT} < :now",
            values={":now": int(self._clock().timestamp())},
        )

    def release(self, key: str, request_id: str) -> dict[str, Any]:
        """Give ``key`` back, if ``request_id`` holds it."""
        return self._table.delete(
            idempotency_key(key),
            condition="attribute_not_exists(pk) OR request_id = :id",
            values={":id": request_id},
        )
