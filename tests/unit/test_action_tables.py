"""Every action and step has its row in each table that varies by them: a new action or step that
misses one fails here, not in a worker at 3 a.m. (a KeyError on the queue).

The domain's ``ACTIONS`` holds what every layer reads about an action; each layer's own table
(keyed by ``Action`` or ``Step``) is held complete over it here.
"""

from __future__ import annotations

from collections import Counter
from typing import cast

import pytest

from backend.adapters.slack_notices import OFFERS, RENDERERS
from backend.domain import Action, DatabaseEffect, RequestStatus, Step
from backend.domain.actions import (
    ACTIONS,
    ASKED_BY_PEOPLE,
    DATABASE_CHANGES,
    STEPS,
    Asker,
    spec_of,
    step_spec,
)
from backend.domain.notices import STATUS_NOTICES, Happening, Offer
from backend.handlers.routes import ROUTES
from backend.render.pull_request import TEXTS
from backend.services.intake import CHANGES
from bot.blocks.change_forms import CHANGE_FORMS
from bot.blocks.ids import COMMAND, COMMAND_WORDS, usage
from local import cli


@pytest.mark.parametrize("action", list(Action))
def test_every_action_has_its_row_with_steps(action: Action) -> None:
    spec = spec_of(action)
    assert spec.steps
    assert spec.asked_as
    assert spec.cost_label
    # A request that ends without its change lets go of what it held: the name, or the change lock.
    assert spec.effects[RequestStatus.FAILED] == spec.effects[RequestStatus.REJECTED]
    assert spec.effects[RequestStatus.FAILED] in {(DatabaseEffect.FREE_NAME,), (DatabaseEffect.END_CHANGE,)}


def test_every_step_is_taken_by_exactly_one_action() -> None:
    taken = Counter(step.step for spec in ACTIONS.values() for step in spec.steps)
    assert taken == Counter(set(Step))
    assert set(STEPS) == set(Step)


@pytest.mark.parametrize("step", list(Step))
def test_every_step_has_its_commit_subject_pr_text_and_notice(step: Step) -> None:
    subject = step_spec(step).commit_subject.format(engine="postgres", name="orders", env="dev")
    assert "orders (dev)" in subject
    assert step in TEXTS
    # Its own words when its pull request opens, else its action's (the row at any step).
    assert {(RequestStatus.PR_OPENED, step), (RequestStatus.PR_OPENED, None)} & set(STATUS_NOTICES)


def test_an_action_or_step_without_a_row_fails_by_name() -> None:
    # Not an Action member: what a new member without its row would be to the lookup.
    with pytest.raises(LookupError, match=r"'snapshot'.*ACTIONS"):
        spec_of(cast(Action, "snapshot"))
    with pytest.raises(LookupError, match=r"'snapshot'.*ACTIONS"):
        step_spec(cast(Step, "snapshot"))


@pytest.mark.parametrize("action", list(Action))
def test_what_people_ask_for_has_one_api_route_and_what_the_tool_does_none(action: Action) -> None:
    routes = [route for route in ROUTES if route.action is action]
    if spec_of(action).asked_by is Asker.PEOPLE:
        (route,) = routes
        assert route.method == "POST"
        assert route.body is not None
    else:
        assert routes == []
    assert set(ASKED_BY_PEOPLE) == {Action.CREATE, Action.RESIZE, Action.DECOMMISSION}


# The changes of an existing database: everything people ask for but a new database.
CHANGES_ASKED = set(ASKED_BY_PEOPLE) - {Action.CREATE}


def test_the_changes_people_ask_for_are_all_they_ask_for_but_a_new_database() -> None:
    assert set(DATABASE_CHANGES) == CHANGES_ASKED


def test_every_change_people_ask_for_has_its_intake_submit_slack_form_and_rdsctl_command() -> None:
    assert set(CHANGES) == CHANGES_ASKED
    assert set(CHANGE_FORMS) == CHANGES_ASKED
    assert set(cli.CHANGE_ROUTES) == {action.value for action in CHANGES_ASKED}
    forms = list(CHANGE_FORMS.values())
    # Each form its own button, modal and callback (Slack routes by them).
    assert len({form.open_action_id for form in forms}) == len(forms)
    assert len({form.callback_id for form in forms}) == len(forms)
    # ``/provision-rds <action> <name> <env>`` opens it; a mistyped word is matched against these.
    assert {action.value for action in CHANGE_FORMS} <= set(COMMAND_WORDS)
    assert all(f"{COMMAND} {action.value} <database_name> <env>" in usage() for action in CHANGE_FORMS)


def test_every_notice_kind_is_rendered_and_every_offer_is_a_button() -> None:
    assert set(RENDERERS) == set(Happening)
    assert set(OFFERS) == set(Offer)
