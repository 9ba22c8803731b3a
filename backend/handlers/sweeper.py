"""Sweeper Lambda: once a day (an EventBridge schedule), dev expiries and approval timeouts.

The scheduled event's ``time`` is the moment swept, so a retried invocation of the same event
sweeps the same day (and, every step being conditional, does nothing twice). A manual invocation
may pass ``{"now": "<ISO 8601>"}``. When a step failed the function fails after finishing the
rest, so the errors alarm fires and the scheduler's retry picks up what is left.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend.container import get_container
from backend.domain import FieldError, ValidationFailed
from backend.runtime import freeze_heap, frozen_after_first_invocation
from backend.services.expiry import Outcome
from backend.services.sweeper import SweepReport
from backend.settings import get_settings

logger = Logger()
metrics = Metrics(namespace="RdsProvisioner")
# A wrong configuration stops the cold start, naming the variable (no network here).
get_settings()

_COUNTED = {
    Outcome.REMINDED: "ExpiryReminders",
    Outcome.DECOMMISSION_REQUESTED: "ExpiryDecommissions",
    Outcome.FAILED: "SweepFailures",
}


class SweepFailed(RuntimeError):
    """Some of the sweep's steps failed (each is in the log); the rest were done."""


# The moments a sweep may be run as: beyond them dates overflow or mean nothing to a database.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def moment_of(event: dict[str, Any]) -> datetime:
    """The moment to sweep: ``now`` if given, else the scheduled event's ``time``, else the clock.

    ValidationFailed naming the field when it is not an ISO 8601 moment in EARLIEST..LATEST.
    """
    field = "now" if event.get("now") is not None else "time"
    given = event.get(field)
    if given is None:
        return datetime.now(UTC)
    try:
        if not isinstance(given, str):
            raise TypeError(given)
        moment = datetime.fromisoformat(given)
    except (TypeError, ValueError):
        problem = f"{field}: must be an ISO 8601 date or time, e.g. 2026-12-24T07:00:00Z"
        raise ValidationFailed([FieldError(field, problem)]) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not EARLIEST <= moment <= LATEST:
        problem = f"{field}: must be between {EARLIEST.date()} and {LATEST.date()}"
        raise ValidationFailed([FieldError(field, problem)])
    return moment


def record_metrics(report: SweepReport) -> None:
    for outcome, name in _COUNTED.items():
        count = sum(1 for result in report.expiries if result.outcome is outcome)
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    metrics.add_metric(name="ApprovalsTimedOut", unit=MetricUnit.Count, value=len(report.approvals_timed_out))


@frozen_after_first_invocation
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = get_container().sweeper.sweep(moment_of(event))
    record_metrics(report)
    if report.failed:
        raise SweepFailed(f"{len(report.failed)} step(s) failed: {'; '.join(report.failed)[:1000]}")
    return report.as_dict()


# The end of the cold start's import: what it built stays out of the collector's way.
freeze_heap()
