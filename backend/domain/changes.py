"""The rules of day-2 changes: what a resize may ask for, what a decommission must confirm, and
when a database can be changed at all (pure)."""

from __future__ import annotations

from backend.domain.errors import AlreadyRequested, FieldError, ValidationFailed
from backend.domain.policy import EnvironmentPolicy, Sizing
from backend.domain.requests import DatabaseRecord, DecommissionRequest, RequestRecord, ResizeRequest
from backend.domain.statuses import RequestStatus

# A change edits the file on main, so the file must be there: its create is merged.
CHANGEABLE = frozenset({RequestStatus.MERGED, RequestStatus.APPLIED})


def check_changeable(database: DatabaseRecord, create: RequestRecord | None) -> None:
    """Raise AlreadyRequested (a 409) while the create's PR is not merged or another change is in flight."""
    where = f"{database.environment.value} database {database.database_name}"
    if database.change_request_id is not None:
        raise AlreadyRequested(
            f"Another change of the {where} is in flight; wait until it is done",
            existing_request_id=database.change_request_id,
        )
    if create is None or create.status not in CHANGEABLE:
        status = create.status.value if create else "unknown"
        raise AlreadyRequested(
            f"The {where} is not created yet (its request is {status}); change it once its pull "
            "request is merged",
            existing_request_id=database.request_id,
        )


def resized(policy: EnvironmentPolicy, current: Sizing, wanted: ResizeRequest) -> Sizing:
    """The size ``wanted`` gives a database of size ``current``, or ValidationFailed saying why not."""
    problems: list[FieldError] = []
    instance_class = wanted.instance_class or current.instance_class
    storage = wanted.allocated_storage if wanted.allocated_storage is not None else current.allocated_storage
    if wanted.instance_class is not None and wanted.instance_class not in policy.instance_classes:
        problems.append(
            FieldError(
                "instance_class",
                f"instance_class must be one of {', '.join(policy.instance_classes)} in this environment",
            )
        )
    if wanted.allocated_storage is not None:
        if wanted.allocated_storage not in policy.storage_sizes:
            sizes = ", ".join(str(size) for size in policy.storage_sizes)
            problems.append(
                FieldError("allocated_storage", f"allocated_storage must be one of {sizes} (GiB)")
            )
        elif wanted.allocated_storage < current.allocated_storage:
            problems.append(
                FieldError(
                    "allocated_storage",
                    f"storage can only grow: it is {current.allocated_storage} GiB now "
                    f"(RDS cannot shrink allocated storage)",
                )
            )
    if not problems and (instance_class, storage) == (current.instance_class, current.allocated_storage):
        problems.append(
            FieldError(
                "body",
                f"nothing to change: it is already {current.instance_class} "
                f"with {current.allocated_storage} GiB",
            )
        )
    if problems:
        raise ValidationFailed(problems)
    return Sizing(instance_class, storage)


def check_confirmation(database_name: str, wanted: DecommissionRequest) -> None:
    if wanted.confirm != database_name:
        raise ValidationFailed(
            [FieldError("confirm", f"type the database's name, {database_name}, to confirm its decommission")]
        )
