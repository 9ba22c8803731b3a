"""RequestStore on DynamoDB (moto): items, transactions, lifecycle, TTL and queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from backend.adapters.store import IdempotencyEntry, IdempotencyKeyInUse, RequestStore, StatusConflict
from backend.domain import AlreadyRequested, NotFound, RequestRecord, RequestStatus, Source
from backend.domain.conversation import Conversation, ConversationKind
from local.resources import AwsResources
from tests.support.aws import REGION

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def table(aws_resources: AwsResources):
    return boto3.resource("dynamodb", region_name=REGION).Table(aws_resources.table_name)


@pytest.fixture
def store(table, clock) -> RequestStore:
    return RequestStore(table, retention_days=30, clock=clock)


def record(
    request_id: str = "r1", *, name: str = "orders", env: str = "dev", by: str = "U1", at: datetime = T0
):
    return RequestRecord(
        request_id=request_id,
        status=RequestStatus.ACCEPTED,
        database_name=name,
        database_engine="postgres",
        environment=env,
        requested_by=by,
        source=Source.SLACK,
        created_at=at,
        updated_at=at,
    )


def raw(table, pk: str):
    return table.get_item(Key={"pk": pk}).get("Item")


def test_accept_writes_the_request_and_the_claim(store, table):
    store.accept(record())

    assert raw(table, "REQ#r1")["status"] == "accepted"
    assert raw(table, "DB#dev#orders")["db_request_id"] == "r1"
    assert "expires_at" not in raw(table, "REQ#r1")
    assert store.get("r1") == record()
    assert store.get("nope") is None


def test_accept_is_all_or_nothing(store, table):
    store.accept(record("r1"))

    with pytest.raises(AlreadyRequested) as caught:
        store.accept(record("r2"))

    assert caught.value.existing_request_id == "r1"
    assert raw(table, "REQ#r2") is None


def test_an_idempotency_key_is_taken_once(store, table):
    store.accept(record("r1"), idempotency=IdempotencyEntry("k", "r1", "hash-1"))

    with pytest.raises(IdempotencyKeyInUse):
        store.accept(record("r2", name="billing"), idempotency=IdempotencyEntry("k", "r2", "hash-2"))

    assert raw(table, "REQ#r2") is None
    assert raw(table, "DB#dev#billing") is None
    assert store.get_idempotency("k") == IdempotencyEntry("k", "r1", "hash-1")
    store.set_idempotency_message_id("k", "r1", "m-1")
    assert store.get_idempotency("k").sns_message_id == "m-1"


def test_an_expired_idempotency_key_is_free_again(store, clock):
    store.accept(record("r1"), idempotency=IdempotencyEntry("k", "r1", "hash-1"))
    clock.now = T0 + timedelta(hours=25)

    assert store.get_idempotency("k") is None
    store.accept(record("r2", name="billing"), idempotency=IdempotencyEntry("k", "r2", "hash-2"))
    assert store.get_idempotency("k").request_id == "r2"


def test_undo_accept_removes_everything_it_wrote(store, table):
    store.accept(record("r1"), idempotency=IdempotencyEntry("k", "r1", "h"))

    store.undo_accept(record("r1"), idempotency_key="k")

    assert table.scan()["Items"] == []


def test_transition_records_details_and_updated_at(store, clock):
    store.accept(record())
    clock.now = T0 + timedelta(minutes=1)

    transition = store.transition(
        "r1", RequestStatus.PR_OPENED, pr_url="https://x/pull/7", pr_number=7, branch="rds/dev/orders"
    )

    assert transition.changed
    assert transition.record.status is RequestStatus.PR_OPENED
    assert (transition.record.pr_url, transition.record.pr_number) == ("https://x/pull/7", 7)
    assert transition.record.updated_at == clock.now
    assert transition.record.created_at == T0


def test_re_recording_the_same_status_is_a_no_op(store, clock):
    store.accept(record())
    store.transition("r1", RequestStatus.PR_OPENED, pr_url="https://x/pull/7", pr_number=7)
    clock.now = T0 + timedelta(minutes=5)

    again = store.transition("r1", RequestStatus.PR_OPENED, pr_url="https://x/pull/8", pr_number=8)

    assert not again.changed
    assert again.record.pr_url == "https://x/pull/7"
    assert again.record.updated_at == T0


def test_the_lifecycle_is_enforced(store):
    store.accept(record())
    store.transition("r1", RequestStatus.FAILED, error="boom")

    with pytest.raises(StatusConflict):
        store.transition("r1", RequestStatus.PR_OPENED, pr_url="https://x/pull/1")
    with pytest.raises(StatusConflict):
        store.transition("r1", RequestStatus.APPLIED)
    with pytest.raises(NotFound):
        store.transition("ghost", RequestStatus.PR_OPENED)


def test_ttl_only_once_final_and_failed_releases_the_claim(store, table, clock):
    store.accept(record())
    store.transition("r1", RequestStatus.PR_OPENED, pr_url="u")
    assert "expires_at" not in raw(table, "REQ#r1")

    clock.now = T0 + timedelta(hours=1)
    store.transition("r1", RequestStatus.FAILED, error="closed without merge")

    item = raw(table, "REQ#r1")
    assert int(item["expires_at"]) == int((clock.now + timedelta(days=30)).timestamp())
    assert raw(table, "DB#dev#orders") is None
    assert store.get_database("dev", "orders") is None


def test_applied_keeps_the_claim_for_good(store, table):
    store.accept(record())
    for status in (RequestStatus.PR_OPENED, RequestStatus.MERGED, RequestStatus.APPLIED):
        store.transition("r1", status)

    assert "expires_at" in raw(table, "REQ#r1")
    database = store.get_database("dev", "orders")
    assert database is not None
    assert database.request_id == "r1"


def test_releasing_never_frees_another_requests_claim(store, table):
    store.accept(record("r1"))
    store.transition("r1", RequestStatus.REJECTED, error="exists")
    store.accept(record("r2"))

    # A late redelivery for r1 re-records its final status: a no-op that leaves r2's claim alone.
    assert not store.transition("r1", RequestStatus.REJECTED, error="exists").changed
    assert raw(table, "DB#dev#orders")["db_request_id"] == "r2"


def test_list_by_requester_is_newest_first_and_only_theirs(store):
    for n in range(4):
        store.accept(record(f"a{n}", name=f"db{n}", by="alice", at=T0 + timedelta(minutes=n)))
    store.accept(record("b0", name="other", by="bob"))

    assert [r.request_id for r in store.list_by_requester("alice", limit=3)] == ["a3", "a2", "a1"]
    assert [r.request_id for r in store.list_by_requester("bob")] == ["b0"]
    assert store.list_by_requester("carol") == []


def test_list_recent_holds_only_requests_newest_first(store):
    store.accept(record("old", name="a", at=T0), idempotency=IdempotencyEntry("k", "old", "h"))
    store.accept(record("new", name="b", at=T0 + timedelta(seconds=1)))

    assert [r.request_id for r in store.list_recent()] == ["new", "old"]
    assert [r.request_id for r in store.list_recent(limit=1)] == ["new"]


def test_set_conversation(store, table):
    store.accept(record())

    begun = Conversation(channel="D123", thread_ts="1700000000.000100", user_id="U1")
    store.set_conversation("r1", begun)

    stored = store.get("r1")
    assert stored is not None
    assert stored.conversation == begun
    assert raw(table, "REQ#r1")["conversation"] == {
        "channel": "D123",
        "thread_ts": "1700000000.000100",
        "user_id": "U1",
        "kind": "direct",
    }
    with pytest.raises(NotFound):
        store.set_conversation("ghost", begun)


def test_records_written_with_slack_attributes_still_read(store, table):
    # An item as the store wrote it before conversations were a value of their own.
    store.accept(record())
    table.update_item(
        Key={"pk": "REQ#r1"},
        UpdateExpression=(
            "SET slack_channel = :c, slack_thread_ts = :t, approval_channel = :a, approval_ts = :s"
        ),
        ExpressionAttributeValues={":c": "D123", ":t": "1700000000.000100", ":a": "C0APPROVALS", ":s": "1.5"},
    )

    stored = store.get("r1")

    assert stored is not None
    assert stored.conversation == Conversation(channel="D123", thread_ts="1700000000.000100")
    assert stored.approval_message == Conversation(
        channel="C0APPROVALS", thread_ts="1.5", kind=ConversationKind.CHANNEL
    )
    # Written again, it takes the new shape: the old attributes go.
    store.set_conversation("r1", Conversation(channel="D123", thread_ts="1700000000.000200"))
    store.set_approval_message("r1", Conversation(channel="C0APPROVALS", thread_ts="1.6"))
    item = raw(table, "REQ#r1")
    assert not {"slack_channel", "slack_thread_ts", "approval_channel", "approval_ts"} & set(item)
    again = store.get("r1")
    assert again is not None
    assert again.conversation is not None
    assert again.conversation.thread_ts == "1700000000.000200"
    assert again.approval_message is not None
    assert again.approval_message.thread_ts == "1.6"


def test_a_notification_is_claimed_once_per_status(store):
    store.accept(record())

    assert store.claim_notification("r1", RequestStatus.PR_OPENED)
    assert not store.claim_notification("r1", RequestStatus.PR_OPENED)
    store.release_notification("r1", RequestStatus.PR_OPENED)
    assert store.claim_notification("r1", RequestStatus.PR_OPENED)
    assert store.claim_notification("r1", RequestStatus.FAILED)
    assert not store.claim_notification("ghost", RequestStatus.FAILED)
