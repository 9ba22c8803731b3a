"""Request statuses and the one table of what each status means and which status may follow it
(pure). A new status is one row here, its arrows in docs/lifecycle.md (a test holds them equal),
and the service that records it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
    def spec(self) -> StatusSpec:
        return STATUSES[self]

    @property
    def is_final(self) -> bool:
        return self.spec.final

    @property
    def merged(self) -> bool:
        """Its pull request is merged (and the request did not fail since)."""
        return self.spec.pull_request is PullRequestState.MERGED


class PullRequestState(StrEnum):
    """Where a request's pull request is while the request has a status."""

    OPEN = "open"
    MERGED = "merged"


@dataclass(frozen=True)
class StatusSpec:
    # The statuses that may follow it. Re-recording the same status is always allowed (redelivery).
    next: frozenset[RequestStatus]
    # What it means to the requester, in a status answer ("waiting for a prod approver").
    meaning: str
    # Its emoji, by shortcode name (Slack and GitHub render ``:name:``).
    emoji: str
    # Nothing follows it: the request is done, and its conversation ends.
    final: bool = False
    # Its pull request, while it has one that is open or merged: a create's database is listed
    # from ``OPEN`` on, and can be changed (or no longer kept from expiry) once ``MERGED``.
    pull_request: PullRequestState | None = None


STATUSES: Mapping[RequestStatus, StatusSpec] = {
    RequestStatus.AWAITING_APPROVAL: StatusSpec(
        next=frozenset({RequestStatus.ACCEPTED, RequestStatus.REJECTED}),
        meaning="waiting for a prod approver",
        emoji="raised_hand",
    ),
    RequestStatus.ACCEPTED: StatusSpec(
        next=frozenset({RequestStatus.PR_OPENED, RequestStatus.FAILED, RequestStatus.REJECTED}),
        meaning="queued; the pull request is being prepared",
        emoji="hourglass_flowing_sand",
    ),
    RequestStatus.PR_OPENED: StatusSpec(
        next=frozenset({RequestStatus.MERGED, RequestStatus.FAILED}),
        meaning="pull request open, waiting for review",
        emoji="mag",
        pull_request=PullRequestState.OPEN,
    ),
    # ``accepted`` again: its pull request is applied and the request's next step begins (a prod
    # decommission's second pull request).
    RequestStatus.MERGED: StatusSpec(
        next=frozenset({RequestStatus.APPLIED, RequestStatus.FAILED, RequestStatus.ACCEPTED}),
        meaning="merged; CircleCI is applying the Terraform",
        emoji="twisted_rightwards_arrows",
        pull_request=PullRequestState.MERGED,
    ),
    RequestStatus.APPLIED: StatusSpec(
        next=frozenset(),
        meaning="the database exists",
        emoji="white_check_mark",
        final=True,
        pull_request=PullRequestState.MERGED,
    ),
    RequestStatus.FAILED: StatusSpec(next=frozenset(), meaning="failed", emoji="x", final=True),
    RequestStatus.REJECTED: StatusSpec(next=frozenset(), meaning="rejected", emoji="no_entry", final=True),
}

# Which status may follow which: the table's ``next`` column.
ALLOWED_TRANSITIONS: Mapping[RequestStatus, frozenset[RequestStatus]] = {
    status: spec.next for status, spec in STATUSES.items()
}


def can_transition(current: RequestStatus, new: RequestStatus) -> bool:
    return new == current or new in ALLOWED_TRANSITIONS[current]


def predecessors(status: RequestStatus) -> frozenset[RequestStatus]:
    """The statuses ``status`` may follow (re-recording aside)."""
    return frozenset(s for s, nexts in ALLOWED_TRANSITIONS.items() if status in nexts)
