"""Concurrent duplicate submissions: exactly one is accepted.

The threads race through the real API handler and intake; AWS is a moto server that handles one
request at a time (SerialMotoServer), as DynamoDB applies each transaction atomically.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from backend.container import set_container
from backend.local.resources import AwsResources, ensure_resources
from tests.support.aws import REGION, ApiAnswer, Pipeline, RecordingNotifier, SerialMotoServer, make_container

ORDERS = {"database_name": "orders", "database_engine": "postgres", "environment": "dev"}
THREADS = 8


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


def race(pipeline: Pipeline, bodies: list[dict[str, str]], **kwargs: str) -> list[ApiAnswer]:
    start = threading.Barrier(len(bodies))
    answers: list[ApiAnswer | None] = [None] * len(bodies)

    def submit(index: int) -> None:
        start.wait()
        answers[index] = pipeline.post(bodies[index], **kwargs)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers)
    return [a for a in answers if a is not None]


def test_concurrent_requests_for_one_database_accept_exactly_one(served_pipeline: Pipeline):
    engines = ["postgres", "mysql"] * (THREADS // 2)
    answers = race(served_pipeline, [{**ORDERS, "database_engine": e} for e in engines])

    statuses = Counter(a.status for a in answers)
    assert statuses == {202: 1, 409: THREADS - 1}
    (winner,) = [a.json["request_id"] for a in answers if a.status == 202]
    assert {a.json["existing_request_id"] for a in answers if a.status == 409} == {winner}
    (queued,) = served_pipeline.receive()
    assert winner in queued.body
    assert [r.request_id for r in served_pipeline.container.store.list_recent()] == [winner]


def test_concurrent_retries_with_one_idempotency_key_yield_one_request(served_pipeline: Pipeline):
    answers = race(served_pipeline, [ORDERS] * THREADS, idempotency_key="deploy-1234")

    assert {a.status for a in answers} == {202}
    assert len({a.json["request_id"] for a in answers}) == 1
    assert len(served_pipeline.receive()) == 1
