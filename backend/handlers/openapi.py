"""The HTTP API's response shapes and OpenAPI metadata (the API docs/api.md describes).

The request body is ``backend.domain.ProvisionRequest`` itself; these models describe what the API
answers. Powertools turns them and the routes into the OpenAPI document served at /openapi.json.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import content_types
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseContentModel
from pydantic import BaseModel, ConfigDict, Field

import backend.container  # noqa: F401 - it configures the process's environments, which the examples price
from backend.domain import (
    Action,
    Engine,
    Environment,
    FieldError,
    RequestFields,
    RequestRecord,
    RequestStatus,
    Sizing,
    Source,
    Step,
    policy_for,
)
from backend.domain.pricing import Estimate, estimate
from backend.handlers.http import API_KEY_HEADER, IDEMPOTENCY_HEADER, error_body
from backend.services.inventory import InventoryEntry

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

API_TITLE = "rds-provisioner"
API_VERSION = "1.0.0"
API_DESCRIPTION = (
    "Self-service AWS RDS databases. A request becomes a reviewed Terraform pull request; "
    "its status is available at the status_url of the 202 answer."
)
API_KEY_SCHEME = "ApiKeyAuth"
API_KEY_DESCRIPTION = (
    "In AWS, a key of the API Gateway usage plan (the gateway checks it and throttles per key); "
    "the local stack (make run) takes API_KEY, local-dev-key unless set."
)
SECURITY: list[dict[str, list[str]]] = [{API_KEY_SCHEME: []}]


class FieldProblem(BaseModel):
    model_config = ConfigDict(defer_build=True)

    field: str = Field(description="The input field (or header, or 'body') that is wrong.")
    message: str = Field(description="What is wrong with it, as a sentence a person can act on.")


class ErrorResponse(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    message: str
    errors: list[FieldProblem] = Field(default_factory=list)
    existing_request_id: str | None = Field(
        default=None, description="On 409: the request that already holds this database."
    )


EXPIRES_ON = (
    "Dev databases: the day (UTC) it expires and is decommissioned unless extended "
    "(POST /databases/dev/{database_name}/extend); null in prod."
)


ESTIMATE = (
    "What the database costs a month at the size asked for, in USD: on-demand list prices of the "
    "repository's price table (backend/domain/pricing.py, us-east-1), an estimate, not a bill. "
    "Aurora storage and I/O are not included; Serverless v2 at its capacity maximum."
)


class AcceptedResponse(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    message: str = Field(examples=["Request accepted"])
    request_id: str
    sns_message_id: str | None = Field(
        description="The queued message; null only on a replay racing the first call."
    )
    status_url: str = Field(examples=["/requests/5f0c9c1e-8f2a-4c55-9a55-2d1d8f3b7a10"])
    status: RequestStatus = Field(
        description="accepted (queued), or awaiting_approval: a prod request waits for a named approver.",
        examples=["accepted"],
    )
    expires_on: date | None = Field(default=None, description=EXPIRES_ON)
    estimated_monthly_usd: float | None = Field(default=None, description=ESTIMATE)


def _amount(estimate: Estimate | None) -> float | None:
    return None if estimate is None else estimate.amount


class RequestView(RequestFields):
    """``GET /requests/{id}``: the request's own fields, then how far it has got."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    request_id: str
    action: Action = Field(description="What was asked: create, resize or decommission.")
    step: Step = Field(
        description="The pull request it is at (a prod decommission takes two: unprotect, then decommission)."
    )
    status: RequestStatus
    pr_url: str | None
    requested_by: str
    source: Source
    created_at: datetime = Field(description="ISO 8601, UTC")
    updated_at: datetime = Field(description="ISO 8601, UTC")
    error: str | None
    approved_by: str | None = Field(default=None, description="The approver (prod requests).")
    approved_at: datetime | None = Field(default=None, description="ISO 8601, UTC")
    denied_by: str | None = Field(default=None, description="The approver who denied it.")
    denied_at: datetime | None = Field(default=None, description="ISO 8601, UTC")
    expires_on: date | None = Field(
        default=None,
        description="A dev create: the expiry it asked for (GET /databases has the current one).",
    )

    estimated_monthly_usd: float | None = Field(default=None, description=ESTIMATE)
    previous_estimated_monthly_usd: float | None = Field(
        default=None, description="A resize: the estimate at the size it had (old -> new)."
    )

    @classmethod
    def of(cls, record: RequestRecord) -> RequestView:
        shown = record.model_dump(include=set(cls.model_fields))
        if record.status is RequestStatus.ACCEPTED and record.error is None:
            # Still being worked on: why the last attempt did not finish (waiting for GitHub's rate limit).
            shown["error"] = record.last_error
        return cls.model_validate(
            shown
            | {
                "estimated_monthly_usd": _amount(record.estimate),
                "previous_estimated_monthly_usd": _amount(record.previous_estimate),
            }
        )


