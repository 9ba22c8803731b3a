"""What is asked for (``ProvisionRequest``) and the stored request (``RequestRecord``), pure.

The request's own fields are declared once, in ``RequestFields``; the request model adds the
validation rules, the record adds how far the request has got, and the HTTP API's view
(``backend.handlers.openapi``) picks what it shows from both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from backend.domain import naming
from backend.domain.actions import Action, Step
from backend.domain.errors import FieldError, ValidationFailed
from backend.domain.kinds import Engine, Environment, Source
from backend.domain.policy import Sizing
from backend.domain.statuses import RequestStatus

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
    database_engine: Engine = Field(
        description="mysql or postgres (an RDS DB instance), aurora-mysql or aurora-postgresql (an Aurora "
        "cluster: Serverless v2 in dev, a writer and a reader in prod)",
        examples=["postgres"],
    )
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
    def file_path(self) -> str:
        return naming.terraform_file_path(self.environment.value, self.database_name)

    @property
    def module_name(self) -> str:
        return naming.module_name(self.database_name)


class ResizeRequest(BaseModel):
    """A change of a database's size; what is left out stays as it is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance_class: StrictStr | None = Field(
        default=None,
        description=(
            "The new instance class, one of the environment policy's (GET /databases: the current). "
            "For Aurora, the class of every instance of a prod cluster."
        ),
        examples=["db.t3.small"],
    )
    allocated_storage: StrictInt | None = Field(
        default=None,
        description=(
            "The new storage in GiB, one of the environment policy's, more than now (it only grows). "
            "Not for Aurora: its storage grows by itself."
        ),
        examples=[50],
    )
    max_capacity: StrictFloat | None = Field(
        default=None,
        description=(
            "Aurora Serverless v2 (dev aurora-mysql, aurora-postgresql) only: the new capacity maximum in "
            "ACU, one of the environment policy's."
        ),
        examples=[4],
    )


class DecommissionRequest(BaseModel):
    """The end of a database: its name typed again, so nobody deletes one by a slip."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    confirm: StrictStr = Field(description="The database's name, typed again.", examples=["orders"])


_Model = TypeVar("_Model", bound=BaseModel)
_FIELD_CHOICES = {"database_engine": _ENGINE_CHOICES, "environment": _ENVIRONMENT_CHOICES}


def _friendly(error: Mapping[str, Any], allowed_fields: str) -> FieldError:
    location = error.get("loc") or ()
    field = ".".join(str(part) for part in location) or "body"
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return FieldError(field, f"unknown field '{field}'; allowed fields are {allowed_fields}")
    if kind == "missing":
        return FieldError(field, f"{field} is required")
    if field in _FIELD_CHOICES:
        got = error.get("input")
        shown = f" (got {got!r})" if isinstance(got, str | int | float | bool) else ""
        return FieldError(field, f"{field} must be one of {_FIELD_CHOICES[field]}{shown}")
    if kind in {"string_type", "is_instance_of"}:
        return FieldError(field, f"{field} must be a string")
    if kind in {"int_type", "int_parsing"}:
        return FieldError(field, f"{field} must be a whole number")
    if kind in {"float_type", "float_parsing", "finite_number"}:
        return FieldError(field, f"{field} must be a number")
    if kind in {"model_type", "dict_type"}:
        return FieldError("body", "the request body must be a JSON object")
    return FieldError(field, str(error.get("msg", "is invalid")))


def parse_as(model: type[_Model], data: Any) -> _Model:
    """Validate untrusted input into ``model``, or raise ValidationFailed with one error per field."""
    if not isinstance(data, Mapping):
        raise ValidationFailed([FieldError("body", "the request body must be a JSON object")])
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        allowed = ", ".join(model.model_fields)
        errors: list[FieldError] = []
        seen: set[str] = set()
        for raw in exc.errors():
            friendly = _friendly(raw, allowed)
            if friendly.field not in seen:
                seen.add(friendly.field)
                errors.append(friendly)
        raise ValidationFailed(errors) from None


def parse_request(data: Any) -> ProvisionRequest:
    """Validate untrusted input into a request for a new database (see ``parse_as``)."""
    return parse_as(ProvisionRequest, data)


class RequestRecord(RequestFields):
    """A request as stored: what was asked, by whom, and how far it has got."""

    model_config = ConfigDict(extra="ignore")

    request_id: str
    status: RequestStatus
    action: Action = Action.CREATE
    # The pull request the request is at (a prod decommission takes two).
    step: Step = Step.CREATE
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
    # The size the database has when the request is done (a create: the policy's), and for a
    # resize the size it had when it was asked for (``Sizing``'s fields; storage for DB instances,
    # capacity for Aurora Serverless v2).
    instance_class: str | None = None
    allocated_storage: int | None = None
    max_capacity: float | None = None
    previous_instance_class: str | None = None
    previous_allocated_storage: int | None = None
    previous_max_capacity: float | None = None

    @property
    def sizing(self) -> Sizing | None:
        if self.instance_class is None:
            return None
        return Sizing(self.instance_class, self.allocated_storage, self.max_capacity)

    @property
    def previous_sizing(self) -> Sizing | None:
        if self.previous_instance_class is None:
            return None
        return Sizing(
            self.previous_instance_class, self.previous_allocated_storage, self.previous_max_capacity
        )

    @property
    def branch_name(self) -> str:
        return naming.branch_name(
            self.environment.value, self.database_name, step=self.step.value, request_id=self.request_id
        )

    @property
    def request(self) -> ProvisionRequest:
        return ProvisionRequest(
            database_name=self.database_name,
            database_engine=self.database_engine,
            environment=self.environment,
            owner=self.owner,
            purpose=self.purpose,
        )


class DatabaseRecord(RequestFields):
    """A database as the store keeps it, from its create's acceptance until its decommission.

    Its record is also the claim on its name: while it exists nobody else may ask for the name.
    """

    model_config = ConfigDict(extra="ignore")

    # The request that created (or is creating) it.
    request_id: str
    requested_by: str
    created_at: datetime
    instance_class: str
    allocated_storage: int | None = None  # GiB, DB instances only
    max_capacity: float | None = None  # ACU, Aurora Serverless v2 only
    # The change in flight (a resize or decommission): one at a time.
    change_request_id: str | None = None
    # The newest request about it (its create, or its latest change).
    last_request_id: str | None = None

    @property
    def sizing(self) -> Sizing:
        return Sizing(self.instance_class, self.allocated_storage, self.max_capacity)

    @property
    def file_path(self) -> str:
        return naming.terraform_file_path(self.environment.value, self.database_name)

    @classmethod
    def created_by(cls, create: RequestRecord, sizing: Sizing) -> DatabaseRecord:
        """The database a create request asks for, as it is until its first change."""
        return cls(
            database_name=create.database_name,
            database_engine=create.database_engine,
            environment=create.environment,
            owner=create.owner,
            purpose=create.purpose,
            request_id=create.request_id,
            requested_by=create.requested_by,
            created_at=create.created_at,
            **asdict(create.sizing or sizing),
            last_request_id=create.request_id,
        )
