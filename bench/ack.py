"""Slack ack path: signed requests through the Slack function's handler, in this process.

Reuses the Slack integration tests' harness (``tests.integration.slack.driver``): each sample is
one API Gateway event through what Lambda runs (``bot.aws_lambda.LambdaRequestHandler``: signature
check, Bolt dispatch, the intake's DynamoDB transaction + SNS publish, the DM confirmation over
HTTP to the Slack stand-in), with the heap frozen after the first request as the function does
(``backend.runtime.frozen_after_first_invocation``).

The same requests run twice, against two AWS stand-ins:

- ``moto in process`` (``mock_aws``): moto's tables live in this heap, so its garbage and its
  deep copies are measured with our code, as the tests run it;
- ``moto server``: moto in another process (``python -m moto.server``), reached over HTTP like
  AWS. This process's heap is then what the Lambda's is (the app, boto3 clients, our models), so
  its tail is ours; moto's CPU time still shares the machine's two cores.
- ``moto server, its collector off``: the same, with Python's cyclic garbage collector disabled
  in moto's process only. moto keeps every item of every table in its heap and deep-copies the
  table on each ``TransactWriteItems``, so its generation-2 collections (a stop of moto's world
  that grows with its heap, landing every few dozen requests) are the whole tail of the run
  above. DynamoDB has no such pause; this run removes the stand-in's, not ours (this process's
  collector runs as in Lambda), and what remains of moto is its per-call work, which still grows
  with its table.

Each sample also records how long it waited on AWS (botocore's HTTP sends, timed around
``URLLib3Session.send``): with moto out of process, the sample minus that wait is our code (Bolt,
the intake, botocore building and parsing, the Slack call to the local stand-in). And it records
how long the handler ran after the listener called ``ack()`` (timed from Bolt's ``Ack.__call__``):
in Lambda (``process_before_response``) Slack gets the answer only when the listener returns, so
that part (a submission's DM confirmation) delays the acknowledgement as much as the rest.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.report import Row, Summary

SLACK_DEADLINE_MS = 3000.0
WARMUP = 10
MODES = ("moto in process", "moto server", "moto server, its collector off")
# moto's own server, started with its process's cyclic garbage collector disabled.
_MOTO_SERVER_WITHOUT_COLLECTOR = (
    "import gc, sys; gc.disable(); from moto.server import main; main(sys.argv[1:])"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def moto_server(*, collector: bool = True) -> Iterator[str]:
    """A moto server in its own process (``collector=False``: its garbage collector off); its URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    launch = ["-m", "moto.server"] if collector else ["-c", _MOTO_SERVER_WITHOUT_COLLECTOR]
    process = subprocess.Popen(
        [sys.executable, *launch, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the moto server did not start on {url}") from None
                time.sleep(0.1)
        yield url
    finally:
        # Its request threads may wait on this process's keep-alive connections: not for long.
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@contextmanager
def fake_aws_credentials() -> Iterator[None]:
    """Fixed fake credentials (moto accepts any), so boto3 never looks for a real account's."""
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
    saved = {name: os.environ.get(name) for name in names}  # noqa: TID251 - the bench's own process
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})  # noqa: TID251
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        os.environ.pop(name, None)  # noqa: TID251
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)  # noqa: TID251
            else:
                os.environ[name] = value  # noqa: TID251