class RequestList(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    requests: list[RequestView]


class LastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    request_id: str
    action: Action
    status: RequestStatus
    pr_url: str | None


class DatabaseView(BaseModel):
    """``GET /databases``: a database whose create reached its pull request, until decommissioned."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    database_name: str
    database_engine: str
    environment: Environment
    instance_class: str = Field(description="db.serverless for Aurora Serverless v2")
    allocated_storage: int | None = Field(description="GiB; null for Aurora (its storage grows by itself)")
    max_capacity: float | None = Field(description="ACU, Aurora Serverless v2 only (else null)")
    requested_by: str
    created_at: datetime = Field(description="ISO 8601, UTC")
    expires_on: date | None = Field(description=EXPIRES_ON)
    deletion_protection: bool = Field(
        description="Whether deletion protection is on, as its applied file has it: off in dev, on in prod "
        "except between a decommission's first step and its end (or its reprotect pull request)."
    )
    estimated_monthly_usd: float | None = Field(description=ESTIMATE)
    last_request: LastRequest | None = Field(
        description="The newest request about it; null once its requests aged out of the store "
        "(REQUEST_RETENTION_DAYS after they ended)."
    )

    @classmethod
    def of(cls, entry: InventoryEntry) -> DatabaseView:
        database, last = entry.database, entry.last_request
        return cls(
            database_name=database.database_name,
            database_engine=database.database_engine.value,
            environment=database.environment,
            instance_class=database.instance_class,
            allocated_storage=database.allocated_storage,
            max_capacity=database.max_capacity,
            requested_by=database.requested_by,
            created_at=database.created_at,
            expires_on=database.expires_on,
            deletion_protection=database.protected,
            estimated_monthly_usd=_amount(database.estimate),
            last_request=None
            if last is None
            else LastRequest(
                request_id=last.request_id, action=last.action, status=last.status, pr_url=last.pr_url
            ),
        )


class ExpiryView(BaseModel):
    """``POST /databases/{environment}/{database_name}/extend``: the database's new expiry."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    database_name: str
    environment: Environment
    expires_on: date = Field(description="The day (UTC) it now expires.")


class DatabaseList(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    databases: list[DatabaseView]


# Example ids: what an answer says for one request. tests/integration/pipeline/test_api_contract.py
# sends each example's request and checks the API answers exactly this (ids aside).
EXAMPLE_REQUEST_ID = "5f0c9c1e-8f2a-4c55-9a55-2d1d8f3b7a10"
EXAMPLE_MESSAGE_ID = "0b6f7a52-3c0e-4d1a-9d4e-6c1f2a3b4c5d"


def _example(summary: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "value": value}


def _refusal(summary: str, message: str, *errors: tuple[str, str], **extra: Any) -> dict[str, Any]:
    return _example(summary, error_body(message, [FieldError(*error) for error in errors], **extra))


def _answer(
    description: str, model: type[BaseModel], examples: dict[str, dict[str, Any]] | None = None
) -> OpenAPIResponse:
    content: OpenAPIResponseContentModel = {"model": model}
    if examples:
        content["examples"] = examples
    return {"description": description, "content": {content_types.APPLICATION_JSON: content}}


def _error(description: str, **examples: dict[str, Any]) -> OpenAPIResponse:
    return _answer(description, ErrorResponse, examples)


AUTH_ERRORS: dict[int, OpenAPIResponse] = {
    401: _error(
        f"The {API_KEY_HEADER} header is missing",
        missing_key=_refusal(
            "No key sent",
            "Missing API key",
            (API_KEY_HEADER, f"send your API key in the {API_KEY_HEADER} header"),
        ),
    ),
    403: _error(
        f"The {API_KEY_HEADER} header is wrong",
        wrong_key=_refusal(
            "A key that is not valid", "Wrong API key", (API_KEY_HEADER, "this API key is not valid")
        ),
    ),
}

_ACCEPTED = AcceptedResponse(
    message="Request accepted",
    request_id=EXAMPLE_REQUEST_ID,
    sns_message_id=EXAMPLE_MESSAGE_ID,
    status_url=f"/requests/{EXAMPLE_REQUEST_ID}",
    status=RequestStatus.ACCEPTED,
)


# The examples are of the shipped dev environment, priced by the process's environments (which
# backend.container configures before the first route is declared).
_EXAMPLE_ENVIRONMENT = Environment("dev")


def _example_estimate(sizing: Sizing) -> float:
    """The estimate of the examples' database (dev postgres orders) at ``sizing``."""
    return estimate(Engine.POSTGRES, _EXAMPLE_ENVIRONMENT, sizing).amount


# The examples' database: a new dev one expires (DEV_TTL_DAYS after the request); a change's
# answer has no expiry, and says what the database will cost (a resize) or costs now (the end).
_NEW_DEV = policy_for(_EXAMPLE_ENVIRONMENT).new_sizing(Engine.POSTGRES)
_ACCEPTED_DEV_CREATE = _ACCEPTED.model_copy(
    update={"expires_on": date(2026, 12, 26), "estimated_monthly_usd": _example_estimate(_NEW_DEV)}
)
_ALREADY_REQUESTED = "A dev database orders is already requested or exists"
_KEY_REUSED = "this Idempotency-Key was already used for a different request; use a new key"

SUBMIT_RESPONSES: dict[int, OpenAPIResponse] = {
    202: _answer(
        "Accepted: recorded and queued; a pull request follows",
        AcceptedResponse,
        {"accepted": _example("A new dev database", _ACCEPTED_DEV_CREATE.model_dump(mode="json"))},
    ),
    400: _error(
        "Invalid input, one entry per field; nothing was changed. Besides what the request schema "
        "states, database_name must not be a reserved word of MySQL or PostgreSQL.",
        reserved_word=_refusal(
            "A reserved word as the name",
            "Invalid request",
            (
                "database_name",
                "database_name 'select' is a reserved word in MySQL or PostgreSQL; choose another name",
            ),
        ),
        several_fields=_refusal(
            "Every wrong field at once",
            "Invalid request",
            ("database_name", "database_name must start with a lowercase letter (a-z)"),
            (
                "database_engine",
                f"database_engine must be one of {', '.join(Engine)} (got 'oracle')",
            ),
        ),
        idempotency_key=_refusal(
            f"An {IDEMPOTENCY_HEADER} with a space",
            "Invalid request",
            (
                IDEMPOTENCY_HEADER,
                "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces",
            ),
        ),
    ),
    **AUTH_ERRORS,
    409: _error(
        "This database is already requested or exists in that environment",
        already_requested=_refusal(
            "The name is taken in that environment",
            _ALREADY_REQUESTED,
            ("database_name", _ALREADY_REQUESTED),
            existing_request_id=EXAMPLE_REQUEST_ID,
        ),
    ),
    413: _error(
        "The body is larger than the API accepts",
        too_large=_refusal(
            "A body over the limit", "The body is too large", ("body", "the body must be at most 16384 bytes")
        ),
    ),
    415: _error(
        "The body is not JSON (send Content-Type: application/json)",
        not_json=_refusal(
            "Form data",
            "The body must be JSON",
            ("Content-Type", "send Content-Type: application/json (got application/x-www-form-urlencoded)"),
        ),
    ),
    422: _error(
        f"The {IDEMPOTENCY_HEADER} was already used with a different request",
        key_reused=_refusal("The same key, another body", _KEY_REUSED, (IDEMPOTENCY_HEADER, _KEY_REUSED)),
    ),
    503: {
        **_error(
            "The request could not be queued; nothing was recorded, try again",
            queue_unavailable=_refusal(
                "The queue is down",
                "The request queue is not available right now; nothing was recorded. Try again shortly.",
            ),
        ),
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before trying again",
                "schema": {"type": "integer"},
            }
        },
    },
}

