"""The heap freezing every Lambda entry point wraps itself in (backend.runtime)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from backend.runtime import frozen_after_first_invocation


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the test process's heap goes back to the collector's generations
    gc.enable()


def test_the_first_invocation_runs_without_the_collector_and_leaves_the_heap_frozen() -> None:
    seen: list[bool] = []

    @frozen_after_first_invocation
    def handler(event: str) -> str:
        seen.append(gc.isenabled())
        return event.upper()

    gc.unfreeze()
    assert handler("first") == "FIRST"
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    gc.unfreeze()
    assert handler("second") == "SECOND"
    assert seen == [False, True]
    assert gc.get_freeze_count() == 0  # only the first invocation freezes


def test_a_failing_first_invocation_still_turns_the_collector_back_on() -> None:
    @frozen_after_first_invocation
    def handler() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        handler()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0


def test_a_collector_the_caller_had_turned_off_stays_off() -> None:
    @frozen_after_first_invocation
    def handler() -> bool:
        return gc.isenabled()

    gc.disable()
    assert handler() is False
    assert not gc.isenabled()
