"""Dev databases expire: when, how long a request may ask for, and what a sweep does about it (pure).

A dev database's expiry is a UTC date. A sweep on a given day reminds the requester once,
``reminder_days`` before it, and on or after it asks for the database's decommission once. Prod
databases never expire.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from backend.domain.errors import FieldError, ValidationFailed
from backend.domain.policy import Environment, environment_policies, policy_for

# Who asks for the decommission of an expired database (``requested_by`` of that request).
EXPIRY_REQUESTER = "ttl"


class ExpiryDue(StrEnum):
    """What a sweep owes a dev database on a given day."""

    REMIND = "remind"
    DECOMMISSION = "decommission"


@dataclass(frozen=True)
class ExpiryPolicy:
    default_days: int = 30
    max_days: int = 90
    reminder_days: int = 3

    def of(self, environment: str) -> ExpiryPolicy:
        """This policy with the days ``environment``'s expiry sets (its table's, else these)."""
        rule = policy_for(environment).expiry
        if rule is None:
            return self
        return replace(
            self,
            default_days=rule.default_days or self.default_days,
            max_days=rule.max_days or self.max_days,
        )

    def expires_on(self, environment: Environment, created_on: date, ttl_days: int | None) -> date | None:
        """The expiry of a new database asked for on ``created_on``; None where databases never expire
        (prod)."""
        if not policy_for(environment).expires:
            if ttl_days is not None:
                raise ValidationFailed(
                    [
                        FieldError(
                            "ttl_days",
                            f"ttl_days applies to {expiring_environments()} databases only: "
                            f"{environment} databases do not expire",
                        )
                    ]
                )
            return None
        return created_on + timedelta(days=self.of(environment)._days(ttl_days))

    def extended(self, current: date, today: date, ttl_days: int | None) -> date:
        """The expiry after extending one that is ``current`` by ``ttl_days`` (default ``default_days``)
        counted from ``today``; at most ``max_days`` from today, and never earlier than it was."""
        wanted = today + timedelta(days=self._days(ttl_days))
        if wanted <= current:
            left = (current - today).days
            more = (
                f"ask for more than {left} days (at most {self.max_days})"
                if left < self.max_days
                else f"that is as long as an extension can give ({self.max_days} days)"
            )
            raise ValidationFailed(
                [
                    FieldError(
                        "ttl_days", f"it already expires on {current.isoformat()}, in {left} days; {more}"
                    )
                ]
            )
        return wanted

    def due(self, expires_on: date, today: date) -> ExpiryDue | None:
        """What a sweep on ``today`` owes a database that expires on ``expires_on``."""
        if today >= expires_on:
            return ExpiryDue.DECOMMISSION
        if today >= expires_on - timedelta(days=self.reminder_days):
            return ExpiryDue.REMIND
        return None

    def horizon(self, today: date) -> date:
        """The last expiry date a sweep on ``today`` has anything to do for."""
        return today + timedelta(days=self.reminder_days)

    def _days(self, ttl_days: int | None) -> int:
        days = self.default_days if ttl_days is None else ttl_days
        if not 1 <= days <= self.max_days:
            raise ValidationFailed(
                [FieldError("ttl_days", f"ttl_days must be between 1 and {self.max_days} (got {days})")]
            )
        return days


def expiring_environments() -> str:
    """``dev``: the environments whose databases expire, as a message names them."""
    return ", ".join(name for name, policy in environment_policies().items() if policy.expires) or "no"


# The settings' defaults (DEV_TTL_DAYS, MAX_DEV_TTL_DAYS, REMINDER_DAYS); the API's document states them.
DEFAULT_POLICY = ExpiryPolicy()
