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
    Case,
    Database,
    cases,
    request_id,
    slug,
)
from tests.integration.terraform.conftest import TerraformTest
from tests.support.terraform import RunResult

ENVIRONMENTS = list(Environment)
# The parameter that makes an engine refuse unencrypted connections (RDS and Aurora families).
TLS_PARAMETERS = {"rds.force_ssl", "require_secure_transport"}
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
