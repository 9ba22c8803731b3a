"""The plans of every tree a reviewer can merge, made by the real terraform and judged here.

One ``terraform test`` per environment (see cases.py for the cases) plans each case with a
mocked AWS provider; its ``-json -verbose`` output carries each plan's resource changes, which
these tests hold against the environment policy, the engine defaults and the modules' hardening
(docs/day-2.md, docs/operations.md).
Expected values come from ``backend.domain`` (what the renderer was asked to write), never from
the rendered text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from backend.domain import (
    Engine,
    EngineFamily,
    Environment,
    engine_defaults,
    environment_policies,
    policy_for,
)
from tests.integration.terraform.cases import (
    ALLOWED_CIDR_BLOCKS,
    ALLOWED_SECURITY_GROUP_IDS,
    DATABASE_SUBNET_IDS,
    DATABASE_SUBNET_ZONES,
    MOCK_ARNS,
    Case,
    Database,
    cases,
    changed_engines,
    changed_name,
    largest,
    request_id,
    slug,
)
from tests.integration.terraform.conftest import TerraformTest
from tests.support.terraform import RunResult

ENVIRONMENTS = list(environment_policies())
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


def check_wired(
    changes: Changes, case: Case, planned: dict[str, Any], unknown: dict[str, Any], keys: list[str], name: str
) -> None:
    """A database wired to its environment's KMS key and subnet group, never a literal in its file: in a
    new tree they are created in the same plan, so unknown until apply (the case that broke count); in
    a day-2 tree they are the ones the state holds."""
    if case.creates:
        for key in keys:
            assert unknown.get(key) is True, f"{name}: {key} is not the environment's"
        return
    subnet_group = changes[ENVIRONMENT_SUBNET_GROUP]["change"]["after"]["name"]
    for key in keys:
        expected = subnet_group if key == "db_subnet_group_name" else MOCK_ARNS["aws_kms_key"]
        assert planned.get(key) == expected, f"{name}: {key} is not the environment's"


def check_database(changes: Changes, case: Case, database: Database) -> None:
    """One rendered database, as planned: what the policy says, hardened as the modules promise."""
    environment = case.environment
    request = database.request(environment)
    policy = policy_for(environment)
    engine = engine_defaults(database.engine)
    sizing = database.sizing or policy.new_sizing(database.engine)
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
        "instance_class": sizing.instance_class,
        "allocated_storage": sizing.allocated_storage,
        "max_allocated_storage": policy.max_allocated_storage,
        "multi_az": policy.multi_az,
        "backup_retention_period": policy.backup_retention_period,
        "deletion_protection": policy.deletion_protection and not database.unprotecting,
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
    wired = ["kms_key_id", "master_user_secret_kms_key_id", "db_subnet_group_name"]
    if policy.performance_insights_enabled:
        wired.append("performance_insights_kms_key_id")
    check_wired(changes, case, planned, unknown, wired, database.name)

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


def check_aurora(changes: Changes, case: Case, database: Database) -> None:
    """One rendered Aurora cluster, as planned: its environment's policy (backend/domain/policy.py),
    hardened as modules/aurora promises (its README)."""
    environment = case.environment
    request = database.request(environment)
    policy = policy_for(environment)
    aurora = policy.aurora
    defaults = engine_defaults(database.engine)
    sizing = database.sizing or policy.new_sizing(database.engine)
    name = database.name
    prefix = f"module.{request.module_name}."
    cluster = changes.get(prefix + "aws_rds_cluster.this")
    assert cluster is not None, f"{name}: no aws_rds_cluster planned"
    planned, unknown = cluster["change"]["after"], cluster["change"]["after_unknown"]

    expected = {
        "cluster_identifier": request.rds_identifier,
        "database_name": request.database_name,
        "engine": defaults.engine,
        "engine_mode": "provisioned",
        "engine_version": defaults.engine_version,
        "port": defaults.port,
        "backup_retention_period": policy.backup_retention_period,
        "deletion_protection": policy.deletion_protection and not database.unprotecting,
        "backtrack_window": aurora.backtrack_window if database.engine is Engine.AURORA_MYSQL else None,
        # Not policy: the golden path for every cluster.
        "storage_encrypted": True,
        "manage_master_user_password": True,
        "iam_database_authentication_enabled": True,
        "copy_tags_to_snapshot": True,
        "skip_final_snapshot": False,
        "final_snapshot_identifier": f"{request.rds_identifier}-final",
        "allow_major_version_upgrade": False,
    }
    assert {key: planned.get(key) for key in expected} == expected, name
    logs = defaults.enabled_cloudwatch_logs_exports
    assert sorted(planned["enabled_cloudwatch_logs_exports"]) == sorted(logs)
    assert planned.get("master_password") is None, "no password may reach the plan"
    check_wired(
        changes,
        case,
        planned,
        unknown,
        ["kms_key_id", "master_user_secret_kms_key_id", "db_subnet_group_name"],
        name,
    )
    capacity = [(c["min_capacity"], c["max_capacity"]) for c in planned["serverlessv2_scaling_configuration"]]
    assert capacity == ([(aurora.min_capacity, sizing.max_capacity)] if aurora.serverless else [])

    instances = {
        address: change["change"]["after"]
        for address, change in changes.items()
        if address.startswith(prefix) and change["type"] == "aws_rds_cluster_instance"
    }
    numbers = [str(n) for n in range(1, aurora.instance_count + 1)]
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
            "identifier": f"{request.rds_identifier}-{n}",
            "instance_class": sizing.instance_class,
            # The environment's zones in turn: instance 1 in the first, instance 2 in the second.
            "availability_zone": zones[(int(n) - 1) % len(zones)],
            "publicly_accessible": False,
            "auto_minor_version_upgrade": True,
            "copy_tags_to_snapshot": True,
            "performance_insights_enabled": policy.performance_insights_enabled,
            "monitoring_interval": policy.monitoring_interval,
        }, f"{name} instance {n}"

    groups = [
        change["change"]["after"]
        for address, change in changes.items()
        if address.startswith(prefix) and change["type"] == "aws_rds_cluster_parameter_group"
    ]
    assert len(groups) == 1, f"{name}: {len(groups)} cluster parameter groups"
    assert groups[0]["family"] == defaults.family
    parameters = {parameter["name"]: parameter["value"] for parameter in groups[0]["parameter"]}
    required = AURORA_REQUIRED_PARAMETERS[database.engine.value]
    assert {key: parameters.get(key) for key in required} == required, f"{name}: TLS"

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
    assert len(selections) == (1 if aurora.aws_backup else 0), f"{name}: AWS Backup"
    for selection in selections:
        # The environment's plan and role, created in the same plan (or in the state).
        plan = changes["module.environment.aws_backup_plan.databases"]["change"]["after"]
        for key, value in (("plan_id", (plan or {}).get("id")), ("iam_role_arn", MOCK_ARNS["aws_iam_role"])):
            if case.creates:
                assert selection["change"]["after_unknown"].get(key) is True, key
            else:
                assert selection["change"]["after"][key] == value, key

    tags = planned["tags"]
    assert tags["RequestId"] == request_id(case, database)
    assert (tags.get("Owner"), tags.get("Purpose")) == (database.owner, database.purpose)


# What judges a planned database of each kind.
CHECKS: dict[EngineFamily, Callable[[Changes, Case, Database], None]] = {
    EngineFamily.INSTANCE: check_database,
    EngineFamily.AURORA: check_aurora,
}


def of_family(case: Case, family: EngineFamily) -> list[Database]:
    return [database for database in case.databases if database.engine.family is family]


def identifiers(case: Case, family: EngineFamily) -> list[str]:
    return sorted(database.request(case.environment).rds_identifier for database in of_family(case, family))


def clusters_planned(changes: Changes) -> list[str]:
    return sorted(cluster["cluster_identifier"] for cluster in planned_of_type(changes, "aws_rds_cluster"))


def databases_planned(changes: Changes) -> list[str]:
    return sorted(instance["identifier"] for instance in planned_of_type(changes, "aws_db_instance"))


def actions_of(resource_changes: list[dict[str, Any]]) -> dict[str, int]:
    """How many resources each action touches (``create``, ``update``, ``delete-create``, ``no-op``)."""
    counted: dict[str, int] = {}
    for change in resource_changes:
        action = "-".join(change["change"]["actions"])
        counted[action] = counted.get(action, 0) + 1
    return counted


def planned_of_type(changes: Changes, resource_type: str) -> list[dict[str, Any]]:
    return [change["change"]["after"] for change in changes.values() if change["type"] == resource_type]


# --- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=str)
def test_every_tree_plans_and_a_new_one_only_creates(tested: Tested, environment: Environment) -> None:
    runs = environment_plans(tested, environment)
    assert sorted(runs) == sorted(case.run for case in cases(environment))
    for case in cases(environment):
        changes = runs[case.run].resource_changes
        print(f"{environment}/{case.run}: {len(changes)} resources, {sorted(actions_of(changes).items())}")
        if case.creates:
            assert set(actions_of(changes)) == {"create"}, f"{case.run}: {actions_of(changes)}"


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=str)
def test_main_without_databases_plans_the_environment_alone(tested: Tested, environment: Environment) -> None:
    changes = environment_plans(tested, environment)["no_database"].changes()
    check_environment_foundation(changes)
    assert all(address.startswith("module.environment.") for address in changes), sorted(changes)
    assert databases_planned(changes) == []
    assert clusters_planned(changes) == []


@pytest.mark.parametrize("engine", list(Engine), ids=str)
@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=str)
def test_first_pull_request_plans(tested: Tested, environment: Environment, engine: Engine) -> None:
    """One database of each engine alone, with the environment's subnet group, key (and, for an
    Aurora cluster in prod, backup plan) created in the same plan (their names and ids unknown)."""
    case = case_named(environment, f"first_pr_{slug(engine)}")
    changes = environment_plans(tested, environment)[case.run].changes()
    check_environment_foundation(changes)
    (database,) = case.databases
    assert databases_planned(changes) == identifiers(case, EngineFamily.INSTANCE)
    assert clusters_planned(changes) == identifiers(case, EngineFamily.AURORA)
    CHECKS[engine.family](changes, case, database)


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=str)
def test_many_databases_share_the_environment(tested: Tested, environment: Environment) -> None:
    case = case_named(environment, "many_databases")
    changes = environment_plans(tested, environment)[case.run].changes()
    check_environment_foundation(changes)
    assert {database.engine for database in case.databases} == set(Engine)
    assert databases_planned(changes) == identifiers(case, EngineFamily.INSTANCE)
    assert clusters_planned(changes) == identifiers(case, EngineFamily.AURORA)
    for database in case.databases:
        CHECKS[database.engine.family](changes, case, database)


def test_prod_databases_get_the_prod_hardening(tested: Tested) -> None:
    """Prod adds Multi-AZ, deletion protection, Performance Insights and enhanced monitoring."""
    case = case_named(Environment("prod"), "many_databases")
    changes = environment_plans(tested, Environment("prod"))[case.run].changes()
    instances = planned_of_type(changes, "aws_db_instance")
    assert len(instances) == len(of_family(case, EngineFamily.INSTANCE))
    for instance in instances:
        assert instance["multi_az"] is True
        assert instance["deletion_protection"] is True
        assert instance["performance_insights_enabled"] is True
        assert instance["monitoring_interval"] > 0
        assert instance["backup_retention_period"] > policy_for(Environment("dev")).backup_retention_period


def test_aurora_topologies_are_what_each_environment_gives(tested: Tested) -> None:
    """Aurora: dev is Serverless v2 with one db.serverless instance and a low minimum;
    prod has deletion protection, Performance Insights, and a writer plus a reader in different AZs."""
    for environment in ENVIRONMENTS:
        changes = environment_plans(tested, environment)["many_databases"].changes()
        clusters = planned_of_type(changes, "aws_rds_cluster")
        instances = planned_of_type(changes, "aws_rds_cluster_instance")
        assert len(clusters) == len(of_family(case_named(environment, "many_databases"), EngineFamily.AURORA))
        for cluster in clusters:
            name = cluster["cluster_identifier"]
            members = [i for i in instances if i["identifier"].startswith(f"{name}-")]
            if policy_for(environment).aurora.serverless:
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


# --- day 2 (issue #14 item 7): every tree a resize or decommission pull request leaves ---------------
#
# ``day2_created`` applied a database of every engine with the mock provider; each case below was
# planned against that state (the same state_key), so its plan says what merging it would change.

# What the database resource of each kind is (the one a resize or an unprotect edits).
DATABASE_RESOURCES = {
    EngineFamily.INSTANCE: "aws_db_instance.this",
    EngineFamily.AURORA: "aws_rds_cluster.this",
}
# Attributes of a resource every change of a database rewrites: its file carries the change's request id.
TAGS = {"tags", "tags_all"}


def day2_plan(tested: Tested, environment: Environment, run: str) -> tuple[Case, dict[str, dict[str, Any]]]:
    return case_named(environment, run), environment_plans(tested, environment)[run].changes()


def changed_attributes(change: dict[str, Any]) -> set[str]:
    before, after = change["change"]["before"] or {}, change["change"]["after"] or {}
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


def modules_of(changes: Changes, action: str) -> set[str]:
    """The ``module.rds_<name>`` (or ``module.environment``) of every resource ``action`` touches."""
    return {
        ".".join(address.split(".")[:2])
        for address, change in changes.items()
        if "-".join(change["change"]["actions"]) == action
    }


def changed_modules(environment: Environment) -> set[str]:
    return {f"module.rds_{changed_name(engine)}" for engine in changed_engines()}


def check_only_updates_in_place(changes: Changes, environment: Environment) -> None:
    """Nothing is created, replaced or destroyed; only the changed databases' resources are updated."""
    actions = actions_of(list(changes.values()))
    assert set(actions) <= {"no-op", "update"}, f"not in place: {actions}"
    assert modules_of(changes, "update") == changed_modules(environment)


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=str)
def test_a_resize_updates_only_the_resized_databases_in_place(
    tested: Tested, environment: Environment
) -> None:
    case, changes = day2_plan(tested, environment, "resize")
    check_only_updates_in_place(changes, environment)
    for engine in changed_engines():
        database = case.database(changed_name(engine))
        prefix = f"module.{database.request(environment).module_name}."
        new, old = largest(environment, engine), policy_for(environment).new_sizing(engine)
        assert new != old, f"{engine}: the policy offers nothing larger"
        main = changes[prefix + DATABASE_RESOURCES[engine.family]]
        if engine.family is EngineFamily.INSTANCE:
            assert changed_attributes(main) - TAGS == {"instance_class", "allocated_storage"}
            after = main["change"]["after"]
            assert (after["instance_class"], after["allocated_storage"]) == (
                new.instance_class,
                new.allocated_storage,
            )
        else:
            # A cluster: the capacity range on the cluster (Serverless v2), the class on every instance.
            capacity = (
                {"serverlessv2_scaling_configuration"} if new.max_capacity != old.max_capacity else set()
            )
            assert changed_attributes(main) - TAGS == capacity
            classes = {
                change["change"]["after"]["instance_class"]
                for address, change in changes.items()
                if address.startswith(prefix) and change["type"] == "aws_rds_cluster_instance"
            }
            assert classes == {new.instance_class}
        # Every change is exactly what its file says, hardened as when it was created.
        CHECKS[engine.family](changes, case, database)


