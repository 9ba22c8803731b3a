"""The expiry rules (pure): when a dev database expires, how far it may be extended, what is due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from backend.domain import Environment, ValidationFailed
from backend.domain.expiry import ExpiryDue, ExpiryPolicy

POLICY = ExpiryPolicy(default_days=30, max_days=90, reminder_days=3)
TODAY = date(2026, 11, 26)


def _refusal(call: Callable[[], object]) -> str:
    with pytest.raises(ValidationFailed) as refused:
        call()
    (error,) = refused.value.errors
    assert error.field == "ttl_days"
    return error.message


def test_a_dev_database_lives_the_default_or_the_days_asked():
    assert POLICY.expires_on(Environment("dev"), TODAY, None) == date(2026, 12, 26)
    assert POLICY.expires_on(Environment("dev"), TODAY, 1) == date(2026, 11, 27)
    assert POLICY.expires_on(Environment("dev"), TODAY, 90) == TODAY + timedelta(days=90)


@pytest.mark.parametrize("days", [0, -5, 91, 10_000])
def test_days_out_of_range_are_refused_with_the_range(days: int):
    assert _refusal(lambda: POLICY.expires_on(Environment("dev"), TODAY, days)) == (
        f"ttl_days must be between 1 and 90 (got {days})"
    )


def test_prod_never_expires_and_refuses_ttl_days():
    assert POLICY.expires_on(Environment("prod"), TODAY, None) is None
    assert "prod databases do not expire" in _refusal(
        lambda: POLICY.expires_on(Environment("prod"), TODAY, 7)
    )


def test_an_extension_counts_from_today_and_must_reach_past_the_current_expiry():
    current = TODAY + timedelta(days=2)
    assert POLICY.extended(current, TODAY, None) == TODAY + timedelta(days=30)
    assert POLICY.extended(current, TODAY, 3) == TODAY + timedelta(days=3)
    assert "already expires on 2026-11-28" in _refusal(lambda: POLICY.extended(current, TODAY, 2))
    assert "between 1 and 90" in _refusal(lambda: POLICY.extended(current, TODAY, 91))
    # An expired database (its decommission not merged yet) may still be kept.
    assert POLICY.extended(TODAY - timedelta(days=1), TODAY, 5) == TODAY + timedelta(days=5)


def test_extending_twice_by_the_same_days_says_how_many_to_ask_for():
    once = POLICY.extended(TODAY + timedelta(days=2), TODAY, 30)
    refusal = _refusal(lambda: POLICY.extended(once, TODAY, 30))
    assert refusal == (
        f"it already expires on {once.isoformat()}, in 30 days; ask for more than 30 days (at most 90)"
    )
    longest = POLICY.extended(once, TODAY, 90)
    assert "as long as an extension can give (90 days)" in _refusal(
        lambda: POLICY.extended(longest, TODAY, 90)
    )


@pytest.mark.parametrize(
    ("days_left", "due"),
    [
        (10, None),
        (4, None),
        (3, ExpiryDue.REMIND),
        (1, ExpiryDue.REMIND),
        (0, ExpiryDue.DECOMMISSION),
        (-7, ExpiryDue.DECOMMISSION),  # a sweep that was missed catches up
    ],
)
def test_what_a_sweep_owes_a_database(days_left: int, due: ExpiryDue | None):
    assert POLICY.due(TODAY + timedelta(days=days_left), TODAY) is due


def test_the_horizon_is_the_last_expiry_with_anything_due():
    horizon = POLICY.horizon(TODAY)
    assert POLICY.due(horizon, TODAY) is ExpiryDue.REMIND
    assert POLICY.due(horizon + timedelta(days=1), TODAY) is None


def test_no_reminder_days_means_no_reminder():
    silent = ExpiryPolicy(reminder_days=0)
    assert silent.due(TODAY + timedelta(days=1), TODAY) is None
    assert silent.due(TODAY, TODAY) is ExpiryDue.DECOMMISSION
