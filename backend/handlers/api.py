"""HTTP API Lambda (API Gateway REST proxy): POST /provision-rds, GET /requests[/{id}], GET /openapi.json.

Thin: check the caller and the body's envelope, call the intake or the store, shape the answer.
Powertools validates the body against ``ProvisionRequest`` and generates the OpenAPI document;
its validation errors are re-worded by the domain (``parse_request``) so every frontend shows the
same field messages. Services come from ``get_container()`` on first use: importing this module
touches no network.

Check order for a request: API key (401/403, only when ``settings.api_key`` is set: in AWS the
gateway checks keys) -> content type (415) -> size (413) -> validation (400) -> intake.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from backend.container import get_container
from backend.domain import (
    FieldError,
    NotFound,
    ProvisionerError,
    ProvisionRequest,
    Source,
    ValidationFailed,
    parse_request,
)
from backend.handlers import http, openapi
from backend.handlers.http import IDEMPOTENCY_HEADER, HttpError, error_body
from backend.handlers.openapi import (
    GET_RESPONSES,
    LIST_RESPONSES,
    SECURITY,
    SUBMIT_RESPONSES,
    AcceptedResponse,
    RequestList,
    RequestView,
)
from backend.settings import get_settings

logger = Logger()
metrics = Metrics(namespace="RdsProvisioner")
app = APIGatewayRestResolver(enable_validation=True)
# A wrong configuration stops the cold start, naming the variable (no network here).
get_settings()

OPENAPI_PATH = "/openapi.json"


ErrorHandler = TypeVar("ErrorHandler", bound=Callable[..., Response[Any]])


def _on(error: type[Exception] | tuple[type[Exception], ...]) -> Callable[[ErrorHandler], ErrorHandler]:
    """``app.exception_handler`` with its types kept (Powertools' decorator is untyped)."""

    def register(handler: ErrorHandler) -> ErrorHandler:
        app.exception_handler(list(error) if isinstance(error, tuple) else error)(handler)
        return handler

    return register


def _json(status: HTTPStatus, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status.value, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


def _check_envelope() -> None:
    """401/403, then 415, then 413: the answers that do not depend on what the body says."""
    settings = get_container().settings
    http.check_api_key(app.current_event, settings.api_key)
    if app.current_event.http_method == "POST":
        http.check_json_body(app.current_event, settings.max_body_bytes)


def _caller() -> str:
    """Who is asking: the API Gateway API key id or IAM caller, else the generic 'api'."""
    identity = app.current_event.request_context.identity
    return identity.api_key_id or identity.caller or "api"


# --- routes -----------------------------------------------------------------------------------
@app.post(
    "/provision-rds",
    summary="Request a database",
    description="Validates, records and queues the request; the pull request follows asynchronously.",
    responses=SUBMIT_RESPONSES,
    security=SECURITY,
    tags=["requests"],
)
def provision_rds(
    request: Annotated[ProvisionRequest, Body(embed=False, media_type=content_types.APPLICATION_JSON)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_HEADER,
            description="Same key and body -> the same request (no second one); same key, other body -> 422.",
        ),
    ] = None,
) -> Response[AcceptedResponse]:
    _check_envelope()
    if not isinstance(app.current_event.json_body, dict):
        # Powertools unwraps a one-element list (form-style) before validating; JSON arrays are not
        # a request here.
        raise ValidationFailed([FieldError("body", "the request body must be a JSON object")])
    submission = get_container().intake.submit(
        request, requested_by=_caller(), source=Source.API, idempotency_key=idempotency_key
    )
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
        ),
    )


@app.get(
    "/requests/<request_id>",
    summary="A request's status",
    responses=GET_RESPONSES,
    security=SECURITY,
    tags=["requests"],
)
def get_request(
    request_id: Annotated[str, Path(description="The request_id of the 202 answer", max_length=64)],
) -> Response[RequestView]:
    _check_envelope()
    logger.set_correlation_id(request_id)
    record = get_container().store.get(request_id)
    if record is None:
        raise NotFound(f"No request {request_id}")
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=RequestView.of(record))


