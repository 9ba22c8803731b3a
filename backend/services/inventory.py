"""What databases there are: one entry per database whose create reached its pull request, until
it is decommissioned, with the newest request about it."""

from __future__ import annotations

from dataclasses import dataclass

from backend.domain import DatabaseRecord, Environment, RequestRecord, environment_policies
from backend.services.ports import RecordReader


@dataclass(frozen=True)
class InventoryEntry:
    database: DatabaseRecord
    # None once DynamoDB's TTL removed it (REQUEST_RETENTION_DAYS after it was applied): the
    # database outlives its requests' records, and its own record holds all it needs.
    create: RequestRecord | None
    # The newest request about it still kept: its change in flight, its last change, or its create.
    last_request: RequestRecord | None


class InventoryService:
    def __init__(self, store: RecordReader) -> None:
        self._store = store

    def databases(
        self, environment: Environment | None = None, *, requested_by: str | None = None
    ) -> list[InventoryEntry]:
        """The databases (of ``environment``, of ``requested_by``'s requests), by environment and name."""
        environments = [environment] if environment is not None else list(environment_policies())
        databases = [
            database
            for env in environments
            for database in self._store.list_databases(env.value)
            if requested_by is None or database.requested_by == requested_by
        ]
        wanted = {d.request_id for d in databases} | {_last_id(d) for d in databases}
        requests = self._store.get_many(wanted)
        entries = []
        for database in databases:
            create = requests.get(database.request_id)
            # A create whose record is gone was applied: a failed or rejected one takes the
            # database's record with it, and one still in flight has no expiry yet.
            # A database shows from the moment its pull request is open (a reviewer can see it coming).
            if create is not None and create.status.spec.pull_request is None:
                continue
            entries.append(InventoryEntry(database, create, requests.get(_last_id(database), create)))
        return entries

    def database(self, environment: Environment, database_name: str) -> InventoryEntry | None:
        found = [e for e in self.databases(environment) if e.database.database_name == database_name]
        return found[0] if found else None


def _last_id(database: DatabaseRecord) -> str:
    return database.change_request_id or database.last_request_id or database.request_id
