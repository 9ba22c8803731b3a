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

import base64
import binascii
import hmac
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
    AlreadyRequested,
    FieldError,
    IdempotencyConflict,
    NotAllowed,
    NotFound,
    ProvisionRequest,
    QueueUnavailable,
    RequestRecord,
    RetryableError,
    Source,
    ValidationFailed,
    parse_request,
)
from backend.handlers.openapi import (
    API_DESCRIPTION,
    API_KEY_HEADER,
    API_KEY_SCHEME,
    API_TITLE,
    API_VERSION,
    GET_RESPONSES,
    IDEMPOTENCY_HEADER,
    LIST_RESPONSES,
    SUBMIT_RESPONSES,
    AcceptedResponse,
    RequestList,
    RequestView,
)

logger = Logger()
metrics = Metrics(namespace="RdsProvisioner")
app = APIGatewayRestResolver(enable_validation=True)

SECURITY: list[dict[str, list[str]]] = [{API_KEY_SCHEME: []}]
OPENAPI_PATH = "/openapi.json"


ErrorHandler = TypeVar("ErrorHandler", bound=Callable[..., Response[Any]])


def _on(error: type[Exception] | list[type[Exception]]) -> Callable[[ErrorHandler], ErrorHandler]:
    """``app.exception_handler`` with its types kept (Powertools' decorator is untyped)."""

    def register(handler: ErrorHandler) -> ErrorHandler:
        app.exception_handler(error)(handler)
        return handler

    return register


class ApiError(Exception):
    """An answer decided before the services are called (auth, envelope)."""

    def __init__(self, status: HTTPStatus, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []


def _error_response(
    status: HTTPStatus,
    message: str,
    errors: list[FieldError] | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[Any]:
    body: dict[str, Any] = {"message": message, "errors": [e.as_dict() for e in errors or []]}
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(
        status_code=status.value, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


# --- the envelope: who calls, with what -------------------------------------------------------
def _check_api_key() -> None:
    expected = get_container().settings.api_key
    if not expected:
        return
    given = app.current_event.headers.get(API_KEY_HEADER.lower()) or app.current_event.headers.get(
        API_KEY_HEADER
    )
    if not given:
        raise ApiError(
            HTTPStatus.UNAUTHORIZED,
            "Missing API key",
            [FieldError(API_KEY_HEADER, f"send your API key in the {API_KEY_HEADER} header")],
        )
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(
            HTTPStatus.FORBIDDEN, "Wrong API key", [FieldError(API_KEY_HEADER, "this API key is not valid")]
        )


def _raw_body_size() -> int:
    body = app.current_event.body or ""
    if app.current_event.is_base64_encoded:
        try:
            return len(base64.b64decode(body))
        except (binascii.Error, ValueError):
            return len(body)
    return len(body.encode())


def _check_envelope() -> None:
    """401/403, then 415, then 413: the answers that do not depend on what the body says."""
    _check_api_key()
    if app.current_event.http_method != "POST":
        return
    content_type = (app.current_event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != content_types.APPLICATION_JSON:
        raise ApiError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "The body must be JSON",
            [
                FieldError(
                    "Content-Type", f"send Content-Type: application/json (got {content_type or 'none'})"
                )
            ],
        )
    limit = get_container().settings.max_body_bytes
    if _raw_body_size() > limit:
        raise ApiError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "The body is too large",
            [FieldError("body", f"the body must be at most {limit} bytes")],
        )


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
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=_view(record))


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
    body = RequestList(requests=[_view(r) for r in records])
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


@app.get(OPENAPI_PATH, include_in_schema=False)
def openapi_document() -> Response[Any]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_json())


def openapi_json() -> str:
    """The OpenAPI document of this API, generated by Powertools from the routes above."""
    # Powertools' OpenAPI models cost more to import than boto3 (about 130 ms of every cold
    # start); only this document needs them, so requests never load them.
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    generated = app.get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        description=API_DESCRIPTION,
        security_schemes={API_KEY_SCHEME: APIKey(name=API_KEY_HEADER, in_=APIKeyIn.header)},
    )
    return json.dumps(_without_powertools_validation_answers(json.loads(generated)), indent=2)


