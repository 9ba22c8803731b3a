"""What a request does to a database (create, resize, decommission) and the pull requests it
takes, as tables (pure).

``ACTIONS`` holds one ``ActionSpec`` row per action: what every layer reads about it. What a layer
adds of its own (the route and body model, the PR text, the Slack modal, the rdsctl command) sits
in that layer's table keyed by ``Action`` or ``Step``; tests/unit/test_action_tables.py holds each
of them complete, so a new action is its row here plus one row (or file) per layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class StepSpec:
    """One pull request of an action."""

    step: Step
    file_change: FileChange
    # Its commit's first line; ``{engine}``, ``{name}`` and ``{env}`` are filled in.
    commit_subject: str
    # It turns deletion protection off, so only a database that has it takes this step.
    unprotects: bool = False
    # What undoes it once applied, when its request fails at a later step (None: nothing).
    undone_by: Action | None = None


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


class Asker(StrEnum):
    """Who asks for an action."""

    # A person, through every entry point: an API route, a Slack modal, an rdsctl command.
    PEOPLE = "people"
    # Nobody: the tool itself, to undo what a failed request left behind.
    THE_TOOL = "the_tool"


@dataclass(frozen=True)
class ActionSpec:
    """One action, as every layer sees it."""

    # The pull requests it takes, in order (deletion protection must go before the file).
    steps: tuple[StepSpec, ...]
    asked_by: Asker
    # What a confirmation calls a request of it: "Your <asked_as> orders (dev) is queued".
    asked_as: str
    # What its pull request's estimate is: what the database will cost, or what its end saves.
    cost_label: str
    # What reaching a status does to its database's record; statuses not listed change only the
    # request. Every action's FAILED and REJECTED release what it holds (the name, the change lock).
    effects: Mapping[RequestStatus, tuple[DatabaseEffect, ...]]


ACTIONS: Mapping[Action, ActionSpec] = {
    Action.CREATE: ActionSpec(
        steps=(StepSpec(Step.CREATE, FileChange.ADD, "Add {engine} database {name} ({env})"),),
        asked_by=Asker.PEOPLE,
        asked_as="request for",
        cost_label="Estimated cost",
        effects={
            RequestStatus.FAILED: (DatabaseEffect.FREE_NAME,),
            RequestStatus.REJECTED: (DatabaseEffect.FREE_NAME,),
        },
    ),
    Action.RESIZE: ActionSpec(
        steps=(StepSpec(Step.RESIZE, FileChange.UPDATE, "Resize database {name} ({env})"),),
        asked_by=Asker.PEOPLE,
        asked_as="resize of",
        cost_label="Estimated cost",
        effects={
            RequestStatus.APPLIED: (
                DatabaseEffect.RECORD_SIZING,
                DatabaseEffect.RECORD_PROTECTION,
                DatabaseEffect.END_CHANGE,
            ),
            RequestStatus.FAILED: _ENDED_CHANGE,
            RequestStatus.REJECTED: _ENDED_CHANGE,
        },
    ),
    Action.DECOMMISSION: ActionSpec(
        steps=(
            StepSpec(
                Step.UNPROTECT,
                FileChange.UPDATE,
                "Turn deletion protection off for database {name} ({env}) before its decommission",
                unprotects=True,
                # Protection turned off for a decommission that does not happen is turned on again.
                undone_by=Action.REPROTECT,
            ),
            StepSpec(Step.DECOMMISSION, FileChange.DELETE, "Decommission database {name} ({env})"),
        ),
        asked_by=Asker.PEOPLE,
        asked_as="decommission of",
        cost_label="Saves",
        effects={
            RequestStatus.APPLIED: (DatabaseEffect.FREE_NAME,),
            RequestStatus.FAILED: _ENDED_CHANGE,
            RequestStatus.REJECTED: _ENDED_CHANGE,
        },
    ),
    Action.REPROTECT: ActionSpec(
        steps=(
            StepSpec(
                Step.REPROTECT,
                FileChange.UPDATE,
                "Turn deletion protection on again for database {name} ({env}): its decommission failed",
            ),
        ),
        asked_by=Asker.THE_TOOL,
        asked_as="reprotect of",
        cost_label="Estimated cost",
        effects={
            RequestStatus.APPLIED: (DatabaseEffect.RECORD_PROTECTION, DatabaseEffect.END_CHANGE),
            RequestStatus.FAILED: _ENDED_CHANGE,
            RequestStatus.REJECTED: _ENDED_CHANGE,
        },
    ),
}
# The actions people ask for (each has its route, Slack modal and rdsctl command).
ASKED_BY_PEOPLE = tuple(action for action, spec in ACTIONS.items() if spec.asked_by is Asker.PEOPLE)
# The changes of an existing database people ask for: all they ask for but a new database. Each
# has its intake, Slack form, ``/provision-rds <action>`` word and rdsctl command, from its row.
DATABASE_CHANGES = tuple(
    action for action in ASKED_BY_PEOPLE if ACTIONS[action].steps[0].file_change is not FileChange.ADD
)
# What a request's status does to its database's record, by (what was asked, the status reached).
DATABASE_EFFECTS: Mapping[tuple[Action, RequestStatus], tuple[DatabaseEffect, ...]] = {
    (action, status): effects for action, spec in ACTIONS.items() for status, effects in spec.effects.items()
}
# Every step, whichever action takes it.
STEPS: Mapping[Step, StepSpec] = {spec.step: spec for action in ACTIONS.values() for spec in action.steps}


def spec_of(action: Action) -> ActionSpec:
    """``action``'s row; an action without one is a programming error, raised here by name."""
    try:
        return ACTIONS[action]
    except KeyError:
        raise LookupError(f"no ActionSpec for action {action!r}: add its row to ACTIONS") from None


def step_spec(step: Step) -> StepSpec:
    """``step``'s row (in its action's); a step no action takes is a programming error."""
    try:
        return STEPS[step]
    except KeyError:
        raise LookupError(f"no action takes step {step!r}: add it to its action's row in ACTIONS") from None


def steps_of(action: Action, *, deletion_protected: bool) -> tuple[Step, ...]:
    """The pull requests ``action`` takes, in order."""
    return tuple(spec.step for spec in spec_of(action).steps if deletion_protected or not spec.unprotects)


def next_step(action: Action, step: Step, *, deletion_protected: bool) -> Step | None:
    """The step after ``step`` once its pull request is applied; None when the request is done."""
    steps = steps_of(action, deletion_protected=deletion_protected)
    position = steps.index(step)
    return steps[position + 1] if position + 1 < len(steps) else None


def undo_of(action: Action, step: Step, *, deletion_protected: bool) -> Action | None:
    """What must undo the steps already applied when a request at ``step`` fails (None: nothing)."""
    steps = steps_of(action, deletion_protected=deletion_protected)
    applied = steps[: steps.index(step)]
    return next((undo for done in applied if (undo := step_spec(done).undone_by) is not None), None)


def protection_after(step: Step, *, policy_protection: bool) -> bool | None:
    """The database's deletion protection once ``step`` is applied (None: it is gone)."""
    spec = step_spec(step)
    if spec.unprotects:
        return False
    if spec.file_change is FileChange.DELETE:
        return None
    # Every file the renderer writes for another step carries the environment's protection.
    return policy_protection


def database_effects(action: Action, status: RequestStatus) -> tuple[DatabaseEffect, ...]:
    return spec_of(action).effects.get(status, ())


def touches_database(status: RequestStatus) -> bool:
    """Whether reaching ``status`` may change a request's database record (for some action)."""
    return any(reached is status for _action, reached in DATABASE_EFFECTS)
