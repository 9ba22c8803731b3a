"""The price table prices everything the policy can produce, and the arithmetic is AWS's (pure)."""

from __future__ import annotations

import dataclasses
import itertools
from decimal import Decimal
from typing import Any

import pytest

from backend.domain import Engine, Environment, Sizing, environment_policies
from backend.domain.kinds import EngineFamily
from backend.domain.pricing import (
    GP3_GB_MONTH,
    HOURS_PER_MONTH,
    INSTANCE_HOURLY,
    SERVERLESS_V2_ACU_HOUR,
    Unpriced,
    change_text,
    estimate,
    priced,
)


def every_sizing(environment: Environment, engine: Engine) -> list[Sizing]:
    """The size a new database gets, and every size a resize may choose (all combinations)."""
    policy = environment_policies()[environment]
    new = policy.new_sizing(engine)
    choices = policy.resize_choices(engine)
    names = list(choices)
    sizes = [new]
    for values in itertools.product(*(choices[name] for name in names)):
        changes: dict[str, Any] = dict(zip(names, values, strict=True))
        sizes.append(dataclasses.replace(new, **changes))
    return sizes


CONFIGURATIONS = [
    (environment, engine, sizing)
    for environment in environment_policies()
    for engine in Engine
    for sizing in every_sizing(environment, engine)
]


def test_the_policy_offers_many_configurations():
    assert len(CONFIGURATIONS) >= 60


@pytest.mark.parametrize(
    ("environment", "engine", "sizing"),
    CONFIGURATIONS,
    ids=[f"{env.value}-{engine.value}-{sizing.summary}" for env, engine, sizing in CONFIGURATIONS],
)
def test_every_configuration_the_policy_can_produce_is_priced(
    environment: Environment, engine: Engine, sizing: Sizing
):
    figure = estimate(engine, environment, sizing)
    assert figure.monthly_usd > 0
    assert figure.monthly_usd == figure.monthly_usd.quantize(Decimal("0.01"))
    assert figure.basis


def test_a_dev_instance_is_its_hours_plus_its_storage():
    figure = estimate(Engine.POSTGRES, Environment("dev"), Sizing("db.t3.micro", 20))
    assert figure.monthly_usd == Decimal("0.018") * 730 + Decimal("0.115") * 20 == Decimal("15.44")
    assert figure.text == "$15.44/month"
    assert figure.amount == 15.44


def test_multi_az_doubles_the_instance_and_its_storage():
    single = INSTANCE_HOURLY[(Engine.POSTGRES, "db.t3.medium")] * HOURS_PER_MONTH + GP3_GB_MONTH * 50
    figure = estimate(Engine.POSTGRES, Environment("prod"), Sizing("db.t3.medium", 50))
    assert environment_policies()[Environment("prod")].multi_az
    assert figure.monthly_usd == 2 * single == Decimal("116.62")
    assert "Multi-AZ" in figure.basis


def test_aurora_prices_each_instance_and_serverless_at_its_maximum():
    prod = estimate(Engine.AURORA_MYSQL, Environment("prod"), Sizing("db.r6g.large"))
    dev = estimate(Engine.AURORA_POSTGRESQL, Environment("dev"), Sizing("db.serverless", max_capacity=4))
    assert environment_policies()[Environment("prod")].aurora.instance_count == 2
    assert prod.monthly_usd == Decimal("0.260") * 730 * 2 == Decimal("379.60")
    assert "storage and I/O extra" in prod.basis
    assert dev.monthly_usd == SERVERLESS_V2_ACU_HOUR * 4 * 730 == Decimal("350.40")


def test_a_bigger_size_never_costs_less():
    for environment, engine in itertools.product(environment_policies(), Engine):
        policy = environment_policies()[environment]
        if engine.family is EngineFamily.INSTANCE:
            figures = [
                estimate(engine, environment, Sizing(policy.instance_class, s)) for s in policy.storage_sizes
            ]
        elif policy.aurora.serverless:
            figures = [
                estimate(engine, environment, Sizing(policy.aurora.instance_class, max_capacity=c))
                for c in policy.aurora.max_capacities
            ]
        else:
            figures = [estimate(engine, environment, Sizing(c)) for c in policy.aurora.instance_classes]
        amounts = [f.monthly_usd for f in figures]
        assert amounts == sorted(amounts), (environment, engine, amounts)


def test_an_unknown_class_is_unpriced_and_a_view_shows_no_figure_for_it():
    with pytest.raises(Unpriced, match=r"no us-east-1 price for mysql on db\.x9\.huge"):
        estimate(Engine.MYSQL, Environment("dev"), Sizing("db.x9.huge", 20))
    assert priced(Engine.MYSQL, Environment("dev"), Sizing("db.x9.huge", 20)) is None
    assert priced(Engine.MYSQL, Environment("dev"), None) is None


def test_a_resize_reads_old_to_new():
    before = estimate(Engine.MYSQL, Environment("dev"), Sizing("db.t3.micro", 20))
    after = estimate(Engine.MYSQL, Environment("dev"), Sizing("db.t3.small", 20))
    assert change_text(before, after) == "$14.71 -> $27.12/month"
    assert change_text(None, after) == "$27.12/month"
    assert change_text(after, after) == "$27.12/month"