GET_RESPONSES: dict[int, OpenAPIResponse] = {
    200: _answer("The request", RequestView),
    400: _error(
        "The request_id is longer than any request id; nothing was looked up",
        too_long=_refusal(
            "A 65-character id",
            "Invalid request",
            ("request_id", "request_id: String should have at most 64 characters"),
        ),
    ),
    **AUTH_ERRORS,
    404: _error(
        "No request with that id", unknown=_refusal("An unknown id", f"No request {EXAMPLE_REQUEST_ID}")
    ),
}

_NOT_CREATED_YET = (
    "The dev database orders is not created yet (its request is accepted); change it once its pull "
    "request is merged"
)


CHANGE_404 = _error(
    "No such database in that environment",
    no_such_database=_refusal("Nothing by that name", "There is no dev database orders"),
)


def change_responses(
    description_400: str = "Invalid input; nothing was changed",
    sizing: Sizing = _NEW_DEV,
    **examples_400: dict[str, Any],
) -> dict[int, OpenAPIResponse]:
    """The answers of a change of an existing database (resize, decommission) to ``sizing``: a new
    change's route takes these as they are, or with its own 400 examples."""
    accepted = _ACCEPTED.model_copy(update={"estimated_monthly_usd": _example_estimate(sizing)})
    return {
        202: _answer(
            "Accepted: recorded and queued; a pull request follows",
            AcceptedResponse,
            {"accepted": _example("A change", accepted.model_dump(mode="json"))},
        ),
        400: _error(description_400, **examples_400),
        **AUTH_ERRORS,
        404: CHANGE_404,
        409: _error(
            "Its create pull request is not merged yet, or another change of it is in flight",
            not_created_yet=_refusal(
                "Its pull request is still open",
                _NOT_CREATED_YET,
                ("database_name", _NOT_CREATED_YET),
                existing_request_id=EXAMPLE_REQUEST_ID,
            ),
        ),
        413: SUBMIT_RESPONSES[413],
        415: SUBMIT_RESPONSES[415],
        422: SUBMIT_RESPONSES[422],
        503: SUBMIT_RESPONSES[503],
    }


