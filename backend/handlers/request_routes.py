"""``POST /provision-rds`` (a new database), ``GET /requests`` and ``GET /requests/{request_id}``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.metrics import MetricUnit

from backend.container import get_container
from backend.domain import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IDEMPOTENCY_KEY_PATTERN,
    FieldError,
    NotFound,
    ProvisionRequest,
    Source,
    ValidationFailed,
)
from backend.handlers import routes
from backend.handlers.http import IDEMPOTENCY_HEADER, caller, check_envelope
from backend.handlers.openapi import (
    GET_RESPONSES,
    LIST_RESPONSES,
    SECURITY,
    SUBMIT_RESPONSES,
    AcceptedResponse,
    RequestList,
    RequestView,
)
from backend.services.intake import Submission

logger = Logger(child=True)
metrics = Metrics(namespace="RdsProvisioner")
router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves it untyped

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        description=(
            "Same key and body -> the same request (no second one); same key, other body -> 422. "
            "Printable ASCII without spaces (a UUID, a ULID, a hash)."
        ),
        # Documented here, checked by the intake (so its 400 says it in the intake's words).
        json_schema_extra={"pattern": IDEMPOTENCY_KEY_PATTERN, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
    ),
]


def accepted(submission: Submission) -> Response[AcceptedResponse]:
    """The 202 of every request the intake took (or replayed)."""
    logger.set_correlation_id(submission.request_id)
    metrics.add_metric(
        name="RequestsReplayed" if submission.replayed else "RequestsAccepted", unit=MetricUnit.Count, value=1
    )
    return Response(
        status_code=HTTPStatus.ACCEPTED.value,
        content_type=content_types.APPLICATION_JSON,
        body=AcceptedResponse(
            message="Request accepted",
            request_id=submission.request_id,
            sns_message_id=submission.sns_message_id,
            status_url=f"/requests/{submission.request_id}",
            status=submission.record.status,
            expires_on=submission.record.expires_on,
            estimated_monthly_usd=None
            if submission.record.estimate is None
            else submission.record.estimate.amount,
        ),
    )


def require_json_object() -> None:
    """Powertools unwraps a one-element list (form-style) before validating; JSON arrays are not a
    request here."""
    if not isinstance(router.current_event.json_body, dict):
        raise ValidationFailed([FieldError("body", "the request body must be a JSON object")])


@router.post(
    routes.SUBMIT.rule,
    summary="Request a database",
    description="Validates, records and queues the request; the pull request follows asynchronously.",
    responses=SUBMIT_RESPONSES,
    security=SECURITY,
    tags=["requests"],
)
def provision_rds(
    request: Annotated[ProvisionRequest, Body(embed=False, media_type=content_types.APPLICATION_JSON)],
    idempotency_key: IdempotencyKey = None,
) -> Response[AcceptedResponse]:
    check_envelope(router.current_event, get_container().settings)
    require_json_object()
    submission = get_container().intake.submit(
        request,
        requested_by=caller(router.current_event, get_container().settings),
        source=Source.API,
        idempotency_key=idempotency_key,
    )
    return accepted(submission)


@router.get(
    routes.GET_REQUEST.rule,
    summary="A request's status",
    responses=GET_RESPONSES,
    security=SECURITY,
    tags=["requests"],
)
def get_request(
    request_id: Annotated[str, Path(description="The request_id of the 202 answer", max_length=64)],
) -> Response[RequestView]:
    check_envelope(router.current_event, get_container().settings)
    logger.set_correlation_id(request_id)
    record = get_container().store.get(request_id)
    if record is None:
        raise NotFound(f"No request {request_id}")
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=RequestView.of(record))


@router.get(
    routes.LIST_REQUESTS.rule,
    summary="Recent requests",
    description="Newest first; only those of `requested_by` when given.",
    responses=LIST_RESPONSES,
    security=SECURITY,
    tags=["requests"],
)
def list_requests(
    requested_by: Annotated[
        str | None, Query(max_length=128, description="Only this caller's: an API key id or a Slack user id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many")] = 20,
) -> Response[RequestList]:
    check_envelope(router.current_event, get_container().settings)
    store = get_container().store
    records = store.list_by_requester(requested_by, limit) if requested_by else store.list_recent(limit)
    body = RequestList(requests=[RequestView.of(r) for r in records])
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)
