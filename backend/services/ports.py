"""What the services need from the request store, as Protocols: each service names the narrowest
one it uses, so a service test can hand it an in-memory stand-in instead of DynamoDB.

``backend.adapters.store.RequestStore`` is the one implementation in production; it satisfies
``Store`` (and so every Protocol here).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Protocol

from backend.domain import DatabaseRecord, RequestRecord, RequestStatus, Step
from backend.domain.conversation import Conversation
from backend.domain.idempotency import IdempotencyEntry
from backend.domain.transitions import Transition
from backend.services.notifications import NotificationClaims


class RequestReader(Protocol):
    """Reading requests."""

    def get(self, request_id: str) -> RequestRecord | None: ...

    def get_many(self, request_ids: Iterable[str]) -> dict[str, RequestRecord]: ...


class DatabaseReader(Protocol):
    """Reading databases (a database's record is also the claim on its name)."""

    def get_database(self, environment: str, database_name: str) -> DatabaseRecord | None: ...

    def list_databases(self, environment: str) -> list[DatabaseRecord]: ...


class RecordReader(RequestReader, DatabaseReader, Protocol):
    """Reading requests and databases."""


class Requests(RequestReader, NotificationClaims, Protocol):
    """Reading and changing requests. A status change is conditional on what the caller saw
    (``StatusConflict`` when stale) and takes its effect on the database with it."""

    def list_by_status(self, status: RequestStatus, *, created_before: datetime) -> list[RequestRecord]: ...

    def transition(
        self,
        request_id: str,
        status: RequestStatus,
        *,
        seen: RequestRecord | None = None,
        pr_url: str | None = None,
        pr_number: int | None = None,
        branch: str | None = None,
        file_path: str | None = None,
        error: str | None = None,
        decided_by: str | None = None,
    ) -> Transition: ...

    def advance_step(self, seen: RequestRecord, *, to: Step) -> Transition: ...

    def fail_and_undo(self, seen: RequestRecord, error: str, undo: RequestRecord) -> Transition: ...

    def note_failed_attempt(self, request_id: str, reason: str) -> None: ...

    def set_approval_message(self, request_id: str, message: Conversation) -> None: ...

    def undo_approval(self, request_id: str, approved_by: str) -> bool: ...

    def set_conversation(self, request_id: str, conversation: Conversation) -> None: ...


class Databases(DatabaseReader, Protocol):
    """Reading databases and changing their expiry."""

    def list_expiring(self, environment: str, *, on_or_before: date) -> list[DatabaseRecord]: ...

    def claim_reminder(self, database: DatabaseRecord) -> bool: ...

    def release_reminder(self, database: DatabaseRecord) -> None: ...

    def record_expiry_request(self, database: DatabaseRecord, request_id: str) -> bool: ...

    def extend_expiry(self, database: DatabaseRecord, expires_on: date) -> DatabaseRecord: ...


class Acceptance(Protocol):
    """Accepting a request: its record, its hold on the database and its Idempotency-Key, at once."""

    def accept(self, record: RequestRecord, *, idempotency: IdempotencyEntry | None = None) -> None: ...

    def undo_accept(self, record: RequestRecord, *, idempotency_key: str | None = None) -> None: ...

    def get_idempotency(self, key: str) -> IdempotencyEntry | None: ...

    def set_idempotency_message_id(self, key: str, request_id: str, sns_message_id: str) -> None: ...


class Store(Requests, Databases, Acceptance, Protocol):
    """All of the request store the services use."""
