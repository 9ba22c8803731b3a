"""InventoryService over an in-memory stand-in of the store (no DynamoDB): which databases it
lists, and which request it names as each one's newest."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.domain import Action, DatabaseRecord, Environment, RequestRecord, RequestStatus, Source
from backend.services.inventory import InventoryService
from tests.support.memory_store import MemoryRecords

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def request(
    request_id: str,
    name: str,
    status: RequestStatus,
    *,
    action: Action = Action.CREATE,
    by: str = "U1",
    env: str = "dev",
) -> RequestRecord:
    return RequestRecord(
        request_id=request_id,
        status=status,
        action=action,
        database_name=name,
        database_engine="postgres",
        environment=env,
        requested_by=by,
        source=Source.SLACK,
        created_at=T0,
        updated_at=T0,
    )


def database_of(create: RequestRecord, **changes: str) -> DatabaseRecord:
    return DatabaseRecord.created_by(create).model_copy(update=changes)


def test_lists_databases_from_their_pull_request_on_with_their_newest_request() -> None:
    orders = request("r-orders", "orders", RequestStatus.APPLIED)
    resize = request("r-resize", "orders", RequestStatus.PR_OPENED, action=Action.RESIZE)
    carts = request("r-carts", "carts", RequestStatus.PR_OPENED, by="U2")
    waiting = request("r-users", "users", RequestStatus.ACCEPTED)
    prod = request("r-ledger", "ledger", RequestStatus.MERGED, env="prod")
    store = MemoryRecords(
        requests=[orders, resize, carts, waiting, prod],
        databases=[
            database_of(orders, change_request_id="r-resize"),
            database_of(carts),
            database_of(waiting),
            database_of(prod),
        ],
    )
    inventory = InventoryService(store)

    entries = inventory.databases(Environment("dev"))

    # ``users`` is only accepted: no pull request yet, so not listed.
    assert [(e.database.database_name, e.create, e.last_request) for e in entries] == [
        ("carts", carts, carts),
        ("orders", orders, resize),
    ]
    assert [e.database.database_name for e in inventory.databases()] == ["carts", "orders", "ledger"]
    assert [e.database.database_name for e in inventory.databases(requested_by="U2")] == ["carts"]


def test_a_database_outlives_its_requests_records() -> None:
    create = request("r-gone", "orders", RequestStatus.APPLIED)
    # DynamoDB's TTL removed the create's record; the database's own record remains.
    store = MemoryRecords(databases=[database_of(create, last_request_id="r-old-resize")])

    entry = InventoryService(store).database(Environment("dev"), "orders")

    assert entry is not None
    assert (entry.create, entry.last_request) == (None, None)
    assert entry.database.request_id == "r-gone"
    assert InventoryService(store).database(Environment("dev"), "carts") is None
