"""What is asked for (``ProvisionRequest``) and the stored request (``RequestRecord``), pure.

The request's own fields are declared once, in ``RequestFields``; the request model adds the
validation rules, the record adds how far the request has got, and the HTTP API's view
(``backend.handlers.openapi``) picks what it shows from both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from backend.domain import naming
from backend.domain.errors import FieldError, ValidationFailed
from backend.domain.statuses import RequestStatus


class Engine(StrEnum):
    MYSQL = "mysql"
    POSTGRES = "postgres"


class Environment(StrEnum):
    DEV = "dev"
    PROD = "prod"


class Source(StrEnum):
    SLACK = "slack"
    API = "api"


# AWS tag values allow letters, digits, spaces and _ . : / = + - @; owner and purpose become tags.
_TAG_SAFE = re.compile(r"[A-Za-z0-9 _.:/=+\-@]*")
OWNER_MAX_LENGTH = 64
PURPOSE_MAX_LENGTH = 256

_ENGINE_CHOICES = ", ".join(e.value for e in Engine)
_ENVIRONMENT_CHOICES = ", ".join(e.value for e in Environment)


def _tag_safe(field: str, value: str, max_length: int) -> str:
    value = value.strip()
    if len(value) > max_length:
        raise PydanticCustomError(
            "too_long", f"{field} must be at most {max_length} characters (got {len(value)})"
        )
    if not _TAG_SAFE.fullmatch(value):
        raise PydanticCustomError(
            "tag_chars",
            f"{field} may contain only letters, digits, spaces and _ . : / = + - @",
        )
    return value


class RequestFields(BaseModel):
    """The fields of a request for a database, as every model of it carries them."""

    database_name: StrictStr = Field(
        description=(
            "Name of the database inside the engine: a lowercase letter, then lowercase letters, "
            "digits and single underscores, at most 50 characters."
        ),
        examples=["orders"],
    )
    database_engine: Engine = Field(description="mysql or postgres", examples=["postgres"])
    environment: Environment = Field(description="dev or prod", examples=["dev"])
    owner: StrictStr | None = Field(
        default=None,
        description="Owning team or person, written to the database's tags.",
        examples=["payments-team"],
    )
    purpose: StrictStr | None = Field(
        default=None,
        description="What the database is for, written to the PR and the tags.",
        examples=["order history for the checkout service"],
    )


class ProvisionRequest(RequestFields):
    """What a person asks for. Strict: unknown fields, wrong types and invalid values are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("database_name")
    @classmethod
    def _valid_database_name(cls, value: str) -> str:
        problem = naming.database_name_problem(value)
        if problem:
            raise PydanticCustomError("database_name", problem)
        return value

    @field_validator("owner")
    @classmethod
    def _valid_owner(cls, value: str | None) -> str | None:
        return None if value is None else (_tag_safe("owner", value, OWNER_MAX_LENGTH) or None)

    @field_validator("purpose")
    @classmethod
    def _valid_purpose(cls, value: str | None) -> str | None:
        return None if value is None else (_tag_safe("purpose", value, PURPOSE_MAX_LENGTH) or None)

    @property
    def rds_identifier(self) -> str:
        return naming.rds_identifier(self.database_name, self.environment.value)

    @property
    def branch_name(self) -> str:
        return naming.branch_name(self.environment.value, self.database_name)

    @property
    def file_path(self) -> str:
        return naming.terraform_file_path(self.environment.value, self.database_name)

    @property
    def module_name(self) -> str:
        return naming.module_name(self.database_name)


_FIELD_CHOICES = {"database_engine": _ENGINE_CHOICES, "environment": _ENVIRONMENT_CHOICES}
_ALLOWED_FIELDS = ", ".join(ProvisionRequest.model_fields)


def _friendly(error: Mapping[str, Any]) -> FieldError:
    location = error.get("loc") or ()
    field = ".".join(str(part) for part in location) or "body"
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return FieldError(field, f"unknown field '{field}'; allowed fields are {_ALLOWED_FIELDS}")
    if kind == "missing":
        return FieldError(field, f"{field} is required")
    if field in _FIELD_CHOICES:
        got = error.get("input")
        shown = f" (got {got!r})" if isinstance(got, str | int | float | bool) else ""
        return FieldError(field, f"{field} must be one of {_FIELD_CHOICES[field]}{shown}")
    if kind in {"string_type", "is_instance_of"}:
        return FieldError(field, f"{field} must be a string")
    if kind in {"model_type", "dict_type"}:
        return FieldError("body", "the request body must be a JSON object")
    return FieldError(field, str(error.get("msg", "is invalid")))


def parse_request(data: Any) -> ProvisionRequest:
    """Validate untrusted input into a request, or raise ValidationFailed with one error per field."""
    if not isinstance(data, Mapping):
        raise ValidationFailed([FieldError("body", "the request body must be a JSON object")])
    try:
        return ProvisionRequest.model_validate(dict(data))
    except ValidationError as exc:
        errors: list[FieldError] = []
        seen: set[str] = set()
        for raw in exc.errors():
            friendly = _friendly(raw)
            if friendly.field not in seen:
                seen.add(friendly.field)
                errors.append(friendly)
        raise ValidationFailed(errors) from None


class RequestRecord(RequestFields):
    """A request as stored: what was asked, by whom, and how far it has got."""

    model_config = ConfigDict(extra="ignore")

    request_id: str
    status: RequestStatus
    requested_by: str
    source: Source
    created_at: datetime
    updated_at: datetime
    pr_url: str | None = None
    pr_number: int | None = None
    branch: str | None = None
    file_path: str | None = None
    error: str | None = None
    # Why the last attempt of a request still ``accepted`` failed (it is being retried); the
    # reason given when the retries run out.
    last_error: str | None = None
    # Where the Slack confirmation was posted, so the worker replies in its thread.
    slack_channel: str | None = None
    slack_thread_ts: str | None = None
    idempotency_key: str | None = None

    @property
    def request(self) -> ProvisionRequest:
        return ProvisionRequest(
            database_name=self.database_name,
            database_engine=self.database_engine,
            environment=self.environment,
            owner=self.owner,
            purpose=self.purpose,
        )
