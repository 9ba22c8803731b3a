"""What the HTTP handlers (the API, the GitHub webhook) share: error bodies, the raw body, the
envelope checks, and one table from the product's errors to HTTP answers."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from backend.domain import (
    AlreadyRequested,
    ChangedMeanwhile,
    FieldError,
    IdempotencyConflict,
    NotAllowed,
    NotFound,
    ProvisionerError,
    QueueUnavailable,
    RetryableError,
    ValidationFailed,
)
from backend.settings import Settings

API_KEY_HEADER = "X-Api-Key"
IDEMPOTENCY_HEADER = "Idempotency-Key"
JSON = "application/json"


class HttpError(Exception):
    """An answer decided before the services are called (who is calling, the body's envelope)."""

    def __init__(self, status: HTTPStatus, message: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors)


def error_body(message: str, errors: Sequence[FieldError] = (), **extra: Any) -> dict[str, Any]:
    """The API's error shape: ``{"message": ..., "errors": [{"field": ..., "message": ...}]}``."""
    body: dict[str, Any] = {"message": message, "errors": [e.as_dict() for e in errors]}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def proxy_answer(status: HTTPStatus, body: Mapping[str, Any]) -> dict[str, Any]:
    """An API Gateway proxy integration answer with a JSON body."""
    return {"statusCode": status.value, "headers": {"Content-Type": JSON}, "body": json.dumps(body)}


def raw_body(event: BaseProxyEvent) -> bytes:
    """The body as the client sent it (API Gateway base64-encodes binary bodies)."""
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return body.encode()
    return body.encode()


def header(event: BaseProxyEvent, name: str) -> str | None:
    """A request header, whatever case the client (or the gateway) gave its name."""
    return event.headers.get(name) or event.headers.get(name.lower())


def check_api_key(event: BaseProxyEvent, expected: str | None) -> None:
    """401 without the key, 403 with a wrong one; nothing when no key is configured (in AWS the
    gateway's usage plan checks keys before the function runs)."""
    if not expected:
        return
    given = header(event, API_KEY_HEADER)
    if not given:
        raise HttpError(
            HTTPStatus.UNAUTHORIZED,
            "Missing API key",
            [FieldError(API_KEY_HEADER, f"send your API key in the {API_KEY_HEADER} header")],
        )
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HttpError(
            HTTPStatus.FORBIDDEN, "Wrong API key", [FieldError(API_KEY_HEADER, "this API key is not valid")]
        )


def check_json_body(event: BaseProxyEvent, max_bytes: int) -> None:
    """415 for a body that is not JSON, then 413 for one larger than ``max_bytes``."""
    content_type = (header(event, "Content-Type") or "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise HttpError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "The body must be JSON",
            [
                FieldError(
                    "Content-Type", f"send Content-Type: application/json (got {content_type or 'none'})"
                )
            ],
        )
    if len(raw_body(event)) > max_bytes:
        raise HttpError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "The body is too large",
            [FieldError("body", f"the body must be at most {max_bytes} bytes")],
        )


def check_envelope(event: BaseProxyEvent, settings: Settings) -> None:
    """401/403, then 415, then 413: the answers that do not depend on what the body says."""
    check_api_key(event, settings.api_key)
    if event.http_method == "POST":
        check_json_body(event, settings.max_body_bytes)


@dataclass(frozen=True)
class ApiClient:
    """An automation client of the API: its API Gateway key, its name, the person who owns it."""

    key_id: str
    name: str
    owner: str | None = None

    @property
    def requester(self) -> str:
        """Whom its requests are recorded as: the owner (a Slack user id), else the client."""
        return self.owner or f"api:{self.name}"


def api_clients(settings: Settings) -> dict[str, ApiClient]:
    """API_CLIENTS by key id (entries are checked when the settings are read)."""
    clients = {}
    for entry in settings.api_clients:
        key_id, _, rest = entry.partition("=")
        name, _, owner = rest.partition(":")
        clients[key_id] = ApiClient(key_id, name, owner or None)
    return clients


def caller(event: BaseProxyEvent, settings: Settings) -> str:
    """Who is asking: the owner (or name) of the API key's client, else the API Gateway API key
    id or IAM caller, else the generic 'api'."""
    identity = APIGatewayProxyEvent(event.raw_event).request_context.identity
    client = api_clients(settings).get(identity.api_key_id or "")
    if client is not None:
        return client.requester
    return identity.api_key_id or identity.caller or "api"


@dataclass(frozen=True)
class ErrorAnswer:
    status: HTTPStatus
    # The field a refusal without field errors of its own is about (a 409 is about the name).
    about: str | None = None
    metric: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


# How the API answers each error the services raise; the first class the error is an instance of.
ERROR_ANSWERS: tuple[tuple[type[ProvisionerError], ErrorAnswer], ...] = (
    (ValidationFailed, ErrorAnswer(HTTPStatus.BAD_REQUEST, metric="RequestsInvalid")),
    (NotAllowed, ErrorAnswer(HTTPStatus.FORBIDDEN)),
    (AlreadyRequested, ErrorAnswer(HTTPStatus.CONFLICT, about="database_name", metric="RequestsDuplicate")),
    (ChangedMeanwhile, ErrorAnswer(HTTPStatus.CONFLICT)),
    (IdempotencyConflict, ErrorAnswer(HTTPStatus.UNPROCESSABLE_ENTITY, about=IDEMPOTENCY_HEADER)),
    (NotFound, ErrorAnswer(HTTPStatus.NOT_FOUND)),
    (
        QueueUnavailable,
        ErrorAnswer(HTTPStatus.SERVICE_UNAVAILABLE, metric="QueueUnavailable", headers={"Retry-After": "5"}),
    ),
    (
        RetryableError,
        ErrorAnswer(HTTPStatus.SERVICE_UNAVAILABLE, metric="QueueUnavailable", headers={"Retry-After": "5"}),
    ),
)
HANDLED_ERRORS = tuple(kind for kind, _ in ERROR_ANSWERS)


def answer_for(error: ProvisionerError) -> tuple[ErrorAnswer, dict[str, Any]]:
    """The table's answer to ``error`` and the body to send with it."""
    answer = next(answer for kind, answer in ERROR_ANSWERS if isinstance(error, kind))
    if isinstance(error, ValidationFailed):
        body = error_body("Invalid request", error.errors)
    elif answer.about is not None:
        body = error_body(error.message, [FieldError(answer.about, error.message)])
    else:
        body = error_body(error.message)
    if isinstance(error, AlreadyRequested):
        body["existing_request_id"] = error.existing_request_id
    return answer, body
