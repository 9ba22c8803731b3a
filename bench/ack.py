"""Slack ack path: signed requests through the real ``SlackRequestHandler`` in-process, moto-backed.

Reuses the Slack integration tests' harness (``tests.integration.slack.driver``): each sample is
one API Gateway event through what Lambda runs (signature check, Bolt dispatch, the intake's
DynamoDB transaction + SNS publish in moto, the DM confirmation over HTTP to the Slack stand-in).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from bench.report import Row, Summary

SLACK_DEADLINE_MS = 3000.0
WARMUP = 10


def run(samples: int) -> tuple[list[Row], dict[str, Any]]:
    # The Slack tests' timing script samples the same way (a non-200 answer stops the run).
    from tests.integration.slack.ack_timing import _sample
    from tests.integration.slack.driver import modal_state, slack_harness

    rows: list[Row] = []
    details: dict[str, Any] = {"samples": samples, "warmup": WARMUP}
    with slack_harness() as harness:
        drive = harness.driver
        started = time.perf_counter()
        drive.command("first_request postgres dev")
        first_ms = (time.perf_counter() - started) * 1000
        for i in range(WARMUP):
            drive.command(f"warm_cmd_{i} postgres dev")
            drive.view_submission(
                modal_state(database_name=f"warm_modal_{i}", database_engine="mysql", environment="dev")
            )
        command = _sample(samples, lambda i: drive.command(f"cmd_{i} postgres dev"))
        modal = _sample(
            samples,
            lambda i: drive.view_submission(
                modal_state(database_name=f"modal_{i}", database_engine="mysql", environment="dev")
            ),
        )
    limit = f"< {SLACK_DEADLINE_MS:.0f} ms (Slack)"
    for name, timings in (("slash command submit", command), ("modal submission", modal)):
        summary = Summary.of(timings)
        details[name] = {**asdict(summary), "timings_ms": [round(t, 3) for t in timings]}
        for label, value in (("p50", summary.p50), ("p95", summary.p95), ("p99", summary.p99)):
            rows.append(Row("slack ack", f"{name} {label}", value, "ms", limit, f"n={summary.n}"))
    details["first_request_ms"] = first_ms
    rows.append(
        Row(
            "slack ack", "first request after create_app", first_ms, "ms", limit, "same process, warm imports"
        )
    )
    return rows, details
