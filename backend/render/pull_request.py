"""Title and markdown body of a request's pull request, one text per step (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from backend.domain import RequestRecord, Sizing, Step
from backend.domain.actions import spec_of
from backend.domain.kinds import ENGINE_LABELS, EngineFamily, Source
from backend.domain.policy import EnvironmentPolicy, engine_defaults, policy_for
from backend.domain.pricing import change_text, source_note
from backend.render.terraform import MODULE_SOURCES, checkov_skips

# What the PR calls the database's identifier, and the module its file calls.
_IDENTIFIER_LABELS = {
    EngineFamily.INSTANCE: "RDS identifier",
    EngineFamily.AURORA: "Aurora cluster identifier",
}
# Each family's module, from the repository's root (the renderer's sources are from an environment's).
_MODULES = {family: source.replace("../../", "terraform/", 1) for family, source in MODULE_SOURCES.items()}
_SOURCE_NAMES = {Source.SLACK: "Slack", Source.API: "the HTTP API", Source.SCHEDULE: "the expiry sweep"}
_FOOTER = "_Opened by rds-provisioner._"

Table = list[tuple[str, str]]


def _code(value: str) -> str:
    """``value`` as an inline code span: no markdown, links or @mentions render inside it."""
    printable = "".join(char if char.isprintable() else " " for char in value)
    # A pipe would end the table cell even inside a code span; GitHub renders \\| as |.
    return "`" + printable.replace("`", "'").replace("|", "\\\\|") + "`"


def _on_off(flag: bool) -> str:
    return "on" if flag else "off"


def _table(header: str, rows: Table) -> list[str]:
    return [f"| {header} |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)]


def _request_rows(record: RequestRecord) -> Table:
    request = record.request
    engine = engine_defaults(request.database_engine)
    return [
        ("Database", _code(request.database_name)),
        (
            "Engine",
            f"{ENGINE_LABELS[request.database_engine]} {engine.engine_version} "
            f"(parameter group family {_code(engine.family)})",
        ),
        ("Environment", request.environment.value),
        (_IDENTIFIER_LABELS[request.database_engine.family], _code(request.rds_identifier)),
        ("Owner", _code(request.owner) if request.owner else "not given"),
        ("Purpose", _code(request.purpose) if request.purpose else "not given"),
        ("Requested by", f"{_code(record.requested_by)} via {_SOURCE_NAMES[record.source]}"),
        ("Request id", _code(record.request_id)),
        *(
            [
                (
                    "Expires",
                    f"{record.expires_on:%Y-%m-%d} "
                    "(dev: the daily sweep decommissions it then unless extended)",
                )
            ]
            if record.expires_on
            else []
        ),
        *(
            [("Approved by", f"{_code(record.approved_by)} at {record.approved_at:%Y-%m-%d %H:%M} UTC")]
            if record.approved_by and record.approved_at
            else []
        ),
        *_cost_rows(record),
    ]


def _cost_rows(record: RequestRecord) -> Table:
    after = record.estimate
    if after is None:
        return []
    figure = change_text(record.previous_estimate, after)
    return [(spec_of(record.action).cost_label, f"{figure} ({after.basis}; {source_note()})")]


def _storage(sizing: Sizing, ceiling: int) -> str:
    return (
        f"{sizing.allocated_storage} GiB gp3, autoscaling up to {ceiling} GiB, "
        "encrypted with the environment's KMS key"
    )


def _topology(policy: EnvironmentPolicy, sizing: Sizing) -> str:
    count = policy.aurora.instance_count
    if sizing.max_capacity is not None:
        return (
            f"Serverless v2: {count} {_code(sizing.instance_class)} instance, "
            f"{policy.aurora.capacity_range(sizing.max_capacity)} (scales within the range by itself)"
        )
    readers = "a reader" if count == 2 else f"{count - 1} readers"
    return (
        f"a writer and {readers}, each {_code(sizing.instance_class)}, in different availability zones "
        "(a reader takes over if the writer fails)"
    )


def _family_rows(record: RequestRecord, policy: EnvironmentPolicy, sizing: Sizing) -> Table:
    """The rows that differ between a DB instance and an Aurora cluster."""
    if record.database_engine.family is EngineFamily.INSTANCE:
        return [
            ("Instance class", _code(sizing.instance_class)),
            ("Storage", _storage(sizing, policy.max_allocated_storage)),
            ("Multi-AZ", _on_off(policy.multi_az)),
        ]
    rows = [
        ("Instances", _topology(policy, sizing)),
        ("Storage", "Aurora cluster storage, grows by itself; encrypted with the environment's KMS key"),
    ]
    if engine_defaults(record.database_engine).backtrack:
        window = policy.aurora.backtrack_window
        rows.append(("Backtrack", f"{window // 3600} hours" if window else "off"))
    rows.append(("AWS Backup", "the environment's backup plan" if policy.aurora.aws_backup else "not joined"))
    return rows


def _policy_rows(record: RequestRecord) -> Table:
    policy = policy_for(record.environment)
    engine = engine_defaults(record.database_engine)
    sizing = record.sizing or policy.new_sizing(record.database_engine)
    monitoring = f"every {policy.monitoring_interval} s" if policy.monitoring_interval else "off"
    performance_insights = (
        f"on, {policy.performance_insights_retention_period} days, KMS encrypted"
        if policy.performance_insights_enabled
        else "off"
    )
    group = "parameter group"
    if record.database_engine.family is EngineFamily.AURORA:
        group = "cluster parameter group"
    return [
        *_family_rows(record, policy, sizing),
        (
            "Automated backups",
            f"{policy.backup_retention_period} days; final snapshot on delete; tags copied to snapshots",
        ),
        ("Deletion protection", _on_off(policy.deletion_protection)),
        ("Performance Insights", performance_insights),
        ("Enhanced monitoring", monitoring),
        ("CloudWatch log exports", ", ".join(engine.enabled_cloudwatch_logs_exports)),
        ("Network", f"private subnets only, never publicly accessible; TLS required by the {group}"),
        ("Authentication", "managed master password and IAM database authentication"),
    ]


def _outputs(record: RequestRecord) -> str:
    module = record.request.module_name
    names = [f"{module}_endpoint", f"{module}_master_user_secret_arn"]
    if record.database_engine.family is EngineFamily.AURORA:
        names.insert(1, f"{module}_reader_endpoint")
    shown = [f"`{name}`" for name in names]
    return ", ".join(shown[:-1]) + f" and {shown[-1]}"


def _plan_steps(record: RequestRecord, on_merge: str, on_close: str) -> list[str]:
    env = record.environment.value
    return [
        "### What happens next",
        "",
        f"- CircleCI runs `terraform fmt -check`, `validate` and `plan` for `terraform/envs/{env}` "
        "on this pull request; review the plan there.",
        f"- When the pull request is merged, CircleCI applies `terraform/envs/{env}` and {on_merge}",
        f"- Closing the pull request without merging {on_close}",
        "",
    ]


def _skips(record: RequestRecord, *, unprotecting: bool = False) -> list[str]:
    skips = checkov_skips(record.request, unprotecting=unprotecting)
    if not skips:
        return []
    why = (
        "this pull request turns deletion protection off"
        if unprotecting
        else "dev turns these prod features off"
    )
    return [
        f"Checkov checks skipped in this file, because {why}:",
        "",
        *(f"- `{skip.check_id}`: {skip.reason}" for skip in skips),
        "",
    ]


def _create(record: RequestRecord) -> tuple[str, str]:
    request = record.request
    env = request.environment.value
    module = request.module_name
    engine_name = ENGINE_LABELS[request.database_engine]
    title = f"Provision RDS {request.database_engine.value} database {request.database_name} ({env})"
    family = request.database_engine.family
    creates = f"RDS creates {_code(request.rds_identifier)}."
    if family is EngineFamily.AURORA:
        creates = f"RDS creates the cluster {_code(request.rds_identifier)} and its instances."
    lines = [
        f"Adds the {engine_name} database {_code(request.database_name)} to **{env}**.",
        "",
        *_table("Request |", _request_rows(record)),
        "",
        "### Generated file",
        "",
        f'`{request.file_path}`: one `module "{module}"` call of `{_MODULES[family]}` '
        f"(the hardened module), with outputs {_outputs(record)}.",
        "",
        f"### Environment policy ({env})",
        "",
        *_table("Setting | Value", _policy_rows(record)),
        "",
        *_skips(record),
        *_plan_steps(record, creates, "creates nothing."),
        "### Credentials",
        "",
        "No password appears in this pull request, in CI or in the Terraform state. RDS generates "
        "the master password, keeps it in AWS Secrets Manager encrypted with the environment's KMS "
        "key, and rotates it (`manage_master_user_password = true`). The secret's ARN is the "
        f"`{module}_master_user_secret_arn` output; read the secret with your own IAM permissions, "
        "or connect with IAM database authentication.",
        "",
        _FOOTER,
    ]
    return title, "\n".join(lines) + "\n"


def _capacity_change(record: RequestRecord, before: Sizing, after: Sizing) -> str:
    aurora = policy_for(record.environment).aurora
    return f"{aurora.capacity_range(before.max_capacity)} -> {aurora.capacity_range(after.max_capacity)}"


# How a resize takes effect, per kind of database.
_RESIZE_NOTES = {
    EngineFamily.INSTANCE: [
        "- Storage can only grow: RDS cannot shrink allocated storage, so a later resize cannot undo it.",
        "- The change is applied in the next maintenance window (`apply_immediately` is off); a class "
        "change then restarts the instance (a failover with Multi-AZ).",
    ],
    EngineFamily.AURORA: [
        "- Aurora storage grows by itself; a resize changes the instances' class or the Serverless v2 "
        "capacity range.",
        "- A class change is applied to every instance in the next maintenance window (`apply_immediately` "
        "is off), each instance restarting in turn; a capacity change takes effect in place, without a "
        "restart.",
    ],
}


def _resize(record: RequestRecord) -> tuple[str, str]:
    request = record.request
    env = request.environment.value
    before, after = record.previous_sizing, record.sizing
    if before is None or after is None:  # pragma: no cover - the intake records both
        raise ValueError(f"resize {record.request_id} does not know both sizes")
    title = f"Resize RDS database {request.database_name} ({env})"
    changes: Table = []
    if before.instance_class != after.instance_class:
        changes.append(("Instance class", f"{_code(before.instance_class)} -> {_code(after.instance_class)}"))
    if before.allocated_storage != after.allocated_storage:
        changes.append(("Storage", f"{before.allocated_storage} GiB -> {after.allocated_storage} GiB"))
    if before.max_capacity != after.max_capacity:
        changes.append(("Serverless v2 capacity", _capacity_change(record, before, after)))
    family = request.database_engine.family
    modifies = "RDS modifies the instance in place."
    if family is EngineFamily.AURORA:
        modifies = "RDS modifies the cluster's instances in place."
    lines = [
        f"Resizes {_code(request.database_name)} in **{env}** ({_code(request.rds_identifier)}).",
        "",
        *_table("Change |", changes),
        "",
        *_RESIZE_NOTES[family],
        "",
        *_table("Request |", _request_rows(record)),
        "",
        *_skips(record),
        *_plan_steps(record, modifies, "changes nothing."),
        _FOOTER,
    ]
    return title, "\n".join(lines) + "\n"


def _destroyed(record: RequestRecord) -> list[str]:
    identifier = record.request.rds_identifier
    snapshot = _code(identifier + "-final")
    if record.database_engine.family is EngineFamily.AURORA:
        backup = policy_for(record.environment).aurora.aws_backup
        return [
            f"- the Aurora cluster {_code(identifier)} and its instances, its cluster parameter group, "
            "security group and ingress rules, its enhanced monitoring role and AWS Backup selection if "
            "it has them;",
            f"- RDS keeps the final snapshot {snapshot} (taken on delete, tags copied); the master user "
            "secret is deleted with the cluster"
            + (
                "; the AWS Backup recovery points stay in the environment's vault until their retention ends."
                if backup
                else "."
            ),
        ]
    return [
        f"- the RDS instance {_code(identifier)}, its parameter group, security group and ingress rules,"
        " and its enhanced monitoring role if it has one;",
        f"- RDS keeps the final snapshot {snapshot} (taken on delete, tags copied), "
        "and the automated backups for their retention period; the master user secret is deleted "
        "with the instance.",
    ]


def _unprotect(record: RequestRecord) -> tuple[str, str]:
    request = record.request
    env = request.environment.value
    title = f"Decommission RDS database {request.database_name} ({env}), step 1 of 2: deletion protection off"
    lines = [
        f"First of two pull requests that decommission {_code(request.database_name)} in **{env}**: "
        "this one only turns deletion protection off, which nothing else changes.",
        "",
        "When it is applied, the second pull request, which deletes the file, opens by itself. "
        "That one destroys:",
        "",
        *_destroyed(record),
        "",
        *_table("Request |", _request_rows(record)),
        "",
        *_skips(record, unprotecting=True),
        *_plan_steps(
            record,
            "the second pull request opens.",
            "keeps the database protected (the request ends failed).",
        ),
        _FOOTER,
    ]
    return title, "\n".join(lines) + "\n"


def _decommission(record: RequestRecord) -> tuple[str, str]:
    request = record.request
    env = request.environment.value
    title = f"Decommission RDS database {request.database_name} ({env})"
    lines = [
        f"Deletes `{request.file_path}`, which decommissions {_code(request.database_name)} in **{env}**. "
        "The plan destroys:",
        "",
        *_destroyed(record),
        "",
        *_table("Request |", _request_rows(record)),
        "",
        *_plan_steps(
            record,
            "the database is destroyed; its name is free again.",
            "keeps the database (the request ends failed).",
        ),
        _FOOTER,
    ]
    return title, "\n".join(lines) + "\n"


def _reprotect(record: RequestRecord) -> tuple[str, str]:
    request = record.request
    env = request.environment.value
    title = f"Turn deletion protection on again for RDS database {request.database_name} ({env})"
    lines = [
        f"The decommission of {_code(request.database_name)} in **{env}** (request "
        f"{_code(record.undoes_request_id or '')}) failed after its first step turned deletion protection "
        "off. This pull request turns it on again; nothing else changes.",
        "",
        *_table("Request |", _request_rows(record)),
        "",
        *_plan_steps(
            record,
            "the database is protected again.",
            "leaves deletion protection off (the inventory shows it off).",
        ),
        _FOOTER,
    ]
    return title, "\n".join(lines) + "\n"


TEXTS: Mapping[Step, Callable[[RequestRecord], tuple[str, str]]] = {
    Step.CREATE: _create,
    Step.RESIZE: _resize,
    Step.UNPROTECT: _unprotect,
    Step.DECOMMISSION: _decommission,
    Step.REPROTECT: _reprotect,
}


def pull_request_text(record: RequestRecord) -> tuple[str, str]:
    """(title, body) of the pull request of ``record``'s current step."""
    return TEXTS[record.step](record)
