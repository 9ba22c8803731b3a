"""The CircleCI scripts run for real: against a stub GitHub, real git repositories, and stand-ins
for terraform and python that record how they were called.

- post-plan.sh sets the plan as a commit status, finds the pull request by branch when the
  pipeline started before the PR existed, and keeps one plan comment per environment up to date;
- terraform-apply.sh plans and applies in one go, and never applies a commit that a newer commit
  of main supersedes for that environment;
- record-applied.sh hands every rds_*.tf of the applied commit to the lifecycle CLI.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.deploy.conftest import REPO_ROOT

SCRIPTS = REPO_ROOT / ".circleci" / "scripts"
BASE_PATH = "/usr/bin:/bin"


def tool(directory: Path, name: str, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


# --- post-plan.sh ------------------------------------------------------------------------------


@dataclass
class StubGitHub:
    """Answers the PR look-up with no PR for the first ``pr_after`` calls, then with ``pr_number``."""

    pr_after: int = 0
    pr_number: int = 42
    lookups: list[dict[str, list[str]]] = field(default_factory=list)
    comments: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    statuses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    edits: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # The PR's comments as GitHub lists them (GET .../issues/<n>/comments).
    existing: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def github() -> Iterator[StubGitHub]:
    stub = StubGitHub()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if self.headers["Authorization"] != "Bearer token":
                self._answer(401, {"message": "Bad credentials"})
            elif url.path.endswith("/comments"):
                self._answer(200, stub.existing)
            elif url.path == "/repos/acme/infra/pulls":
                stub.lookups.append(parse_qs(url.query))
                found = len(stub.lookups) > stub.pr_after
                self._answer(200, [{"number": stub.pr_number}] if found else [])
            else:
                self._answer(404, {"message": "Not Found"})

        def _body(self) -> dict[str, Any]:
            body: dict[str, Any] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            return body

        def do_POST(self) -> None:
            if "/statuses/" in self.path:
                stub.statuses.append((self.path, self._body()))
            else:
                stub.comments.append((self.path, self._body()))
            self._answer(201, {"id": 1})

        def do_PATCH(self) -> None:
            stub.edits.append((self.path, self._body()))
            self._answer(200, {"id": 1})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stub
    server.shutdown()
    server.server_close()


def post_plan(github: StubGitHub, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    plan = tmp_path / "plan.txt"
    plan.write_text("Plan: 7 to add, 0 to change, 0 to destroy.\n", encoding="utf-8")
    environment = {
        "PATH": BASE_PATH,
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": "token",
        "CIRCLE_PROJECT_USERNAME": "acme",
        "CIRCLE_PROJECT_REPONAME": "infra",
        "CIRCLE_BRANCH": "rds/dev/orders",
        "CIRCLE_SHA1": "0123456789abcdef",
        "PR_LOOKUP_DELAY_SECONDS": "0",
        "PR_LOOKUP_ATTEMPTS": "4",
        **extra,
    }
    return subprocess.run(
        ["bash", str(SCRIPTS / "post-plan.sh"), "dev", str(plan)],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        timeout=60,
    )


def test_plan_reaches_a_pull_request_opened_after_the_pipeline_started(github: StubGitHub, tmp_path: Path):
    github.pr_after = 2  # the worker opens the PR while the plan job is already looking

    result = post_plan(github, tmp_path)

    assert result.returncode == 0, result.stderr
    assert len(github.lookups) == 3
    assert github.lookups[-1] == {"head": ["acme:rds/dev/orders"], "state": ["open"]}
    ((path, comment),) = github.comments
    assert path == "/repos/acme/infra/issues/42/comments"
    assert "Plan: 7 to add" in comment["body"]
    assert "`dev`" in comment["body"]


def test_the_plan_is_a_commit_status_even_before_any_pull_request_exists(github: StubGitHub, tmp_path: Path):
    github.pr_after = 100  # the PR opens after the look-ups gave up

    result = post_plan(github, tmp_path, CIRCLE_BUILD_URL="https://circleci.com/job/9")

    assert result.returncode == 0, result.stderr
    ((path, status),) = github.statuses
    assert path == "/repos/acme/infra/statuses/0123456789abcdef"
    assert status == {
        "state": "success",
        "context": "terraform plan (dev)",
        "description": "Plan: 7 to add, 0 to change, 0 to destroy.",
        "target_url": "https://circleci.com/job/9",
    }


def test_each_push_updates_the_one_plan_comment_in_place(github: StubGitHub, tmp_path: Path):
    first = post_plan(github, tmp_path, CIRCLE_PULL_REQUEST="https://github.com/acme/infra/pull/7")
    ((_, posted),) = github.comments
    github.existing = [
        {"id": 11, "body": "Looks good to me"},
        {"id": 12, "body": posted["body"].replace("dev", "prod")},  # prod's plan comment
        {"id": 13, "body": posted["body"]},
    ]

    second = post_plan(
        github,
        tmp_path,
        CIRCLE_PULL_REQUEST="https://github.com/acme/infra/pull/7",
        PLAN_BASE_SHA="feedface" * 5,
    )

    assert (first.returncode, second.returncode) == (0, 0), second.stderr
    assert len(github.comments) == 1, "the second push must not add a comment"
    ((path, edited),) = github.edits
    assert path == "/repos/acme/infra/issues/comments/13"
    assert "merged into main at feedface" in edited["body"]


def test_a_known_pull_request_needs_no_lookup(github: StubGitHub, tmp_path: Path):
    result = post_plan(github, tmp_path, CIRCLE_PULL_REQUEST="https://github.com/acme/infra/pull/7")

    assert result.returncode == 0, result.stderr
    assert github.lookups == []
    assert [path for path, _ in github.comments] == ["/repos/acme/infra/issues/7/comments"]


def test_no_pull_request_after_the_retries_is_not_a_failure(github: StubGitHub, tmp_path: Path):
    github.pr_after = 100

    result = post_plan(github, tmp_path)

    assert result.returncode == 0, result.stderr
    assert len(github.lookups) == 4
    assert github.comments == []
    assert "No open pull request" in result.stdout


def test_main_has_no_pull_request_to_comment_on(github: StubGitHub, tmp_path: Path):
    result = post_plan(github, tmp_path, CIRCLE_BRANCH="main")

    assert result.returncode == 0, result.stderr
    assert (github.lookups, github.comments) == ([], [])


# --- terraform-apply.sh and record-applied.sh ---------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    environment = {
        "PATH": BASE_PATH,
        "HOME": str(cwd),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    completed = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip()


@dataclass
class Main:
    """An origin repository whose main holds a few merges, and CI's clone of it."""

    origin: Path
    clone: Path
    commits: dict[str, str]

    def checkout(self, name: str) -> None:
        git(self.clone, "checkout", "--quiet", "--detach", self.commits[name])


