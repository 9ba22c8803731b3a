"""End to end on the local stack: ``python -m local`` as a subprocess, driven over HTTP.

The stack is started and spoken to exactly as the e2e tests do (``tests.e2e.conftest.StackProcess``):
a free port, a temporary state directory, ``POST /provision-rds`` with the local API key.

Two phases: a few lone requests, each awaited before the next (latency of an idle system), then
a burst of N requests from 8 threads (urllib). Acceptance-to-PR latency comes from timestamps the
system records itself (the request record's ``created_at``, written at acceptance, and its
``updated_at``, written by the ``pr_opened`` transition), read once per request after it
settled, so polling cannot bias it. Every request must end ``pr_opened`` with exactly one local PR
on its branch (the local PR records, counted by branch) and no PR may exist that no request asked for.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.report import Row, Summary

if TYPE_CHECKING:
    from tests.e2e.conftest import StackProcess

CONCURRENCY = 8
LONE_REQUESTS = 5
SETTLE_SECONDS = 300.0


def _payload(name: str, i: int) -> dict[str, str]:
    return {"database_name": name, "database_engine": "postgres" if i % 2 else "mysql", "environment": "dev"}


def _at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def run(requests: int) -> tuple[list[Row], dict[str, Any]]:
    from tests.e2e.conftest import StackProcess

    with tempfile.TemporaryDirectory(prefix="rds-bench-") as tmp:
        stack = StackProcess(Path(tmp) / "state", Path(tmp) / "stack.log")
        stack.start()
        try:
            return _drive(stack, requests)
        finally:
            stack.kill()


def _settle(stack: StackProcess, accepted: dict[str, str], timeout: float) -> dict[str, dict[str, Any]]:
    """Each request's record once it has left ``accepted`` (or is still there at the deadline)."""
    deadline = time.monotonic() + timeout
    records: dict[str, dict[str, Any]] = {}
    while len(records) < len(accepted) and time.monotonic() < deadline:
        for name, request_id in accepted.items():
            if name not in records:
                status, data = stack.api("GET", f"/requests/{request_id}")
                if status == 200 and data["status"] != "accepted":
                    records[name] = data
        if len(records) < len(accepted):
            time.sleep(0.05)
    return records


def _latencies_ms(records: Iterable[dict[str, Any]]) -> list[float]:
    return [
        (_at(r["updated_at"]) - _at(r["created_at"])).total_seconds() * 1000
        for r in records
        if r["status"] == "pr_opened"
    ]


