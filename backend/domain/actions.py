"""What a request does to a database (create, resize, decommission) and the pull requests it
takes, as tables (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from backend.domain.statuses import RequestStatus


class Action(StrEnum):
    """What was asked for."""

    CREATE = "create"
    RESIZE = "resize"
    DECOMMISSION = "decommission"


class Step(StrEnum):
    """The pull request a request is at. A prod decommission takes two: ``unprotect`` turns
    deletion protection off and, once applied, ``decommission`` deletes the file."""

    CREATE = "create"
    RESIZE = "resize"
    UNPROTECT = "unprotect"
    DECOMMISSION = "decommission"


class FileChange(StrEnum):
    """What a step's pull request does to ``terraform/envs/<environment>/rds_<name>.tf``."""

    ADD = "add"
    UPDATE = "update"
    DELETE = "delete"


FILE_CHANGES: Mapping[Step, FileChange] = {
    Step.CREATE: FileChange.ADD,
    Step.RESIZE: FileChange.UPDATE,
    Step.UNPROTECT: FileChange.UPDATE,
    Step.DECOMMISSION: FileChange.DELETE,
}


def steps_of(action: Action, *, deletion_protected: bool) -> tuple[Step, ...]:
    """The pull requests ``action`` takes, in order (deletion protection must go before the file)."""
    if action is Action.CREATE:
        return (Step.CREATE,)
    if action is Action.RESIZE:
        return (Step.RESIZE,)
    return (Step.UNPROTECT, Step.DECOMMISSION) if deletion_protected else (Step.DECOMMISSION,)


def next_step(action: Action, step: Step, *, deletion_protected: bool) -> Step | None:
    """The step after ``step`` once its pull request is applied; None when the request is done."""
    steps = steps_of(action, deletion_protected=deletion_protected)
    position = steps.index(step)
    return steps[position + 1] if position + 1 < len(steps) else None


class DatabaseEffect(StrEnum):
    """What a request's status does to the record of its database (besides the status itself)."""

    # The database record goes: the name may be asked for again.
    FREE_NAME = "free_name"
    # The database may be changed again (the change in flight has ended).
    END_CHANGE = "end_change"
    # The database's size becomes the one the request asked for (a resize took effect).
    RECORD_SIZING = "record_sizing"


_ENDED_CHANGE = (DatabaseEffect.END_CHANGE,)
# Keyed by (what was asked, the status it reached); statuses not listed change only the request.
DATABASE_EFFECTS: Mapping[tuple[Action, RequestStatus], tuple[DatabaseEffect, ...]] = {
    (Action.CREATE, RequestStatus.FAILED): (DatabaseEffect.FREE_NAME,),
    (Action.CREATE, RequestStatus.REJECTED): (DatabaseEffect.FREE_NAME,),
    (Action.RESIZE, RequestStatus.APPLIED): (DatabaseEffect.RECORD_SIZING, DatabaseEffect.END_CHANGE),
    (Action.RESIZE, RequestStatus.FAILED): _ENDED_CHANGE,
    (Action.RESIZE, RequestStatus.REJECTED): _ENDED_CHANGE,
    (Action.DECOMMISSION, RequestStatus.APPLIED): (DatabaseEffect.FREE_NAME,),
    (Action.DECOMMISSION, RequestStatus.FAILED): _ENDED_CHANGE,
    (Action.DECOMMISSION, RequestStatus.REJECTED): _ENDED_CHANGE,
}


def database_effects(action: Action, status: RequestStatus) -> tuple[DatabaseEffect, ...]:
    return DATABASE_EFFECTS.get((action, status), ())
