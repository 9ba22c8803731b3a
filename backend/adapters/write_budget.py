"""One budget of GitHub writes shared by every concurrent worker, kept in the requests table.

GitHub allows about 80 content-creating calls a minute per app or token (its secondary rate
limit); beyond that it answers 403 and asks us to wait. Each worker takes one token here before
each write, so together they stay under the ceiling instead of provoking it.

The budget is a single item (``pk = budget#github-writes``) holding when the next write may
start (``next_write_at``, epoch seconds). Taking a token reserves that moment and moves it one
interval (60 s / writes per minute) on, with a conditional update on the value read: of two
workers reading the same moment, one wins and the other reads again. A worker whose moment is
ahead sleeps until it, unless it is further away than the caller may wait: then nothing is
reserved and ``RateLimited`` says how long to wait. No burst is allowed beyond one write: the
writes come evenly spaced, which is what GitHub's window counts.

The pace keeps a little headroom (``HEADROOM``) under the budget: a write leaves when its turn
comes but reaches GitHub a few milliseconds to a second later, so writes spaced exactly at the
ceiling would now and then arrive closer together than it allows.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from backend.domain.errors import RateLimited, RetryableError

logger = Logger(child=True)

BUDGET_KEY = "budget#github-writes"
# The share of the budget the pace uses.
HEADROOM = 0.9
# Conditional updates lost to other workers before this one gives up for now (and retries later).
MAX_ATTEMPTS = 20


class WriteBudget:
    def __init__(
        self,
        table: Any,
        *,
        writes_per_minute: int,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if writes_per_minute < 1:
            raise ValueError(f"writes_per_minute must be at least 1, got {writes_per_minute}")
        self._table = table
        self.writes_per_minute = writes_per_minute
        self.interval = 60.0 / (writes_per_minute * HEADROOM)
        self._clock = clock
        self._sleep = sleep

    def take(self, *, max_wait: float) -> float:
        """Take one write's token, sleeping until its moment if that is at most ``max_wait`` s away.

        Returns the seconds slept. Raises RateLimited (nothing reserved) when the next free
        moment is further away, RetryableError when DynamoDB cannot be reached.
        """
        for _ in range(MAX_ATTEMPTS):
            now = self._clock()
            seen = self._next_write_at()
            start = now if seen is None else max(seen, now)
            wait = start - now
            if wait > max_wait:
                raise RateLimited(
                    f"this stack paces its GitHub writes at {self.writes_per_minute} a minute",
                    retry_after_seconds=wait,
                )
            if self._reserve(seen, start + self.interval):
                if wait > 0:
                    self._sleep(wait)
                return wait
            # Another worker took that moment; read again after a moment's jitter.
            self._sleep(random.uniform(0, self.interval / 10))  # noqa: S311 - jitter, not security
        raise RateLimited(
            f"this stack paces its GitHub writes at {self.writes_per_minute} a minute (busy budget)",
            retry_after_seconds=self.interval,
        )

    def _next_write_at(self) -> float | None:
        try:
            item = self._table.get_item(Key={"pk": BUDGET_KEY}, ConsistentRead=True).get("Item")
        except ClientError as error:
            raise RetryableError(f"the GitHub write budget could not be read: {error}") from error
        return None if item is None else float(item["next_write_at"])

    def _reserve(self, seen: float | None, next_write_at: float) -> bool:
        """Move the budget's next moment to ``next_write_at`` if it still is ``seen``."""
        if seen is None:
            condition = "attribute_not_exists(pk)"
            values: dict[str, Any] = {":next": _number(next_write_at)}
        else:
            condition = "next_write_at = :seen"
            values = {":next": _number(next_write_at), ":seen": _number(seen)}
        try:
            self._table.update_item(
                Key={"pk": BUDGET_KEY},
                UpdateExpression="SET next_write_at = :next",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise RetryableError(f"the GitHub write budget could not be updated: {error}") from error
        return True


def _number(value: float) -> Decimal:
    # Milliseconds are plenty; a value read back must compare equal to the one written.
    return Decimal(f"{value:.3f}")
