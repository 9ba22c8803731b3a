"""The rules of day-2 changes: what a resize may ask for, what a decommission must confirm, and
when a database can be changed at all (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any

from backend.domain.errors import AlreadyRequested, FieldError, ValidationFailed
from backend.domain.kinds import Engine
from backend.domain.policy import SERVERLESS_INSTANCE_CLASS, EnvironmentPolicy, Sizing, capacity_text
from backend.domain.requests import DatabaseRecord, DecommissionRequest, RequestRecord, ResizeRequest


def check_changeable(database: DatabaseRecord, create: RequestRecord | None) -> None:
    """Raise AlreadyRequested (a 409) while the create's PR is not merged or another change is in flight."""
    where = f"{database.environment.value} database {database.database_name}"
    if database.change_request_id is not None:
        raise AlreadyRequested(
            f"Another change of the {where} is in flight; wait until it is done",
            existing_request_id=database.change_request_id,
        )
    # No create record: it was applied and has since aged out of the store (REQUEST_RETENTION_DAYS);
    # a failed or rejected create removes the database's record with it.
    # A change edits the file on main, so the file must be there: its create is merged.
    if create is not None and not create.status.merged:
        raise AlreadyRequested(
            f"The {where} is not created yet (its request is {create.status.value}); change it once its pull "
            "request is merged",
            existing_request_id=database.request_id,
        )


# Why a size field does not apply to a database that cannot change it, for the 400's message.
_NOT_APPLICABLE: Mapping[str, str] = {
    "allocated_storage": "Aurora storage grows by itself",
    "max_capacity": "only Aurora Serverless v2 databases (dev aurora-mysql, aurora-postgresql) have a "
    "capacity range",
    "instance_class": f"Aurora Serverless v2 runs on {SERVERLESS_INSTANCE_CLASS}, sized by its capacity "
    "range",
}
# What each size field's values are counted in.
_UNITS: Mapping[str, str] = {"allocated_storage": " (GiB)", "max_capacity": " (ACU)"}
# Fields that can only grow: RDS cannot shrink allocated storage.
_ONLY_GROWS = frozenset({"allocated_storage"})


def _shown(value: str | int | float) -> str:
    return capacity_text(value) if isinstance(value, float) else str(value)


def resized(policy: EnvironmentPolicy, engine: Engine, current: Sizing, wanted: ResizeRequest) -> Sizing:
    """The size ``wanted`` gives a database of ``engine`` and size ``current``, or ValidationFailed
    saying why not. What may change, and to what, is the policy's (``resize_choices``)."""
    choices = policy.resize_choices(engine)
    asked: dict[str, Any] = {name: value for name, value in wanted.model_dump().items() if value is not None}
    problems: list[FieldError] = []
    for name, value in asked.items():
        if name not in choices:
            can = ", ".join(choices)
            problems.append(
                FieldError(
                    name,
                    f"{name} does not apply to an {engine.value} database here: {_NOT_APPLICABLE[name]} "
                    f"(what can change: {can})",
                )
            )
        elif value not in choices[name]:
            allowed = ", ".join(_shown(choice) for choice in choices[name])
            problems.append(
                FieldError(name, f"{name} must be one of {allowed}{_UNITS.get(name, '')} in this environment")
            )
        elif name in _ONLY_GROWS and value < asdict(current)[name]:
            problems.append(
                FieldError(
                    name,
                    f"storage can only grow: it is {current.allocated_storage} GiB now "
                    f"(RDS cannot shrink allocated storage)",
                )
            )
    after = replace(current, **asked)
    if not problems and after == current:
        problems.append(FieldError("body", f"nothing to change: it is already {current.summary}"))
    if problems:
        raise ValidationFailed(problems)
    return after


def check_confirmation(database_name: str, wanted: DecommissionRequest) -> None:
    if wanted.confirm != database_name:
        raise ValidationFailed(
            [FieldError("confirm", f"type the database's name, {database_name}, to confirm its decommission")]
        )
