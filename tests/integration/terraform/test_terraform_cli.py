"""The real terraform on the committed tree: fmt, offline init, validate, and the modules' own tests.

Skipped with the reason where terraform or the provider mirror is missing; ``REQUIRE_TERRAFORM=1``
(set by .ci/run) turns that into a failure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.terraform.conftest import TERRAFORM_DIR, TerraformTest, root_modules
from tests.support.terraform import Completed, Terraform, mirror, mirrored_aws_versions

LOCKED_AWS = re.compile(r'provider "registry\.terraform\.io/hashicorp/aws" \{\s*version\s*=\s*"([^"]+)"')


def module_test_files(root: str) -> list[Path]:
    return sorted((TERRAFORM_DIR / root).glob("tests/*.tftest.hcl"))


def test_committed_tree_is_formatted(terraform: Terraform) -> None:
    result = terraform.run(TERRAFORM_DIR, "fmt", "-check", "-recursive", "-diff", "-no-color")
    assert result.ok, result.explain()


def test_rendered_files_are_formatted(terraform: Terraform, tree: Path) -> None:
    rendered = sorted(tree.glob("cases-*/*/rds_*.tf"))
    assert rendered, "no rendered files in the tree"
    # The whole copy: rendered files, the generated test files, and what they sit beside.
    result = terraform.run(tree, "fmt", "-check", "-recursive", "-diff", "-no-color")
    assert result.ok, result.explain()


@pytest.mark.parametrize("root", root_modules())
def test_init_offline_installs_the_mirrored_provider(
    initialized: Callable[[str], Completed], tree: Path, root: str
) -> None:
    init = initialized(root)
    assert init.ok, init.explain()
    locked = LOCKED_AWS.search((tree / root / ".terraform.lock.hcl").read_text(encoding="utf-8"))
    assert locked is not None, "init recorded no hashicorp/aws in .terraform.lock.hcl"
    assert locked.group(1) in mirrored_aws_versions(mirror())
    print(f"{root}: init in {init.seconds} s, hashicorp/aws {locked.group(1)} from {mirror()}")


@pytest.mark.parametrize("root", root_modules())
def test_validate(
    terraform: Terraform, initialized: Callable[[str], Completed], tree: Path, root: str
) -> None:
    assert initialized(root).ok
    # -no-tests: an environment's test file (cases.py) plans every case tree, and `terraform test`
    # validates each of them before it plans; validating them here too only doubled the time.
    result = terraform.run(tree / root, "validate", "-json", "-no-tests", "-no-color")
    report = json.loads(result.stdout)
    diagnostics = [f"{d['severity']}: {d['summary']}: {d.get('detail', '')}" for d in report["diagnostics"]]
    assert report["valid"], "\n".join(diagnostics)
    # A warning today (a deprecated argument) is an error in the next major provider version.
    assert report["warning_count"] == 0, "\n".join(diagnostics)


@pytest.mark.parametrize("root", [root for root in root_modules() if module_test_files(root)])
def test_module_tests_pass(tested: Callable[[str], TerraformTest], root: str) -> None:
    result = tested(root)
    declared = [
        name
        for path in module_test_files(root)
        for name in re.findall(r'^run "([^"]+)"', path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    ]
    failed = {name: run.diagnostics for name, run in result.runs.items() if run.status != "pass"}
    assert not failed, json.dumps(failed, indent=2)
    assert not result.unattached, "\n".join(result.unattached)
    assert sorted(result.runs) == sorted(declared), "some run blocks did not run"
    assert result.completed.ok, result.completed.explain()


def test_every_module_has_its_tests() -> None:
    modules = [root for root in root_modules() if root.startswith("modules/")]
    assert modules
    assert [root for root in modules if not module_test_files(root)] == []
