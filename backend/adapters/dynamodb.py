"""A small DynamoDB toolkit over one boto3 Table: calls with the product's errors, conditional
writes, transactions with their cancellation reasons, paged queries and scans, and the values
DynamoDB takes and gives back. It knows nothing of requests or databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from backend.domain import RetryableError

T = TypeVar("T")

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
BATCH_GET_LIMIT = 100
CONDITION_FAILED = "ConditionalCheckFailed"
# The table's TTL attribute: when DynamoDB may delete an item (epoch seconds). Not a database's
# expiry (``expires_on``, a date the sweeper acts on): the name is kept for the items already written.
PURGE_AT = "expires_at"


class StoreUnavailable(RetryableError):
    """DynamoDB could not be reached or throttled us; the same call may succeed later."""


def timestamp(moment: datetime) -> str:
    """Fixed width (always microseconds, always UTC), so string order is time order in an index."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def to_dynamodb(value: Any) -> Any:
    """``value`` as DynamoDB takes it: numbers that are not whole (ACU) as Decimal, never float."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: to_dynamodb(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_dynamodb(item) for item in value]
    return value


def plain(value: Any) -> Any:
    """A value DynamoDB gave back as Python's own: Decimal as int when whole, else float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def unavailable(error: ClientError) -> Exception:
    """The error to raise for ``error``: StoreUnavailable when DynamoDB is busy, else ``error``."""
    code = error_code(error)
    if code in _TRANSIENT_CODES:
        return StoreUnavailable(f"DynamoDB is busy ({code}); try again shortly")
    # Anything else (missing table, bad credentials, a bug) is not the caller's to retry away.
    unchanged: Exception = error
    return unchanged


class Table:
    """One DynamoDB table keyed by ``pk``: its calls, and the items of its transactions."""

    def __init__(self, table: Any) -> None:
        self.table = table
        # The resource's client takes and returns plain Python values (boto3 injects the
        # DynamoDB type (de)serialisation), so transactions read like the table calls.
        self.client = table.meta.client
        self.name: str = table.name

    # --- calls -------------------------------------------------------------------------------
    def call(self, operation: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        """Run one call, mapping botocore errors onto the product's errors."""
        try:
            return operation(**kwargs)
        except ClientError as error:
            raise unavailable(error) from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"DynamoDB is unreachable: {error}") from error

    def conditional_update(self, **kwargs: Any) -> bool:
        """Run one conditional UpdateItem; False when its condition did not hold."""
        try:
            self.call(self.table.update_item, **kwargs)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def update_returning(self, update: Mapping[str, Any]) -> dict[str, Any] | None:
        """Run one conditional UpdateItem (a transaction item's ``Update``); the item as it is
        now, or None when its condition did not hold."""
        try:
            response = self.call(self.client.update_item, **update, ReturnValues="ALL_NEW")
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        attributes: dict[str, Any] = response["Attributes"]
        return attributes

    def get_item(self, pk: str) -> dict[str, Any] | None:
        response = self.call(self.table.get_item, Key={"pk": pk}, ConsistentRead=True)
        item: dict[str, Any] | None = response.get("Item")
        return item

    def batch_get(self, pks: list[str]) -> Iterator[dict[str, Any]]:
        """The items with these keys that exist (consistent, in batches, unprocessed ones retried)."""
        for start in range(0, len(pks), BATCH_GET_LIMIT):
            keys = [{"pk": pk} for pk in pks[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self.name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self.call(self.client.batch_get_item, RequestItems=request)
                yield from response.get("Responses", {}).get(self.name, [])
                request = response.get("UnprocessedKeys") or {}

    def query(self, **kwargs: Any) -> list[dict[str, Any]]:
        """One page of a query (the caller's ``Limit``)."""
        items: list[dict[str, Any]] = self.call(self.table.query, **kwargs).get("Items", [])
        return items

    def query_all(self, kwargs: dict[str, Any], convert: Callable[[Mapping[str, Any]], T]) -> list[T]:
        """Every item a query finds, page after page, converted."""
        found: list[T] = []
        while True:
            page = self.call(self.table.query, **kwargs)
            found += [convert(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}

    def scan_prefix(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every item whose ``pk`` begins with ``prefix`` (a filtered scan)."""
        kwargs: dict[str, Any] = {
            "FilterExpression": "begins_with(pk, :prefix)",
            "ExpressionAttributeValues": {":prefix": prefix},
        }
        while True:
            page = self.call(self.table.scan, **kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --- transactions ------------------------------------------------------------------------
    def transact(self, items: list[dict[str, Any]]) -> list[str] | None:
        """Run one transaction; None on success, else the cancellation reason code per item."""
        for _attempt in range(_TRANSACTION_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=items)
            except ClientError as error:
                if error_code(error) != "TransactionCanceledException":
                    raise unavailable(error) from error
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

    def put(
        self, item: Mapping[str, Any], *, condition: str, values: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """A transaction item putting ``item``."""
        put: dict[str, Any] = {
            "TableName": self.name,
            "Item": to_dynamodb(dict(item)),
            "ConditionExpression": condition,
        }
        if values:
            put["ExpressionAttributeValues"] = to_dynamodb(dict(values))
        return {"Put": put}

    def update(
        self,
        pk: str,
        expression: str,
        *,
        condition: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A transaction item updating the item ``pk``."""
        update: dict[str, Any] = {
            "TableName": self.name,
            "Key": {"pk": pk},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
        }
        if names:
            update["ExpressionAttributeNames"] = dict(names)
        if values:
            update["ExpressionAttributeValues"] = to_dynamodb(dict(values))
        return {"Update": update}

    def delete(
        self, pk: str, *, condition: str | None = None, values: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """A transaction item deleting the item ``pk``."""
        delete: dict[str, Any] = {"TableName": self.name, "Key": {"pk": pk}}
        if condition:
            delete["ConditionExpression"] = condition
        if values:
            delete["ExpressionAttributeValues"] = to_dynamodb(dict(values))
        return {"Delete": delete}
