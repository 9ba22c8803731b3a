"""The plans of every tree a reviewer can merge, made by the real terraform and judged here.

One ``terraform test`` per environment (see cases.py for the cases) plans each case with a
mocked AWS provider; its ``-json -verbose`` output carries each plan's resource changes, which
these tests hold against the environment policy, the engine defaults and DESIGN.md section 5.
Expected values come from ``backend.domain`` (what the renderer was asked to write), never from
the rendered text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from backend.domain import Engine, Environment, engine_defaults, policy_for
from tests.integration.terraform.cases import (
    ALLOWED_CIDR_BLOCKS,
    ALLOWED_SECURITY_GROUP_IDS,
    DATABASE_SUBNET_IDS,
    DATABASE_SUBNET_ZONES,
    AuroraExample,
    Case,
    Database,
    aurora_examples,
    cases,
    request_id,
    slug,
)
from tests.integration.terraform.conftest import TerraformTest
from tests.support.terraform import RunResult

ENVIRONMENTS = list(Environment)
# The parameter that makes an engine refuse unencrypted connections (RDS and Aurora families).
TLS_PARAMETERS = {"rds.force_ssl", "require_secure_transport"}
# What modules/aurora's cluster parameter groups must hold for each engine.
AURORA_REQUIRED_PARAMETERS = {
    "aurora-mysql": {"require_secure_transport": "ON", "server_audit_logging": "1"},
    "aurora-postgresql": {"rds.force_ssl": "1", "log_statement": "ddl"},
}
# What the environment module creates when no existing KMS key is given (terraform/modules/environment).
ENVIRONMENT_KMS_KEY = "module.environment.aws_kms_key.databases[0]"
ENVIRONMENT_SUBNET_GROUP = "module.environment.aws_db_subnet_group.databases"

Changes = dict[str, dict[str, Any]]
Tested = Callable[[str], TerraformTest]


def environment_plans(tested: Tested, environment: Environment) -> dict[str, RunResult]:
    result = tested(f"envs/{environment.value}")
    failed = {
        name: [run.status, *run.diagnostics] for name, run in result.runs.items() if run.status != "pass"
    }
    assert not failed, "terraform could not plan:\n" + json.dumps(failed, indent=2)
    assert not result.unattached, "\n".join(result.unattached)
    assert result.completed.ok, result.completed.explain()
    return result.runs


def case_named(environment: Environment, run: str) -> Case:
    (case,) = [case for case in cases(environment) if case.run == run]
    return case


def after(changes: Changes, address: str) -> dict[str, Any]:
    assert address in changes, f"{address} is not in the plan: {sorted(changes)}"
    value: dict[str, Any] = changes[address]["change"]["after"]
    return value


def check_environment_foundation(changes: Changes) -> None:
    """The shared KMS key (rotating) and the one subnet group, both created with the first plan."""
    assert after(changes, ENVIRONMENT_KMS_KEY)["enable_key_rotation"] is True
    assert sorted(after(changes, ENVIRONMENT_SUBNET_GROUP)["subnet_ids"]) == sorted(DATABASE_SUBNET_IDS)
    subnet_groups = [
        address for address, change in changes.items() if change["type"] == "aws_db_subnet_group"
    ]
    assert subnet_groups == [ENVIRONMENT_SUBNET_GROUP], "every database shares the environment's subnet group"


def check_database(changes: Changes, case: Case, database: Database) -> None:
    """One rendered database, as planned: what the policy says, hardened as DESIGN.md section 5 says."""
    environment = case.environment
    request = database.request(environment)
    policy = policy_for(environment)
    engine = engine_defaults(database.engine)
    prefix = f"module.{request.module_name}."
    instance = changes.get(prefix + "aws_db_instance.this")
    assert instance is not None, f"{database.name}: no aws_db_instance planned"
    planned, unknown = instance["change"]["after"], instance["change"]["after_unknown"]

    expected = {
        "identifier": request.rds_identifier,
        "db_name": request.database_name,
        "engine": engine.engine,
        "engine_version": engine.engine_version,
        "port": engine.port,
        "instance_class": policy.instance_class,
        "allocated_storage": policy.allocated_storage,
        "max_allocated_storage": policy.max_allocated_storage,
        "multi_az": policy.multi_az,
        "backup_retention_period": policy.backup_retention_period,
        "deletion_protection": policy.deletion_protection,
        "performance_insights_enabled": policy.performance_insights_enabled,
        "monitoring_interval": policy.monitoring_interval,
        # Not policy: the golden path for every database.
        "storage_type": "gp3",
        "storage_encrypted": True,
        "publicly_accessible": False,
        "manage_master_user_password": True,
        "iam_database_authentication_enabled": True,
        "copy_tags_to_snapshot": True,
        "skip_final_snapshot": False,
        "auto_minor_version_upgrade": True,
    }
    assert {name: planned.get(name) for name in expected} == expected, database.name
    assert sorted(planned["enabled_cloudwatch_logs_exports"]) == sorted(
        engine.enabled_cloudwatch_logs_exports
    )
    assert planned.get("password") is None, "no password may reach the plan"
    # Wired to the environment's key and subnet group, created in this same plan: unknown until
    # apply (the case that broke count), and never a literal in the generated file.
    for wired in ("kms_key_id", "master_user_secret_kms_key_id", "db_subnet_group_name"):
        assert unknown.get(wired) is True, f"{database.name}: {wired} is not the environment's"
    if policy.performance_insights_enabled:
        assert unknown.get("performance_insights_kms_key_id") is True

    groups = [
        change["change"]["after"]
        for address, change in changes.items()
        if address.startswith(prefix) and change["type"] == "aws_db_parameter_group"
    ]
    assert len(groups) == 1, f"{database.name}: {len(groups)} parameter groups"
    assert groups[0]["family"] == engine.family
    parameters = {parameter["name"]: parameter["value"] for parameter in groups[0]["parameter"]}
    assert any(parameters.get(name) == "1" for name in TLS_PARAMETERS), f"{database.name}: TLS not forced"

    rules = [
        change["change"]["after"]
        for address, change in changes.items()
        if address.startswith(prefix) and change["type"] == "aws_vpc_security_group_ingress_rule"
    ]
    allowed = [*ALLOWED_CIDR_BLOCKS, *ALLOWED_SECURITY_GROUP_IDS]
    assert len(rules) == len(allowed)
    assert {rule.get("cidr_ipv4") or rule.get("referenced_security_group_id") for rule in rules} == set(
        allowed
    )
    for rule in rules:
        assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", engine.port, engine.port)

    roles = [a for a, c in changes.items() if a.startswith(prefix) and c["type"] == "aws_iam_role"]
    assert len(roles) == (1 if policy.monitoring_interval else 0), (
        f"{database.name}: monitoring roles {roles}"
    )

    tags = planned["tags"]
    assert tags["RequestId"] == request_id(case, database)
    assert (tags.get("Owner"), tags.get("Purpose")) == (database.owner, database.purpose)


def check_aurora(changes: Changes, example: AuroraExample) -> None:
    """One hand-written Aurora example, as planned: its environment's policy, hardened as DESIGN 7.7 says."""
    policy, defaults = example.policy, example.defaults
    prefix = f"module.{example.module_name}."
    cluster = changes.get(prefix + "aws_rds_cluster.this")
    assert cluster is not None, f"{example.database_name}: no aws_rds_cluster planned"
    planned, unknown = cluster["change"]["after"], cluster["change"]["after_unknown"]

    expected = {
        "cluster_identifier": example.identifier,
        "database_name": example.database_name,
        "engine": example.engine,
        "engine_mode": "provisioned",
        "engine_version": defaults.engine_version,
        "port": defaults.port,
        "backup_retention_period": policy.backup_retention_period,
        "deletion_protection": policy.deletion_protection,
        "backtrack_window": policy.backtrack_window if example.engine == "aurora-mysql" else None,
        # Not policy: the golden path for every cluster.
        "storage_encrypted": True,
        "manage_master_user_password": True,
        "iam_database_authentication_enabled": True,
        "copy_tags_to_snapshot": True,
        "skip_final_snapshot": False,
        "final_snapshot_identifier": f"{example.identifier}-final",
        "allow_major_version_upgrade": False,
    }
    assert {name: planned.get(name) for name in expected} == expected, example.database_name
    logs = defaults.enabled_cloudwatch_logs_exports
    assert sorted(planned["enabled_cloudwatch_logs_exports"]) == sorted(logs)
    assert planned.get("master_password") is None, "no password may reach the plan"
    # Wired to the environment's key and subnet group, created in the same plan.
    for wired in ("kms_key_id", "master_user_secret_kms_key_id", "db_subnet_group_name"):
        assert unknown.get(wired) is True, f"{example.database_name}: {wired} is not the environment's"
    capacity = [(c["min_capacity"], c["max_capacity"]) for c in planned["serverlessv2_scaling_configuration"]]
    assert capacity == ([policy.serverless_capacity] if policy.serverless_capacity else [])

    instances = {
        address: change["change"]["after"]
        for address, change in changes.items()
        if address.startswith(prefix) and change["type"] == "aws_rds_cluster_instance"
    }
    numbers = [str(n) for n in range(1, policy.instance_count + 1)]
    assert sorted(instances) == sorted(f'{prefix}aws_rds_cluster_instance.this["{n}"]' for n in numbers)
    zones = sorted(set(DATABASE_SUBNET_ZONES.values()))
    for n in numbers:
        instance = instances[f'{prefix}aws_rds_cluster_instance.this["{n}"]']
        assert {
            "identifier": instance["identifier"],
            "instance_class": instance["instance_class"],
            "availability_zone": instance["availability_zone"],
            "publicly_accessible": instance["publicly_accessible"],
            "auto_minor_version_upgrade": instance["auto_minor_version_upgrade"],
            "copy_tags_to_snapshot": instance["copy_tags_to_snapshot"],
            "performance_insights_enabled": instance["performance_insights_enabled"],
            "monitoring_interval": instance["monitoring_interval"],
        } == {
            "identifier": f"{example.identifier}-{n}",
            "instance_class": policy.instance_class,
            # The environment's zones in turn: instance 1 in the first, instance 2 in the second.
            "availability_zone": zones[(int(n) - 1) % len(zones)],
            "publicly_accessible": False,
            "auto_minor_version_upgrade": True,
            "copy_tags_to_snapshot": True,
            "performance_insights_enabled": policy.performance_insights_enabled,
            "monitoring_interval": policy.monitoring_interval,
        }, f"{example.database_name} instance {n}"

    groups = [
        change["change"]["after"]
        for address, change in changes.items()
        if address.startswith(prefix) and change["type"] == "aws_rds_cluster_parameter_group"
    ]
    assert len(groups) == 1, f"{example.database_name}: {len(groups)} cluster parameter groups"
    assert groups[0]["family"] == defaults.family
    parameters = {parameter["name"]: parameter["value"] for parameter in groups[0]["parameter"]}
    required = AURORA_REQUIRED_PARAMETERS[example.engine]
    assert {name: parameters.get(name) for name in required} == required, f"{example.database_name}: TLS"

    rules = [
        change["change"]["after"]
        for address, change in changes.items()
        if address.startswith(prefix) and change["type"] == "aws_vpc_security_group_ingress_rule"
    ]
    allowed = {*ALLOWED_CIDR_BLOCKS, *ALLOWED_SECURITY_GROUP_IDS}
    assert len(rules) == len(allowed)
    assert {rule.get("cidr_ipv4") or rule.get("referenced_security_group_id") for rule in rules} == allowed
    assert {(rule["ip_protocol"], rule["from_port"], rule["to_port"]) for rule in rules} == {
        ("tcp", defaults.port, defaults.port)
    }

    def of_type(resource_type: str) -> list[dict[str, Any]]:
        return [c for a, c in changes.items() if a.startswith(prefix) and c["type"] == resource_type]

    assert len(of_type("aws_iam_role")) == (1 if policy.monitoring_interval else 0)
    selections = of_type("aws_backup_selection")
    assert len(selections) == (1 if policy.aws_backup else 0), f"{example.database_name}: AWS Backup"
    for selection in selections:
        # The environment's plan and role, created in the same plan.
        assert selection["change"]["after_unknown"].get("plan_id") is True
        assert selection["change"]["after_unknown"].get("iam_role_arn") is True


