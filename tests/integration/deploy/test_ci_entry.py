""".ci/run: the terraform tests are required in CI, so a machine without terraform or its provider
mirror fails before any test runs instead of skipping them.

A stand-in ``make`` on PATH records how it was called, so these tests never start the real suite.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.deploy.conftest import REPO_ROOT

CI_RUN = REPO_ROOT / ".ci" / "run"


def fake_tool(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "make-called"
    fake_tool(
        bin_dir,
        "make",
        f'echo "$* REQUIRE_TERRAFORM=$REQUIRE_TERRAFORM REQUIRE_BROWSER_TESTS=${{REQUIRE_BROWSER_TESTS:-}}"'
        f' >> "{record}"',
    )
    return bin_dir


def run_ci(bin_dir: Path, mirror: Path, *, with_terraform: bool) -> subprocess.CompletedProcess[str]:
    if with_terraform:
        fake_tool(bin_dir, "terraform", "exit 0")
    environment = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(bin_dir),
        "TF_PROVIDER_MIRROR": str(mirror),
    }
    return subprocess.run(
        ["bash", str(CI_RUN)], capture_output=True, text=True, check=False, env=environment, timeout=60
    )


def mirror_with_aws(tmp_path: Path) -> Path:
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0" / "linux_amd64").mkdir(parents=True)
    return mirror


def test_is_executable():
    assert os.access(CI_RUN, os.X_OK)


@pytest.mark.skipif(Path("/usr/bin/terraform").exists(), reason="terraform is in /usr/bin, which PATH keeps")
def test_fails_without_terraform(tools: Path, tmp_path: Path):
    result = run_ci(tools, mirror_with_aws(tmp_path), with_terraform=False)
    assert result.returncode != 0
    assert "terraform is not on PATH" in result.stderr
    assert not (tmp_path / "make-called").exists()


def test_fails_without_the_provider_mirror(tools: Path, tmp_path: Path):
    result = run_ci(tools, tmp_path / "no-mirror", with_terraform=True)
    assert result.returncode != 0
    assert "no hashicorp/aws provider" in result.stderr
    assert not (tmp_path / "make-called").exists()


def test_runs_make_test_with_terraform_then_the_applies_then_the_browser_tests_required(
    tools: Path, tmp_path: Path
):
    result = run_ci(tools, mirror_with_aws(tmp_path), with_terraform=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "make-called").read_text(encoding="utf-8").splitlines() == [
        "test REQUIRE_TERRAFORM=1 REQUIRE_BROWSER_TESTS=",
        "test-apply REQUIRE_TERRAFORM=1 REQUIRE_BROWSER_TESTS=",
        "test-browser REQUIRE_TERRAFORM=1 REQUIRE_BROWSER_TESTS=1",
    ]
