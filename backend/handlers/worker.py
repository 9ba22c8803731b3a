"""Worker Lambda: SQS batches of ProvisionMessages -> ``Provisioner.process``, with partial batch failure.

Each record succeeds or fails on its own (Powertools ``BatchProcessor``): a RetryableError (GitHub
5xx, a timeout, DynamoDB throttling) or any unexpected error fails only that record, SQS makes it
visible again after the visibility timeout, and after ``maxReceiveCount`` receives it moves to the
DLQ, whose alarm calls a human. Nothing is swallowed.

Waiting is not failing: when GitHub answers "wait" (a rate limit) or this stack's share of
GitHub's write budget has no turn free soon enough (``RateLimited``), the record goes back to the
queue as a fresh copy delayed by the wait asked (``DelaySeconds``, at most SQS's 900 s; a longer
wait comes back after 900 s and asks again) and the original is acknowledged, so the wait spends
none of the message's receives. The request stays ``accepted``; its ``last_error`` says until
when it waits, and ``GET /requests/{id}`` shows it.

Time: the Lambda timeout covers the whole batch. Before each record the handler checks what is
left of the invocation: a record it could not finish is not started but sent back to the queue as
a fresh copy (processing is idempotent by request id) and the original acknowledged, so a slow
batch never burns the receive count of records it did not even try; if the copy cannot be sent,
the record fails like any other. Within a record, publishing stops at the invocation's deadline
(``Provisioner.process(deadline=...)``), leaving time to record the outcome; a record stopped so
(``OutOfTime``: waiting for its turns to write took the time) goes back the same way and resumes
where it stopped. A GitHub call that times out is a failure.

Why an attempt failed is remembered on the request (``last_error``); when SQS gives up on the
message (DLQ), ``backend.handlers.dead_letters`` ends the request with that reason.

A message that violates the contract (not JSON, wrong schema_version, invalid request) can never
succeed. It is failed like any other record rather than dropped: it reaches the DLQ after
``maxReceiveCount`` receives, where the alarm fires and the body is kept for inspection, and an
``InvalidMessages`` metric plus an error log with the SQS message id say why right away. A few
wasted receives are the price of never losing a message silently.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from backend.adapters.queue import ProvisionMessage
from backend.container import get_container
from backend.domain import RetryableError
from backend.domain.errors import OutOfTime, RateLimited
from backend.runtime import freeze_heap, frozen_after_first_invocation
from backend.services.provisioner import Provisioner, ProvisionOutcome
from backend.settings import get_settings

logger = Logger()
metrics = Metrics(namespace="RdsProvisioner")
# A wrong configuration stops the cold start, naming the variable (no network here).
get_settings()

# SQS's ceiling for a message's visibility timeout (12 hours) and for a message's delay (15 min).
MAX_VISIBILITY_SECONDS = 12 * 60 * 60
MAX_DELAY_SECONDS = 900
# Kept back from the invocation's remaining time for the batch response and the metrics flush.
SAFETY_SECONDS = 3.0
DEFERRED = "deferred"
WAITING = "waiting"


class InvalidMessage(Exception):
    """The SQS body is not a ProvisionMessage; retrying cannot fix it (see the module docstring)."""


def _parse(record: SQSRecord) -> ProvisionMessage:
    try:
        return ProvisionMessage.from_sqs_body(record.body)
    except (ValueError, ValidationError) as error:  # json.JSONDecodeError is a ValueError
        metrics.add_metric(name="InvalidMessages", unit=MetricUnit.Count, value=1)
        logger.error(
            "message violates the contract; it will reach the DLQ",
            extra={"sqs_message_id": record.message_id, "error": str(error)[:500]},
        )
        raise InvalidMessage(f"SQS message {record.message_id} is not a ProvisionMessage") from error


def _receive_count(record: SQSRecord) -> int:
    try:
        return int(record.attributes.approximate_receive_count)
    except (TypeError, ValueError):
        return 1


def _postpone(record: SQSRecord, seconds: float) -> None:
    """Keep a failed record hidden for the ``Retry-After`` of GitHub's failure answer (a 503).

    Best effort: if it fails, the record still fails and SQS retries it on the usual schedule.
    """
    queue_url = get_container().settings.requests_queue_url
    if not queue_url:
        return
    visibility = min(MAX_VISIBILITY_SECONDS, max(1, math.ceil(seconds)))
    try:
        get_container().sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=visibility
        )
    except (BotoCoreError, ClientError) as error:
        logger.warning("could not postpone the retry", extra={"error": str(error)})


def _requeue(record: SQSRecord, why: str, *, delay_seconds: float = 0) -> None:
    """Send a fresh copy of ``record`` (delayed), so the original is acknowledged and SQS counts
    no receive against it. RetryableError when the copy cannot be sent (the record then fails)."""
    container = get_container()
    queue_url = container.settings.requests_queue_url
    if not queue_url:
        raise RetryableError(f"{why}; no queue to re-queue the record on")
    delay = min(MAX_DELAY_SECONDS, max(0, math.ceil(delay_seconds)))
    try:
        container.sqs.send_message(QueueUrl=queue_url, MessageBody=record.body, DelaySeconds=delay)
    except (BotoCoreError, ClientError) as error:
        raise RetryableError(f"{why}, and the record could not be re-queued: {error}") from error
    logger.info(f"{why}; re-queued", extra={"sqs_message_id": record.message_id, "delay_seconds": delay})


def _defer(record: SQSRecord) -> str:
    """A record there is no time for in this invocation goes back to the queue at once."""
    _requeue(record, "no time left in this invocation for the record")
    metrics.add_metric(name="RecordsDeferred", unit=MetricUnit.Count, value=1)
    return DEFERRED


def _wait(record: SQSRecord, message: ProvisionMessage, worker: Provisioner, error: RateLimited) -> str:
    """GitHub (or the shared write budget) asked to wait: back to the queue for that long."""
    metrics.add_metric(name="RateLimitWaits", unit=MetricUnit.Count, value=1)
    worker.note_failed_attempt(message.request_id, error.waiting_reason(datetime.now(UTC)))
    try:
        _requeue(record, error.message, delay_seconds=error.retry_after_seconds)
    except RetryableError:
        _postpone(record, error.retry_after_seconds)
        raise
    return WAITING


def _handle_record(record: SQSRecord, worker: Provisioner, ends_at: float) -> str:
    message = _parse(record)
    if ends_at - time.monotonic() < worker.seconds_needed:
        return _defer(record)
    logger.set_correlation_id(message.request_id)
    logger.append_keys(request_id=message.request_id, sqs_message_id=record.message_id)
    try:
        result = worker.process(message, redelivered=_receive_count(record) > 1, deadline=ends_at)
    except RateLimited as error:
        return _wait(record, message, worker, error)
    except OutOfTime as error:
        logger.info(error.message)
        return _defer(record)
    except RetryableError as error:
        metrics.add_metric(name="RetryableFailures", unit=MetricUnit.Count, value=1)
        logger.warning(
            "retryable failure; SQS will redeliver",
            extra={"error": error.message, "retry_after_seconds": error.retry_after_seconds},
        )
        worker.note_failed_attempt(message.request_id, error.message)
        if error.retry_after_seconds is not None:
            _postpone(record, error.retry_after_seconds)
        raise
    except Exception as error:
        worker.note_failed_attempt(message.request_id, f"an internal error ({type(error).__name__})")
        raise
    finally:
        logger.remove_keys(["request_id", "sqs_message_id"])
        logger.set_correlation_id(None)
    metric = {
        ProvisionOutcome.PR_OPENED: "PullRequestsOpened",
        ProvisionOutcome.FAILED: "RequestsFailed",
        ProvisionOutcome.REJECTED: "RequestsRejected",
        ProvisionOutcome.SKIPPED: "DeliveriesSkipped",
    }[result.outcome]
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    return result.outcome.value


@frozen_after_first_invocation
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    worker = get_container().provisioner
    ends_at = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - SAFETY_SECONDS
    # One processor per invocation: it holds the batch's state, and the local stack may run
    # several invocations at once in one process.
    # raise_on_entire_batch_failure=False: a batch where every record failed answers with every
    # id in batchItemFailures instead of raising, which SQS treats the same way but which keeps
    # the function's error metric for real crashes.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response: dict[str, Any] = dict(
        process_partial_response(
            event=event,
            record_handler=lambda record: _handle_record(record, worker, ends_at),
            processor=processor,
            context=context,
        )
    )
    return response


# The end of the cold start's import: what it built stays out of the collector's way.
freeze_heap()