def clusters_planned(changes: Changes) -> list[str]:
    return sorted(cluster["cluster_identifier"] for cluster in planned_of_type(changes, "aws_rds_cluster"))


def databases_planned(changes: Changes) -> list[str]:
    return sorted(instance["identifier"] for instance in planned_of_type(changes, "aws_db_instance"))


def planned_of_type(changes: Changes, resource_type: str) -> list[dict[str, Any]]:
    return [change["change"]["after"] for change in changes.values() if change["type"] == resource_type]


# --- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=str)
def test_every_case_plans_and_only_creates(tested: Tested, environment: Environment) -> None:
    runs = environment_plans(tested, environment)
    assert sorted(runs) == sorted(case.run for case in cases(environment))
    for name, run in runs.items():
        actions = {tuple(change["change"]["actions"]) for change in run.resource_changes}
        assert actions == {("create",)}, f"{name}: {actions}"
        print(f"{environment}/{name}: {len(run.resource_changes)} resources to create")


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=str)
def test_main_without_databases_plans_the_environment_alone(tested: Tested, environment: Environment) -> None:
    changes = environment_plans(tested, environment)["no_database"].changes()
    check_environment_foundation(changes)
    assert all(address.startswith("module.environment.") for address in changes), sorted(changes)
    assert databases_planned(changes) == []


