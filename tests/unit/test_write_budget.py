"""The GitHub write budget every worker shares: a real item in the requests table (moto).

A fake clock that the fake sleep advances stands for time, so the pacing is checked exactly.
"""

from __future__ import annotations

import boto3
import pytest

from backend.adapters.write_budget import HEADROOM, WriteBudget
from backend.domain.errors import RateLimited
from local.resources import AwsResources
from tests.support.aws import REGION, aws_resources  # noqa: F401

START = 1_800_000_000.0


class FakeTime:
    def __init__(self) -> None:
        self.now = START
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def table(aws_resources: AwsResources):  # noqa: F811
    return boto3.resource("dynamodb", region_name=REGION).Table(aws_resources.table_name)


def budget(table, fake: FakeTime, writes_per_minute: int = 54) -> WriteBudget:
    return WriteBudget(table, writes_per_minute=writes_per_minute, clock=fake.clock, sleep=fake.sleep)


def test_writes_are_spaced_evenly_under_the_budget(table):
    fake = FakeTime()
    pacer = budget(table, fake)  # 54 a minute, paced at 90%: one every 60 / 48.6 s
    interval = 60 / (54 * HEADROOM)

    waits = [pacer.take(max_wait=10) for _ in range(4)]

    assert waits[0] == 0  # an idle budget: the first write goes at once
    assert waits[1:] == pytest.approx([interval] * 3, abs=0.002)
    assert fake.now - START == pytest.approx(3 * interval, abs=0.01)


def test_two_workers_share_one_budget(table):
    fake = FakeTime()
    first, second = budget(table, fake), budget(table, fake)

    first.take(max_wait=0)
    with pytest.raises(RateLimited) as waited:
        second.take(max_wait=0)  # the turn after the first worker's is not free yet

    assert waited.value.retry_after_seconds == pytest.approx(first.interval, abs=0.002)
    assert "paces its GitHub writes at 54 a minute" in waited.value.message


def test_a_turn_further_away_than_allowed_reserves_nothing(table):
    fake = FakeTime()
    pacer = budget(table, fake, writes_per_minute=6)  # one write every ~11 s
    pacer.take(max_wait=0)

    for _ in range(3):
        with pytest.raises(RateLimited):
            pacer.take(max_wait=1)
    fake.now += pacer.interval

    assert pacer.take(max_wait=0) == 0  # the refusals left the next turn where it was


def test_an_idle_budget_does_not_bank_a_burst(table):
    fake = FakeTime()
    pacer = budget(table, fake)
    pacer.take(max_wait=0)
    fake.now += 3600  # an hour without writes

    pacer.take(max_wait=0)
    with pytest.raises(RateLimited):
        pacer.take(max_wait=0)