def commit_file(repository: Path, path: str, content: str, message: str) -> str:
    target = repository / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    git(repository, "add", path)
    git(repository, "commit", "--quiet", "-m", message)
    return git(repository, "rev-parse", "HEAD")


@pytest.fixture
def main(tmp_path: Path) -> Main:
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "--quiet")
    commits = {
        "base": commit_file(origin, "terraform/envs/dev/versions.tf", "terraform {}\n", "base"),
        "orders": commit_file(origin, "terraform/envs/dev/rds_orders.tf", "# orders\n", "orders"),
        "billing": commit_file(origin, "terraform/envs/dev/rds_billing.tf", "# billing\n", "billing"),
        "prod_ledger": commit_file(origin, "terraform/envs/prod/rds_ledger.tf", "# ledger\n", "ledger"),
        "readme": commit_file(origin, "README.md", "docs\n", "readme"),
    }
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(origin), str(clone))
    return Main(origin, clone, commits)


def apply(main: Main, environment: str, **extra: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_dir = main.clone.parent / "bin"
    calls = main.clone.parent / "terraform-calls"
    calls.unlink(missing_ok=True)
    tool(bin_dir, "terraform", f'echo "$*" >> "{calls}"\n[ "$1" != show ] || echo "planned"')
    result = subprocess.run(
        ["bash", str(SCRIPTS / "terraform-apply.sh"), environment],
        cwd=main.clone,
        env={"PATH": f"{bin_dir}:{BASE_PATH}", "HOME": str(main.clone.parent), **extra},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    recorded = calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []
    return result, recorded


def test_the_tip_of_main_is_planned_and_applied_in_one_job(main: Main):
    main.checkout("readme")

    result, calls = apply(main, "dev")

    assert result.returncode == 0, result.stderr
    verbs = [call.split()[0] for call in calls]
    assert verbs == ["plan", "show", "apply"]
    assert calls[0].endswith("-out=tfplan")
    assert calls[2].endswith(" tfplan"), "apply must apply the plan this job just made"
    assert (main.clone / ".applied" / "dev").read_text().strip() == main.commits["readme"]


def saved_plan(main: Main, commit: str) -> Path:
    """What the prod plan job hands the apply job through the workspace: the plan and its commit."""
    plans = main.clone / ".plans" / "prod"
    plans.mkdir(parents=True, exist_ok=True)
    (plans / "tfplan").write_bytes(b"approved plan")
    (plans / "tfplan.commit").write_text(f"{commit}\n", encoding="utf-8")
    return plans / "tfplan"


def test_prod_applies_the_approved_saved_plan_and_plans_nothing_new(main: Main):
    main.checkout("readme")
    plan = saved_plan(main, main.commits["readme"])

    result, calls = apply(main, "prod", SAVED_PLAN=".plans/prod/tfplan")

    assert result.returncode == 0, result.stderr
    assert calls == [f"show -no-color {plan}", f"apply -input=false -lock-timeout=10m -no-color {plan}"]
    assert (main.clone / ".applied" / "prod").read_text().strip() == main.commits["readme"]


def test_a_plan_approved_for_another_commit_is_refused(main: Main):
    main.checkout("readme")
    saved_plan(main, main.commits["prod_ledger"])

    result, calls = apply(main, "prod", SAVED_PLAN=".plans/prod/tfplan")

    assert result.returncode != 0
    assert "refusing" in result.stderr
    assert calls == []


def test_an_older_commit_is_not_applied_over_a_newer_one(main: Main):
    # The orders merge's pipeline reaches the dev serial group after billing merged: billing's
    # tree holds orders too, and applying orders' tree would delete billing.
    main.checkout("orders")

    result, calls = apply(main, "dev")

    assert result.returncode == 0, result.stderr
    assert calls == []
    marker = (main.clone / ".applied" / "dev").read_text()
    assert marker.strip() == f"superseded by {main.commits['billing']}"


def test_newer_commits_of_other_environments_do_not_supersede(main: Main):
    # After billing, main only changed prod and the README: dev's tree at billing is main's.
    main.checkout("billing")

    result, calls = apply(main, "dev")

    assert result.returncode == 0, result.stderr
    assert [call.split()[0] for call in calls] == ["plan", "show", "apply"]


def test_a_commit_that_is_not_on_main_is_refused(main: Main):
    git(main.clone, "checkout", "--quiet", "-b", "rds/dev/rogue", main.commits["readme"])
    commit_file(main.clone, "terraform/envs/dev/rds_rogue.tf", "# rogue\n", "rogue")

    result, calls = apply(main, "dev")

    assert result.returncode != 0
    assert calls == []


def record_applied(main: Main, environment: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    arguments = main.clone.parent / "python-args"
    python = tool(main.clone.parent / "bin", "python", f'printf "%s\\n" "$@" > "{arguments}"')
    result = subprocess.run(
        ["bash", str(SCRIPTS / "record-applied.sh"), environment],
        cwd=main.clone,
        env={
            "PATH": BASE_PATH,
            "HOME": str(main.clone.parent),
            "PYTHON": str(python),
            "REQUESTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:rds-provisioner-requests",
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    recorded = arguments.read_text(encoding="utf-8").splitlines() if arguments.exists() else []
    return result, recorded


def test_record_applied_gets_every_database_file_of_the_applied_commit(main: Main):
    main.checkout("readme")  # a commit that changed no database file at all
    assert apply(main, "dev")[0].returncode == 0

    result, arguments = record_applied(main, "dev")

    assert result.returncode == 0, result.stderr
    assert arguments[:4] == ["-m", "backend.cli.record_applied", "--environment", "dev"]
    assert arguments[4] == "--files"
    assert sorted(arguments[5:]) == ["terraform/envs/dev/rds_billing.tf", "terraform/envs/dev/rds_orders.tf"]


def test_record_applied_records_nothing_for_a_superseded_apply(main: Main):
    main.checkout("orders")
    assert apply(main, "dev")[0].returncode == 0

    result, arguments = record_applied(main, "dev")

    assert result.returncode == 0, result.stderr
    assert arguments == []


def test_record_applied_needs_the_apply_jobs_marker(main: Main):
    main.checkout("readme")

    result, arguments = record_applied(main, "dev")

    assert result.returncode != 0
    assert arguments == []