@app.get(
    "/requests",
    summary="Recent requests",
    description="Newest first; only those of `requested_by` when given.",
    responses=LIST_RESPONSES,
    security=SECURITY,
    tags=["requests"],
)
def list_requests(
    requested_by: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response[RequestList]:
    _check_envelope()
    store = get_container().store
    records = store.list_by_requester(requested_by, limit) if requested_by else store.list_recent(limit)
    body = RequestList(requests=[RequestView.of(r) for r in records])
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


@app.get(OPENAPI_PATH, include_in_schema=False)
def openapi_document() -> Response[Any]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_json())


def openapi_json() -> str:
    """The OpenAPI document of this API, generated by Powertools from the routes above."""
    return openapi.document(app)


# --- errors -> answers ------------------------------------------------------------------------
@_on(HttpError)
def _http_error(error: HttpError) -> Response[Any]:
    return _json(error.status, error_body(error.message, error.errors))


@_on(RequestUnsupportedContentType)
def _unsupported(_error: RequestUnsupportedContentType) -> Response[Any]:
    try:
        _check_envelope()
    except HttpError as error:
        return _http_error(error)
    return _json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, error_body("The body must be JSON"))  # pragma: no cover


@_on(RequestValidationError)
def _invalid(error: RequestValidationError) -> Response[Any]:
    try:
        _check_envelope()
    except HttpError as envelope_error:
        return _http_error(envelope_error)
    return _refused(ValidationFailed(_field_problems(error)))


def _field_problems(error: RequestValidationError) -> list[FieldError]:
    """Body problems in the domain's words (the same as Slack shows); others from pydantic."""
    problems: list[FieldError] = []
    details = error.errors()
    if any(tuple(d.get("loc", ()))[:1] == ("body",) for d in details):
        try:
            parse_request(app.current_event.json_body)
        except ValidationFailed as failed:
            problems.extend(failed.errors)
        except (json.JSONDecodeError, TypeError, ValueError):
            problems.append(FieldError("body", "the request body is not valid JSON"))
    for detail in details:
        location = tuple(str(part) for part in detail.get("loc", ()))
        if location[:1] == ("body",):
            continue
        name = location[-1] if location else "request"
        problems.append(FieldError(name, f"{name}: {detail.get('msg', 'is invalid')}"))
    return problems or [FieldError("body", "the request is invalid")]


@_on(http.HANDLED_ERRORS)
def _refused(error: ProvisionerError) -> Response[Any]:
    answer, body = http.answer_for(error)
    if answer.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        logger.warning("service unavailable", extra={"error": str(error)})
    if answer.metric:
        metrics.add_metric(name=answer.metric, unit=MetricUnit.Count, value=1)
    return _json(answer.status, body, dict(answer.headers) or None)


@app.not_found
def _no_route(_error: NotFoundError) -> Response[Any]:
    route = f"{app.current_event.http_method} {app.current_event.path}"
    return _json(HTTPStatus.NOT_FOUND, error_body(f"No route {route}"))


@_on(Exception)
def _unexpected(error: Exception) -> Response[Any]:
    logger.exception("unexpected error")
    return _json(HTTPStatus.INTERNAL_SERVER_ERROR, error_body("Internal error; it has been logged"))


# Powertools keeps the event being resolved on the router class, which is right in Lambda (one
# invocation at a time per process) but not under the local gateway's HTTP threads: invocations
# in one process take turns, so a request never sees another one's headers or body.
_one_invocation_at_a_time = threading.Lock()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def _invoke(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The entry point; ``context`` is Lambda's context (or ``backend.local.events.LambdaContext``)."""
    with _one_invocation_at_a_time:
        response: dict[str, Any] = _invoke(event, context)
    return response
