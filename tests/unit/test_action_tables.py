"""Every action and step has its row in each table that varies by them: a new action or step that
misses one fails here, not in a worker at 3 a.m. (a KeyError on the queue)."""

from __future__ import annotations

import pytest

from backend.adapters.slack_notices import OFFERS, RENDERERS
from backend.domain import Action, RequestStatus, Step
from backend.domain.actions import FILE_CHANGES, STEPS
from backend.domain.notices import STATUS_NOTICES, Happening, Offer
from backend.render.pull_request import COST_LABELS, TEXTS
from backend.services.provisioner import COMMIT_SUBJECTS
from bot.blocks.answers import ASKED


@pytest.mark.parametrize("action", list(Action))
def test_every_action_has_its_steps_cost_label_and_confirmation(action: Action) -> None:
    assert STEPS[action]
    assert action in COST_LABELS
    assert action in ASKED


@pytest.mark.parametrize("step", list(Step))
def test_every_step_has_its_file_change_commit_subject_pr_text_and_messages(step: Step) -> None:
    assert step in FILE_CHANGES
    assert step in COMMIT_SUBJECTS
    assert step in TEXTS
    assert (RequestStatus.PR_OPENED, step) in STATUS_NOTICES
    assert any(step in steps for steps in STEPS.values())


def test_every_notice_kind_is_rendered_and_every_offer_is_a_button() -> None:
    assert set(RENDERERS) == set(Happening)
    assert set(OFFERS) == set(Offer)