def _without_powertools_validation_answers(document: dict[str, Any]) -> dict[str, Any]:
    """Drop the 422 answers Powertools documents for every validated route.

    This API answers invalid input with 400 in its own error format (the exception handlers
    below), so those 422 entries would describe answers it never gives.
    """
    powertools_ref = "#/components/schemas/HTTPValidationError"
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            answer = operation.get("responses", {}).get("422", {})
            if (
                answer.get("content", {})
                .get(content_types.APPLICATION_JSON, {})
                .get("schema", {})
                .get("$ref")
                == powertools_ref
            ):
                del operation["responses"]["422"]
    text = json.dumps(document.get("paths", {}))
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        if f"#/components/schemas/{unused}" not in text:
            schemas.pop(unused, None)
    return document


def _view(record: RequestRecord) -> RequestView:
    return RequestView.model_validate(record.public_view())


# --- errors -> answers ------------------------------------------------------------------------
@_on(ApiError)
def _api_error(error: ApiError) -> Response[Any]:
    return _error_response(error.status, error.message, error.errors)


@_on(RequestUnsupportedContentType)
def _unsupported(_error: RequestUnsupportedContentType) -> Response[Any]:
    try:
        _check_envelope()
    except ApiError as error:
        return _api_error(error)
    return _error_response(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "The body must be JSON")  # pragma: no cover


@_on(RequestValidationError)
def _invalid(error: RequestValidationError) -> Response[Any]:
    try:
        _check_envelope()
    except ApiError as envelope_error:
        return _api_error(envelope_error)
    problems = _field_problems(error)
    metrics.add_metric(name="RequestsInvalid", unit=MetricUnit.Count, value=1)
    return _error_response(HTTPStatus.BAD_REQUEST, "Invalid request", problems)


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
        field = location[-1] if location else "request"
        problems.append(FieldError(field, f"{field}: {detail.get('msg', 'is invalid')}"))
    return problems or [FieldError("body", "the request is invalid")]


@_on(ValidationFailed)
def _validation_failed(error: ValidationFailed) -> Response[Any]:
    metrics.add_metric(name="RequestsInvalid", unit=MetricUnit.Count, value=1)
    return _error_response(HTTPStatus.BAD_REQUEST, "Invalid request", error.errors)


@_on(NotAllowed)
def _not_allowed(error: NotAllowed) -> Response[Any]:
    return _error_response(HTTPStatus.FORBIDDEN, error.message)


@_on(AlreadyRequested)
def _already_requested(error: AlreadyRequested) -> Response[Any]:
    metrics.add_metric(name="RequestsDuplicate", unit=MetricUnit.Count, value=1)
    return _error_response(
        HTTPStatus.CONFLICT,
        error.message,
        [FieldError("database_name", error.message)],
        existing_request_id=error.existing_request_id,
    )


@_on(IdempotencyConflict)
def _idempotency_conflict(error: IdempotencyConflict) -> Response[Any]:
    return _error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY, error.message, [FieldError(IDEMPOTENCY_HEADER, error.message)]
    )


@_on([QueueUnavailable, RetryableError])
def _unavailable(error: QueueUnavailable | RetryableError) -> Response[Any]:
    logger.warning("service unavailable", extra={"error": str(error)})
    metrics.add_metric(name="QueueUnavailable", unit=MetricUnit.Count, value=1)
    return _error_response(HTTPStatus.SERVICE_UNAVAILABLE, error.message, headers={"Retry-After": "5"})


@_on(NotFound)
def _not_found(error: NotFound) -> Response[Any]:
    return _error_response(HTTPStatus.NOT_FOUND, error.message)


@app.not_found
def _no_route(_error: NotFoundError) -> Response[Any]:
    return _error_response(
        HTTPStatus.NOT_FOUND, f"No route {app.current_event.http_method} {app.current_event.path}"
    )


@_on(Exception)
def _unexpected(error: Exception) -> Response[Any]:
    logger.exception("unexpected error")
    return _error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal error; it has been logged")


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
