"""The lifecycle's state diagram in docs/lifecycle.md is the status table the code enforces."""

from __future__ import annotations

import re
from pathlib import Path

from backend.domain.statuses import ALLOWED_TRANSITIONS, RequestStatus

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
