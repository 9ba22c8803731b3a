"""What is asked for (``ProvisionRequest``) and the stored request (``RequestRecord``), pure.

The request's own fields are declared once, in ``RequestFields``; the request model adds the
validation rules, the record adds how far the request has got, and the HTTP API's view
(``backend.handlers.openapi``) picks what it shows from both.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any, TypeVar, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from backend.domain import naming
from backend.domain.actions import Action, Step, next_step, protection_after, steps_of, undo_of
from backend.domain.conversation import Conversation, upgrade_legacy_conversations
from backend.domain.errors import FieldError, ValidationFailed
from backend.domain.expiry import DEFAULT_POLICY
from backend.domain.kinds import Engine, EngineFamily, Source
from backend.domain.policy import (
    Environment,
    EnvironmentPolicy,
    Sizing,
    environment_choices,
    environment_policies,
    policy_for,
)
from backend.domain.pricing import Estimate, priced
from backend.domain.reserved import RESERVED_NAMES
from backend.domain.statuses import RequestStatus

# AWS tag values allow letters, digits, spaces and _ . : / = + - @; owner and purpose become tags.
_TAG_CHARS = r"A-Za-z0-9 _.:/=+\-@"
_TAG_SAFE = re.compile(f"[{_TAG_CHARS}]*")
# Whitespace around a tag value is trimmed (a pasted value often carries a newline): each
# character, and how a regular expression spells it.
_TRIMMED_SPELLINGS = {" ": " ", "\t": r"\t", "\r": r"\r", "\n": r"\n"}
_TRIMMED = "".join(_TRIMMED_SPELLINGS)
OWNER_MAX_LENGTH = 64
PURPOSE_MAX_LENGTH = 256

# Printable ASCII without spaces, like the keys clients generate (UUIDs, ULIDs, hashes).
IDEMPOTENCY_KEY_MAX_LENGTH = 255
IDEMPOTENCY_KEY_PATTERN = rf"^[\x21-\x7e]{{1,{IDEMPOTENCY_KEY_MAX_LENGTH}}}$"

# The names are configuration: the schema of the Environment type lists those of the process.
ENVIRONMENT_DESCRIPTION = "One of the environments the API offers (the Environment schema lists them)"

_TAG_CHARACTERS_IN_WORDS = "letters, digits, spaces and _ . : / = + - @"
_TRIMMING_IN_WORDS = "Spaces, tabs and line breaks around it are trimmed; blank means none."

_ENGINE_CHOICES = ", ".join(e.value for e in Engine)


def _engines_of(family: EngineFamily) -> str:
    """``mysql or postgres``: the engines of ``family``, as a sentence names them."""
    names = [engine.value for engine in Engine if engine.family is family]
    return " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def tag_value_pattern(max_length: int) -> str:
    """What ``_tag_safe`` accepts, as one regular expression (Python and ECMA-262 alike): at most
    ``max_length`` tag characters once the whitespace around them is trimmed."""
    trimmed = "".join(_TRIMMED_SPELLINGS.values())
    return rf"^[{trimmed}]*[{_TAG_CHARS}]{{0,{max_length}}}[{trimmed}]*$"


def _tag_safe(field: str, value: str, max_length: int) -> str:
    value = value.strip(_TRIMMED)
    if len(value) > max_length:
        raise PydanticCustomError(
            "too_long", f"{field} must be at most {max_length} characters (got {len(value)})"
        )
    if not _TAG_SAFE.fullmatch(value):
        raise PydanticCustomError(
            "tag_chars",
            f"{field} may contain only {_TAG_CHARACTERS_IN_WORDS}",
        )
    return value


class RequestFields(BaseModel):
    """The fields of a request for a database, as every model of it carries them.

    Every model here builds its validator on first use (``defer_build``), not at import: a cold
    start pays only for the models its first request validates, and this base, never validated
    itself, is never built.
    """

    model_config = ConfigDict(defer_build=True)

    database_name: StrictStr = Field(
        description=(
            "Name of the database inside the engine: a lowercase letter, then lowercase letters, "
            f"digits and single underscores (never last), at most {naming.DATABASE_NAME_MAX_LENGTH} "
            "characters. Not a word MySQL or PostgreSQL reserves, nor a database name an engine or "
            "RDS uses itself (select, user, order, mysql, postgres, rdsadmin, ...): such a name is "
            "answered 400."
        ),
        examples=["orders"],
    )
    database_engine: Engine = Field(
        description=f"{_engines_of(EngineFamily.INSTANCE)} (an RDS DB instance), "
        f"{_engines_of(EngineFamily.AURORA)} (an Aurora cluster: Serverless v2 in dev, a writer and a "
        "reader in prod)",
        examples=["postgres"],
    )
    environment: Environment = Field(description=ENVIRONMENT_DESCRIPTION, examples=["dev"])
    owner: StrictStr | None = Field(
        default=None,
        description=(
            f"Owning team or person, written to the database's tags: at most {OWNER_MAX_LENGTH} "
            f"{_TAG_CHARACTERS_IN_WORDS}. {_TRIMMING_IN_WORDS}"
        ),
        examples=["payments-team"],
    )
    purpose: StrictStr | None = Field(
        default=None,
        description=(
            f"What the database is for, written to the PR and the tags: at most {PURPOSE_MAX_LENGTH} "
            f"{_TAG_CHARACTERS_IN_WORDS}. {_TRIMMING_IN_WORDS}"
        ),
        examples=["order history for the checkout service"],
    )


def _one_of(names: Sequence[str]) -> JsonDict:
    return {"const": names[0]} if len(names) == 1 else {"enum": [*names]}


def _documented(
    rules: Callable[[], dict[str, JsonDict]], whole: Callable[[], JsonDict] | None = None
) -> Callable[[JsonDict], None]:
    """A model's ``json_schema_extra`` stating, in JSON Schema, the rules its validators enforce.

    For the OpenAPI document only: pydantic does not check these keywords, so every refusal still
    comes from the validators, in the words every frontend shows. ``rules`` and ``whole`` are asked
    for when a schema is made, so it follows the configured environments. Each rule goes on its
    field's own schema (beside ``null`` when the field is optional; a description on the field).
    Only what is asked for carries them: answers show what was accepted then, and a word reserved
    later must not make them invalid.
    """

    def document(schema: JsonDict) -> None:
        properties = cast(JsonDict, schema["properties"])
        for name, rule in rules().items():
            field = cast(JsonDict, properties[name])
            described = {key: value for key, value in rule.items() if key != "description"}
            if "description" in rule:
                field["description"] = rule["description"]
            branches = cast(list[JsonDict], field.get("anyOf", [field]))
            next(branch for branch in branches if branch != {"type": "null"}).update(described)
        schema.update(whole() if whole else {})

    return document


DATABASE_NAME_RULE: JsonDict = {
    "pattern": naming.DATABASE_NAME_PATTERN,
    "maxLength": naming.DATABASE_NAME_MAX_LENGTH,
    "not": {"enum": [*sorted(RESERVED_NAMES)]},
}


def _no_ttl_where_nothing_expires() -> JsonDict:
    """ttl_days is for environments whose databases expire (dev): a request for another that gives
    one is refused."""
    lasting = [name for name, policy in environment_policies().items() if not policy.expires]
    if not lasting:
        return {}
    return {
        "if": {"properties": {"environment": _one_of(lasting)}},
        "then": {"properties": {"ttl_days": {"type": "null"}}},
    }


class ProvisionRequest(RequestFields):
    """What a person asks for. Strict: unknown fields, wrong types and invalid values are rejected."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra=_documented(
            lambda: {
                "database_name": DATABASE_NAME_RULE,
                "owner": {"pattern": tag_value_pattern(OWNER_MAX_LENGTH)},
                "purpose": {"pattern": tag_value_pattern(PURPOSE_MAX_LENGTH)},
                "ttl_days": {"minimum": 1, "maximum": DEFAULT_POLICY.max_days},
            },
            _no_ttl_where_nothing_expires,
        ),
    )

    ttl_days: StrictInt | None = Field(
        default=None,
        description=(
            f"Dev only: days until the database expires and is decommissioned (default DEV_TTL_DAYS, "
            f"{DEFAULT_POLICY.default_days}; at most MAX_DEV_TTL_DAYS, {DEFAULT_POLICY.max_days}, the bound "
            "stated here). Prod databases do not expire: a prod request with ttl_days is a 400."
        ),
        examples=[14],
    )

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


