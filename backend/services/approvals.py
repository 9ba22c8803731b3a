"""Prod approvals: a named approver who is not the requester approves (or denies) every prod
request before anything is queued.

With ``PROD_APPROVERS`` and ``APPROVALS_CHANNEL`` set, the intake records a prod request
``awaiting_approval`` (its name claimed, nothing published) and ``ask`` sends the approvers' channel
a notice offering approve and deny. ``approve`` and ``deny`` are conditional status changes, so a
double click, or approving a denied request, changes nothing; only the call that moved the request
queues it (approve) or tells the requester (deny), and replaces the approvers' message with the
outcome and who decided. ``expire`` ends requests nobody decided on in time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools import Logger

from backend.adapters.queue import ProvisionMessage, RequestTopic
from backend.domain import (
    ChangedMeanwhile,
    Environment,
    FieldError,
    NotAllowed,
    NotFound,
    QueueUnavailable,
    RequestRecord,
    RequestStatus,
    ValidationFailed,
    environment_policies,
    policy_for,
)
from backend.domain.notices import Audience, Happening, Notice, Offer
from backend.domain.transitions import StatusConflict
from backend.services.notifications import Notices, Notifier, notify_once
from backend.services.ports import Requests

logger = Logger(child=True)

TIMED_OUT = "no approver decided within {hours} hours"


def _now() -> datetime:
    return datetime.now(UTC)


def decided(record: RequestRecord) -> ChangedMeanwhile:
    """Why a decision on ``record`` comes too late: who decided it, or what became of it."""
    if record.approved_by:
        return ChangedMeanwhile(
            f"This request was already approved by {record.approved_by}.",
            record.request_id,
            people=(record.approved_by,),
        )
    if record.denied_by:
        return ChangedMeanwhile(
            f"This request was already denied by {record.denied_by}.",
            record.request_id,
            people=(record.denied_by,),
        )
    return ChangedMeanwhile(
        f"This request is {record.status.value} now: {record.error or 'nobody decided in time'}.",
        record.request_id,
    )


class ApprovalService:
    def __init__(
        self,
        store: Requests,
        topic: RequestTopic,
        notices: Notices,
        notifier: Notifier,
        *,
        approvers: Collection[str],
        channel: str | None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._store = store
        self._topic = topic
        self._notices = notices
        self._notifier = notifier
        # PROD_APPROVERS: who approves where the environment's policy names nobody.
        self._approvers = frozenset(approvers)
        self._channel = channel
        self._clock = clock

    def approvers_of(self, environment: str) -> frozenset[str]:
        """Who approves requests about ``environment``: its policy's approvers, else PROD_APPROVERS."""
        return frozenset(policy_for(environment).approvals.approvers) or self._approvers

    @property
    def everyone(self) -> frozenset[str]:
        """Whoever approves in some environment (they may see every request)."""
        named = (set(policy.approvals.approvers) for policy in environment_policies().values())
        return self._approvers.union(*named)

    def needed_for(self, environment: Environment) -> bool:
        """Whether requests about ``environment`` wait for an approver: its policy says so (prod's),
        and the approvals channel and someone to approve are configured."""
        required = policy_for(environment).approvals.required
        return required and self._channel is not None and bool(self.approvers_of(environment))

    def ask(self, record: RequestRecord) -> None:
        """Post ``record`` to the approvals channel; QueueUnavailable when it cannot be posted."""
        if self._channel is None:  # pragma: no cover - only called when enabled
            raise QueueUnavailable("no approvals channel is configured")
        asked = Notice(
            Happening.APPROVAL_ASKED,
            to=Audience.channel(self._channel),
            request=record,
            offers=(Offer.APPROVE, Offer.DENY),
        )
        posted = self._notices.send(asked)
        if posted is None:
            raise QueueUnavailable(
                "The approvals channel could not be reached; nothing was recorded. Try again shortly."
            )
        self._store.set_approval_message(record.request_id, posted)

    def approve(self, request_id: str, approver: str) -> RequestRecord:
        """Approve, queue and update the message; a second click changes nothing.

        Raises ChangedMeanwhile when someone else decided (or the approval timed out) first.
        """
        seen = self.check_decider(request_id, approver)
        try:
            transition = self._store.transition(
                request_id, RequestStatus.ACCEPTED, seen=seen, decided_by=approver
            )
        except StatusConflict as stale:
            if stale.record.approved_by == approver:
                return stale.record  # their own second click
            raise decided(stale.record) from None
        if not transition.changed:
            return transition.record
        try:
            self._topic.publish(ProvisionMessage.of(transition.record, self._clock()))
        except QueueUnavailable:
            self._store.undo_approval(request_id, approver)
            raise
        logger.info("request approved", extra={"request_id": request_id, "by": approver})
        self._update_message(transition.record)
        notify_once(self._store, self._notifier, transition.record)
        return transition.record

    def deny(self, request_id: str, approver: str, reason: str) -> RequestRecord:
        """End the request ``rejected`` with ``reason``, free its name, tell the requester.

        Raises ChangedMeanwhile when it is no longer awaiting approval (someone approved it after
        the deny form opened, or it timed out): nothing changes.
        """
        seen = self.check_decider(request_id, approver)
        if not reason.strip():
            raise ValidationFailed([FieldError("reason", "say why, so the requester can act on it")])
        try:
            return self._end(seen, reason.strip(), decided_by=approver)
        except StatusConflict as stale:
            raise decided(stale.record) from None

    def expire(self, now: datetime | None = None, *, timeout: timedelta) -> list[RequestRecord]:
        """End every request that waited for an approver longer than ``timeout`` (and still waits)."""
        moment = now or self._clock()
        waiting = self._store.list_by_status(RequestStatus.AWAITING_APPROVAL, created_before=moment - timeout)
        return [self.time_out(record, timeout=timeout) for record in waiting]

    def time_out(self, seen: RequestRecord, *, timeout: timedelta) -> RequestRecord:
        """End ``seen``, read while it waited too long, unless an approver decided since (the
        decision stands): the request as it is now."""
        try:
            return self._end(seen, TIMED_OUT.format(hours=int(timeout.total_seconds() // 3600)))
        except StatusConflict as stale:
            logger.info("approval decided meanwhile", extra={"request_id": seen.request_id})
            return stale.record

    def _end(self, seen: RequestRecord, reason: str, *, decided_by: str | None = None) -> RequestRecord:
        """``rejected``, only from ``awaiting_approval`` as ``seen`` (StatusConflict otherwise)."""
        if seen.status is not RequestStatus.AWAITING_APPROVAL:
            raise StatusConflict(seen, RequestStatus.REJECTED)
        transition = self._store.transition(
            seen.request_id, RequestStatus.REJECTED, seen=seen, error=reason, decided_by=decided_by
        )
        if transition.changed:
            logger.info("request rejected", extra={"request_id": seen.request_id, "reason": reason})
            self._update_message(transition.record)
            notify_once(self._store, self._notifier, transition.record)
        return transition.record

    def check_decider(self, request_id: str, approver: str) -> RequestRecord:
        """The request, if ``approver`` may decide on it (NotAllowed, NotFound otherwise)."""
        record = self._current(request_id)
        if approver not in self.approvers_of(record.environment):
            raise NotAllowed(f"Only the {record.environment} approvers may approve or deny requests.")
        if approver == record.requested_by:
            raise NotAllowed("You asked for this; another approver has to decide on it.")
        return record

    def _current(self, request_id: str) -> RequestRecord:
        record = self._store.get(request_id)
        if record is None:
            raise NotFound(f"No request {request_id}")
        return record

    def _update_message(self, record: RequestRecord) -> None:
        if record.approval_message is not None:
            self._notices.replace(record.approval_message, Notice(Happening.APPROVAL_DECIDED, request=record))
