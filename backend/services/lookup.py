"""Requests as one Slack user may see them (``/provision-rds status <id>``)."""

from __future__ import annotations

from collections.abc import Collection

from backend.domain import RequestRecord, may_see
from backend.services.ports import RequestReader


class RequestLookup:
    def __init__(
        self,
        store: RequestReader,
        *,
        platform_admins: Collection[str] = (),
        approvers: Collection[str] = (),
    ) -> None:
        self._store = store
        self._platform_admins = frozenset(platform_admins)
        self._approvers = frozenset(approvers)

    def visible_to(self, request_id: str, user_id: str) -> RequestRecord | None:
        """The request if ``user_id`` may see it; None when it does not exist *or* is someone else's.

        The two answers are the same on purpose: someone else's request id tells a stranger
        nothing, not even that it exists.
        """
        record = self._store.get(request_id)
        if record is None:
            return None
        allowed = may_see(record, user_id, platform_admins=self._platform_admins, approvers=self._approvers)
        return record if allowed else None
