"""The CircleCI pipeline: schema-valid, pinned, path-filtered, and calling real make targets."""

from __future__ import annotations

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
