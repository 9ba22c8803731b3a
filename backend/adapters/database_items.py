"""Databases in the requests table: ``DB#<environment>#<database_name>`` holds the
``DatabaseRecord`` (attributes named ``db_*``, so it stays out of the requests' index), which is
also the claim on its name and, in ``db_change_request_id``, the lock of the one change in flight.

The sparse ``databases`` index (partition ``db_environment``) lists them per environment; the
sparse ``expiring`` index (``db_environment``, ``db_expires_on``) holds the ones that expire, by
date, for the sweeper. What a request's status does to its database is the domain's table
(``DATABASE_EFFECTS``); ``effect`` turns those effects into the one write they take.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import date
from typing import Any

from backend.adapters.dynamodb import Table, plain, timestamp
from backend.domain import Action, DatabaseEffect, DatabaseRecord, RequestRecord

DATABASES_INDEX = "databases"
# Dev databases by expiry date: sparse (only databases that expire carry ``db_expires_on``), so a
# sweep reads the ones due soon with one query, however many databases there are.
EXPIRY_INDEX = "expiring"
_DB = "db_"
_LOCK = f"{_DB}change_request_id"


def database_key(environment: str, database_name: str) -> str:
    return f"DB#{environment}#{database_name}"


def _key_of(record: RequestRecord | DatabaseRecord) -> str:
    return database_key(record.environment.value, record.database_name)


def database_item(database: DatabaseRecord) -> dict[str, Any]:
    data = database.model_dump(mode="json", exclude_none=True)
    data["created_at"] = timestamp(database.created_at)
    item = {f"{_DB}{name}": value for name, value in data.items()}
    item["pk"] = _key_of(database)
    return item


def to_database(item: Mapping[str, Any]) -> DatabaseRecord:
    return DatabaseRecord.model_validate(
        {name.removeprefix(_DB): plain(value) for name, value in item.items() if name.startswith(_DB)}
    )


class DatabaseItems:
    def __init__(self, table: Table) -> None:
        self._table = table

    # --- reading -----------------------------------------------------------------------------
    def get(self, environment: str, database_name: str) -> DatabaseRecord | None:
        item = self._table.get_item(database_key(environment, database_name))
        return None if item is None else to_database(item)

    def in_environment(self, environment: str) -> list[DatabaseRecord]:
        """The databases of ``environment`` (requested, being created, or existing), by name."""
        kwargs: dict[str, Any] = {
            "IndexName": DATABASES_INDEX,
            "KeyConditionExpression": "#env = :env",
            "ExpressionAttributeNames": {"#env": f"{_DB}environment"},
            "ExpressionAttributeValues": {":env": environment},
        }
        return self._table.query_all(kwargs, to_database)

    def list_expiring(self, environment: str, *, on_or_before: date) -> list[DatabaseRecord]:
        """The databases of ``environment`` that expire on or before ``on_or_before``, soonest first."""
        kwargs: dict[str, Any] = {
            "IndexName": EXPIRY_INDEX,
            "KeyConditionExpression": "#env = :env AND #expires <= :day",
            "ExpressionAttributeNames": {"#env": f"{_DB}environment", "#expires": f"{_DB}expires_on"},
            "ExpressionAttributeValues": {":env": environment, ":day": on_or_before.isoformat()},
        }
        return self._table.query_all(kwargs, to_database)

    # --- expiry --------------------------------------------------------------------------------
    def claim_reminder(self, database: DatabaseRecord) -> bool:
        """True for exactly one caller per (database, expiry): that caller sends the reminder."""
        return self._table.conditional_update(
            **_expiry_write(
                database, "SET #reminded = :day", "attribute_not_exists(#reminded) OR #reminded <> :day"
            ),
        )

    def release_reminder(self, database: DatabaseRecord) -> None:
        """Undo ``claim_reminder`` after the reminder could not be sent, so the next sweep tries again."""
        self._table.conditional_update(**_expiry_write(database, "REMOVE #reminded", "#reminded = :day"))

    def record_expiry_request(self, database: DatabaseRecord, request_id: str) -> bool:
        """Remember the decommission its expiry asked for, so no sweep asks twice for that expiry."""
        write = _expiry_write(database, "SET #asked = :id", "attribute_not_exists(#asked)")
        write["ExpressionAttributeValues"][":id"] = request_id
        return self._table.conditional_update(**write)

    # --- transaction items -------------------------------------------------------------------
    def claim(self, database: DatabaseRecord) -> dict[str, Any]:
        """Put ``database``'s record, the claim on its name, unless the name is taken."""
        return self._table.put(database_item(database), condition="attribute_not_exists(pk)")

    def release_claim(self, create: RequestRecord) -> dict[str, Any]:
        """Remove the claim ``create`` put (if it is still its own)."""
        return self._table.delete(
            _key_of(create),
            condition=f"attribute_not_exists(pk) OR {_DB}request_id = :id",
            values={":id": create.request_id},
        )

    def lock(self, change: RequestRecord) -> dict[str, Any]:
        """Take the database's change lock for ``change``: one change at a time."""
        return self._table.update(
            _key_of(change),
            "SET #lock = :id",
            condition="attribute_exists(pk) AND attribute_not_exists(#lock)",
            names={"#lock": _LOCK},
            values={":id": change.request_id},
        )

    def unlock(self, change: RequestRecord) -> dict[str, Any]:
        """Give back the change lock ``change`` holds."""
        return self._table.update(
            _key_of(change),
            "REMOVE #lock",
            condition="attribute_exists(pk) AND #lock = :id",
            names={"#lock": _LOCK},
            values={":id": change.request_id},
        )

    def record_protection(self, change: RequestRecord) -> dict[str, Any]:
        """Record the deletion protection ``change``'s applied step left (it keeps the lock)."""
        return self._table.update(
            _key_of(change),
            "SET #protection = :protection",
            condition="attribute_exists(pk) AND #lock = :id",
            names={"#protection": f"{_DB}deletion_protection", "#lock": _LOCK},
            values={":protection": change.protection_once_applied, ":id": change.request_id},
        )

    def hand_over(self, change: RequestRecord, to: RequestRecord) -> dict[str, Any]:
        """Hand the change lock ``change`` holds to ``to`` (its undo)."""
        return self._table.update(
            _key_of(change),
            "SET #lock = :undo, #last = :undo",
            condition="attribute_exists(pk) AND #lock = :id",
            names={"#lock": _LOCK, "#last": f"{_DB}last_request_id"},
            values={":undo": to.request_id, ":id": change.request_id},
        )

    def effect(self, record: RequestRecord, effects: tuple[DatabaseEffect, ...]) -> dict[str, Any]:
        """The one write to the database record that ``effects`` of ``record``'s status take."""
        pk = _key_of(record)
        holder = f"{_DB}request_id" if record.action is Action.CREATE else _LOCK
        mine = {":id": record.request_id}
        if DatabaseEffect.FREE_NAME in effects:
            return self._table.delete(
                pk, condition=f"attribute_not_exists(pk) OR {holder} = :id", values=mine
            )
        assignments = ["#last = :id"]
        values: dict[str, Any] = dict(mine)
        names = {"#last": f"{_DB}last_request_id", "#lock": _LOCK}
        if DatabaseEffect.RECORD_PROTECTION in effects:
            assignments.append("#protection = :protection")
            names["#protection"] = f"{_DB}deletion_protection"
            values[":protection"] = record.protection_once_applied
        if DatabaseEffect.RECORD_SIZING in effects and record.sizing is not None:
            # The fields of the database's kind (storage or capacity); the others stay absent.
            for number, (field, value) in enumerate(asdict(record.sizing).items()):
                if value is not None:
                    assignments.append(f"#size{number} = :size{number}")
                    names[f"#size{number}"] = f"{_DB}{field}"
                    values[f":size{number}"] = value
        return self._table.update(
            pk,
            "SET " + ", ".join(assignments) + " REMOVE #lock",
            condition="attribute_exists(pk) AND #lock = :id",
            names=names,
            values=values,
        )

    def extend(self, database: DatabaseRecord, expires_on: date) -> dict[str, Any]:
        """Move ``database``'s expiry (still the one it was read with) to ``expires_on``, forgetting
        the reminder and the decommission request of the old one."""
        write = _expiry_write(database, "SET #expires = :new REMOVE #reminded, #asked", "#expires = :day")
        write["ExpressionAttributeValues"][":new"] = expires_on.isoformat()
        return {"Update": {"TableName": self._table.name, **write}}


def _expiry_write(database: DatabaseRecord, expression: str, condition: str) -> dict[str, Any]:
    """An update of ``database``'s record that holds only while its expiry is the one it was read with."""
    if database.expires_on is None:
        raise ValueError(f"{database.database_name} does not expire")
    condition = f"#expires = :day AND ({condition})"
    names = {"#expires": "expires_on", "#reminded": "reminded_for", "#asked": "expiry_request_id"}
    return {
        "Key": {"pk": _key_of(database)},
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        # DynamoDB refuses names an expression does not use.
        "ExpressionAttributeNames": {
            alias: f"{_DB}{name}" for alias, name in names.items() if alias in expression + condition
        },
        "ExpressionAttributeValues": {":day": database.expires_on.isoformat()},
    }
