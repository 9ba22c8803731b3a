"""The lifecycle's state diagram in docs/lifecycle.md is the status table the code enforces."""

from __future__ import annotations

import re
from pathlib import Path

from backend.domain.statuses import (
    ALLOWED_TRANSITIONS,
    STATUSES,
    PullRequestState,
    RequestStatus,
    predecessors,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md"
_ARROW = re.compile(r"^\s*(\[\*\]|\w+) --> (\[\*\]|\w+)", re.MULTILINE)


def _diagram() -> set[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    (block,) = re.findall(r"```mermaid\n(stateDiagram-v2\n.*?)```", text, re.DOTALL)
    return set(_ARROW.findall(block))


def test_the_diagram_draws_exactly_the_allowed_transitions() -> None:
    drawn = {(a, b) for a, b in _diagram() if "[*]" not in (a, b)}
    allowed = {(a.value, b.value) for a, nexts in ALLOWED_TRANSITIONS.items() for b in nexts}
    assert drawn == allowed


def test_the_diagram_ends_exactly_at_the_final_statuses() -> None:
    ends = {a for a, b in _diagram() if b == "[*]"}
    assert ends == {status.value for status in RequestStatus if status.is_final}
    starts = {b for a, b in _diagram() if a == "[*]"}
    assert starts == {RequestStatus.AWAITING_APPROVAL.value, RequestStatus.ACCEPTED.value}


def test_the_status_table_is_complete_and_lists_every_status() -> None:
    assert set(STATUSES) == set(RequestStatus)
    text = DOC.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(\w+)` \|", text, re.MULTILINE))
    assert listed == {status.value for status in RequestStatus}


def test_a_status_with_a_merged_pull_request_was_open_before() -> None:
    # The columns agree with the arrows: a status whose pull request is merged follows one whose
    # pull request is open or merged, and only a status reached without a pull request starts one.
    for status, spec in STATUSES.items():
        if spec.pull_request is PullRequestState.MERGED:
            assert any(STATUSES[before].pull_request for before in predecessors(status)), status
        assert not (spec.final and spec.next), status
