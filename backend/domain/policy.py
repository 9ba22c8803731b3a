"""Environment policy and engine defaults: the one place to change what each environment gets.

Values are passed explicitly into each generated module call so a reviewer sees, in the pull
request itself, exactly what the database will be.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from backend.domain.kinds import Engine, EngineFamily, Environment

# The instance class of Aurora Serverless v2: its size is a capacity range, not a class.
SERVERLESS_INSTANCE_CLASS = "db.serverless"


@dataclass(frozen=True)
class Sizing:
    """How big a database is: what a create gets from the policy and a resize changes.

    A DB instance has a class and storage. An Aurora cluster has the class of its instances
    (``db.serverless`` for Serverless v2, then ``max_capacity`` is its ceiling in ACU) and no
    storage to size: Aurora storage grows by itself.
    """

    instance_class: str
    allocated_storage: int | None = None  # GiB, DB instances only
    max_capacity: float | None = None  # ACU, Aurora Serverless v2 only

    @property
    def summary(self) -> str:
        """``db.t3.micro with 20 GiB``, ``db.r6g.large``, ``db.serverless up to 2 ACU``."""
        text = self.instance_class
        if self.allocated_storage is not None:
            text += f" with {self.allocated_storage} GiB"
        if self.max_capacity is not None:
            text += f" up to {capacity_text(self.max_capacity)} ACU"
        return text


def capacity_text(acu: float) -> str:
    """ACU as people write them: 0.5, 2, 8."""
    return f"{acu:g}"


@dataclass(frozen=True)
class AuroraPolicy:
    """What an environment gives an Aurora cluster (terraform/modules/aurora), beside the settings it
    shares with DB instances (backups, deletion protection, Performance Insights, monitoring)."""

    instance_class: str  # SERVERLESS_INSTANCE_CLASS: Serverless v2, sized by its capacity range
    instance_count: int  # a writer, then readers, each in the next availability zone
    # What a resize may choose from (the create's values among them): classes for provisioned
    # instances, capacity maxima for Serverless v2; the other is empty.
    instance_classes: tuple[str, ...]
    min_capacity: float | None  # ACU, Serverless v2 only
    max_capacity: float | None  # ACU, Serverless v2 only
    max_capacities: tuple[float, ...]
    backtrack_window: int  # seconds (aurora-mysql only; 0 is off)
    aws_backup: bool  # join the environment's AWS Backup plan

    @property
    def serverless(self) -> bool:
        return self.instance_class == SERVERLESS_INSTANCE_CLASS

    def capacity_range(self, max_capacity: float | None = None) -> str:
        """``0.5-2 ACU``: the policy's minimum up to ``max_capacity`` (the policy's by default)."""
        ceiling = self.max_capacity if max_capacity is None else max_capacity
        return f"{capacity_text(self.min_capacity or 0)}-{capacity_text(ceiling or 0)} ACU"


@dataclass(frozen=True)
class EnvironmentPolicy:
    # DB instances (mysql, postgres: terraform/modules/rds).
    instance_class: str
    allocated_storage: int  # GiB
    max_allocated_storage: int  # GiB, ceiling for storage autoscaling
    # What a resize may choose from (the create's values among them). Storage only grows.
    instance_classes: tuple[str, ...]
    # GiB, each below max_allocated_storage: modules/rds keeps autoscaling on, so the ceiling must
    # leave a resized database room to grow (terraform refuses the file otherwise).
    storage_sizes: tuple[int, ...]
    backup_retention_period: int  # days
    multi_az: bool
    # Every database.
    deletion_protection: bool
    performance_insights_enabled: bool
    performance_insights_retention_period: int  # days (7 is the free tier)
    monitoring_interval: int  # seconds between enhanced monitoring samples; 0 turns it off
    # Aurora clusters (aurora-mysql, aurora-postgresql).
    aurora: AuroraPolicy

    def new_sizing(self, engine: Engine) -> Sizing:
        """What a new database of ``engine`` gets."""
        if engine.family is EngineFamily.INSTANCE:
            return Sizing(self.instance_class, allocated_storage=self.allocated_storage)
        return Sizing(self.aurora.instance_class, max_capacity=self.aurora.max_capacity)

    def resize_choices(self, engine: Engine) -> Mapping[str, tuple[str | int | float, ...]]:
        """What a resize of a database of ``engine`` may change (a ``Sizing`` field), and to what."""
        if engine.family is EngineFamily.INSTANCE:
            return {"instance_class": self.instance_classes, "allocated_storage": self.storage_sizes}
        if self.aurora.serverless:
            return {"max_capacity": self.aurora.max_capacities}
        return {"instance_class": self.aurora.instance_classes}


ENVIRONMENT_POLICY: Mapping[Environment, EnvironmentPolicy] = {
    Environment.DEV: EnvironmentPolicy(
        instance_class="db.t3.micro",
        allocated_storage=20,
        max_allocated_storage=200,
        instance_classes=("db.t3.micro", "db.t3.small", "db.t3.medium"),
        storage_sizes=(20, 50, 100),
        backup_retention_period=7,
        multi_az=False,
        deletion_protection=False,
        performance_insights_enabled=False,
        performance_insights_retention_period=7,
        monitoring_interval=0,
        aurora=AuroraPolicy(
            instance_class=SERVERLESS_INSTANCE_CLASS,
            instance_count=1,
            instance_classes=(),
            # 0.5 ACU is the lowest Serverless v2 minimum that every supported engine version takes.
            min_capacity=0.5,
            max_capacity=2,
            max_capacities=(2, 4, 8),
            # Backtrack also stands in the way of binlog replication; dev does without it.
            backtrack_window=0,
            aws_backup=False,
        ),
    ),
    Environment.PROD: EnvironmentPolicy(
        instance_class="db.t3.medium",
        allocated_storage=50,
        max_allocated_storage=1000,
        instance_classes=("db.t3.medium", "db.t3.large", "db.m5.large", "db.m5.xlarge", "db.r5.large"),
        storage_sizes=(50, 100, 200, 500),
        backup_retention_period=30,
        multi_az=True,
        deletion_protection=True,
        performance_insights_enabled=True,
        performance_insights_retention_period=7,
        monitoring_interval=60,
        aurora=AuroraPolicy(
            instance_class="db.r6g.large",
            # A writer and a reader, in different availability zones.
            instance_count=2,
            instance_classes=("db.r6g.large", "db.r6g.xlarge", "db.r6g.2xlarge"),
            min_capacity=None,
            max_capacity=None,
            max_capacities=(),
            backtrack_window=86400,
            aws_backup=True,
        ),
    ),
}


@dataclass(frozen=True)
class EngineDefaults:
    engine: str  # the aws_db_instance / aws_rds_cluster engine name
    engine_version: str
    family: str  # (cluster) parameter group family
    major_engine_version: str
    port: int
    enabled_cloudwatch_logs_exports: tuple[str, ...]
    # Backtrack (rewinding an Aurora cluster in place): only aurora-mysql has it.
    backtrack: bool = False


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
    # A major version: Aurora picks its default minor, and automatic minor upgrades keep it current.
    Engine.AURORA_MYSQL: EngineDefaults(
        engine="aurora-mysql",
        engine_version="8.0",
        family="aurora-mysql8.0",
        major_engine_version="8.0",
        port=3306,
        # The audit log is Advanced Auditing, which the module's cluster parameter group turns on.
        enabled_cloudwatch_logs_exports=("audit", "error", "slowquery"),
        backtrack=True,
    ),
    Engine.AURORA_POSTGRESQL: EngineDefaults(
        engine="aurora-postgresql",
        engine_version="16",
        family="aurora-postgresql16",
        major_engine_version="16",
        port=5432,
        enabled_cloudwatch_logs_exports=("postgresql",),
    ),
}


def policy_for(environment: Environment) -> EnvironmentPolicy:
    return ENVIRONMENT_POLICY[environment]


def engine_defaults(engine: Engine) -> EngineDefaults:
    return ENGINE_DEFAULTS[engine]
