"""Environment policy and engine defaults: the one place to change what each environment gets.

Values are passed explicitly into each generated module call so a reviewer sees, in the pull
request itself, exactly what the database will be.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from backend.domain.kinds import Engine, Environment


@dataclass(frozen=True)
class Sizing:
    """How big a database is: what a create gets from the policy and a resize changes."""

    instance_class: str
    allocated_storage: int  # GiB


@dataclass(frozen=True)
class EnvironmentPolicy:
    instance_class: str
    allocated_storage: int  # GiB
    max_allocated_storage: int  # GiB, ceiling for storage autoscaling
    # What a resize may choose from (the create's values among them). Storage only grows.
    instance_classes: tuple[str, ...]
    storage_sizes: tuple[int, ...]  # GiB, each at most max_allocated_storage
    backup_retention_period: int  # days
    multi_az: bool
    deletion_protection: bool
    performance_insights_enabled: bool
    performance_insights_retention_period: int  # days (7 is the free tier)
    monitoring_interval: int  # seconds between enhanced monitoring samples; 0 turns it off

    @property
    def sizing(self) -> Sizing:
        """What a new database gets."""
        return Sizing(self.instance_class, self.allocated_storage)


ENVIRONMENT_POLICY: Mapping[Environment, EnvironmentPolicy] = {
    Environment.DEV: EnvironmentPolicy(
        instance_class="db.t3.micro",
        allocated_storage=20,
        max_allocated_storage=100,
        instance_classes=("db.t3.micro", "db.t3.small", "db.t3.medium"),
        storage_sizes=(20, 50, 100),
        backup_retention_period=7,
        multi_az=False,
        deletion_protection=False,
        performance_insights_enabled=False,
        performance_insights_retention_period=7,
        monitoring_interval=0,
    ),
    Environment.PROD: EnvironmentPolicy(
        instance_class="db.t3.medium",
        allocated_storage=50,
        max_allocated_storage=500,
        instance_classes=("db.t3.medium", "db.t3.large", "db.m5.large", "db.m5.xlarge", "db.r5.large"),
        storage_sizes=(50, 100, 200, 500),
        backup_retention_period=30,
        multi_az=True,
        deletion_protection=True,
        performance_insights_enabled=True,
        performance_insights_retention_period=7,
        monitoring_interval=60,
    ),
}


@dataclass(frozen=True)
class EngineDefaults:
    engine: str  # the aws_db_instance engine name
    engine_version: str
    family: str  # parameter group family
    major_engine_version: str
    port: int
    enabled_cloudwatch_logs_exports: tuple[str, ...]


ENGINE_DEFAULTS: Mapping[Engine, EngineDefaults] = {
    Engine.MYSQL: EngineDefaults(
        engine="mysql",
        # 8.0 left RDS standard support on 2026-07-31 (extended support is billed extra).
        engine_version="8.4",
        family="mysql8.4",
        major_engine_version="8.4",
        port=3306,
        # No "general": the general log is off (it would record every statement, passwords
        # included), so exporting it would only create an empty log group.
        enabled_cloudwatch_logs_exports=("error", "slowquery"),
    ),
    Engine.POSTGRES: EngineDefaults(
        engine="postgres",
        engine_version="16",
        family="postgres16",
        major_engine_version="16",
        port=5432,
        enabled_cloudwatch_logs_exports=("postgresql", "upgrade"),
    ),
}


def policy_for(environment: Environment) -> EnvironmentPolicy:
    return ENVIRONMENT_POLICY[environment]


def engine_defaults(engine: Engine) -> EngineDefaults:
    return ENGINE_DEFAULTS[engine]
