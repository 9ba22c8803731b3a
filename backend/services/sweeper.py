"""The daily sweep: dev databases' reminders and expiries, and approvals nobody decided on in time.

In AWS an EventBridge schedule invokes ``backend.handlers.sweeper`` once a day; locally
``POST /_local/sweep`` (``rdsctl sweep --now ...``) runs the same ``Sweeper.sweep`` for any moment.
Everything it does is conditional on what it read, so running it twice, or twice at once, does
each thing once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from backend.domain import RequestStatus
from backend.services.approvals import ApprovalService
from backend.services.expiry import ExpiryResult, ExpiryService, Outcome

logger = Logger(child=True)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SweepReport:
    now: datetime
    expiries: list[ExpiryResult] = field(default_factory=list)
    # Requests this sweep ended ``rejected`` because no approver decided in time.
    approvals_timed_out: list[str] = field(default_factory=list)
    # What went wrong outside one database's steps (those are ``failed`` expiries).
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [
            f"{r.database}: {r.detail}" for r in self.expiries if r.outcome is Outcome.FAILED
        ] + self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "expiries": [
                {
                    "database": r.database,
                    "expires_on": r.expires_on.isoformat(),
                    "outcome": r.outcome.value,
                    "detail": r.detail,
                }
                for r in self.expiries
            ],
            "approvals_timed_out": self.approvals_timed_out,
            "failed": self.failed,
        }


class Sweeper:
    def __init__(
        self,
        expiry: ExpiryService,
        approvals: ApprovalService,
        *,
        approval_timeout: timedelta,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._expiry = expiry
        self._approvals = approvals
        self._approval_timeout = approval_timeout
        self._clock = clock

    def sweep(self, now: datetime | None = None) -> SweepReport:
        """Do what is due at ``now`` (default: the clock's); what went wrong is in the report."""
        moment = (now or self._clock()).astimezone(UTC)
        report = SweepReport(moment, expiries=self._expiry.sweep(moment.date()))
        try:
            ended = self._approvals.expire(moment, timeout=self._approval_timeout)
        except Exception as error:
            logger.exception("approval timeouts failed")
            report.errors.append(f"approval timeouts: {error}")
        else:
            report.approvals_timed_out.extend(
                record.request_id for record in ended if record.status is RequestStatus.REJECTED
            )
        logger.info("sweep done", extra=report.as_dict())
        return report
