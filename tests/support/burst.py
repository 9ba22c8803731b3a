"""A burst of requests through the whole pipeline against a GitHub that enforces a write budget.

``run_burst`` submits N requests at once through the API handler (intake -> SNS -> SQS, on a
moto server), then lets ``workers`` concurrent workers drain the queue: each is the local event
source mapping (``local.poller.QueuePoller``) feeding the real worker handler, whose
``GitHubPublisher`` talks to the stub GitHub (``tests.support.github_stub``) with its write
budget enforced (``limit_writes``). The workers pace their writes at ``writes_per_minute``
(``GITHUB_WRITES_PER_MINUTE``): set it to the stub's rate to see the pacing, above it to make
GitHub answer "wait".

Used by ``tests/integration/pipeline/test_burst.py`` and ``make bench`` (its burst section).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from backend.container import Container, set_container
from backend.domain import RequestStatus
from backend.domain.naming import request_id_of_pull_request
from local.poller import QueuePoller
from local.resources import AwsResources, ensure_resources
from tests.support.aws import REGION, RecordingNotifier, SerialMotoServer, call_api, make_container
from tests.support.github_stub import STUB_TOKEN, GitHubStub

# Writes a new request needs at least: create its branch, put its file, open its PR.
WRITES_PER_REQUEST = 3
# The SQS event source's batch size in the SAM template.
BATCH_SIZE = 5
# A worker with nothing to do looks again after this long (the moto server serves one request
# at a time, so its pollers cannot long-poll without stalling every other client).
IDLE_SECONDS = 0.1


@dataclass(frozen=True)
class BurstResult:
    requests: int
    statuses: dict[str, int]
    pull_requests: int
    # Pull requests beyond one per request, and requests with none.
    duplicates: int
    without_pull_request: int
    secondary_limit_answers: int
    writes: int
    writes_per_second: float
    drain_seconds: float
    dead_letters: int
    # What the pollers logged: failed records ("worker: 1 of 5 record(s) failed ..."), poll errors.
    poller_log: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != RequestStatus.PR_OPENED.value)

    @property
    def writes_needed(self) -> int:
        return self.requests * WRITES_PER_REQUEST

    @property
    def ideal_seconds(self) -> float:
        """The writes the burst needs, at GitHub's ceiling: no burst can drain faster."""
        return self.writes_needed / self.writes_per_second


def run_burst(
    requests: int,
    *,
    limit_writes: int,
    per_seconds: float,
    writes_per_minute: int,
    workers: int,
    timeout: float = 600.0,
) -> BurstResult:
    with SerialMotoServer() as moto, GitHubStub(owner="acme", repo="infra") as github:
        github.limit_writes(limit_writes, per_seconds=per_seconds)
        resources = ensure_resources(region=REGION, endpoint_url=moto.endpoint_url)
        container = make_container(
            resources,
            notifier=RecordingNotifier(),
            aws_endpoint_url=moto.endpoint_url,
            gitops_backend="github",
            github_repository=github.full_name,
            github_api_url=github.base_url,
            github_token=STUB_TOKEN,
            github_writes_per_minute=writes_per_minute,
        )
        set_container(container)
        try:
            figures = _drive(container, resources, github, requests, workers=workers, timeout=timeout)
        finally:
            set_container(None)
    return BurstResult(**figures, writes_per_second=limit_writes / per_seconds)


def _submit(requests: int) -> list[str]:
    ids = []
    for n in range(requests):
        body = {"database_name": f"burst_{n:03d}", "database_engine": "postgres", "environment": "dev"}
        answer = call_api("POST", "/provision-rds", body=body)
        if answer.status != 202:
            raise RuntimeError(f"request {n} answered {answer.status}: {answer.body}")
        ids.append(str(answer.json["request_id"]))
    return ids


def _drive(
    container: Container,
    resources: AwsResources,
    github: GitHubStub,
    requests: int,
    *,
    workers: int,
    timeout: float,
) -> dict[str, Any]:
    from backend.handlers import worker

    # Built once before the workers race for them (a cached_property is not a lock).
    _ = container.provisioner, container.sqs
    request_ids = _submit(requests)

    poller_log: list[str] = []
    stop = threading.Event()
    pollers = [
        QueuePoller(
            sqs=Container(container.settings).sqs,
            queue_url=resources.queue_url,
            queue_arn=resources.queue_arn,
            handler=worker.lambda_handler,
            region=REGION,
            wait_seconds=0,
            batch_size=BATCH_SIZE,
            log=poller_log.append,
        )
        for _ in range(workers)
    ]

    def work(poller: QueuePoller) -> None:
        while not stop.is_set():
            try:
                if not poller.poll_once():
                    stop.wait(IDLE_SECONDS)
            except Exception as error:  # recorded; the burst goes on, as Lambda would
                poller_log.append(f"poll failed: {error!r}")
                stop.wait(IDLE_SECONDS)

    started = datetime.now(UTC)
    threads = [threading.Thread(target=work, args=(p,), daemon=True) for p in pollers]
    for thread in threads:
        thread.start()
    pending = set(request_ids)
    records = {}
    deadline = time.monotonic() + timeout
    try:
        while pending and time.monotonic() < deadline:
            for request_id in sorted(pending):
                record = container.store.get(request_id)
                if record is not None and record.status is not RequestStatus.ACCEPTED:
                    records[request_id] = record
                    pending.discard(request_id)
            if pending:
                time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    statuses = Counter(record.status.value for record in records.values())
    if pending:
        statuses["accepted (not drained)"] = len(pending)
    finished = max((record.updated_at for record in records.values()), default=started)
    per_request = Counter(request_id_of_pull_request(pull.body) for pull in github.pulls.values())
    dlq = container.sqs.get_queue_attributes(
        QueueUrl=resources.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return {
        "requests": requests,
        "statuses": dict(statuses),
        "pull_requests": len(github.pulls),
        "duplicates": sum(n - 1 for n in per_request.values() if n > 1),
        "without_pull_request": sum(1 for request_id in request_ids if request_id not in per_request),
        "secondary_limit_answers": github.secondary_limit_answers,
        "writes": github.writes_admitted,
        "drain_seconds": (finished - started).total_seconds(),
        "dead_letters": int(dlq.get("ApproximateNumberOfMessages", 0)),
        "poller_log": poller_log,
    }
