"""Render one database request into its Terraform file (pure: reads only its own templates)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2

from backend.domain.kinds import Engine, EngineFamily
from backend.domain.policy import EnvironmentPolicy, Sizing, engine_defaults, policy_for
from backend.domain.requests import ProvisionRequest
from backend.render import hcl
from backend.render.hcl import CheckovSkip, Expression, HclText, HclValue

TEMPLATE = "rds_database.tf.j2"
AWS_TAG_VALUE_MAX_LENGTH = 256
# The module a database's file calls, per kind of database.
MODULE_SOURCES: Mapping[EngineFamily, str] = {
    EngineFamily.INSTANCE: "../../modules/rds",
    EngineFamily.AURORA: "../../modules/aurora",
}


@dataclass(frozen=True)
class RenderedFile:
    path: str  # relative to the repository root
    content: str


@dataclass(frozen=True)
class DevOnlyCheck:
    """A checkov check a dev database may skip, and only while its policy turns the feature off."""

    check_id: str
    applies: Callable[[EnvironmentPolicy], bool]
    reason: str


# checkov's deletion protection check: aws_db_instance's and aws_rds_cluster's.
DELETION_PROTECTION_CHECKS: Mapping[EngineFamily, str] = {
    EngineFamily.INSTANCE: "CKV_AWS_293",
    EngineFamily.AURORA: "CKV_AWS_139",
}
_DISPOSABLE = "dev databases are disposable (a final snapshot is still taken); prod sets deletion_protection"
_NO_ENHANCED_MONITORING = "enhanced monitoring is a prod feature; dev relies on the basic CloudWatch metrics"

# The only checks a generated file may suppress, per kind of database, and only in dev. Prod never
# gets one: if the prod policy ever turned one of these features off, checkov would fail the PR.
DEV_ONLY_CHECKS: Mapping[EngineFamily, tuple[DevOnlyCheck, ...]] = {
    EngineFamily.INSTANCE: (
        DevOnlyCheck(
            "CKV_AWS_157",
            lambda policy: not policy.multi_az,
            "dev databases run in one AZ to halve cost; the prod policy sets multi_az = true",
        ),
        DevOnlyCheck(
            DELETION_PROTECTION_CHECKS[EngineFamily.INSTANCE],
            lambda policy: not policy.deletion_protection,
            _DISPOSABLE,
        ),
        DevOnlyCheck(
            "CKV_AWS_353",
            lambda policy: not policy.performance_insights_enabled,
            "Performance Insights is a prod feature (MySQL on db.t3.micro cannot run it)",
        ),
        DevOnlyCheck("CKV_AWS_118", lambda policy: policy.monitoring_interval == 0, _NO_ENHANCED_MONITORING),
    ),
    EngineFamily.AURORA: (
        DevOnlyCheck(
            DELETION_PROTECTION_CHECKS[EngineFamily.AURORA],
            lambda policy: not policy.deletion_protection,
            _DISPOSABLE,
        ),
        DevOnlyCheck(
            "CKV_AWS_353",
            lambda policy: not policy.performance_insights_enabled,
            "Performance Insights is a prod feature",
        ),
        DevOnlyCheck("CKV_AWS_118", lambda policy: policy.monitoring_interval == 0, _NO_ENHANCED_MONITORING),
        # checkov 3.3 passes CKV2_AWS_8 even when the module's backup selection has count = 0; the
        # skip keeps the report truthful.
        DevOnlyCheck(
            "CKV2_AWS_8",
            lambda policy: not policy.aurora.aws_backup,
            "dev clusters join no AWS Backup plan (Aurora's own backups and the final snapshot remain); "
            "prod joins the environment's plan",
        ),
    ),
}


def _only_hcl(value: Any) -> Any:
    """Jinja ``finalize``: a template may output only what an hcl filter produced."""
    if isinstance(value, HclText):
        return value
    raise TypeError(
        f"template tried to write {type(value).__name__} {value!r} without an hcl filter; "
        "every interpolated value must go through | hcl, | hcl_attributes or | checkov_skip"
    )


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("backend.render", "templates"),
        autoescape=False,  # noqa: S701 - HCL, not HTML: the hcl filters do the escaping
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_only_hcl,
    )
    environment.filters["hcl"] = _defined(hcl.literal)
    environment.filters["hcl_attributes"] = _defined(hcl.attributes)
    environment.filters["checkov_skip"] = _defined(hcl.checkov_skip)
    return environment


def _defined(render: Callable[..., HclText]) -> Callable[..., HclText]:
    """``render`` as a filter that reports a missing template variable by name."""

    def filter_(value: Any, *args: Any) -> HclText:
        if isinstance(value, jinja2.Undefined):
            value._fail_with_undefined_error()
        return render(value, *args)

    return filter_


def aws_tag_value(value: str) -> str:
    """``value`` made acceptable as an AWS tag value (letters, digits, spaces, _ . : / = + - @)."""
    cleaned = "".join(char if char.isalnum() or char in " _.:/=+-@" else "_" for char in value)
    return cleaned[:AWS_TAG_VALUE_MAX_LENGTH]


# The one check a prod file may skip, and only in the pull request that turns deletion protection
# off so the next one can delete the database (a decommission's first step).
UNPROTECT_REASON = (
    "decommission in progress: deletion protection goes off so the next pull request can delete it"
)


def unprotect_check(engine: Engine) -> CheckovSkip:
    return CheckovSkip(DELETION_PROTECTION_CHECKS[engine.family], UNPROTECT_REASON)


def checkov_skips(request: ProvisionRequest, *, unprotecting: bool = False) -> tuple[CheckovSkip, ...]:
    """The checks a file may skip: those its environment's policy turns off on purpose (dev's), and
    deletion protection while a protected database's decommission takes it off."""
    policy = policy_for(request.environment)
    skips = tuple(
        CheckovSkip(check.check_id, check.reason)
        for check in DEV_ONLY_CHECKS[request.database_engine.family]
        if check.applies(policy)
    )
    if unprotecting and policy.deletion_protection:
        return (*skips, unprotect_check(request.database_engine))
    return skips