def test_an_unprotect_turns_only_deletion_protection_off(tested: Tested) -> None:
    """A prod decommission's first pull request: deletion protection off, nothing else changes."""
    environment = Environment("prod")
    assert policy_for(environment).deletion_protection
    _, changes = day2_plan(tested, environment, "unprotect")
    check_only_updates_in_place(changes, environment)
    for engine in changed_engines():
        prefix = f"module.rds_{changed_name(engine)}."
        main = changes[prefix + DATABASE_RESOURCES[engine.family]]
        assert changed_attributes(main) - TAGS == {"deletion_protection"}
        assert (
            main["change"]["before"]["deletion_protection"],
            main["change"]["after"]["deletion_protection"],
        ) == (
            True,
            False,
        )
        others = [c for a, c in changes.items() if a.startswith(prefix) and c is not main]
        assert all(changed_attributes(change) <= TAGS for change in others), prefix


@pytest.mark.parametrize("engine", changed_engines(), ids=str)
@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=str)
def test_a_decommission_destroys_only_that_database(
    tested: Tested, environment: Environment, engine: Engine
) -> None:
    """The tree without one file, planned against the state holding every day-2 database: terraform
    destroys every resource of that database's module and touches nothing else."""
    case, changes = day2_plan(tested, environment, f"decommission_{slug(engine)}")
    gone = f"module.rds_{changed_name(engine)}"
    assert all(database.name != changed_name(engine) for database in case.databases)
    # The resize plan of the same state lists every resource the state holds (no-op or update).
    _, everything = day2_plan(tested, environment, "resize")
    in_state = {address for address in everything if address.startswith(gone + ".")}
    deleted = {a for a, c in changes.items() if c["change"]["actions"] == ["delete"]}
    assert in_state, f"{gone} has nothing in the state"
    assert deleted == in_state
    assert actions_of(list(changes.values())) == {
        "no-op": len(everything) - len(in_state),
        "delete": len(in_state),
    }
    # The module keeps its final snapshot: delete takes it, it is never skipped.
    main = changes[f"{gone}.{DATABASE_RESOURCES[engine.family]}"]["change"]["before"]
    identifier = changed_name(engine).replace("_", "-") + f"-{environment.value}"
    assert (main["skip_final_snapshot"], main["final_snapshot_identifier"]) == (False, f"{identifier}-final")
