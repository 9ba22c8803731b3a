"""The CircleCI pipeline: schema-valid, pinned, path-filtered, and calling real make targets."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.deploy.conftest import REPO_ROOT

CIRCLECI = REPO_ROOT / ".circleci"
CONFIGS = ("config.yml", "continue_config.yml")


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((CIRCLECI / name).read_text())
    return document


@pytest.mark.slow
@pytest.mark.parametrize("name", CONFIGS)
def test_config_passes_the_circleci_schema(name):
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.circle-ci", str(CIRCLECI / name)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", CONFIGS)
def test_orbs_and_images_are_pinned(name):
    config = _load(name)
    for orb in config.get("orbs", {}).values():
        assert re.fullmatch(r"[\w-]+/[\w-]+@\d+\.\d+\.\d+", orb), orb
    for executor in config.get("executors", {}).values():
        for image in executor.get("docker", []):
            assert re.search(r":\d+\.\d+\.\d+$", image["image"]), image["image"]


def test_path_filter_sets_only_parameters_the_pipeline_declares():
    mapping = _load("config.yml")["workflows"]["select-workflows"]["jobs"][0]["path-filtering/filter"][
        "mapping"
    ]
    rules = [line.split() for line in mapping.strip().splitlines()]
    declared = _load("continue_config.yml")["parameters"]
    assert {parameter for _, parameter, _ in rules} == set(declared)
    for pattern, parameter, _ in rules:
        re.compile(pattern)
        assert declared[parameter]["default"] is False

    def selected(path: str) -> set[str]:
        return {parameter for pattern, parameter, _ in rules if re.fullmatch(pattern, path)}

    assert selected("terraform/envs/dev/rds_orders.tf") == {"terraform-dev"}
    assert selected("terraform/envs/prod/rds_orders.tf") == {"terraform-prod"}
    assert selected("terraform/modules/rds/main.tf") == {"terraform-dev", "terraform-prod"}
    assert selected("backend/worker.py") == {"deploy-stack"}
    assert selected("Makefile") == {"deploy-stack"}
    assert selected("pyproject.toml") == {"deploy-stack"}
    assert selected("README.md") == set()
    assert selected("tests/unit/test_domain.py") == set()


def test_jobs_call_make_targets_that_exist():
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w-]+):", makefile, flags=re.MULTILINE))
    commands = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            run = node.get("run")
            commands.append(run.get("command", "") if isinstance(run, dict) else run or "")
            for child in node.values():
                collect(child)
        elif isinstance(node, list):
            for child in node:
                collect(child)

    collect(_load("continue_config.yml")["jobs"])
    called = {
        word
        for command in commands
        for line in re.findall(r"^\s*(?:mkdir [^&]+&& )?make ([^\n]+)", command, flags=re.MULTILINE)
        for word in line.split()
        if "=" not in word and not word.startswith(("-", '"'))
    }
    assert {"lint", "typecheck", "pytest", "cfn-lint", "checkov", "build"} <= called
    assert called <= targets, called - targets


def test_deploys_use_oidc_and_apply_waits_for_approval_in_prod():
    config = _load("continue_config.yml")
    text = (CIRCLECI / "continue_config.yml").read_text()
    assert "AWS_SECRET_ACCESS_KEY" not in text
    assert "AWS_ACCESS_KEY_ID" not in text
    deploy_steps = config["jobs"]["sam-deploy"]["steps"]
    assert any(isinstance(step, dict) and "aws-cli/setup" in step for step in deploy_steps)
    prod = config["workflows"]["terraform-prod"]["jobs"]
    apply = next(job["terraform-apply"] for job in prod if isinstance(job, dict) and "terraform-apply" in job)
    assert apply["requires"] == ["approve-prod-apply"]
    assert apply["filters"]["branches"]["only"] == "main"
    approval = next(
        job["approve-prod-apply"] for job in prod if isinstance(job, dict) and "approve-prod-apply" in job
    )
    assert approval["type"] == "approval"


@pytest.mark.parametrize("script", sorted(p.name for p in (CIRCLECI / "scripts").glob("*.sh")))
def test_scripts_parse_and_are_executable(script):
    path = CIRCLECI / "scripts" / script
    assert path.stat().st_mode & 0o111
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# --- Terraform: serialized applies, fresh plans, every applied request recorded -----------------


def _workflow_jobs(config: dict[str, Any], workflow: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Workflow job name -> (job type, invocation) for a workflow's jobs."""
    jobs: dict[str, tuple[str, dict[str, Any]]] = {}
    for entry in config["workflows"][workflow]["jobs"]:
        kind, invocation = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
        jobs[invocation.get("name", kind)] = (kind, invocation)
    return jobs


def _job_text(config: dict[str, Any], job: str) -> str:
    """A job's steps with the commands they use expanded, as YAML text."""
    commands = config["commands"]
    text = yaml.safe_dump(config["jobs"][job]["steps"])
    for name, command in commands.items():
        if name in text:
            text += yaml.safe_dump(command["steps"])
    return text