def _drive(stack: StackProcess, requests: int) -> tuple[list[Row], dict[str, Any]]:
    from backend.adapters.gitops.local_git import LocalGitPublisher

    problems: list[str] = []
    accepted: dict[str, str] = {}

    # 1. lone requests: the idle system's acceptance -> PR latency
    lone_records: list[dict[str, Any]] = []
    for i in range(LONE_REQUESTS):
        name = f"bench_lone_{i}"
        status, data = stack.api("POST", "/provision-rds", _payload(name, i))
        if status != 202:
            problems.append(f"{name}: HTTP {status} {data}")
            continue
        accepted[name] = data["request_id"]
        lone_records += _settle(stack, {name: data["request_id"]}, 30.0).values()

    # 2. the burst
    names = [f"bench_{i:05d}" for i in range(requests)]

    def submit(i: int) -> tuple[int, Any, float]:
        started = time.perf_counter()
        status, data = stack.api("POST", "/provision-rds", _payload(names[i], i))
        return status, data, (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        answers = list(pool.map(submit, range(requests)))
    submit_seconds = time.perf_counter() - started
    burst = {names[i]: data["request_id"] for i, (status, data, _) in enumerate(answers) if status == 202}
    problems += [
        f"{names[i]}: HTTP {status} {data}" for i, (status, data, _) in enumerate(answers) if status != 202
    ]
    accepted |= burst
    # Wait on the PR records on disk (no load on the stack), then read each status once.
    publisher = LocalGitPublisher(stack.gitops, base_branch="main", pr_base_url="http://unused/_local/prs")
    deadline = time.monotonic() + SETTLE_SECONDS
    while len(publisher.list_pull_requests()) < len(accepted) and time.monotonic() < deadline:
        time.sleep(0.2)
    burst_records = _settle(stack, burst, 30.0)
    records = {r["database_name"]: r for r in [*lone_records, *burst_records.values()]}

    # 3. every request: pr_opened, exactly one PR on its branch; no PR nobody asked for
    per_branch = Counter(pull.branch for pull in publisher.list_pull_requests())
    exactly_one = 0
    for name, request_id in accepted.items():
        record = records.get(name)
        branch = f"rds/dev/{name}"
        if record is None:
            problems.append(f"{request_id} ({name}): no PR after {SETTLE_SECONDS:.0f} s")
        elif record["status"] != "pr_opened":
            problems.append(f"{request_id} ({name}): ended {record['status']}: {record.get('error')}")
        elif per_branch[branch] != 1:
            problems.append(f"{request_id} ({name}): {per_branch[branch]} PRs on {branch}")
        else:
            exactly_one += 1
    problems += [
        f"a PR on {b} that no request asked for"
        for b in sorted(set(per_branch) - {f"rds/dev/{n}" for n in accepted})
    ]

    post = Summary.of([ms for _, _, ms in answers])
    rows = [
        Row(
            "e2e local",
            "accepted per second",
            len(burst) / submit_seconds,
            "/s",
            "",
            f"n={requests}, {CONCURRENCY} threads",
        ),
        Row("e2e local", "POST /provision-rds p50", post.p50, "ms", "", "client round trip, under the burst"),
        Row("e2e local", "POST /provision-rds p95", post.p95, "ms", "", "client round trip, under the burst"),
    ]
    details: dict[str, Any] = {
        "requests": requests,
        "lone_requests": LONE_REQUESTS,
        "concurrency": CONCURRENCY,
        "accepted": len(accepted),
        "submit_seconds": submit_seconds,
        "post_ms": asdict(post),
        "pull_requests": sum(per_branch.values()),
        "problems": problems,
    }
    lone = _latencies_ms(lone_records)
    if lone:
        details["lone_accept_to_pr_ms"] = lone
        rows.append(
            Row(
                "e2e local",
                "acceptance -> PR, lone request p50",
                Summary.of(lone).p50,
                "ms",
                "",
                f"n={len(lone)}, idle stack",
            )
        )
    burst_pr = [r for r in burst_records.values() if r["status"] == "pr_opened"]
    if burst_pr:
        to_pr = Summary.of(_latencies_ms(burst_pr))
        first = min(_at(r["created_at"]) for r in burst_pr)
        last = max(_at(r["updated_at"]) for r in burst_pr)
        pr_rate = len(burst_pr) / max((last - first).total_seconds(), 1e-9)
        details["accept_to_pr_ms"] = asdict(to_pr)
        details["prs_per_second"] = pr_rate
        rows += [
            Row(
                "e2e local", "PRs opened per second", pr_rate, "/s", "", "first acceptance -> last pr_opened"
            ),
            Row(
                "e2e local",
                "acceptance -> PR, burst p50",
                to_pr.p50,
                "ms",
                "",
                "record created_at -> updated_at",
            ),
            Row(
                "e2e local",
                "acceptance -> PR, burst p95",
                to_pr.p95,
                "ms",
                "",
                "record created_at -> updated_at",
            ),
        ]
    total = len(accepted) + sum(1 for p in problems if "HTTP" in p)
    rows.append(
        Row(
            "e2e local",
            "requests with exactly one PR",
            f"{exactly_one}/{total}",
            "",
            f"{total}/{total}",
            "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else ""),
        )
    )
    return rows, details