def _per_environment(values: Callable[[EnvironmentPolicy], tuple[Any, ...]]) -> str:
    return "; ".join(
        f"{environment.value}: {', '.join(str(v) for v in values(policy))}"
        for environment, policy in environment_policies().items()
    )


def _in_any_environment(values: Callable[[EnvironmentPolicy], tuple[Any, ...]]) -> list[JsonValue]:
    return sorted({value for policy in environment_policies().values() for value in values(policy)})


def _classes(policy: EnvironmentPolicy) -> tuple[str, ...]:
    return policy.instance_classes + policy.aurora.instance_classes


def _capacities(policy: EnvironmentPolicy) -> tuple[float, ...]:
    return policy.aurora.max_capacities


def _sizes(policy: EnvironmentPolicy) -> tuple[int, ...]:
    return policy.storage_sizes


class ResizeRequest(BaseModel):
    """A change of a database's size; what is left out stays as it is."""

    # The schema lists every environment's values; the environment's policy decides (400).
    model_config = ConfigDict(
        defer_build=True,
        extra="forbid",
        frozen=True,
        json_schema_extra=_documented(
            lambda: {
                "instance_class": {
                    "enum": _in_any_environment(_classes),
                    "description": "The new instance class, one of the environment policy's "
                    f"({_per_environment(_classes)}); GET /databases shows the current one. For Aurora, "
                    "the class of every instance of a prod cluster.",
                },
                "allocated_storage": {
                    "enum": _in_any_environment(_sizes),
                    "description": "The new storage in GiB, one of the environment policy's "
                    f"({_per_environment(_sizes)}), more than now (it only grows). Not for Aurora: its "
                    "storage grows by itself.",
                },
                "max_capacity": {
                    "enum": _in_any_environment(_capacities),
                    "description": "Aurora Serverless v2 (dev aurora-mysql, aurora-postgresql) only: the new "
                    "capacity maximum in ACU, one of the environment policy's "
                    f"({_per_environment(_capacities)}).",
                },
            }
        ),
    )

    # Described with the configured environments' values when a schema is asked for.
    instance_class: StrictStr | None = Field(default=None, examples=["db.t3.small"])
    allocated_storage: StrictInt | None = Field(default=None, examples=[50])
    max_capacity: StrictFloat | None = Field(default=None, examples=[4])