class AwsWait:
    """Milliseconds spent in botocore's HTTP sends (the AWS round trips) while installed."""

    def __init__(self) -> None:
        self.total_ms = 0.0

    @contextmanager
    def installed(self) -> Iterator[AwsWait]:
        from botocore.httpsession import URLLib3Session

        original = URLLib3Session.send

        def timed_send(session: URLLib3Session, request: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(session, request)
            finally:
                self.total_ms += (time.perf_counter() - started) * 1000

        URLLib3Session.send = timed_send
        try:
            yield self
        finally:
            URLLib3Session.send = original


class AckTime:
    """When a listener last called ``ack()`` (perf_counter), while installed."""

    def __init__(self) -> None:
        self.at: float | None = None

    @contextmanager
    def installed(self) -> Iterator[AckTime]:
        from slack_bolt.context.ack.ack import Ack

        original = Ack.__call__

        def timed_ack(ack: Ack, *args: Any, **kwargs: Any) -> Any:
            self.at = time.perf_counter()
            return original(ack, *args, **kwargs)

        Ack.__call__ = timed_ack  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            Ack.__call__ = original  # type: ignore[method-assign]


@dataclass
class Samples:
    """Per request: its time, of it the wait on AWS, and the part after the listener's ``ack()``."""

    timings: list[float] = field(default_factory=list)
    aws: list[float] = field(default_factory=list)
    after_ack: list[float] = field(default_factory=list)


def _sample(samples: int, call: Callable[[int], dict[str, Any]], waited: AwsWait, acked: AckTime) -> Samples:
    """Each call's figures (a non-200 answer stops the run)."""
    taken = Samples()
    for i in range(samples):
        before = waited.total_ms
        acked.at = None
        started = time.perf_counter()
        response = call(i)
        ended = time.perf_counter()
        taken.timings.append((ended - started) * 1000)
        taken.aws.append(waited.total_ms - before)
        taken.after_ack.append((ended - (acked.at or ended)) * 1000)
        if response["statusCode"] != 200:
            raise SystemExit(f"unexpected answer: {response}")
    return taken


def measure(samples: int, aws_endpoint_url: str | None) -> dict[str, Any]:
    """First request, then ``samples`` slash commands and modal submissions (after a warm-up)."""
    from backend.runtime import frozen_after_first_invocation
    from tests.integration.slack.driver import SlackDriver, modal_state, slack_harness

    with (
        AwsWait().installed() as waited,
        AckTime().installed() as acked,
        slack_harness(aws_endpoint_url=aws_endpoint_url) as harness,
    ):
        # What the Lambda entry point does: the first invocation ends the init, then the freeze.
        drive = SlackDriver(frozen_after_first_invocation(harness.handler.handle))
        started = time.perf_counter()
        drive.command("first_request postgres dev")
        first_ms = (time.perf_counter() - started) * 1000
        for i in range(WARMUP):
            drive.command(f"warm_cmd_{i} postgres dev")
            drive.view_submission(
                modal_state(database_name=f"warm_modal_{i}", database_engine="mysql", environment="dev")
            )
        command = _sample(samples, lambda i: drive.command(f"cmd_{i} postgres dev"), waited, acked)
        modal = _sample(
            samples,
            lambda i: drive.view_submission(
                modal_state(database_name=f"modal_{i}", database_engine="mysql", environment="dev")
            ),
            waited,
            acked,
        )
    return {"first_request_ms": first_ms, "slash command submit": command, "modal submission": modal}


def run(samples: int) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    details: dict[str, Any] = {"samples": samples, "warmup": WARMUP}
    limit = f"< {SLACK_DEADLINE_MS:.0f} ms (Slack)"
    runs: dict[str, Callable[[], dict[str, Any]]] = {
        "moto in process": lambda: measure(samples, None),
        "moto server": lambda: _over_moto_server(samples),
        "moto server, its collector off": lambda: _over_moto_server(samples, collector=False),
    }
    for mode in MODES:
        measured = runs[mode]()
        section = f"slack ack, {mode}"
        details[mode] = {"first_request_ms": measured["first_request_ms"]}
        for name in ("slash command submit", "modal submission"):
            taken: Samples = measured[name]
            timings = taken.timings
            ours = [total - waited for total, waited in zip(timings, taken.aws, strict=True)]
            summary, without_aws = Summary.of(timings), Summary.of(ours)
            after_ack = Summary.of(taken.after_ack)
            details[mode][name] = {
                **asdict(summary),
                "timings_ms": [round(t, 3) for t in timings],
                "aws_wait_ms": [round(t, 3) for t in taken.aws],
                "after_ack_ms": [round(t, 3) for t in taken.after_ack],
                "without_aws_wait": asdict(without_aws),
                "after_ack": asdict(after_ack),
            }
            for label, value in (("p50", summary.p50), ("p95", summary.p95), ("p99", summary.p99)):
                rows.append(Row(section, f"{name} {label}", value, "ms", limit, f"n={summary.n}"))
            if mode != "moto in process":  # in process, moto's work is not only in the HTTP sends
                rows.append(
                    Row(
                        section,
                        f"{name} p99 without the AWS wait",
                        without_aws.p99,
                        "ms",
                        "",
                        f"our code; p50 {without_aws.p50:.1f} ms",
                    )
                )
            rows.append(
                Row(
                    section,
                    f"{name} p50 / p99 after the listener's ack()",
                    after_ack.p50,
                    "ms",
                    "",
                    f"p99 {after_ack.p99:.1f} ms; in Lambda still before Slack gets the answer",
                )
            )
        rows.append(
            Row(
                section,
                "first request after create_app",
                measured["first_request_ms"],
                "ms",
                limit,
                "same process, warm imports",
            )
        )
    return rows, details


def _over_moto_server(samples: int, *, collector: bool = True) -> dict[str, Any]:
    with fake_aws_credentials(), moto_server(collector=collector) as url:
        return measure(samples, url)
