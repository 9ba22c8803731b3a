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
    # Not asked for by anyone: the tool's own undo of a prod decommission that failed after its
    # first step (deletion protection off) was applied, so protection is never left off untracked.
    REPROTECT = "reprotect"


class Step(StrEnum):
    """The pull request a request is at. A prod decommission takes two: ``unprotect`` turns
    deletion protection off and, once applied, ``decommission`` deletes the file; ``reprotect``
    turns it on again when that decommission fails."""

    CREATE = "create"
    RESIZE = "resize"
    UNPROTECT = "unprotect"
    DECOMMISSION = "decommission"
    REPROTECT = "reprotect"


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
    Step.REPROTECT: FileChange.UPDATE,
}

# The pull requests each action takes, in order (deletion protection must go before the file).
STEPS: Mapping[Action, tuple[Step, ...]] = {
    Action.CREATE: (Step.CREATE,),
    Action.RESIZE: (Step.RESIZE,),
    Action.DECOMMISSION: (Step.UNPROTECT, Step.DECOMMISSION),
    Action.REPROTECT: (Step.REPROTECT,),
}
# Steps only a database with deletion protection takes.
_PROTECTED_ONLY = frozenset({Step.UNPROTECT})
# What undoes an applied step when its request fails later: protection turned off for a
# decommission that does not happen is turned on again.
UNDONE_BY: Mapping[Step, Action] = {Step.UNPROTECT: Action.REPROTECT}


def steps_of(action: Action, *, deletion_protected: bool) -> tuple[Step, ...]:
    """The pull requests ``action`` takes, in order."""
    return tuple(step for step in STEPS[action] if deletion_protected or step not in _PROTECTED_ONLY)


def next_step(action: Action, step: Step, *, deletion_protected: bool) -> Step | None:
    """The step after ``step`` once its pull request is applied; None when the request is done."""
    steps = steps_of(action, deletion_protected=deletion_protected)
    position = steps.index(step)
    return steps[position + 1] if position + 1 < len(steps) else None


def undo_of(action: Action, step: Step, *, deletion_protected: bool) -> Action | None:
    """What must undo the steps already applied when a request at ``step`` fails (None: nothing)."""
    steps = steps_of(action, deletion_protected=deletion_protected)
    applied = steps[: steps.index(step)]
    return next((UNDONE_BY[done] for done in applied if done in UNDONE_BY), None)


def protection_after(step: Step, *, policy_protection: bool) -> bool | None:
    """The database's deletion protection once ``step`` is applied (None: it is gone)."""
    if step is Step.UNPROTECT:
        return False
    if FILE_CHANGES[step] is FileChange.DELETE:
        return None
    # Every file the renderer writes for another step carries the environment's protection.
    return policy_protection


class DatabaseEffect(StrEnum):
    """What a request's status does to the record of its database (besides the status itself)."""

    # The database record goes: the name may be asked for again.
    FREE_NAME = "free_name"
    # The database may be changed again (the change in flight has ended).
    END_CHANGE = "end_change"
    # The database's size becomes the one the request asked for (a resize took effect).
    RECORD_SIZING = "record_sizing"
    # The database's deletion protection becomes what the request's applied file says.
    RECORD_PROTECTION = "record_protection"


_ENDED_CHANGE = (DatabaseEffect.END_CHANGE,)
# Keyed by (what was asked, the status it reached); statuses not listed change only the request.
DATABASE_EFFECTS: Mapping[tuple[Action, RequestStatus], tuple[DatabaseEffect, ...]] = {
    (Action.CREATE, RequestStatus.FAILED): (DatabaseEffect.FREE_NAME,),
    (Action.CREATE, RequestStatus.REJECTED): (DatabaseEffect.FREE_NAME,),
    (Action.RESIZE, RequestStatus.APPLIED): (
        DatabaseEffect.RECORD_SIZING,
        DatabaseEffect.RECORD_PROTECTION,
        DatabaseEffect.END_CHANGE,
    ),
    (Action.RESIZE, RequestStatus.FAILED): _ENDED_CHANGE,
    (Action.RESIZE, RequestStatus.REJECTED): _ENDED_CHANGE,
    (Action.DECOMMISSION, RequestStatus.APPLIED): (DatabaseEffect.FREE_NAME,),
    (Action.DECOMMISSION, RequestStatus.FAILED): _ENDED_CHANGE,
    (Action.DECOMMISSION, RequestStatus.REJECTED): _ENDED_CHANGE,
    (Action.REPROTECT, RequestStatus.APPLIED): (DatabaseEffect.RECORD_PROTECTION, DatabaseEffect.END_CHANGE),
    (Action.REPROTECT, RequestStatus.FAILED): _ENDED_CHANGE,
    (Action.REPROTECT, RequestStatus.REJECTED): _ENDED_CHANGE,
}


def database_effects(action: Action, status: RequestStatus) -> tuple[DatabaseEffect, ...]:
    return DATABASE_EFFECTS.get((action, status), ())


def touches_database(status: RequestStatus) -> bool:
    """Whether reaching ``status`` may change a request's database record (for some action)."""
    return any(reached is status for _action, reached in DATABASE_EFFECTS)
