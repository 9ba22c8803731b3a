"""drift.sh for real, with stand-ins for terraform and python that record how they were called:
no drift is quiet, drift is shown as JSON and reported, a failed plan fails the job."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.deploy.test_ci_scripts import BASE_PATH, SCRIPTS, tool


def run_drift(
    tmp_path: Path, plan_exit: int, **environment: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    checkout = tmp_path / "checkout"
    (checkout / "terraform" / "envs" / "dev").mkdir(parents=True)
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    tool(
        bin_dir,
        "terraform",
        f'echo "terraform $*" >> "{calls}"\n'
        f'[ "$1" != plan ] || exit {plan_exit}\n'
        '[ "$1" != show ] || echo \'{"resource_changes": []}\'',
    )
    tool(bin_dir, "python", f'echo "python $*" >> "{calls}"')
    result = subprocess.run(
        ["bash", str(SCRIPTS / "drift.sh"), "dev"],
        cwd=checkout,
        env={"PATH": f"{bin_dir}:{BASE_PATH}", "PYTHON": str(bin_dir / "python"), **environment},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    recorded = calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []
    return result, recorded


def test_no_drift_plans_with_the_detailed_exit_code_and_reports_nothing(tmp_path: Path) -> None:
    result, calls = run_drift(tmp_path, 0)
    assert result.returncode == 0, result.stderr
    assert len(calls) == 1
    assert calls[0].startswith("terraform plan")
    assert "-detailed-exitcode" in calls[0]
    assert "No drift in dev" in result.stdout


def test_drift_is_shown_as_json_and_reported(tmp_path: Path) -> None:
    result, calls = run_drift(tmp_path, 2)
    assert result.returncode == 0, result.stderr
    assert [call.split()[:2] for call in calls] == [
        ["terraform", "plan"],
        ["terraform", "show"],
        ["python", "-m"],
    ]
    assert calls[2] == "python -m backend.cli.drift --environment dev --plan terraform/envs/dev/drift.json"
    assert (tmp_path / "checkout" / "terraform" / "envs" / "dev" / "drift.json").read_text().startswith("{")


def test_the_local_ci_reports_drift_itself(tmp_path: Path) -> None:
    result, calls = run_drift(tmp_path, 2, DRIFT_REPORT="0")
    assert result.returncode == 0, result.stderr
    assert [call.split()[1] for call in calls] == ["plan", "show"]


@pytest.mark.parametrize("plan_exit", [1, 3])
def test_a_failed_plan_fails_the_job(tmp_path: Path, plan_exit: int) -> None:
    result, calls = run_drift(tmp_path, plan_exit)
    assert result.returncode == plan_exit
    assert len(calls) == 1
    assert "failed" in result.stderr