ENVIRONMENTS = ("dev", "prod")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_applies_are_serialized_per_environment_and_only_on_main(env):
    config = _load("continue_config.yml")
    jobs = _workflow_jobs(config, f"terraform-{env}")
    applies = {name: invocation for name, (kind, invocation) in jobs.items() if kind == "terraform-apply"}
    assert list(applies) == [f"terraform-apply-{env}"]
    apply = applies[f"terraform-apply-{env}"]
    assert apply["environment"] == env
    assert apply["filters"]["branches"]["only"] == "main"
    group = apply["serial-group"]
    assert env in group.split("/")[-1]
    assert "<< pipeline.project.slug >>" in group, "the group must not be shared with other projects"
    # One group per environment: dev and prod never wait for each other, and never share a lock.
    other = next(e for e in ENVIRONMENTS if e != env)
    other_group = _workflow_jobs(config, f"terraform-{other}")[f"terraform-apply-{other}"][1]["serial-group"]
    assert other_group != group


def test_dev_applies_the_plan_it_makes_and_prod_applies_the_approved_saved_plan():
    config = _load("continue_config.yml")
    assert ".circleci/scripts/terraform-apply.sh" in _job_text(config, "terraform-apply")
    _, dev = _workflow_jobs(config, "terraform-dev")["terraform-apply-dev"]
    assert not dev.get("saved-plan", False)
    prod = _workflow_jobs(config, "terraform-prod")
    _, plan = prod["terraform-plan-prod"]
    _, approval = prod["approve-prod-apply"]
    _, apply = prod["terraform-apply-prod"]
    assert plan["save-plan"] is True
    assert approval["requires"] == ["terraform-plan-prod"]
    assert apply["requires"] == ["approve-prod-apply"]
    assert apply["saved-plan"] is True
    # What the plan job keeps (with its commit) is what the apply job hands terraform-apply.sh.
    plan_text = _job_text(config, "terraform-plan")
    assert ".plans/<< parameters.environment >>/tfplan.commit" in plan_text
    assert "SAVED_PLAN=.plans/<< parameters.environment >>/tfplan" in _job_text(config, "terraform-apply")


def test_a_superseded_apply_fails_visibly():
    text = _job_text(_load("continue_config.yml"), "terraform-apply")
    assert "superseded*" in text
    assert "SUPERSEDED" in text


def test_stack_deploys_are_serialized():
    config = _load("continue_config.yml")
    _, deploy = _workflow_jobs(config, "deploy-stack")["sam-deploy"]
    assert deploy["serial-group"] == "<< pipeline.project.slug >>/sam-deploy"


def test_main_is_filtered_against_the_commit_before_the_push():
    jobs = [
        job["path-filtering/filter"] for job in _load("config.yml")["workflows"]["select-workflows"]["jobs"]
    ]
    by_branch = {json.dumps(job["filters"]["branches"], sort_keys=True): job["base-revision"] for job in jobs}
    assert by_branch == {
        '{"only": "main"}': "<< pipeline.git.base_revision >>",
        '{"ignore": "main"}': "main",
    }
    assert len({job["mapping"] for job in jobs}) == 1, "one mapping for branches and main"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_record_applied_follows_the_apply_and_gets_its_marker(env):
    config = _load("continue_config.yml")
    jobs = _workflow_jobs(config, f"terraform-{env}")
    kind, record = jobs[f"record-applied-{env}"]
    assert kind == "record-applied"
    assert record["requires"] == [f"terraform-apply-{env}"]
    assert record["environment"] == env
    assert record["filters"]["branches"]["only"] == "main"
    record_text = _job_text(config, "record-applied")
    assert ".circleci/scripts/record-applied.sh << parameters.environment >>" in record_text
    assert "attach_workspace" in record_text
    persisted = [
        step["persist_to_workspace"]["paths"]
        for step in config["jobs"]["terraform-apply"]["steps"]
        if isinstance(step, dict) and "persist_to_workspace" in step
    ]
    assert persisted == [[".applied/<< parameters.environment >>"]]


def test_branches_plan_with_the_read_only_role_and_main_applies_with_the_apply_role():
    config = _load("continue_config.yml")
    roles = {}
    for job in ("terraform-plan", "terraform-apply", "record-applied"):
        steps = yaml.safe_dump(config["jobs"][job]["steps"])
        roles[job] = set(re.findall(r"role-variable: (\w+)", steps))
    assert roles == {
        "terraform-plan": {"AWS_PLAN_ROLE_ARN"},
        "terraform-apply": {"AWS_APPLY_ROLE_ARN"},
        "record-applied": {"AWS_RECORD_APPLIED_ROLE_ARN"},
    }
    # The apply role's trust policy pins main through the V2 token's subject.
    assert "CIRCLE_OIDC_TOKEN_V2" in yaml.safe_dump(config["commands"]["assume-role"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_branch_plans_are_posted_on_the_pull_request(env):
    config = _load("continue_config.yml")
    _, plan = _workflow_jobs(config, f"terraform-{env}")[f"terraform-plan-{env}"]
    assert "rds-provisioner-github" in plan["context"]
    assert "main" not in plan.get("filters", {}).get("branches", {}).get("only", "")
    assert ".circleci/scripts/post-plan.sh" in _job_text(config, "terraform-plan")


def test_the_tests_job_requires_the_real_terraform():
    config = _load("continue_config.yml")
    tests = config["jobs"]["tests"]
    assert tests["environment"]["REQUIRE_TERRAFORM"] == "1"
    steps = [step if isinstance(step, str) else next(iter(step)) for step in tests["steps"]]
    assert "install-terraform" in steps
