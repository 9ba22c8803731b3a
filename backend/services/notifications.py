"""Telling people what happened: the services emit ``Notice``s, a chat adapter delivers them.

Whoever records a status (the provisioner, the webhook, CI, the dead-letter function) calls
``notify_once``, so redeliveries and races between them still send one message per status. What
the requester hears at each status and step is one table, ``backend.domain.notices.STATUS_NOTICES``;
how it reads in the chat is the adapter's (``backend.adapters.slack_notices``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Protocol

from backend.domain import RequestRecord, RequestStatus
from backend.domain.conversation import Conversation
from backend.domain.notices import Happening, Notice, status_notice


class Notices(Protocol):
    """Where notices go: the chat that renders and delivers them (``SlackNotices``)."""

    def send(self, notice: Notice) -> Conversation | None:
        """Deliver ``notice`` to its audience; the conversation it is in, None when it went nowhere
        (nobody to tell, or the chat refused). Raises RetryableError when the chat is briefly down."""
        ...

    def replace(self, at: Conversation, notice: Notice) -> None:
        """Replace the message ``at`` hangs from with ``notice`` (an approval once decided)."""
        ...


class Notifier(Protocol):
    def notify(self, record: RequestRecord) -> None:
        """Tell ``record``'s requester about its current status (nothing for ``accepted``)."""
        ...


class RequesterNotifier:
    """``Notifier`` that sends each status's notice to the requester."""

    def __init__(
        self, notices: Notices, *, outputs: Callable[[str], Mapping[str, str]] | None = None
    ) -> None:
        self._notices = notices
        # An environment's terraform outputs, where known (the local CI applies Terraform itself).
        self._outputs = outputs

    def notify(self, record: RequestRecord) -> None:
        notice = status_notice(record)
        if notice is None:
            return
        if notice.happening is Happening.READY and self._outputs is not None:
            notice = replace(notice, outputs=self._outputs(record.environment.value))
        self._notices.send(notice)


class NotificationClaims(Protocol):
    """The part of the request store that makes a notification happen once (``RequestStore``)."""

    def claim_notification(self, request_id: str, status: RequestStatus) -> bool: ...

    def release_notification(self, request_id: str, status: RequestStatus) -> None: ...


def notify_once(claims: NotificationClaims, notifier: Notifier, record: RequestRecord) -> bool:
    """Tell the requester about ``record``'s status unless someone already did; True if this call did.

    A notifier failure gives the claim back (so a retry notifies) and propagates.
    """
    if status_notice(record) is None or not claims.claim_notification(record.request_id, record.status):
        return False
    try:
        notifier.notify(record)
    except Exception:
        claims.release_notification(record.request_id, record.status)
        raise
    return True
