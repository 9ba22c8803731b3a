"""Measure the Slack ack path in-process: ``python -m tests.integration.slack.ack_timing [runs]``.

Each sample is one signed API Gateway event through ``LambdaRequestHandler.handle`` (what Lambda
runs, with ``process_before_response=True``), so it includes signature checking, Bolt's
dispatch, the intake (DynamoDB transaction + SNS publish, moto in-process) and, for
submissions, the DM confirmation (``chat.postMessage`` over HTTP to the local stand-in) and
storing its thread. It is a measurement, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from tests.integration.slack.driver import SlackHarness, modal_state, slack_harness


def _sample(runs: int, call: Callable[[int], dict[str, Any]]) -> list[float]:
    timings: list[float] = []
    for i in range(runs):
        started = time.perf_counter()
        response = call(i)
        timings.append((time.perf_counter() - started) * 1000)
        if response["statusCode"] != 200:
            raise SystemExit(f"unexpected answer: {response}")
    return timings


def _line(name: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p90 = ordered[max(0, int(len(ordered) * 0.9) - 1)]
    return (
        f"{name:<38} median {statistics.median(ordered):7.1f} ms   p90 {p90:7.1f} ms   "
        f"max {ordered[-1]:7.1f} ms   (n={len(ordered)})"
    )


def measure(runs: int = 50) -> list[str]:
    lines: list[str] = []
    with slack_harness() as harness:
        lines.append(_first_request(harness))
        drive = harness.driver
        for i in range(5):  # warm-up: imports, boto3 clients, HTTP keep-alive paths
            drive.command(f"warmup_{i} postgres dev")
        lines.append(_line("help (no I/O beyond Bolt)", _sample(runs, lambda i: drive.command("help"))))
        lines.append(_line("/provision-rds (views.open)", _sample(runs, lambda i: drive.command(""))))
        lines.append(
            _line(
                "/provision-rds <name> <engine> <env>",
                _sample(runs, lambda i: drive.command(f"cmd_{i} postgres dev")),
            )
        )
        lines.append(
            _line(
                "modal submission (view_submission)",
                _sample(
                    runs,
                    lambda i: drive.view_submission(
                        modal_state(database_name=f"modal_{i}", database_engine="mysql", environment="dev")
                    ),
                ),
            )
        )
        lines.append(_line("  of which intake.submit alone", _intake_alone(harness, runs)))
        lines.append(
            _line(
                "invalid command (validation only)",
                _sample(runs, lambda i: drive.command("Bad_name oracle dev")),
            )
        )
    return lines


def _intake_alone(harness: SlackHarness, runs: int) -> list[float]:
    """The share of a submission that is the intake (moto), to separate it from Slack's part."""
    from backend.domain import Source

    timings: list[float] = []
    for i in range(runs):
        data = {"database_name": f"direct_{i}", "database_engine": "postgres", "environment": "dev"}
        started = time.perf_counter()
        harness.container.intake.submit(data, requested_by="U0TIMING", source=Source.SLACK)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _first_request(harness: SlackHarness) -> str:
    started = time.perf_counter()
    response = harness.driver.command("first_one postgres dev")
    elapsed = (time.perf_counter() - started) * 1000
    return f"{'first submission after create_app':<38} {elapsed:7.1f} ms (status {response['statusCode']})"


def main(argv: list[str]) -> None:
    runs = int(argv[1]) if len(argv) > 1 else 50
    for line in measure(runs):
        print(line)


if __name__ == "__main__":
    main(sys.argv)
