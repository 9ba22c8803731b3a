"""Session fixtures for the real terraform: one tree, one init per root module, one test run each.

Everything lives in a directory shared by the xdist workers of the session (see
tests/support/terraform.py); whichever worker needs a step first does it under that step's lock.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pytest

from tests.integration.terraform.cases import build_tree
from tests.support.terraform import (
    Completed,
    RunResult,
    Terraform,
    completed_once,
    exclusive,
    once,
    parse_test_output,
    require_terraform,
    run_results,
    shared_directory,
)

REPO = Path(__file__).resolve().parents[3]
TERRAFORM_DIR = REPO / "terraform"


def root_modules() -> list[str]:
    """Every directory terraform can init on its own: envs/* and modules/* (each has versions.tf)."""
    versions = TERRAFORM_DIR.glob("*/*/versions.tf")
    return sorted(str(path.parent.relative_to(TERRAFORM_DIR)) for path in versions)


def step_name(action: str, root: str) -> str:
    return f"{action}-{root.replace('/', '-')}"


@dataclass(frozen=True)
class TerraformTest:
    completed: Completed  # stdout is reduced to what parse_test_output kept
    runs: dict[str, RunResult]
    unattached: list[str]  # diagnostics of no particular run (configuration errors)


@pytest.fixture(scope="session")
def work_directory(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_terraform()
    return shared_directory(pytestconfig, tmp_path_factory) / "terraform"


@pytest.fixture(scope="session")
def terraform(work_directory: Path) -> Terraform:
    return Terraform.prepare(work_directory)


@pytest.fixture(scope="session")
def tree(work_directory: Path) -> Path:
    """A copy of terraform/ with every case rendered into it (see cases.py)."""
    tree = work_directory / "tree"

    def build() -> bool:
        if tree.exists():  # a previous attempt died half-way
            shutil.rmtree(tree)
        build_tree(TERRAFORM_DIR, tree)
        return True

    once(work_directory, "tree", build)
    return tree


@pytest.fixture(scope="session")
def initialized(terraform: Terraform, tree: Path, work_directory: Path) -> Callable[[str], Completed]:
    """``init -backend=false`` of one root module, once per session, offline."""

    def run_init(root: str) -> Completed:
        # One init at a time: terraform's plugin cache is not safe for concurrent writers.
        with exclusive(work_directory / "plugin-cache.lock"):
            return terraform.run(tree / root, "init", "-backend=false", "-input=false", "-no-color")

    def init(root: str) -> Completed:
        return completed_once(work_directory, step_name("init", root), lambda: run_init(root))

    return init


@pytest.fixture(scope="session")
def tested(
    terraform: Terraform, tree: Path, work_directory: Path, initialized: Callable[[str], Completed]
) -> Callable[[str], TerraformTest]:
    """``terraform test -json`` of one root module, once per session.

    For the environments (``envs/*``) with ``-verbose``, which adds each run's plan; the modules'
    tests judge themselves with assert blocks, and a verbose plan carries megabytes of provider
    schema per run.
    """

    def test(root: str) -> TerraformTest:
        init = initialized(root)
        assert init.ok, init.explain()

        def run() -> dict[str, object]:
            verbose = ["-verbose"] if root.startswith("envs/") else []
            completed = terraform.run(tree / root, "test", "-json", *verbose, "-no-color")
            parsed = parse_test_output(completed.stdout)
            return {"completed": asdict(replace(completed, stdout="")), "parsed": parsed}

        data = once(work_directory, step_name("test", root), run)
        completed = Completed.from_json(data["completed"])
        print(f"terraform test in {root}: {completed.seconds} s, {data['parsed']['summary']}")
        return TerraformTest(completed, run_results(data["parsed"]), list(data["parsed"]["diagnostics"]))

    return test
