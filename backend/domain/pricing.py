"""What a database costs a month, estimated from a price table shipped here (pure).

The table: on-demand list prices of Amazon RDS and Aurora (Aurora Standard) in **us-east-1**, in
USD, entered by hand from the public price pages
(https://aws.amazon.com/rds/mysql/pricing/, /rds/postgresql/pricing/, /rds/aurora/pricing/) as
they were published in 2025. They were not re-checked when this table was written on 2026-11-26:
the machine had no internet. Before quoting a figure to the cent, refresh them from the AWS Price
List API, e.g.::

    aws pricing get-products --region us-east-1 --service-code AmazonRDS --filters \\
      Type=TERM_MATCH,Field=location,Value="US East (N. Virginia)" \\
      Type=TERM_MATCH,Field=instanceType,Value=db.t3.micro \\
      Type=TERM_MATCH,Field=databaseEngine,Value=PostgreSQL \\
      Type=TERM_MATCH,Field=deploymentOption,Value=Single-AZ

and change ``PRICES_AS_OF`` with them. ``tests/unit/test_pricing.py`` fails if the environment
policy can produce a configuration this table does not price.

How a month is estimated (730 hours, AWS's own convention):

- a DB instance: the hourly price of its class x 730, doubled for Multi-AZ (a standby instance),
  plus its gp3 storage per GB-month (doubled for Multi-AZ too);
- an Aurora cluster: each instance's hourly price x 730 (a prod cluster has a writer and a
  reader); Serverless v2 at its capacity *maximum* in ACU x the ACU-hour price x 730, so the
  estimate is what it can cost at most (idle at the minimum costs less);
- not included: Aurora storage and I/O (billed per GB used and per request: unknown in advance),
  backup storage beyond the database's size, Performance Insights beyond the free 7 days, data
  transfer, CloudWatch logs and enhanced monitoring, and the CPU credits a burstable ``db.t3`` may
  use past its baseline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from backend.domain.errors import ProvisionerError
from backend.domain.kinds import Engine, EngineFamily
from backend.domain.policy import Environment, Sizing, capacity_text, policy_for

PRICES_REGION = "us-east-1"
PRICES_AS_OF = "as published in 2025"
HOURS_PER_MONTH = 730

# USD per instance-hour, Single-AZ, by (engine, instance class).
_RDS_MYSQL = {
    "db.t3.micro": "0.017",
    "db.t3.small": "0.034",
    "db.t3.medium": "0.068",
    "db.t3.large": "0.136",
    "db.m5.large": "0.171",
    "db.m5.xlarge": "0.342",
    "db.r5.large": "0.240",
}
_RDS_POSTGRES = {
    "db.t3.micro": "0.018",
    "db.t3.small": "0.036",
    "db.t3.medium": "0.072",
    "db.t3.large": "0.145",
    "db.m5.large": "0.178",
    "db.m5.xlarge": "0.356",
    "db.r5.large": "0.250",
}
_AURORA = {
    "db.r6g.large": "0.260",
    "db.r6g.xlarge": "0.519",
    "db.r6g.2xlarge": "1.038",
}
INSTANCE_HOURLY: Mapping[tuple[Engine, str], Decimal] = {
    **{(Engine.MYSQL, name): Decimal(price) for name, price in _RDS_MYSQL.items()},
    **{(Engine.POSTGRES, name): Decimal(price) for name, price in _RDS_POSTGRES.items()},
    **{
        (engine, name): Decimal(price)
        for engine in (Engine.AURORA_MYSQL, Engine.AURORA_POSTGRESQL)
        for name, price in _AURORA.items()
    },
}
# USD per GB-month of gp3 storage, Single-AZ (Multi-AZ stores it twice).
GP3_GB_MONTH = Decimal("0.115")
# USD per ACU-hour of Aurora Serverless v2 (Aurora Standard), both Aurora engines.
SERVERLESS_V2_ACU_HOUR = Decimal("0.12")

_CENT = Decimal("0.01")


class Unpriced(ProvisionerError):
    """The price table has no price for this configuration (a policy value was added without one)."""


@dataclass(frozen=True)
class Estimate:
    monthly_usd: Decimal
    # How it was reached, for a reviewer: "db.t3.medium x 2 (Multi-AZ) x 730 h + 50 GiB gp3 x 2".
    basis: str

    @property
    def amount(self) -> float:
        """The API's ``estimated_monthly_usd``: dollars and cents, as a JSON number."""
        return float(self.monthly_usd)

    @property
    def text(self) -> str:
        """``$116.62/month``."""
        return f"${self.monthly_usd:,.2f}/month"


def _hourly(engine: Engine, instance_class: str) -> Decimal:
    try:
        return INSTANCE_HOURLY[(engine, instance_class)]
    except KeyError:
        raise Unpriced(f"no {PRICES_REGION} price for {engine.value} on {instance_class}") from None


def estimate(engine: Engine, environment: Environment, sizing: Sizing) -> Estimate:
    """The monthly estimate of a database of ``engine`` in ``environment`` at ``sizing``."""
    policy = policy_for(environment)
    if engine.family is EngineFamily.INSTANCE:
        copies = 2 if policy.multi_az else 1
        where = " (Multi-AZ)" if copies == 2 else ""
        storage = sizing.allocated_storage or 0
        total = _hourly(engine, sizing.instance_class) * HOURS_PER_MONTH * copies
        total += GP3_GB_MONTH * storage * copies
        basis = (
            f"{sizing.instance_class} x {copies}{where} x {HOURS_PER_MONTH} h + {storage} GiB gp3 x {copies}"
        )
    elif sizing.max_capacity is not None:
        total = SERVERLESS_V2_ACU_HOUR * Decimal(str(sizing.max_capacity)) * HOURS_PER_MONTH
        basis = (
            f"Serverless v2 at its maximum, {capacity_text(sizing.max_capacity)} ACU x {HOURS_PER_MONTH} h"
        )
    else:
        count = policy.aurora.instance_count
        total = _hourly(engine, sizing.instance_class) * HOURS_PER_MONTH * count
        basis = f"{sizing.instance_class} x {count} instances x {HOURS_PER_MONTH} h; storage and I/O extra"
    return Estimate(total.quantize(_CENT, rounding=ROUND_HALF_UP), basis)


def priced(engine: Engine, environment: Environment, sizing: Sizing | None) -> Estimate | None:
    """``estimate``, or None without a size or for one the table does not price (a record of a
    size the policy no longer offers shows no figure rather than failing its view)."""
    if sizing is None:
        return None
    try:
        return estimate(engine, environment, sizing)
    except Unpriced:
        return None


def change_text(before: Estimate | None, after: Estimate) -> str:
    """``$13.14/month`` or, for a resize, ``$13.14 -> $26.28/month``."""
    if before is None or before.monthly_usd == after.monthly_usd:
        return after.text
    return f"${before.monthly_usd:,.2f} -> {after.text}"


def source_note() -> str:
    """Where the figures come from, in one line (PR bodies, Slack)."""
    return f"on-demand list prices, {PRICES_REGION}, {PRICES_AS_OF}; an estimate, not a bill"
