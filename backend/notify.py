"""How the worker tells a requester what happened to their request."""

from __future__ import annotations

from typing import Protocol

from aws_lambda_powertools import Logger

from backend.domain.models import RequestRecord

logger = Logger(child=True)


class Notifier(Protocol):
    def pr_opened(self, record: RequestRecord) -> None:
        """The PR for ``record`` is open (``record.pr_url``)."""
        ...

    def request_failed(self, record: RequestRecord) -> None:
        """``record`` ended ``failed`` or ``rejected``; ``record.error`` says why."""
        ...


class LoggingNotifier:
    """Used when no Slack bot token is configured (API-only installations)."""

    def pr_opened(self, record: RequestRecord) -> None:
        logger.info("pull request opened", extra={"request_id": record.request_id, "pr_url": record.pr_url})

    def request_failed(self, record: RequestRecord) -> None:
        logger.warning(
            "request did not succeed",
            extra={"request_id": record.request_id, "status": record.status, "error": record.error},
        )
