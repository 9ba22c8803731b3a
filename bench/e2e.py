"""End to end on the local stack: ``python -m backend.local`` as a subprocess, driven over HTTP.

The stack is started and spoken to exactly as the e2e tests do (``tests.e2e.conftest.StackProcess``):
a free port, a temporary state directory, ``POST /provision-rds`` with the local API key.
Requests go out from 8 threads (urllib). Acceptance-to-PR latency comes from timestamps the
system records itself (the request record's ``created_at``, written at acceptance, and its
``updated_at``, written by the ``pr_opened`` transition), read once per request after the run,
so polling cannot bias it.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.report import Row, Summary

CONCURRENCY = 8
SETTLE_SECONDS = 300.0


def _payload(i: int) -> dict[str, str]:
    return {
        "database_name": f"bench_{i:05d}",
        "database_engine": "postgres" if i % 2 else "mysql",
        "environment": "dev",
    }


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def run(requests: int) -> tuple[list[Row], dict[str, Any]]:
    from backend.gitops.local_git import LocalGitPublisher
    from tests.e2e.conftest import StackProcess

    with tempfile.TemporaryDirectory(prefix="rds-bench-") as tmp:
        stack = StackProcess(Path(tmp) / "state", Path(tmp) / "stack.log")
        stack.start()
        try:
            return _drive(stack, requests, LocalGitPublisher)
        finally:
            stack.kill()


def _drive(stack: Any, requests: int, publisher_type: Any) -> tuple[list[Row], dict[str, Any]]:
    def submit(i: int) -> tuple[int, Any, float]:
        started = time.perf_counter()
        status, data = stack.api("POST", "/provision-rds", _payload(i))
        return status, data, (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        answers = list(pool.map(submit, range(requests)))
    submit_seconds = time.perf_counter() - started
    accepted = {
        _payload(i)["database_name"]: data["request_id"]
        for i, (status, data, _) in enumerate(answers)
        if status == 202
    }
    refused = [(i, status, data) for i, (status, data, _) in enumerate(answers) if status != 202]

    publisher = publisher_type(stack.gitops, base_branch="main", pr_base_url="http://unused/_local/prs")
    deadline = time.monotonic() + SETTLE_SECONDS
    records: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        for name, request_id in accepted.items():
            if name in records:
                continue
            status, data = stack.api("GET", f"/requests/{request_id}")
            if status == 200 and data["status"] != "accepted":
                records[name] = data
        if len(records) == len(accepted):
            break
        time.sleep(0.5)
    settled_seconds = time.perf_counter() - started

    pulls = publisher.list_pull_requests()
    per_branch = Counter(pull.branch for pull in pulls)
    problems: list[str] = [f"request {i}: HTTP {status} {data}" for i, status, data in refused]
    latencies: list[float] = []
    for name, request_id in accepted.items():
        record = records.get(name)
        branch = f"rds/dev/{name}"
        if record is None:
            problems.append(f"{request_id} ({name}): still accepted after {SETTLE_SECONDS:.0f} s")
            continue
        if record["status"] != "pr_opened":
            problems.append(f"{request_id} ({name}): ended {record['status']}: {record.get('error')}")
            continue
        if per_branch[branch] != 1:
            problems.append(f"{request_id} ({name}): {per_branch[branch]} PRs on {branch}")
        latencies.append(_seconds_between(record["created_at"], record["updated_at"]) * 1000)
    extra = sorted(set(per_branch) - {f"rds/dev/{name}" for name in accepted})
    problems += [f"a PR on {branch} that no request asked for" for branch in extra]

    post = Summary.of([ms for _, _, ms in answers])
    rows = [
        Row(
            "e2e local",
            "accepted per second",
            len(accepted) / submit_seconds,
            "/s",
            "",
            f"n={requests}, {CONCURRENCY} threads",
        ),
        Row("e2e local", "POST /provision-rds p50", post.p50, "ms", "", "client round trip"),
        Row("e2e local", "POST /provision-rds p95", post.p95, "ms", "", "client round trip"),
    ]
    details: dict[str, Any] = {
        "requests": requests,
        "concurrency": CONCURRENCY,
        "accepted": len(accepted),
        "submit_seconds": submit_seconds,
        "settled_seconds": settled_seconds,
        "post_ms": asdict(post),
        "pull_requests": len(pulls),
        "problems": problems,
    }
    if latencies:
        to_pr = Summary.of(latencies)
        details["accept_to_pr_ms"] = asdict(to_pr)
        rows += [
            Row(
                "e2e local",
                "acceptance -> PR opened p50",
                to_pr.p50,
                "ms",
                "",
                "record created_at -> updated_at",
            ),
            Row(
                "e2e local",
                "acceptance -> PR opened p95",
                to_pr.p95,
                "ms",
                "",
                "record created_at -> updated_at",
            ),
        ]
    exact = len(accepted) - sum(1 for p in problems if "PRs on" in p or "ended" in p or "still accepted" in p)
    rows.append(
        Row(
            "e2e local",
            "requests with exactly one PR",
            f"{exact}/{requests}",
            "",
            f"{requests}/{requests}",
            "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else ""),
        )
    )
    return rows, details
