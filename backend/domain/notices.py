"""What the product tells people, as data: a ``Notice`` says what happened, about which request
or database, to whom, and which answers it offers (pure; no chat vocabulary).

The services decide when to tell whom; a chat adapter (``backend.adapters.slack_notices``)
renders each kind of notice and delivers it. ``STATUS_NOTICES`` is the one table of what a
requester hears when their request reaches a status at a step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from backend.domain.actions import ACTIONS, Asker, Step
from backend.domain.conversation import Conversation, ConversationKind
from backend.domain.drift import Drift
from backend.domain.expiry import ExpiryPolicy
from backend.domain.kinds import Source
from backend.domain.requests import DatabaseRecord, RequestRecord
from backend.domain.statuses import RequestStatus


class Happening(StrEnum):
    """What a notice is about: one chat rendering each."""

    # A request reached a status (its requester hears it).
    PR_OPENED = "pr_opened"
    RESIZE_OPENED = "resize_opened"
    DECOMMISSION_OPENED = "decommission_opened"
    REPROTECT_OPENED = "reprotect_opened"
    APPROVED = "approved"
    UNPROTECTED = "unprotected"
    MERGED = "merged"
    READY = "ready"
    RESIZED = "resized"
    DECOMMISSIONED = "decommissioned"
    REPROTECTED = "reprotected"
    ENDED = "ended"  # failed or rejected
    # A step's pull request opened, or applied, where the step has no wording of its own: told
    # in its action's words (``ActionSpec.asked_as``), so a new action is heard from its first day.
    CHANGE_OPENED = "change_opened"
    CHANGE_APPLIED = "change_applied"
    # A status with no words but its row's (``StatusSpec.meaning``): a new status's notice is its
    # row here.
    STATUS_REACHED = "status_reached"
    # Prod approvals (the approvers' conversation).
    APPROVAL_ASKED = "approval_asked"
    APPROVAL_DECIDED = "approval_decided"
    # Dev databases expire (the database's requester).
    EXPIRES_SOON = "expires_soon"
    EXTENDED = "extended"
    EXPIRED = "expired"
    # Terraform would change an environment back (the platform team's channel).
    DRIFTED = "drifted"


class Offer(StrEnum):
    """An answer a notice offers its reader; the chat turns each into a control."""

    APPROVE = "approve"
    DENY = "deny"
    EXTEND = "extend"
    DECOMMISSION_NOW = "decommission_now"


@dataclass(frozen=True)
class Audience:
    """To whom: a conversation already begun, else a person (by id) the chat can reach directly;
    neither means whoever the chat tells about requests with no chat person (the API's channel)."""

    person: str | None = None
    conversation: Conversation | None = None

    @classmethod
    def channel(cls, channel: str) -> Audience:
        return cls(conversation=Conversation(channel=channel, kind=ConversationKind.CHANNEL))


def requester_of(
    source: Source | None, requested_by: str, conversation: Conversation | None = None
) -> Audience:
    """Who asked: the conversation begun with them, else the person (requests made in chat)."""
    return Audience(person=requested_by if source is Source.SLACK else None, conversation=conversation)


@dataclass(frozen=True)
class Notice:
    happening: Happening
    to: Audience = field(default_factory=Audience)
    request: RequestRecord | None = None
    database: DatabaseRecord | None = None
    offers: tuple[Offer, ...] = ()
    # Who did what the notice tells (a person id: who extended a database).
    by: str | None = None
    # The day it is told (an expiry reminder counts the days left from it) and the expiry rules.
    today: date | None = None
    expiry: ExpiryPolicy | None = None
    # A database's ``terraform output`` values, where known (the ready notice gives its endpoint).
    outputs: Mapping[str, str] | None = None
    # A drift: the environment and what drifted in it.
    environment: str | None = None
    drifts: tuple[Drift, ...] = ()


# What the requester hears when their request reaches a status, at a step (None: at any step
# without a row of its own).
# ``accepted`` is said only when an approver approved or a second step began: the frontend that
# took the request has answered its acceptance.
STATUS_NOTICES: Mapping[tuple[RequestStatus, Step | None], Happening] = {
    (RequestStatus.PR_OPENED, Step.CREATE): Happening.PR_OPENED,
    (RequestStatus.PR_OPENED, Step.RESIZE): Happening.RESIZE_OPENED,
    (RequestStatus.PR_OPENED, Step.UNPROTECT): Happening.DECOMMISSION_OPENED,
    (RequestStatus.PR_OPENED, Step.DECOMMISSION): Happening.DECOMMISSION_OPENED,
    (RequestStatus.PR_OPENED, Step.REPROTECT): Happening.REPROTECT_OPENED,
    (RequestStatus.PR_OPENED, None): Happening.CHANGE_OPENED,
    # A later step begun: a prod decommission's second. (Accepted at a request's first step is
    # ``FIRST_STEP_NOTICES``: which step is first depends on the environment.)
    (RequestStatus.ACCEPTED, Step.DECOMMISSION): Happening.UNPROTECTED,
    (RequestStatus.MERGED, None): Happening.MERGED,
    (RequestStatus.APPLIED, Step.CREATE): Happening.READY,
    (RequestStatus.APPLIED, Step.RESIZE): Happening.RESIZED,
    (RequestStatus.APPLIED, Step.DECOMMISSION): Happening.DECOMMISSIONED,
    (RequestStatus.APPLIED, Step.REPROTECT): Happening.REPROTECTED,
    (RequestStatus.APPLIED, None): Happening.CHANGE_APPLIED,
    (RequestStatus.FAILED, None): Happening.ENDED,
    (RequestStatus.REJECTED, None): Happening.ENDED,
}


# What the requester of what people ask for hears at its first step, before the rows above:
# accepted there means an approver approved it (a request waits for its approver at its first step).
FIRST_STEP_NOTICES: Mapping[RequestStatus, Happening] = {RequestStatus.ACCEPTED: Happening.APPROVED}


def status_notice(record: RequestRecord, outputs: Mapping[str, str] | None = None) -> Notice | None:
    """What ``record``'s requester hears about its status now; None when there is nothing to say.

    ``outputs``: its environment's ``terraform output`` values, where the caller knows them.
    """
    first = record.step == next(iter(record.steps), None) and ACTIONS[record.action].asked_by is Asker.PEOPLE
    happening = (
        (FIRST_STEP_NOTICES.get(record.status) if first else None)
        or STATUS_NOTICES.get((record.status, record.step))
        or STATUS_NOTICES.get((record.status, None))
    )
    if happening is None:
        return None
    return Notice(
        happening,
        to=requester_of(record.source, record.requested_by, record.conversation),
        request=record,
        outputs=outputs if happening is Happening.READY else None,
    )
