"""The README's 60-second tour, run verbatim against a fresh `make run`, so the README cannot drift.

The tour is the fenced block after ``<!-- tour -->`` in README.md. It runs in bash, as pasted into
a second terminal at the repository's root: here a scratch directory holding the stack's state in
``.local`` (as `make run` keeps it) and ``.venv`` (this interpreter's environment). The one change
made to the text: the stack listens on a free port rather than 3000, so ``http://127.0.0.1:3000``
becomes its URL (rdsctl finds it from ``.local/stack.json`` with no change at all).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO_ROOT, StackProcess, _child_environment

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

README_URL = "http://127.0.0.1:3000"


def tour_block() -> str:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- tour -->\n```bash\n(.*?)\n```", readme, re.DOTALL)
    assert match, "README.md has no ```bash block after <!-- tour -->"
    return match.group(1)


def _shell(cwd: Path, script: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in _child_environment().items() if k not in {"VIRTUAL_ENV", "RDSCTL_URL"}}
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def terminal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, StackProcess]]:
    """A directory that looks like the repository's root to the tour, and the stack started there."""
    root = tmp_path_factory.mktemp("readme-tour")
    (root / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    # The terraform-backed local CI, where there is one, is the subject of its own tests.
    stack = StackProcess(root / ".local", root / "stack.log", env={"LOCAL_CI": "manual"}).start()
    try:
        yield root, stack
    finally:
        stack.kill()


def test_the_readme_tour_works_as_written(terminal: tuple[Path, StackProcess]) -> None:
    root, stack = terminal
    script = tour_block()
    assert README_URL in script
    assert ".venv/bin/rdsctl" not in script  # one spelling: rdsctl, once activated
    ran = _shell(root, script.replace(README_URL, stack.url))
    out = ran.stdout + ran.stderr
    assert ran.returncode == 0, f"{out}\n--- stack ---\n{stack.output()[-4000:]}"

    assert '"message": "Request accepted"' in out or '"message":"Request accepted"' in out
    assert "Request accepted for `billing` (mysql, dev)" in out
    assert "rds/dev/scratch into main" in out
    assert "dev/scratch: recorded" in out
    (row,) = [line for line in out.splitlines() if line.startswith("scratch ")]
    assert "applied" in row
    assert re.search(r"dev/scratch expires \S+: reminded", out), out
    assert "scratch now expires on" in out
    assert re.search(r"dev/scratch expires \S+: decommission_requested", out), out
    assert "deferred" not in out
    assert "rds-decommission/dev/scratch/" in out
    # The two other ways in reached their pull requests too.
    for name in ("orders", "billing"):
        record = next(r for r in stack.api("GET", "/requests")[1]["requests"] if r["database_name"] == name)
        assert stack.wait_for_status(record["request_id"])["status"] == "pr_opened"


def test_rdsctl_is_plain_about_what_did_not_happen(terminal: tuple[Path, StackProcess]) -> None:
    root, stack = terminal
    rdsctl = f"{root}/.venv/bin/rdsctl"

    unknown = _shell(root, f"{rdsctl} applied dev terraform/envs/dev/rds_nothere.tf")
    assert unknown.returncode == 1
    assert "dev/nothere: unknown" in unknown.stdout
    assert "no request knows any of these files in dev" in unknown.stderr

    name = "twice"
    stack.wait_for_status(stack.submit(name), status="pr_opened")
    assert _shell(root, f"{rdsctl} merge rds/dev/{name}").returncode == 0
    assert _shell(root, f"{rdsctl} extend {name} dev --ttl-days 40").returncode == 0
    again = _shell(root, f"{rdsctl} extend {name} dev --ttl-days 40")
    assert again.returncode == 1
    assert "in 40 days; ask for more than 40 days (at most 90)" in again.stderr

    first = _shell(root, f"{rdsctl} resize {name} dev --allocated-storage 50")
    assert first.returncode == 0, first.stderr
    blocking = re.search(r'"request_id": "([^"]+)"', first.stdout)
    assert blocking
    second = _shell(root, f"{rdsctl} resize {name} dev --instance-class db.t3.small")
    assert second.returncode == 1
    assert "HTTP 409" in second.stderr
    assert f"in the way: request {blocking.group(1)}" in second.stderr