class DecommissionRequest(BaseModel):
    """The end of a database: its name typed again, so nobody deletes one by a slip."""

    model_config = ConfigDict(
        defer_build=True,
        extra="forbid",
        frozen=True,
        json_schema_extra=_documented(lambda: {"confirm": DATABASE_NAME_RULE}),
    )

    confirm: StrictStr = Field(
        description="The database's name, typed again: the database_name of the path.", examples=["orders"]
    )


class ExtendRequest(BaseModel):
    """A dev database kept longer: how many days from today (no pull request: the expiry is ours)."""

    model_config = ConfigDict(
        defer_build=True,
        extra="forbid",
        frozen=True,
        json_schema_extra=_documented(
            lambda: {"ttl_days": {"minimum": 1, "maximum": DEFAULT_POLICY.max_days}}
        ),
    )

    ttl_days: StrictInt | None = Field(
        default=None,
        description=(
            f"Days from today (UTC) it should live: default DEV_TTL_DAYS ({DEFAULT_POLICY.default_days}), "
            f"at most MAX_DEV_TTL_DAYS ({DEFAULT_POLICY.max_days}), and later than its current expiry."
        ),
        examples=[30],
    )


_Model = TypeVar("_Model", bound=BaseModel)
_FIELD_CHOICES: dict[str, Callable[[], str]] = {
    "database_engine": lambda: _ENGINE_CHOICES,
    "environment": environment_choices,
}


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
        return FieldError(field, f"{field} must be one of {_FIELD_CHOICES[field]()}{shown}")
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
    # The conversation with the requester (their confirmation, or the expiry message), so later
    # messages about the request follow in it.
    conversation: Conversation | None = None
    idempotency_key: str | None = None
    # Who approved (or denied) a prod request, and when; the approvers' message about it.
    approved_by: str | None = None
    approved_at: datetime | None = None
    denied_by: str | None = None
    denied_at: datetime | None = None
    approval_message: Conversation | None = None
    # The size the database has when the request is done (a create: the policy's), and for a
    # resize the size it had when it was asked for (``Sizing``'s fields; storage for DB instances,
    # capacity for Aurora Serverless v2).
    instance_class: str | None = None
    allocated_storage: int | None = None
    max_capacity: float | None = None
    previous_instance_class: str | None = None
    previous_allocated_storage: int | None = None
    # A dev create: the day (UTC) its database expires, as asked (the database's record has the
    # current one, which an extension moves).
    expires_on: date | None = None
    previous_max_capacity: float | None = None
    # A reprotect: the decommission it undoes.
    undoes_request_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_legacy_conversations(cls, data: Any) -> Any:
        """Records stored before ``Conversation`` (``slack_channel``, ``approval_ts``, ...) still read."""
        return upgrade_legacy_conversations(data) if isinstance(data, Mapping) else data

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
    def estimate(self) -> Estimate | None:
        """What the database costs a month at the size asked for (None: no size, or unpriced)."""
        return priced(self.database_engine, self.environment, self.sizing)

    @property
    def previous_estimate(self) -> Estimate | None:
        """A resize: what it cost at the size it had."""
        return priced(self.database_engine, self.environment, self.previous_sizing)

    @property
    def steps(self) -> tuple[Step, ...]:
        """The pull requests this request takes, in order (its environment says whether deletion
        protection must go first)."""
        return steps_of(self.action, deletion_protected=self._deletion_protected)

    @property
    def next_step(self) -> Step | None:
        """The step after this one once its pull request is applied; None when the request is done."""
        return next_step(self.action, self.step, deletion_protected=self._deletion_protected)

    @property
    def undo(self) -> Action | None:
        """What must undo its steps already applied if it fails at this one (None: nothing)."""
        return undo_of(self.action, self.step, deletion_protected=self._deletion_protected)

    @property
    def protection_once_applied(self) -> bool | None:
        """Its database's deletion protection once this step is applied (None: the database is gone)."""
        return protection_after(self.step, policy_protection=self._deletion_protected)

    @property
    def _deletion_protected(self) -> bool:
        return policy_for(self.environment).deletion_protection

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
    # Where its create came from (who can be told about it in Slack); None on older records.
    source: Source | None = None
    # Dev: the day (UTC) it expires; the expiry its requester was reminded of; the decommission
    # request its expiry asked for. An extension moves the first and clears the other two.
    expires_on: date | None = None
    reminded_for: date | None = None
    expiry_request_id: str | None = None
    # Whether deletion protection is on, as its applied file says (None on records older than the
    # field: the environment's policy then).
    deletion_protection: bool | None = None

    @property
    def sizing(self) -> Sizing:
        return Sizing(self.instance_class, self.allocated_storage, self.max_capacity)

    @property
    def protected(self) -> bool:
        """Whether its deletion protection is on now."""
        if self.deletion_protection is None:
            return policy_for(self.environment).deletion_protection
        return self.deletion_protection

    @property
    def file_path(self) -> str:
        return naming.terraform_file_path(self.environment.value, self.database_name)

    @property
    def estimate(self) -> Estimate | None:
        """What it costs a month at its current size."""
        return priced(self.database_engine, self.environment, self.sizing)

    @classmethod
    def created_by(cls, create: RequestRecord) -> DatabaseRecord:
        """The database a create request asks for, as it is until its first change: the size it
        asked for, else what its environment gives a new database of its engine."""
        policy = policy_for(create.environment)
        return cls(
            database_name=create.database_name,
            database_engine=create.database_engine,
            environment=create.environment,
            owner=create.owner,
            purpose=create.purpose,
            request_id=create.request_id,
            requested_by=create.requested_by,
            created_at=create.created_at,
            **asdict(create.sizing or policy.new_sizing(create.database_engine)),
            last_request_id=create.request_id,
            source=create.source,
            expires_on=create.expires_on,
            deletion_protection=policy.deletion_protection,
        )