RESIZE_RESPONSES = change_responses(
    "Invalid input, outside the environment policy or no change; nothing was changed",
    dataclasses.replace(_NEW_DEV, allocated_storage=50),
    outside_policy=_refusal(
        "A prod instance class in dev",
        "Invalid request",
        (
            "instance_class",
            "instance_class must be one of db.t3.micro, db.t3.small, db.t3.medium in this environment",
        ),
    ),
)

DECOMMISSION_RESPONSES = change_responses(
    "Invalid input, or the confirmation is not the database's name; nothing was changed",
    _NEW_DEV,
    wrong_confirmation=_refusal(
        "Another name typed",
        "Invalid request",
        ("confirm", "type the database's name, orders, to confirm its decommission"),
    ),
)

DATABASES_RESPONSES: dict[int, OpenAPIResponse] = {
    200: _answer("Databases, by environment and name", DatabaseList),
    400: _error(
        "A query parameter is not one of its values; nothing was looked up",
        environment=_refusal(
            "environment=staging",
            "Invalid request",
            ("environment", "environment must be one of dev, prod (got 'staging')"),
        ),
    ),
    **AUTH_ERRORS,
}

EXTEND_RESPONSES: dict[int, OpenAPIResponse] = {
    200: _answer(
        "Extended: the new expiry (no pull request: the expiry lives in the request store)", ExpiryView
    ),
    400: _error(
        "Invalid input: a prod database (it does not expire), days out of range, or not later than "
        "its current expiry; nothing was changed"
    ),
    **AUTH_ERRORS,
    404: CHANGE_404,
    409: _error("Its expiry changed meanwhile (another extension); look again"),
    413: SUBMIT_RESPONSES[413],
    415: SUBMIT_RESPONSES[415],
}

LIST_RESPONSES: dict[int, OpenAPIResponse] = {
    200: _answer("Requests, newest first", RequestList),
    400: _error(
        "A query parameter is out of its bounds; nothing was looked up",
        limit=_refusal(
            "limit=0", "Invalid request", ("limit", "limit: Input should be greater than or equal to 1")
        ),
    ),
    **AUTH_ERRORS,
}


def document(app: APIGatewayRestResolver) -> str:
    """The OpenAPI document Powertools generates from ``app``'s routes, as this API answers."""
    # Powertools' OpenAPI models cost more to import than boto3 (about 130 ms of every cold
    # start); only this document needs them, so requests never load them.
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    generated = app.get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        description=API_DESCRIPTION,
        security_schemes={
            API_KEY_SCHEME: APIKey(name=API_KEY_HEADER, in_=APIKeyIn.header, description=API_KEY_DESCRIPTION)
        },
    )
    document = _without_powertools_validation_answers(json.loads(generated))
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            _parameters_without_null(operation)
            operation["responses"] = dict(sorted(operation.get("responses", {}).items()))
    return json.dumps(document, indent=2)


def _parameters_without_null(operation: dict[str, Any]) -> None:
    """An optional parameter is left out, never sent as null: drop the ``null`` Powertools lists
    beside its type (``str | None = None``), keeping the keywords about the value."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        branches = schema.get("anyOf", [])
        kept = [branch for branch in branches if branch != {"type": "null"}]
        if parameter.get("required") or len(kept) != 1 or len(kept) == len(branches):
            continue
        del schema["anyOf"]
        parameter["schema"] = {**kept[0], **schema}


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
