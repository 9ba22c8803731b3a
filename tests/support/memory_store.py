"""An in-memory stand-in for the request store's reads (``backend.services.ports.RecordReader``),
so a service test needs no DynamoDB: requests by id, databases by (environment, name). It holds
what the test put there and answers as the store's contract says, nothing more."""

from __future__ import annotations

from collections.abc import Iterable

from backend.domain import DatabaseRecord, RequestRecord


class MemoryRecords:
    def __init__(
        self, requests: Iterable[RequestRecord] = (), databases: Iterable[DatabaseRecord] = ()
    ) -> None:
        self.requests = {record.request_id: record for record in requests}
        self.databases = {(d.environment.value, d.database_name): d for d in databases}

    def get(self, request_id: str) -> RequestRecord | None:
        return self.requests.get(request_id)

    def get_many(self, request_ids: Iterable[str]) -> dict[str, RequestRecord]:
        return {i: self.requests[i] for i in set(request_ids) if i in self.requests}

    def get_database(self, environment: str, database_name: str) -> DatabaseRecord | None:
        return self.databases.get((environment, database_name))

    def list_databases(self, environment: str) -> list[DatabaseRecord]:
        """By name, as the store's ``databases`` index gives them."""
        return sorted(
            (d for (env, _name), d in self.databases.items() if env == environment),
            key=lambda d: d.database_name,
        )
