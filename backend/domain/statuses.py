"""Request statuses and the one table of which status may follow which (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class RequestStatus(StrEnum):
    # A prod request waits for a named approver (PROD_APPROVERS); nothing is queued until then.
    AWAITING_APPROVAL = "awaiting_approval"
    ACCEPTED = "accepted"
    PR_OPENED = "pr_opened"
    MERGED = "merged"
    APPLIED = "applied"
    FAILED = "failed"
    REJECTED = "rejected"

    @property
    def is_final(self) -> bool:
        return self in {RequestStatus.APPLIED, RequestStatus.FAILED, RequestStatus.REJECTED}


# Which status may follow which. Re-recording the same status is always allowed (redelivery).
ALLOWED_TRANSITIONS: Mapping[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.AWAITING_APPROVAL: frozenset({RequestStatus.ACCEPTED, RequestStatus.REJECTED}),
    RequestStatus.ACCEPTED: frozenset(
        {RequestStatus.PR_OPENED, RequestStatus.FAILED, RequestStatus.REJECTED}
    ),
    RequestStatus.PR_OPENED: frozenset({RequestStatus.MERGED, RequestStatus.FAILED}),
    # ``accepted`` again: its pull request is applied and the request's next step begins (a prod
    # decommission's second pull request).
    RequestStatus.MERGED: frozenset({RequestStatus.APPLIED, RequestStatus.FAILED, RequestStatus.ACCEPTED}),
    RequestStatus.APPLIED: frozenset(),
    RequestStatus.FAILED: frozenset(),
    RequestStatus.REJECTED: frozenset(),
}


def can_transition(current: RequestStatus, new: RequestStatus) -> bool:
    return new == current or new in ALLOWED_TRANSITIONS[current]


def predecessors(status: RequestStatus) -> frozenset[RequestStatus]:
    """The statuses ``status`` may follow (re-recording aside)."""
    return frozenset(s for s, nexts in ALLOWED_TRANSITIONS.items() if status in nexts)
