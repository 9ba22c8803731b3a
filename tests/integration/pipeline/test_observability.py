"""Structured logs carry the request id as correlation id; metrics flush as EMF to stdout."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from backend.handlers import api, worker
from tests.support.aws import Pipeline

ORDERS = {"database_name": "orders", "database_engine": "postgres", "environment": "dev"}


@pytest.fixture
def worker_logs() -> Iterator[io.StringIO]:
    """What the worker's Powertools logger writes (its handler's stream, swapped for a buffer)."""
    handler = worker.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def emf_documents(text: str) -> list[dict[str, Any]]:
    documents = []
    for line in text.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def test_accepting_a_request_flushes_an_emf_metric(pipeline: Pipeline, capsys: pytest.CaptureFixture[str]):
    assert pipeline.post(ORDERS).status == 202

    (document,) = emf_documents(capsys.readouterr().out)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "RdsProvisioner"
    assert {"Name": "RequestsAccepted", "Unit": "Count"} in directive["Metrics"]
    assert document["RequestsAccepted"] == [1.0]
    assert api.metrics.metric_set == {}  # flushed, nothing carried into the next invocation


def test_worker_logs_and_metrics_carry_the_request(pipeline: Pipeline, worker_logs, capsys):
    request_id = pipeline.post(ORDERS).json["request_id"]
    capsys.readouterr()

    pipeline.run_worker()

    lines = [json.loads(line) for line in worker_logs.getvalue().splitlines() if line.startswith("{")]
    opened = [line for line in lines if line.get("message") == "pull request opened"]
    assert len(opened) == 1
    assert opened[0]["correlation_id"] == request_id
    assert opened[0]["request_id"] == request_id
    (document,) = emf_documents(capsys.readouterr().out)
    assert document["PullRequestsOpened"] == [1.0]