@pytest.mark.parametrize("engine", list(Engine), ids=str)
@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=str)
def test_first_pull_request_plans(tested: Tested, environment: Environment, engine: Engine) -> None:
    case = case_named(environment, f"first_pr_{slug(engine)}")
    changes = environment_plans(tested, environment)[case.run].changes()
    check_environment_foundation(changes)
    (database,) = case.databases
    assert databases_planned(changes) == [database.request(environment).rds_identifier]
    check_database(changes, case, database)


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=str)
def test_many_databases_share_the_environment(tested: Tested, environment: Environment) -> None:
    case = case_named(environment, "many_databases")
    changes = environment_plans(tested, environment)[case.run].changes()
    check_environment_foundation(changes)
    assert {database.engine for database in case.databases} == set(Engine)
    assert databases_planned(changes) == sorted(d.request(environment).rds_identifier for d in case.databases)
    for database in case.databases:
        check_database(changes, case, database)


def test_prod_databases_get_what_design_promises(tested: Tested) -> None:
    """DESIGN.md section 5: prod adds Multi-AZ, deletion protection, Performance Insights, monitoring."""
    case = case_named(Environment.PROD, "many_databases")
    changes = environment_plans(tested, Environment.PROD)[case.run].changes()
    instances = planned_of_type(changes, "aws_db_instance")
    assert len(instances) == len(case.databases)
    for instance in instances:
        assert instance["multi_az"] is True
        assert instance["deletion_protection"] is True
        assert instance["performance_insights_enabled"] is True
        assert instance["monitoring_interval"] > 0
        assert instance["backup_retention_period"] > policy_for(Environment.DEV).backup_retention_period


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=str)
def test_aurora_clusters_plan_in_the_first_pull_request(tested: Tested, environment: Environment) -> None:
    """Each Aurora example beside an RDS instance, with the subnet group, key and backup plan of
    the environment created in the same plan (their names and ids unknown)."""
    runs = environment_plans(tested, environment)
    first_prs = [case for case in cases(environment) if case.run.startswith("first_pr_") and case.aurora]
    assert {example for case in first_prs for example in case.aurora} == set(aurora_examples(environment))
    for case in first_prs:
        changes = runs[case.run].changes()
        check_environment_foundation(changes)
        assert clusters_planned(changes) == [example.identifier for example in case.aurora]
        for example in case.aurora:
            check_aurora(changes, example)


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=str)
def test_aurora_clusters_plan_beside_rds_instances(tested: Tested, environment: Environment) -> None:
    case = case_named(environment, "many_databases")
    changes = environment_plans(tested, environment)[case.run].changes()
    check_environment_foundation(changes)
    assert clusters_planned(changes) == sorted(example.identifier for example in case.aurora)
    assert {example.engine for example in case.aurora} == {"aurora-mysql", "aurora-postgresql"}
    for example in case.aurora:
        check_aurora(changes, example)
    assert databases_planned(changes) == sorted(d.request(environment).rds_identifier for d in case.databases)


def test_aurora_topologies_are_what_design_promises(tested: Tested) -> None:
    """DESIGN.md 7.7: dev is Serverless v2 with one db.serverless instance and a low minimum;
    prod has deletion protection, Performance Insights, and a writer plus a reader in different AZs."""
    for environment in ENVIRONMENTS:
        changes = environment_plans(tested, environment)["many_databases"].changes()
        clusters = planned_of_type(changes, "aws_rds_cluster")
        instances = planned_of_type(changes, "aws_rds_cluster_instance")
        assert len(clusters) == 2
        for cluster in clusters:
            name = cluster["cluster_identifier"]
            members = [i for i in instances if i["identifier"].startswith(f"{name}-")]
            if environment is Environment.DEV:
                (capacity,) = cluster["serverlessv2_scaling_configuration"]
                assert capacity["min_capacity"] <= 1
                assert [m["instance_class"] for m in members] == ["db.serverless"]
            else:
                assert cluster["deletion_protection"] is True
                assert cluster["serverlessv2_scaling_configuration"] == []
                assert len(members) == 2
                assert len({m["availability_zone"] for m in members}) == 2
                assert all(m["performance_insights_enabled"] for m in members)
                assert all(m["instance_class"] != "db.serverless" for m in members)
