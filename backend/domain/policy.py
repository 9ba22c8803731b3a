"""Environment policy and engine defaults.

What each environment gets is configuration (deploy/environments.toml, or ENVIRONMENTS_FILE):
``backend.adapters.environments`` reads it into the ``EnvironmentPolicy`` table this module keeps
for the process, and every question about an environment is a question to its policy.

Values are passed explicitly into each generated module call so a reviewer sees, in the pull
request itself, exactly what the database will be.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from backend.domain.kinds import Engine, EngineFamily

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


# Aurora capacity units, as the environments file writes them (a whole number stays one: 2, not 2.0).
Acu = int | float


def capacity_text(acu: float) -> str:
    """ACU as people write them: 0.5, 2, 8."""
    return f"{acu:g}"


# The policy's parts are read from the environments file: a key they do not know is a typo.
_FILE_TABLE = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class AuroraPolicy:
    """What an environment gives an Aurora cluster (terraform/modules/aurora), beside the settings it
    shares with DB instances (backups, deletion protection, Performance Insights, monitoring)."""

    __pydantic_config__ = _FILE_TABLE

    instance_class: str  # SERVERLESS_INSTANCE_CLASS: Serverless v2, sized by its capacity range
    instance_count: int  # a writer, then readers, each in the next availability zone
    # What a resize may choose from (the create's values among them): classes for provisioned
    # instances, capacity maxima for Serverless v2; the other is empty.
    instance_classes: tuple[str, ...]
    max_capacities: tuple[Acu, ...]
    backtrack_window: int  # seconds (aurora-mysql only; 0 is off)
    aws_backup: bool  # join the environment's AWS Backup plan
    min_capacity: Acu | None = None  # Serverless v2 only
    max_capacity: Acu | None = None  # Serverless v2 only

    @property
    def serverless(self) -> bool:
        return self.instance_class == SERVERLESS_INSTANCE_CLASS

    def capacity_range(self, max_capacity: float | None = None) -> str:
        """``0.5-2 ACU``: the policy's minimum up to ``max_capacity`` (the policy's by default)."""
        ceiling = self.max_capacity if max_capacity is None else max_capacity
        return f"{capacity_text(self.min_capacity or 0)}-{capacity_text(ceiling or 0)} ACU"


@dataclass(frozen=True)
class ExpiryRule:
    """An environment whose databases expire (dev): after ``default_days`` unless a request asks
    for other days, at most ``max_days`` (each, unset: the settings' DEV_TTL_DAYS, MAX_DEV_TTL_DAYS).
    The sweep reminds the requester REMINDER_DAYS before."""

    __pydantic_config__ = _FILE_TABLE

    default_days: Annotated[int, Field(ge=1)] | None = None
    max_days: Annotated[int, Field(ge=1)] | None = None

    def __post_init__(self) -> None:
        if self.default_days is not None and self.max_days is not None and self.default_days > self.max_days:
            raise ValueError(f"default_days ({self.default_days}) must not exceed max_days ({self.max_days})")


@dataclass(frozen=True)
class ApprovalRule:
    """Whether a request about the environment waits for an approver, in APPROVALS_CHANNEL (unset:
    nobody waits), and who approves: ``approvers`` (Slack user ids), else PROD_APPROVERS."""

    __pydantic_config__ = _FILE_TABLE

    required: bool = False
    approvers: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnvironmentPolicy:
    """What an environment gives its databases: one table of the environments file."""

    __pydantic_config__ = _FILE_TABLE

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
    # None: its databases never expire.
    expiry: ExpiryRule | None = None
    approvals: ApprovalRule = ApprovalRule()
    # Only the Slack users of PROD_ALLOWED_SLACK_USERS (when set) may ask for its databases.
    restricted: bool = False

    @property
    def expires(self) -> bool:
        return self.expiry is not None

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


class Environment(str):
    """An environment's name: one of the environments configured (the policy table is the authority).

    A plain string once validated (``.value`` is the name, as for the other kinds); pydantic
    refuses a name the table does not hold, and documents the names it holds.
    """

    __slots__ = ()

    @property
    def value(self) -> str:
        return str(self)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            known_environment, core_schema.str_schema(), ref="Environment"
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "enum": list(environment_policies()), "title": "Environment"}


class UnknownEnvironment(LookupError):
    """A name that is not one of the configured environments."""

    def __init__(self, name: object) -> None:
        self.name = name
        super().__init__(f"environment must be one of {environment_choices()} (got {name!r})")


# The process's environments and their policy, given by its configuration (deploy/environments.toml
# or ENVIRONMENTS_FILE, read by backend.adapters.environments); or where to get them on first use.
_policies: Mapping[Environment, EnvironmentPolicy] | None = None
_source: Callable[[], Mapping[str, EnvironmentPolicy]] | None = None


def configure_environments(
    policies: Mapping[str, EnvironmentPolicy] | None = None,
    *,
    source: Callable[[], Mapping[str, EnvironmentPolicy]] | None = None,
) -> None:
    """Make ``policies`` this process's environments, or ``source`` what gives them on first use."""
    global _policies, _source  # noqa: PLW0603 - one configuration per process is the point
    if source is not None:
        _source = source
    _policies = None if policies is None else _table(policies)


def environment_policies() -> Mapping[Environment, EnvironmentPolicy]:
    """Every configured environment's policy, in the order of the configuration."""
    global _policies  # noqa: PLW0603 - filled on first use
    policies = _policies  # one read: another thread may configure the process meanwhile
    if policies is None:
        if _source is None:
            raise RuntimeError("no environments are configured (backend.container configures them)")
        policies = _policies = _table(_source())
    return policies


def _table(policies: Mapping[str, EnvironmentPolicy]) -> Mapping[Environment, EnvironmentPolicy]:
    return {Environment(name): policy for name, policy in policies.items()}


def environment_choices() -> str:
    """``dev, prod``: the configured environments, as an error names them."""
    return ", ".join(environment_policies())


def known_environment(name: str) -> Environment:
    """``name`` as an Environment; a pydantic error naming the configured ones when it is not one."""
    if name not in environment_policies():
        raise PydanticCustomError("environment", str(UnknownEnvironment(name)))
    return Environment(name)


def policy_for(environment: str) -> EnvironmentPolicy:
    """The policy of ``environment``; UnknownEnvironment when it is not configured."""
    try:
        return environment_policies()[Environment(environment)]
    except KeyError:
        raise UnknownEnvironment(environment) from None


def engine_defaults(engine: Engine) -> EngineDefaults:
    return ENGINE_DEFAULTS[engine]