Pairs = list[tuple[str, HclValue]]


@dataclass(frozen=True)
class Shape:
    """What differs between the files of a DB instance and of an Aurora cluster: the attribute runs
    that follow the identity, and the outputs (each given the module's name)."""

    sizing: Callable[[EnvironmentPolicy, Engine, Sizing], Pairs]
    resilience: Callable[[EnvironmentPolicy, Engine, bool], Pairs]
    network: Pairs
    # (output name suffix, description prefix, module output)
    outputs: tuple[tuple[str, str, str], ...]


def _instance_sizing(policy: EnvironmentPolicy, engine: Engine, size: Sizing) -> Pairs:
    return [
        ("instance_class", size.instance_class),
        ("allocated_storage", size.allocated_storage),
        ("max_allocated_storage", policy.max_allocated_storage),
    ]


def _instance_resilience(policy: EnvironmentPolicy, engine: Engine, deletion_protection: bool) -> Pairs:
    return [
        ("multi_az", policy.multi_az),
        ("backup_retention_period", policy.backup_retention_period),
        ("deletion_protection", deletion_protection),
    ]


def _cluster_sizing(policy: EnvironmentPolicy, engine: Engine, size: Sizing) -> Pairs:
    aurora = policy.aurora
    pairs: Pairs = [("instance_class", size.instance_class), ("instance_count", aurora.instance_count)]
    if size.max_capacity is not None:
        capacity = {"min_capacity": aurora.min_capacity, "max_capacity": size.max_capacity}
        pairs.append(("serverlessv2_scaling_configuration", capacity))
    return pairs


def _cluster_resilience(policy: EnvironmentPolicy, engine: Engine, deletion_protection: bool) -> Pairs:
    pairs: Pairs = [("backup_retention_period", policy.backup_retention_period)]
    if engine_defaults(engine).backtrack:  # aurora-postgresql refuses any Backtrack window but 0
        pairs.append(("backtrack_window", policy.aurora.backtrack_window))
    pairs.append(("deletion_protection", deletion_protection))
    if policy.aurora.aws_backup:
        pairs.append(("aws_backup", Expression("local.database_aws_backup")))
    return pairs


