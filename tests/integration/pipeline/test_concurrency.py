"""Concurrent duplicate submissions: exactly one is accepted.

Threads race through IntakeService (the one entry of every frontend) with their own boto3
clients, as separate Lambda instances would; AWS is a moto server that handles one request at a
time (SerialMotoServer), as DynamoDB applies each transaction atomically.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from backend.container import Container, set_container
from backend.domain import AlreadyRequested, Source
from backend.services.intake import IntakeService
from local.resources import AwsResources, ensure_resources
from tests.support.aws import REGION, Pipeline, RecordingNotifier, SerialMotoServer, make_container

ORDERS = {"database_name": "orders", "database_engine": "postgres", "environment": "dev"}
THREADS = 8
T = TypeVar("T")


@pytest.fixture
def served_pipeline(moto_server: SerialMotoServer) -> Iterator[Pipeline]:
    resources: AwsResources = ensure_resources(region=REGION, endpoint_url=moto_server.endpoint_url)
    notifier = RecordingNotifier()
    container = make_container(resources, aws_endpoint_url=moto_server.endpoint_url, notifier=notifier)
    set_container(container)
    try:
        yield Pipeline(resources, container, notifier)
    finally:
        set_container(None)


def race(count: int, attempt: Callable[[int], T]) -> list[T]:
    """Run ``attempt(0..count-1)`` on ``count`` threads released at the same moment."""
    start = threading.Barrier(count)
    results: dict[int, T] = {}

    def run(index: int) -> None:
        start.wait()
        results[index] = attempt(index)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == count
    return [results[n] for n in range(count)]


def own_intake(pipeline: Pipeline) -> IntakeService:
    """An IntakeService with its own clients, like another Lambda instance."""
    return Container(pipeline.container.settings).intake


def test_concurrent_requests_for_one_database_accept_exactly_one(served_pipeline: Pipeline):
    intakes = [own_intake(served_pipeline) for _ in range(THREADS)]
    engines = ["postgres", "mysql"] * (THREADS // 2)

    def submit(n: int) -> str:
        try:
            return (
                "accepted:"
                + intakes[n]
                .submit({**ORDERS, "database_engine": engines[n]}, requested_by=f"U{n}", source=Source.SLACK)
                .request_id
            )
        except AlreadyRequested as refused:
            return f"refused:{refused.existing_request_id}"

    outcomes = race(THREADS, submit)

    assert Counter(o.split(":")[0] for o in outcomes) == {"accepted": 1, "refused": THREADS - 1}
    (winner,) = [o.split(":")[1] for o in outcomes if o.startswith("accepted")]
    assert {o.split(":")[1] for o in outcomes if o.startswith("refused")} == {winner}
    (queued,) = served_pipeline.receive()
    assert winner in queued.body
    assert [r.request_id for r in served_pipeline.container.store.list_recent()] == [winner]


def test_concurrent_retries_with_one_idempotency_key_yield_one_request(served_pipeline: Pipeline):
    intakes = [own_intake(served_pipeline) for _ in range(THREADS)]

    submissions = race(
        THREADS,
        lambda n: intakes[n].submit(
            ORDERS, requested_by="k1", source=Source.API, idempotency_key="deploy-1234"
        ),
    )

    assert len({s.request_id for s in submissions}) == 1
    assert sum(not s.replayed for s in submissions) == 1
    assert len(served_pipeline.receive()) == 1
