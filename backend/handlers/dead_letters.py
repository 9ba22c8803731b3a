"""Dead-letter Lambda: when SQS gives up on a request's message, the request ends ``failed``.

The requests queue moves a message to its DLQ after ``maxReceiveCount`` receives. This function
consumes the DLQ (an SQS event source with partial batch responses) and hands each request to
``LifecycleService.gave_up``: ``failed`` with the reason of the last failed attempt, the
requester told in the confirmation's thread, the name free for a new request. Exactly once: the
status change is conditional and the message goes out through ``notify_once``.

Why a DLQ consumer rather than the worker's last receive: it sees every way the retries run out,
including the ones the worker cannot see itself (an invocation that timed out or crashed on the
last receive, a throttled function). Every message is logged whole at ERROR before it is
consumed, and counted (``RequestsGaveUp``, alarmed), so nothing is lost for inspection. A
message that is not a ProvisionMessage cannot name a request: it is logged, counted
(``InvalidMessages``) and consumed.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from backend.adapters.queue import ProvisionMessage
from backend.container import get_container
from backend.runtime import freeze_heap, frozen_after_first_invocation
from backend.settings import get_settings

logger = Logger()
metrics = Metrics(namespace="RdsProvisioner")
# A wrong configuration stops the cold start, naming the variable (no network here).
get_settings()

MAX_LOGGED_BODY = 16 * 1024


def _handle_record(record: SQSRecord) -> str:
    logger.error(
        "the queue gave up on a message",
        extra={"sqs_message_id": record.message_id, "body": record.body[:MAX_LOGGED_BODY]},
    )
    try:
        message = ProvisionMessage.from_sqs_body(record.body)
    except (ValueError, ValidationError) as error:  # json.JSONDecodeError is a ValueError
        metrics.add_metric(name="InvalidMessages", unit=MetricUnit.Count, value=1)
        logger.error(
            "dead letter is not a ProvisionMessage; consumed",
            extra={"sqs_message_id": record.message_id, "error": str(error)[:500]},
        )
        return "invalid"
    logger.set_correlation_id(message.request_id)
    result = get_container().lifecycle.gave_up(message.request_id, message.step)
    metrics.add_metric(name="RequestsGaveUp", unit=MetricUnit.Count, value=1)
    logger.info(
        "request ended after its retries ran out",
        extra={"request_id": message.request_id, "outcome": result.outcome.value, "detail": result.detail},
    )
    return result.outcome.value


@frozen_after_first_invocation
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response: dict[str, Any] = dict(
        process_partial_response(
            event=event, record_handler=_handle_record, processor=processor, context=context
        )
    )
    return response


# The end of the cold start's import: what it built stays out of the collector's way.
freeze_heap()
