"""How the worker and the lifecycle tell a requester what happened to their request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from aws_lambda_powertools import Logger

from backend.domain.models import RequestRecord, RequestStatus

logger = Logger(child=True)


class Notifier(Protocol):
    def pr_opened(self, record: RequestRecord) -> None:
        """The PR for ``record`` is open (``record.pr_url``)."""
        ...

    def request_failed(self, record: RequestRecord) -> None:
        """``record`` ended ``failed`` or ``rejected``; ``record.error`` says why."""
        ...

    def pr_merged(self, record: RequestRecord) -> None:
        """The PR for ``record`` was merged; CircleCI applies it next."""
        ...

    def database_applied(self, record: RequestRecord) -> None:
        """CircleCI applied ``record``'s Terraform: the database exists."""
        ...


class NotificationClaims(Protocol):
    """The part of the request store that makes a notification happen once (``RequestStore``)."""

    def claim_notification(self, request_id: str, status: RequestStatus) -> bool: ...

    def release_notification(self, request_id: str, status: RequestStatus) -> None: ...


def _sender(notifier: Notifier, status: RequestStatus) -> Callable[[RequestRecord], None] | None:
    if status is RequestStatus.PR_OPENED:
        return notifier.pr_opened
    if status is RequestStatus.MERGED:
        return notifier.pr_merged
    if status is RequestStatus.APPLIED:
        return notifier.database_applied
    if status in {RequestStatus.FAILED, RequestStatus.REJECTED}:
        return notifier.request_failed
    return None  # accepted: the frontend that took the request already answered


def notify_once(claims: NotificationClaims, notifier: Notifier, record: RequestRecord) -> bool:
    """Tell the requester about ``record``'s status unless someone already did; True if this call did.

    Whoever records a status (worker, webhook, CI) calls this, so redeliveries and races between
    them still send one message per status. A notifier failure gives the claim back (so a retry
    notifies) and propagates.
    """
    send = _sender(notifier, record.status)
    if send is None or not claims.claim_notification(record.request_id, record.status):
        return False
    try:
        send(record)
    except Exception:
        claims.release_notification(record.request_id, record.status)
        raise
    return True


class LoggingNotifier:
    """Used when no Slack bot token is configured (API-only installations)."""

    def pr_opened(self, record: RequestRecord) -> None:
        logger.info("pull request opened", extra={"request_id": record.request_id, "pr_url": record.pr_url})

    def request_failed(self, record: RequestRecord) -> None:
        logger.warning(
            "request did not succeed",
            extra={"request_id": record.request_id, "status": record.status, "error": record.error},
        )

    def pr_merged(self, record: RequestRecord) -> None:
        logger.info("pull request merged", extra={"request_id": record.request_id, "pr_url": record.pr_url})

    def database_applied(self, record: RequestRecord) -> None:
        logger.info(
            "database applied",
            extra={
                "request_id": record.request_id,
                "environment": record.environment,
                "database_name": record.database_name,
            },
        )
