"""The HTTP API's response shapes and OpenAPI metadata (DESIGN.md section 3, "HTTP API").

The request body is ``backend.domain.ProvisionRequest`` itself; these models describe what the API
answers. Powertools turns them and the routes into the OpenAPI document served at /openapi.json.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import content_types
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict, Field

from backend.domain import Action, Environment, RequestFields, RequestRecord, RequestStatus, Source, Step
from backend.handlers.http import API_KEY_HEADER, IDEMPOTENCY_HEADER
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
SECURITY: list[dict[str, list[str]]] = [{API_KEY_SCHEME: []}]


class FieldProblem(BaseModel):
    field: str = Field(description="The input field (or header, or 'body') that is wrong.")
    message: str = Field(description="What is wrong with it, as a sentence a person can act on.")


class ErrorResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str
    errors: list[FieldProblem] = Field(default_factory=list)
    existing_request_id: str | None = Field(
        default=None, description="On 409: the request that already holds this database."
    )


class AcceptedResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(examples=["Request accepted"])
    request_id: str
    sns_message_id: str | None = Field(
        description="The queued message; null only on a replay racing the first call."
    )
    status_url: str = Field(examples=["/requests/5f0c9c1e-8f2a-4c55-9a55-2d1d8f3b7a10"])


class RequestView(RequestFields):
    """``GET /requests/{id}``: the request's own fields, then how far it has got."""

    model_config = ConfigDict(extra="forbid")

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

    @classmethod
    def of(cls, record: RequestRecord) -> RequestView:
        return cls.model_validate(record.model_dump(include=set(cls.model_fields)))


class RequestList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests: list[RequestView]


class LastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str
    action: Action
    status: RequestStatus
    pr_url: str | None


class DatabaseView(BaseModel):
    """``GET /databases``: a database whose create reached its pull request, until decommissioned."""

    model_config = ConfigDict(extra="forbid")

    database_name: str
    database_engine: str
    environment: Environment
    instance_class: str = Field(description="db.serverless for Aurora Serverless v2")
    allocated_storage: int | None = Field(description="GiB; null for Aurora (its storage grows by itself)")
    max_capacity: float | None = Field(description="ACU, Aurora Serverless v2 only (else null)")
    requested_by: str
    created_at: datetime = Field(description="ISO 8601, UTC")
    last_request: LastRequest

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
            last_request=LastRequest(
                request_id=last.request_id, action=last.action, status=last.status, pr_url=last.pr_url
            ),
        )


class DatabaseList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    databases: list[DatabaseView]


def _answer(description: str, model: type[BaseModel]) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": model}}}


def _error(description: str) -> OpenAPIResponse:
    return _answer(description, ErrorResponse)


AUTH_ERRORS: dict[int, OpenAPIResponse] = {
    400: _error("Invalid input (a query parameter); nothing was changed"),
    401: _error(f"The {API_KEY_HEADER} header is missing"),
    403: _error(f"The {API_KEY_HEADER} header is wrong"),
}

SUBMIT_RESPONSES: dict[int, OpenAPIResponse] = {
    202: _answer("Accepted: recorded and queued; a pull request follows", AcceptedResponse),
    **AUTH_ERRORS,
    400: _error("Invalid input, one entry per field; nothing was changed"),
    409: _error("This database is already requested or exists in that environment"),
    413: _error("The body is larger than the API accepts"),
    415: _error("The body is not JSON (send Content-Type: application/json)"),
    422: _error(f"The {IDEMPOTENCY_HEADER} was already used with a different request"),
    503: _error("The request could not be queued; nothing was recorded, try again"),
}

GET_RESPONSES: dict[int, OpenAPIResponse] = {
    200: _answer("The request", RequestView),
    **AUTH_ERRORS,
    404: _error("No request with that id"),
}

CHANGE_RESPONSES: dict[int, OpenAPIResponse] = {
    202: _answer("Accepted: recorded and queued; a pull request follows", AcceptedResponse),
    **AUTH_ERRORS,
    400: _error("Invalid input, outside the environment policy or no change; nothing was changed"),
    404: _error("No such database in that environment"),
    409: _error("Its create pull request is not merged yet, or another change of it is in flight"),
    413: _error("The body is larger than the API accepts"),
    415: _error("The body is not JSON (send Content-Type: application/json)"),
    422: _error(f"The {IDEMPOTENCY_HEADER} was already used with a different request"),
    503: _error("The request could not be queued; nothing was recorded, try again"),
}

DATABASES_RESPONSES: dict[int, OpenAPIResponse] = {
    200: _answer("Databases, by environment and name", DatabaseList),
    **AUTH_ERRORS,
}

LIST_RESPONSES: dict[int, OpenAPIResponse] = {
    200: _answer("Requests, newest first", RequestList),
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
