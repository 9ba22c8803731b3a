"""Title and markdown body of a database's pull request (pure)."""

from __future__ import annotations

from backend.domain.policy import engine_defaults, policy_for
from backend.domain.requests import Engine, ProvisionRequest, Source
from backend.render.terraform import checkov_skips

_ENGINE_NAMES = {Engine.MYSQL: "MySQL", Engine.POSTGRES: "PostgreSQL"}
_SOURCE_NAMES = {Source.SLACK: "Slack", Source.API: "the HTTP API"}


def _code(value: str) -> str:
    """``value`` as an inline code span: no markdown, links or @mentions render inside it."""
    printable = "".join(char if char.isprintable() else " " for char in value)
    # A pipe would end the table cell even inside a code span; GitHub renders \| as |.
    return "`" + printable.replace("`", "'").replace("|", "\\|") + "`"


def _on_off(flag: bool) -> str:
    return "on" if flag else "off"


def pull_request_text(
    request: ProvisionRequest, *, request_id: str, requested_by: str, source: Source
) -> tuple[str, str]:
    """(title, body) of the pull request that adds ``request``'s Terraform file."""
    policy = policy_for(request.environment)
    engine = engine_defaults(request.database_engine)
    env = request.environment.value
    module = request.module_name
    engine_name = _ENGINE_NAMES[request.database_engine]

    title = f"Provision RDS {request.database_engine.value} database {request.database_name} ({env})"

    details = [
        ("Database", _code(request.database_name)),
        ("Engine", f"{engine_name} {engine.engine_version} (parameter group family {_code(engine.family)})"),
        ("Environment", env),
        ("RDS identifier", _code(request.rds_identifier)),
        ("Owner", _code(request.owner) if request.owner else "not given"),
        ("Purpose", _code(request.purpose) if request.purpose else "not given"),
        ("Requested by", f"{_code(requested_by)} via {_SOURCE_NAMES[source]}"),
        ("Request id", _code(request_id)),
    ]
    monitoring = f"every {policy.monitoring_interval} s" if policy.monitoring_interval else "off"
    performance_insights = (
        f"on, {policy.performance_insights_retention_period} days, KMS encrypted"
        if policy.performance_insights_enabled
        else "off"
    )
    settings = [
        ("Instance class", _code(policy.instance_class)),
        (
            "Storage",
            f"{policy.allocated_storage} GiB gp3, autoscaling up to {policy.max_allocated_storage} GiB, "
            "encrypted with the environment's KMS key",
        ),
        ("Multi-AZ", _on_off(policy.multi_az)),
        (
            "Automated backups",
            f"{policy.backup_retention_period} days; final snapshot on delete; tags copied to snapshots",
        ),
        ("Deletion protection", _on_off(policy.deletion_protection)),
        ("Performance Insights", performance_insights),
        ("Enhanced monitoring", monitoring),
        ("CloudWatch log exports", ", ".join(engine.enabled_cloudwatch_logs_exports)),
        ("Network", "private subnets only, never publicly accessible; TLS required by the parameter group"),
        ("Authentication", "managed master password and IAM database authentication"),
    ]

    lines = [
        f"Adds the {engine_name} database {_code(request.database_name)} to **{env}**.",
        "",
        "| Request | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in details),
        "",
        "### Generated file",
        "",
        f'`{request.file_path}`: one `module "{module}"` call of `terraform/modules/rds` '
        f"(the hardened module), with outputs `{module}_endpoint` and `{module}_master_user_secret_arn`.",
        "",
        f"### Environment policy ({env})",
        "",
        "| Setting | Value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in settings),
        "",
    ]
    skips = checkov_skips(request)
    if skips:
        lines += [
            "Checkov checks skipped in this file, because dev turns these prod features off:",
            "",
            *(f"- `{skip.check_id}`: {skip.reason}" for skip in skips),
            "",
        ]
    lines += [
        "### What happens next",
        "",
        f"- CircleCI runs `terraform fmt -check`, `validate` and `plan` for `terraform/envs/{env}` "
        "on this pull request; review the plan there.",
        f"- When the pull request is merged, CircleCI applies `terraform/envs/{env}` and RDS creates "
        f"{_code(request.rds_identifier)}.",
        "- Closing the pull request without merging creates nothing.",
        "",
        "### Credentials",
        "",
        "No password appears in this pull request, in CI or in the Terraform state. RDS generates "
        "the master password, keeps it in AWS Secrets Manager encrypted with the environment's KMS "
        "key, and rotates it (`manage_master_user_password = true`). The secret's ARN is the "
        f"`{module}_master_user_secret_arn` output; read the secret with your own IAM permissions, "
        "or connect with IAM database authentication.",
        "",
        "<sub>Opened by rds-provisioner.</sub>",
    ]
    return title, "\n".join(lines) + "\n"
