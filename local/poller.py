"""The local event source mapping: long-polls the SQS queue and feeds batches to the worker handler.

Like Lambda's SQS event source mapping with ``ReportBatchItemFailures``: records the handler
lists in ``batchItemFailures`` (or every record, when the handler raises) are left on the queue,
so they become visible again after the visibility timeout and move to the DLQ after
``maxReceiveCount`` receives. Those semantics come from SQS (the moto server), not from here.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from local.lambda_events import LambdaContext, QueueMessage, queue_messages, sqs_event

WorkerHandler = Callable[[dict[str, Any], Any], Any]


class StopDraining(BaseException):
    """Raised (from a signal handler) to end ``drain_and_stop`` early.

    A BaseException, like KeyboardInterrupt, so handlers that catch Exception cannot swallow it.
    """


@dataclass
class PollerStats:
    batches: int = 0
    succeeded: int = 0
    failed: int = 0
    handler_errors: int = 0


@dataclass
class DrainResult:
    """What was left on the queue when the drain ended."""

    drained: bool
    visible: int
    in_flight: int
    seconds: float


@dataclass
class QueuePoller:
    sqs: Any
    queue_url: str
    queue_arn: str
    handler: WorkerHandler
    region: str = "us-east-1"
    wait_seconds: int = 1
    batch_size: int = 10
    function_name: str = "rds-provisioner-worker"
    function_timeout_seconds: float = 60.0
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))
    stats: PollerStats = field(default_factory=PollerStats)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Receipt handles of records that failed in the last batches; on stop they are made
        # visible again at once so whatever is left on the queue can be counted and saved.
        self._failed_handles: dict[str, str] = {}
        # The batch the handler is working on (its messages are invisible meanwhile).
        self._in_hand: dict[str, str] = {}
        # True while drain_and_stop may be interrupted with StopDraining.
        self.draining = False

    # --- one batch -----------------------------------------------------------------------------
    def poll_once(self) -> int:
        """Receive one batch (long poll), run the handler, delete what succeeded. Returns its size."""
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
        )
        messages = queue_messages(response)
        if messages:
            self._run(messages)
        return len(messages)

    def _run(self, messages: list[QueueMessage]) -> None:
        event = sqs_event(messages, queue_arn=self.queue_arn, region=self.region)
        context = LambdaContext(
            function_name=self.function_name, timeout_seconds=self.function_timeout_seconds
        )
        self.stats.batches += 1
        self._in_hand = {m.message_id: m.receipt_handle for m in messages}
        try:
            result = self.handler(event, context)
            failed_ids = {str(item["itemIdentifier"]) for item in (result or {}).get("batchItemFailures", [])}
        except Exception:
            # Lambda treats an exception as "the whole batch failed": every record is retried.
            self.stats.handler_errors += 1
            self.log(f"{self.function_name} raised; the batch stays on the queue:\n{traceback.format_exc()}")
            failed_ids = {m.message_id for m in messages}
        done = [m for m in messages if m.message_id not in failed_ids]
        for message in messages:
            if message.message_id in failed_ids:
                self._failed_handles[message.message_id] = message.receipt_handle
            else:
                self._failed_handles.pop(message.message_id, None)
        if failed_ids:
            self.stats.failed += len(failed_ids)
            self.log(
                f"worker: {len(failed_ids)} of {len(messages)} record(s) failed; SQS redelivers them "
                "after the visibility timeout"
            )
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(done)],
            )
            self.stats.succeeded += len(done)
        self._in_hand = {}

    # --- the thread ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sqs-poller", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                self.log(f"poller: receive failed:\n{traceback.format_exc()}")
                self._stop.wait(1.0)

    def queue_depth(self) -> tuple[int, int]:
        """(visible, not yet visible) messages on the queue, as SQS reports them; the second
        counts messages in flight and those sent with a delay (a record waiting for GitHub)."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return (
            int(attributes.get("ApproximateNumberOfMessages", 0)),
            int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
            + int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        )

    def drain_and_stop(self, timeout: float) -> DrainResult:
        """Stop the loop, then process everything already queued, for at most ``timeout`` seconds.

        Messages the worker fails wait out their visibility timeout and are retried while time
        remains. Raising ``StopDraining`` (a second Ctrl-C) ends the drain early. Either way,
        messages this poller still holds are made visible again, so what is left can be saved.
        """
        started = time.monotonic()
        deadline = started + timeout
        self._stop.set()
        try:
            self.draining = True
            if self._thread is not None:
                self._thread.join()
            visible, in_flight = self.queue_depth()
            while (visible or in_flight) and time.monotonic() < deadline:
                if not self.poll_once():
                    # Nothing visible: failed messages come back after the visibility timeout.
                    time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
                visible, in_flight = self.queue_depth()
            self.draining = False
        except StopDraining:
            self.draining = False
            self.log("poller: draining cut short")
        self._release({**self._failed_handles, **self._in_hand}.values())
        self._failed_handles.clear()
        self._in_hand.clear()
        visible, in_flight = self.queue_depth()
        return DrainResult(
            drained=not (visible or in_flight),
            visible=visible,
            in_flight=in_flight,
            seconds=time.monotonic() - started,
        )

    def _release(self, receipt_handles: Iterable[str]) -> None:
        for receipt_handle in receipt_handles:
            try:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0
                )
            except Exception:  # noqa: S112 - the message may be gone already (done, DLQ, expired handle)
                continue