_SECRET_OUTPUT = (
    "_master_user_secret_arn",
    "Secrets Manager secret holding the master credentials of",
    "master_user_secret_arn",
)
# Defined by the environment's root module (variables.tf, and network.tf via modules/environment).
SHAPES: Mapping[EngineFamily, Shape] = {
    EngineFamily.INSTANCE: Shape(
        sizing=_instance_sizing,
        resilience=_instance_resilience,
        network=[
            ("vpc_id", Expression("var.vpc_id")),
            ("db_subnet_group_name", Expression("local.database_subnet_group_name")),
            ("allowed_cidr_blocks", Expression("var.allowed_cidr_blocks")),
            ("allowed_security_group_ids", Expression("var.allowed_security_group_ids")),
            ("kms_key_id", Expression("local.database_kms_key_arn")),
        ],
        outputs=(
            ("_endpoint", "Endpoint (host:port) of", "db_instance_endpoint"),
            (_SECRET_OUTPUT[0], _SECRET_OUTPUT[1], "db_instance_master_user_secret_arn"),
        ),
    ),
    EngineFamily.AURORA: Shape(
        sizing=_cluster_sizing,
        resilience=_cluster_resilience,
        network=[
            ("vpc_id", Expression("var.vpc_id")),
            ("db_subnet_group_name", Expression("local.database_subnet_group_name")),
            ("availability_zones", Expression("local.database_availability_zones")),
            ("allowed_cidr_blocks", Expression("var.allowed_cidr_blocks")),
            ("allowed_security_group_ids", Expression("var.allowed_security_group_ids")),
            ("kms_key_id", Expression("local.database_kms_key_arn")),
        ],
        # The writer under the name every database's endpoint has (rds_<name>_endpoint), then the reader.
        outputs=(
            ("_endpoint", "Writer endpoint (host:port) of", "writer_endpoint"),
            ("_reader_endpoint", "Reader endpoint (host:port) of", "reader_endpoint"),
            _SECRET_OUTPUT,
        ),
    ),
}


def template_context(
    request: ProvisionRequest,
    *,
    request_id: str,
    requested_by: str,
    sizing: Sizing | None = None,
    unprotecting: bool = False,
) -> dict[str, Any]:
    """What the template writes: the policy's values, with ``sizing`` for a resized database and
    deletion protection off when ``unprotecting`` (the first pull request of a prod decommission)."""
    policy = policy_for(request.environment)
    engine = request.database_engine
    shape = SHAPES[engine.family]
    size = sizing or policy.new_sizing(engine)
    defaults = engine_defaults(engine)
    module = request.module_name

    tags: list[tuple[str, HclValue]] = []
    if request.owner:
        tags.append(("Owner", request.owner))
    if request.purpose:
        tags.append(("Purpose", request.purpose))
    tags += [("RequestId", aws_tag_value(request_id)), ("RequestedBy", aws_tag_value(requested_by))]

    return {
        "module_name": module,
        "module_source": MODULE_SOURCES[engine.family],
        "checkov_skips": checkov_skips(request, unprotecting=unprotecting),
        "identity": [
            ("identifier", request.rds_identifier),
            ("db_name", request.database_name),
            ("engine", defaults.engine),
            ("engine_version", defaults.engine_version),
            ("family", defaults.family),
            ("major_engine_version", defaults.major_engine_version),
            ("port", defaults.port),
        ],
        "sizing": shape.sizing(policy, engine, size),
        "resilience": shape.resilience(policy, engine, policy.deletion_protection and not unprotecting),
        "observability": [
            ("performance_insights_enabled", policy.performance_insights_enabled),
            ("performance_insights_retention_period", policy.performance_insights_retention_period),
            ("monitoring_interval", policy.monitoring_interval),
            ("enabled_cloudwatch_logs_exports", list(defaults.enabled_cloudwatch_logs_exports)),
        ],
        "network": shape.network,
        "tags": tags,
        "outputs": [
            {
                "name": f"{module}{suffix}",
                "attributes": [
                    ("description", f"{description} {request.rds_identifier}"),
                    ("value", Expression(f"module.{module}.{output}")),
                ],
            }
            for suffix, description, output in shape.outputs
        ],
    }


def render_database(
    request: ProvisionRequest,
    *,
    request_id: str,
    requested_by: str,
    sizing: Sizing | None = None,
    unprotecting: bool = False,
) -> RenderedFile:
    """The Terraform file for ``request``: the same input always gives the same bytes."""
    context = template_context(
        request, request_id=request_id, requested_by=requested_by, sizing=sizing, unprotecting=unprotecting
    )
    content = _environment().get_template(TEMPLATE).render(context)
    return RenderedFile(path=request.file_path, content=content)
