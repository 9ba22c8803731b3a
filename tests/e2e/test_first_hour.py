"""A newcomer's first hour: `make run` in one terminal, rdsctl and the README's tour in another."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import StackProcess, _child_environment

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _rdsctl_here(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """rdsctl as typed in a second terminal: no --url, from the directory `make run` was started in."""
    return subprocess.run(
        [sys.executable, "-m", "local.cli", *args],
        cwd=cwd,
        env=_child_environment() | (env or {}),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_rdsctl_finds_a_stack_on_any_port_from_stack_json(tmp_path: Path) -> None:
    stack = StackProcess(tmp_path / ".local", tmp_path / "stack.log").start()
    try:
        described = json.loads((tmp_path / ".local" / "stack.json").read_text())
        assert described == {"url": stack.url, "aws_endpoint_url": stack.moto_url, "region": "us-east-1"}
        assert not stack.url.endswith(":3000")
        # The banner's examples say how to get the rdsctl they use.
        assert ". .venv/bin/activate puts rdsctl on PATH" in stack.output()

        listed = _rdsctl_here(tmp_path, "list")
        assert listed.returncode == 0, listed.stderr
        assert "no requests yet" in listed.stdout
        # RDSCTL_URL wins over the file.
        elsewhere = _rdsctl_here(tmp_path, "list", env={"RDSCTL_URL": "http://127.0.0.1:9"})
        assert elsewhere.returncode == 1
        assert "nothing answers at http://127.0.0.1:9" in elsewhere.stderr

        assert stack.interrupt() == 0, stack.output()
    finally:
        stack.kill()
    # A stopped stack leaves no description of itself behind.
    assert not (tmp_path / ".local" / "stack.json").exists()
