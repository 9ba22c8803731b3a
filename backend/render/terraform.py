"""Render one database request into its Terraform file (pure: reads only its own templates)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2

from backend.domain.kinds import Environment
from backend.domain.policy import EnvironmentPolicy, Sizing, engine_defaults, policy_for
from backend.domain.requests import ProvisionRequest
from backend.render import hcl
from backend.render.hcl import CheckovSkip, Expression, HclText, HclValue

TEMPLATE = "rds_database.tf.j2"
MODULE_SOURCE = "../../modules/rds"
AWS_TAG_VALUE_MAX_LENGTH = 256


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


# The only checks a generated file may suppress, and only in dev. Prod never gets a skip: if
# the prod policy ever turned one of these features off, checkov would fail the pull request.
DEV_ONLY_CHECKS: tuple[DevOnlyCheck, ...] = (
    DevOnlyCheck(
        "CKV_AWS_157",
        lambda policy: not policy.multi_az,
        "dev databases run in one AZ to halve cost; the prod policy sets multi_az = true",
    ),
    DevOnlyCheck(
        "CKV_AWS_293",
        lambda policy: not policy.deletion_protection,
        "dev databases are disposable (a final snapshot is still taken); prod sets deletion_protection",
    ),
    DevOnlyCheck(
        "CKV_AWS_353",
        lambda policy: not policy.performance_insights_enabled,
        "Performance Insights is a prod feature (MySQL on db.t3.micro cannot run it)",
    ),
    DevOnlyCheck(
        "CKV_AWS_118",
        lambda policy: policy.monitoring_interval == 0,
        "enhanced monitoring is a prod feature; dev relies on the basic CloudWatch metrics",
    ),
)


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
UNPROTECT_CHECK = CheckovSkip(
    "CKV_AWS_293",
    "decommission in progress: deletion protection goes off so the next pull request can delete it",
)


def checkov_skips(request: ProvisionRequest, *, unprotecting: bool = False) -> tuple[CheckovSkip, ...]:
    if request.environment is not Environment.DEV:
        return (UNPROTECT_CHECK,) if unprotecting else ()
    policy = policy_for(request.environment)
    return tuple(
        CheckovSkip(check.check_id, check.reason) for check in DEV_ONLY_CHECKS if check.applies(policy)
    )


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
    size = sizing or policy.sizing
    engine = engine_defaults(request.database_engine)
    module = request.module_name

    tags: list[tuple[str, HclValue]] = []
    if request.owner:
        tags.append(("Owner", request.owner))
    if request.purpose:
        tags.append(("Purpose", request.purpose))
    tags += [("RequestId", aws_tag_value(request_id)), ("RequestedBy", aws_tag_value(requested_by))]

    return {
        "module_name": module,
        "module_source": MODULE_SOURCE,
        "checkov_skips": checkov_skips(request, unprotecting=unprotecting),
        "identity": [
            ("identifier", request.rds_identifier),
            ("db_name", request.database_name),
            ("engine", engine.engine),
            ("engine_version", engine.engine_version),
            ("family", engine.family),
            ("major_engine_version", engine.major_engine_version),
            ("port", engine.port),
        ],
        "sizing": [
            ("instance_class", size.instance_class),
            ("allocated_storage", size.allocated_storage),
            ("max_allocated_storage", policy.max_allocated_storage),
        ],
        "resilience": [
            ("multi_az", policy.multi_az),
            ("backup_retention_period", policy.backup_retention_period),
            ("deletion_protection", policy.deletion_protection and not unprotecting),
        ],
        "observability": [
            ("performance_insights_enabled", policy.performance_insights_enabled),
            ("performance_insights_retention_period", policy.performance_insights_retention_period),
            ("monitoring_interval", policy.monitoring_interval),
            ("enabled_cloudwatch_logs_exports", list(engine.enabled_cloudwatch_logs_exports)),
        ],
        # Defined by the environment's root module (variables.tf, and network.tf via modules/environment).
        "network": [
            ("vpc_id", Expression("var.vpc_id")),
            ("db_subnet_group_name", Expression("local.database_subnet_group_name")),
            ("allowed_cidr_blocks", Expression("var.allowed_cidr_blocks")),
            ("allowed_security_group_ids", Expression("var.allowed_security_group_ids")),
            ("kms_key_id", Expression("local.database_kms_key_arn")),
        ],
        "tags": tags,
        "outputs": [
            {
                "name": f"{module}_endpoint",
                "attributes": [
                    ("description", f"Endpoint (host:port) of {request.rds_identifier}"),
                    ("value", Expression(f"module.{module}.db_instance_endpoint")),
                ],
            },
            {
                "name": f"{module}_master_user_secret_arn",
                "attributes": [
                    (
                        "description",
                        f"Secrets Manager secret holding the master credentials of {request.rds_identifier}",
                    ),
                    ("value", Expression(f"module.{module}.db_instance_master_user_secret_arn")),
                ],
            },
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
