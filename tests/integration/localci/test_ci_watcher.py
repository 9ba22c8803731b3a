"""The local CI's watcher on a real local GitOps repository, with stand-ins for terraform and the
CI scripts (recording how they were called): a new PR head is planned on its merge result, a
merge applies only the environments it changed, a shared module change applies them all.

The same loop with the real terraform against the local AWS is tests/e2e/test_terraform_loop.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from backend.adapters.gitops.base import ChangeSet
from backend.adapters.gitops.local_git import LocalGitPublisher
from backend.domain.drift import Drift
from local.ci import OVERRIDE_FILE, CiHooks, LocalCI, Network, PlanResult
from tests.integration.deploy.test_ci_scripts import tool

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Heard:
    plans: list[tuple[int, PlanResult]] = field(default_factory=list)
    applied: list[tuple[str, list[str], dict[str, str]]] = field(default_factory=list)
    read: list[str | None] = field(default_factory=list)
    drifted: list[tuple[str, Sequence[Drift]]] = field(default_factory=list)

    def hooks(self) -> CiHooks:
        def applied(
            environment: str,
            files: Sequence[str],
            read: Callable[[str], str | None],
            outputs: Mapping[str, str],
        ) -> list[str]:
            self.applied.append((environment, list(files), dict(outputs)))
            self.read.append(read(files[0]) if files else None)
            return [f"{environment}: recorded"]

        return CiHooks(
            plan_ready=lambda pull, plan: self.plans.append((pull.number, plan)),
            applied=applied,
            drifted=lambda environment, drifts: self.drifted.append((environment, drifts)),
        )


@pytest.fixture
def stand_ins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """terraform and the three CI scripts, each recording its call (and where) in ``calls``."""
    calls = tmp_path / "calls"
    bin_dir = tmp_path / "bin"
    tool(
        bin_dir,
        "terraform",
        f'echo "terraform $*" >> "{calls}"\n'
        '[ "$1" != output ] || echo \'{"rds_orders_endpoint": '
        '{"value": "orders-dev.local:5432", "sensitive": false}}\'',
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")  # noqa: TID251
    scripts = tmp_path / "scripts"
    tool(
        scripts,
        "terraform-plan.sh",
        f'echo "plan $1 $(ls terraform/envs/$1 | tr "\\n" " ")" >> "{calls}"\n'
        'printf "Plan: 9 to add, 0 to change, 0 to destroy.\\n" > "terraform/envs/$1/plan.txt"',
    )
    tool(
        scripts,
        "terraform-apply.sh",
        f'echo "apply $1" >> "{calls}"\nmkdir -p .applied\ngit rev-parse HEAD > ".applied/$1"',
    )
    tool(scripts, "drift.sh", f'echo "drift $1" >> "{calls}"')
    return scripts


@pytest.fixture
def repo(tmp_path: Path) -> LocalGitPublisher:
    publisher = LocalGitPublisher(tmp_path / "gitops", base_branch="main", pr_base_url="http://local/prs")
    publisher.ensure_repository(seed_dir=REPO_ROOT / "terraform")
    return publisher


@pytest.fixture
def ci(tmp_path: Path, repo: LocalGitPublisher, stand_ins: Path) -> Iterator[tuple[LocalCI, Heard]]:
    heard = Heard()
    local_ci = LocalCI(
        gitops=repo.repo_path,
        work_dir=tmp_path / "ci",
        aws_endpoint_url="http://127.0.0.1:5000",
        network=Network("vpc-0123", ("subnet-a", "subnet-b")),
        mirror=tmp_path / "mirror",
        pulls=repo.list_pull_requests,
        hooks=heard.hooks(),
        log=lambda _line: None,
        scripts_dir=stand_ins,
    )
    local_ci.start(watch=False)
    yield local_ci, heard
    local_ci.stop()


def _calls(tmp_path: Path) -> list[str]:
    path = tmp_path / "calls"
    return path.read_text().splitlines() if path.exists() else []


def _open(repo: LocalGitPublisher, name: str, environment: str) -> Any:
    path = f"terraform/envs/{environment}/rds_{name}.tf"
    repo.open_pull_request(
        ChangeSet(
            request_id=f"req-{name}",
            branch=f"rds/{environment}/{name}",
            file_path=path,
            content=f"# {name}\n",
            commit_message=f"Add {name}",
            title=f"Provision {name} ({environment})",
            body="body",
        )
    )
    return next(pull for pull in repo.list_pull_requests() if pull.file_path == path)


def _tick(ci: LocalCI) -> None:
    wait(ci.tick(), timeout=60)


def test_a_new_pull_request_head_is_planned_once_on_its_merge_result(
    ci: tuple[LocalCI, Heard], repo: LocalGitPublisher, tmp_path: Path
) -> None:
    local_ci, heard = ci
    _tick(local_ci)  # main as seeded: no database, nothing to apply
    assert _calls(tmp_path) == []

    pull = _open(repo, "orders", "dev")
    _tick(local_ci)
    _tick(local_ci)

    plans = [call for call in _calls(tmp_path) if call.startswith("plan")]
    assert len(plans) == 1
    assert plans[0].startswith("plan dev ")
    assert "rds_orders.tf" in plans[0]  # the branch merged into main
    assert OVERRIDE_FILE in plans[0]
    assert "terraform init -input=false -no-color" in _calls(tmp_path)
    ((number, plan),) = heard.plans
    assert number == pull.number
    assert (plan.status, plan.add, plan.summary) == (
        "success",
        9,
        "Plan: 9 to add, 0 to change, 0 to destroy.",
    )
    assert local_ci.plan_of(pull.number) == plan


def test_a_merge_applies_the_environment_it_changed_then_records_it(
    ci: tuple[LocalCI, Heard], repo: LocalGitPublisher, tmp_path: Path
) -> None:
    local_ci, heard = ci
    _tick(local_ci)
    pull = _open(repo, "orders", "dev")
    _tick(local_ci)
    repo.merge_pull_request(pull.number)

    _tick(local_ci)

    assert [call for call in _calls(tmp_path) if call.startswith("apply")] == ["apply dev"]
    assert heard.applied == [
        ("dev", ["terraform/envs/dev/rds_orders.tf"], {"rds_orders_endpoint": "orders-dev.local:5432"})
    ]
    assert heard.read == ["# orders\n"]
    assert local_ci.outputs("dev") == {"rds_orders_endpoint": "orders-dev.local:5432"}
    assert [job["kind"] for job in local_ci.jobs()] == ["plan", "apply"]
    assert local_ci.jobs()[-1]["status"] == "success"


def test_a_fresh_start_applies_every_environment_main_holds_databases_for(
    tmp_path: Path, repo: LocalGitPublisher, stand_ins: Path
) -> None:
    for name, environment in (("orders", "dev"), ("ledger", "prod")):
        repo.merge_pull_request(_open(repo, name, environment).number)
    heard = Heard()
    local_ci = LocalCI(
        gitops=repo.repo_path,
        work_dir=tmp_path / "ci",
        aws_endpoint_url="http://127.0.0.1:5000",
        network=Network("vpc-0123", ("subnet-a", "subnet-b")),
        mirror=tmp_path / "mirror",
        pulls=lambda: [],
        hooks=heard.hooks(),
        log=lambda _line: None,
        scripts_dir=stand_ins,
    )
    local_ci.start(watch=False)
    try:
        _tick(local_ci)
    finally:
        local_ci.stop()
    assert sorted(call for call in _calls(tmp_path) if call.startswith("apply")) == [
        "apply dev",
        "apply prod",
    ]
    assert json.dumps(sorted(env for env, _files, _outputs in heard.applied)) == '["dev", "prod"]'
