"""The HTTP API's response shapes and OpenAPI metadata (DESIGN.md section 3, "HTTP API").

The request body is ``backend.domain.ProvisionRequest`` itself; these models describe what the API
answers. Powertools turns them and the routes into the OpenAPI document served at /openapi.json.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict, Field

from backend.domain import Engine, Environment, RequestStatus, Source

API_TITLE = "rds-provisioner"
API_VERSION = "1.0.0"
API_DESCRIPTION = (
    "Self-service AWS RDS databases. A request becomes a reviewed Terraform pull request; "
    "its status is available at the status_url of the 202 answer."
)
API_KEY_HEADER = "X-Api-Key"
API_KEY_SCHEME = "ApiKeyAuth"
IDEMPOTENCY_HEADER = "Idempotency-Key"


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


class RequestView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str
    status: RequestStatus
    pr_url: str | None
    database_name: str
    database_engine: Engine
    environment: Environment
    owner: str | None = None
    purpose: str | None = None
    requested_by: str
    source: Source
    created_at: str = Field(description="ISO 8601, UTC")
    updated_at: str = Field(description="ISO 8601, UTC")
    error: str | None


class RequestList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests: list[RequestView]


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

LIST_RESPONSES: dict[int, OpenAPIResponse] = {
    200: _answer("Requests, newest first", RequestList),
    **AUTH_ERRORS,
}
