"""LocalGitPublisher on a real git repository in tmp_path: layout, idempotency, concurrency."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import threading
from pathlib import Path

import pytest

from backend.adapters.gitops.local_git import LocalGitPublisher
from backend.domain import DatabaseAlreadyExists, FileChange, NotFound, PermanentError
from tests.integration.gitops.conftest import make_change

PR_BASE = "http://127.0.0.1:3000/_local/prs"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={repo / '.git'}", *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    seed = tmp_path / "terraform"
    (seed / "modules" / "rds").mkdir(parents=True)
    (seed / "modules" / "rds" / "main.tf").write_text('resource "aws_db_instance" "this" {}\n')
    (seed / "envs" / "dev").mkdir(parents=True)
    (seed / "envs" / "dev" / "versions.tf").write_text("terraform {}\n")
    (seed / "envs" / "dev" / ".terraform").mkdir()
    (seed / "envs" / "dev" / ".terraform" / "cache.bin").write_text("provider cache\n")
    (seed / "envs" / "dev" / "terraform.tfstate").write_text("{}\n")
    return seed


@pytest.fixture
def publisher(tmp_path: Path, seed: Path) -> LocalGitPublisher:
    local = LocalGitPublisher(tmp_path / "gitops", base_branch="main", pr_base_url=PR_BASE)
    assert local.ensure_repository(seed) is True
    return local


def test_ensure_repository_seeds_main_once(publisher: LocalGitPublisher, seed: Path):
    repo = publisher.repo_path

    assert publisher.ensure_repository(seed) is False

    assert git(repo, "ls-tree", "-r", "--name-only", "main").splitlines() == [
        "terraform/envs/dev/versions.tf",
        "terraform/modules/rds/main.tf",
    ]
    assert git(repo, "rev-list", "--count", "main") == "1"
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn", "main") == (
        "rds-provisioner <rds-provisioner@localhost>|rds-provisioner"
    )
    assert (repo / "terraform" / "modules" / "rds" / "main.tf").read_text() == (
        'resource "aws_db_instance" "this" {}\n'
    )


def test_a_new_request_becomes_a_branch_a_commit_and_a_pr(publisher: LocalGitPublisher):
    repo = publisher.repo_path
    change = make_change(labels=("terraform",))

    ref = publisher.open_pull_request(change)

    assert (ref.number, ref.url, ref.branch, ref.created) == (1, f"{PR_BASE}/1", "rds/dev/orders", True)
    assert git(repo, "show", f"rds/dev/orders:{change.file_path}") + "\n" == change.content
    assert git(repo, "rev-parse", "rds/dev/orders^") == git(repo, "rev-parse", "main")
    assert (
        git(repo, "log", "-1", "--format=%s|%an", "rds/dev/orders")
        == f"{change.commit_message}|rds-provisioner"
    )
    assert git(repo, "diff", "--name-only", "main", "rds/dev/orders") == change.file_path
    assert git(repo, "ls-tree", "-r", "--name-only", "main").count("rds_orders") == 0
    record = json.loads((repo / ".git" / "rds-provisioner" / "pulls" / "000001.json").read_text())
    assert record["number"] == 1
    assert record["state"] == "open"
    assert record["request_id"] == change.request_id
    pull = publisher.get_pull_request(1)
    assert pull is not None
    assert (pull.title, pull.body, pull.labels, pull.file_path) == (
        change.title,
        change.pull_request_body,
        ("terraform",),
        change.file_path,
    )
    assert [p.number for p in publisher.list_pull_requests()] == [1]
    subprocess.run(["git", f"--git-dir={repo / '.git'}", "fsck", "--strict"], check=True, capture_output=True)


def test_redelivery_returns_the_same_pr(publisher: LocalGitPublisher):
    first = publisher.open_pull_request(make_change())
    tip = git(publisher.repo_path, "rev-parse", "rds/dev/orders")

    again = publisher.open_pull_request(make_change())
    resumed = publisher.open_pull_request(make_change(), resume=True)

    assert (again.number, again.url, again.created) == (first.number, first.url, False)
    assert resumed == again
    assert git(publisher.repo_path, "rev-parse", "rds/dev/orders") == tip
    assert len(publisher.list_pull_requests()) == 1


def test_redelivery_after_a_crash_before_the_pr_record_reuses_the_branch(publisher: LocalGitPublisher):
    publisher.open_pull_request(make_change())
    tip = git(publisher.repo_path, "rev-parse", "rds/dev/orders")
    for record in (publisher.git_dir / "rds-provisioner" / "pulls").glob("*.json"):
        record.unlink()  # as if the worker died after writing the branch

    ref = publisher.open_pull_request(make_change())

    assert ref.created is True
    assert git(publisher.repo_path, "rev-parse", "rds/dev/orders") == tip  # no second commit
    assert len(publisher.list_pull_requests()) == 1


def test_a_newer_rendering_replaces_an_earlier_one_on_a_branch_from_main(publisher: LocalGitPublisher):
    publisher.open_pull_request(make_change(version=1))
    (publisher.git_dir / "rds-provisioner" / "pulls" / "000001.json").unlink()

    publisher.open_pull_request(make_change(version=2))

    repo = publisher.repo_path
    assert git(repo, "rev-list", "--count", "main..rds/dev/orders") == "1"
    assert "revision = 2" in git(repo, "show", f"rds/dev/orders:{make_change().file_path}")


def test_a_name_asked_for_again_gets_a_new_pr_on_a_branch_from_the_current_main(publisher: LocalGitPublisher):
    repo = publisher.repo_path
    first = publisher.open_pull_request(make_change(request_id="req-first", version=1))
    closed = publisher.close_pull_request(first.number)
    publisher.merge_pull_request(publisher.open_pull_request(make_change("billing")).number)
    again = make_change(request_id="req-second", version=2)

    ref = publisher.open_pull_request(again)
    resumed = publisher.open_pull_request(again, resume=True)

    assert closed.state == "closed"
    assert publisher.close_pull_request(first.number) == closed  # closing twice changes nothing
    assert (ref.number, ref.created) == (3, True)
    assert resumed == dataclasses.replace(ref, created=False)
    assert [(p.number, p.state, p.request_id) for p in publisher.list_pull_requests()] == [
        (1, "closed", "req-first"),
        (2, "merged", "req-dev-billing"),
        (3, "open", "req-second"),
    ]
    assert git(repo, "rev-parse", "rds/dev/orders^") == git(repo, "rev-parse", "main")
    assert "revision = 2" in git(repo, "show", f"rds/dev/orders:{again.file_path}")
    with pytest.raises(PermanentError, match="closed"):
        publisher.merge_pull_request(first.number)


def test_an_open_pr_an_ended_request_left_behind_is_taken_over(publisher: LocalGitPublisher):
    orphan = publisher.open_pull_request(make_change(request_id="req-gave-up"))
    again = make_change(request_id="req-second", version=2)

    ref = publisher.open_pull_request(again)

    assert (ref.number, ref.created) == (orphan.number, False)
    pull = publisher.get_pull_request(orphan.number)
    assert pull is not None
    assert (pull.request_id, pull.body) == ("req-second", again.pull_request_body)
    assert "revision = 2" in git(publisher.repo_path, "show", f"rds/dev/orders:{again.file_path}")


def test_concurrent_deliveries_of_one_request_make_one_branch_and_one_pr(publisher: LocalGitPublisher):
    workers = 8
    barrier = threading.Barrier(workers)
    results = []
    errors: list[BaseException] = []

    def deliver() -> None:
        # A publisher per thread, as separate worker processes would have.
        own = LocalGitPublisher(publisher.repo_path, base_branch="main", pr_base_url=PR_BASE)
        barrier.wait()
        try:
            results.append(own.open_pull_request(make_change()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert {ref.number for ref in results} == {1}
    assert sorted(ref.created for ref in results) == [False] * (workers - 1) + [True]
    assert git(publisher.repo_path, "rev-list", "--count", "main..rds/dev/orders") == "1"
    assert len(publisher.list_pull_requests()) == 1


def test_concurrent_requests_for_different_databases_do_not_conflict(publisher: LocalGitPublisher):
    names = [f"db{i}" for i in range(8)]
    barrier = threading.Barrier(len(names))
    results = {}

    def deliver(name: str) -> None:
        barrier.wait()
        results[name] = publisher.open_pull_request(make_change(name))

    threads = [threading.Thread(target=deliver, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(ref.number for ref in results.values()) == list(range(1, len(names) + 1))
    for name in names:
        changed = git(publisher.repo_path, "diff", "--name-only", "main", f"rds/dev/{name}")
        assert changed == f"terraform/envs/dev/rds_{name}.tf"
    assert git(publisher.repo_path, "rev-list", "--count", "main") == "1"  # main never touched


def test_a_file_already_on_main_is_rejected(tmp_path: Path, seed: Path):
    (seed / "envs" / "dev" / "rds_orders.tf").write_text('module "rds_orders" {}\n')
    local = LocalGitPublisher(tmp_path / "gitops", base_branch="main", pr_base_url=PR_BASE)
    local.ensure_repository(seed)

    with pytest.raises(DatabaseAlreadyExists, match="already exists on main"):
        local.open_pull_request(make_change())

    assert git(local.repo_path, "branch", "--format=%(refname:short)") == "main"
    assert local.list_pull_requests() == []


def test_diff_and_merge(publisher: LocalGitPublisher):
    change = make_change()
    ref = publisher.open_pull_request(change)
    main_before = git(publisher.repo_path, "rev-parse", "main")

    diff = publisher.diff(ref.number)
    merged = publisher.merge_pull_request(ref.number)

    assert f"+++ b/{change.file_path}" in diff
    assert '+module "rds_orders" {' in diff
    assert merged.state == "merged"
    assert merged.merge_commit_sha == git(publisher.repo_path, "rev-parse", "main")
    parents = git(publisher.repo_path, "rev-list", "--parents", "-n", "1", "main").split()[1:]
    assert parents == [main_before, git(publisher.repo_path, "rev-parse", "rds/dev/orders")]
    assert git(publisher.repo_path, "show", f"main:{change.file_path}") + "\n" == change.content
    assert publisher.diff(ref.number) == diff  # a merged PR still shows what it changed
    assert publisher.merge_pull_request(ref.number) == merged  # merging twice changes nothing
    assert (publisher.repo_path / change.file_path).read_text() == change.content  # checkout follows


def test_a_request_after_a_merge_branches_from_the_new_main(publisher: LocalGitPublisher):
    publisher.merge_pull_request(publisher.open_pull_request(make_change("orders")).number)

    ref = publisher.open_pull_request(make_change("invoices"))

    assert ref.number == 2
    assert git(publisher.repo_path, "rev-parse", "rds/dev/invoices^") == git(
        publisher.repo_path, "rev-parse", "main"
    )
    assert publisher.diff(2).count("+++ b/") == 1


def test_unknown_pr_numbers(publisher: LocalGitPublisher):
    assert publisher.get_pull_request(7) is None
    with pytest.raises(NotFound):
        publisher.diff(7)
    with pytest.raises(NotFound):
        publisher.merge_pull_request(7)


def test_an_uninitialised_repository_is_a_clear_error_even_inside_another_repo(tmp_path: Path):
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path),
            "-c",
            "user.name=x",
            "-c",
            "user.email=x@x",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ],
        check=True,
    )
    local = LocalGitPublisher(tmp_path / ".local" / "gitops", base_branch="main", pr_base_url=PR_BASE)

    with pytest.raises(PermanentError, match="ensure_repository"):
        local.open_pull_request(make_change())

    # The enclosing repository was not mistaken for the GitOps one.
    assert (
        subprocess.run(
            ["git", "-C", str(tmp_path), "branch", "--list", "rds/*"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        == ""
    )


def test_a_resize_and_a_decommission_branch_from_main_and_change_the_file(publisher: LocalGitPublisher):
    repo = publisher.repo_path
    publisher.merge_pull_request(publisher.open_pull_request(make_change(version=1)).number)
    resize = make_change(
        request_id="req-resize", version=2, change=FileChange.UPDATE, branch="rds-resize/dev/orders/req-resi"
    )
    decommission = make_change(
        request_id="req-decommission", change=FileChange.DELETE, branch="rds-decommission/dev/orders/req-deco"
    )

    resized = publisher.open_pull_request(resize)
    again = publisher.open_pull_request(resize, resume=True)
    deleting = publisher.open_pull_request(decommission)

    assert (resized.created, again.created, again.number) == (True, False, resized.number)
    assert "revision = 2" in git(repo, "show", f"{resize.branch}:{resize.file_path}")
    assert git(repo, "rev-parse", f"{resize.branch}^") == git(repo, "rev-parse", "main")
    assert deleting.created is True
    assert git(repo, "diff", "--name-status", "main", decommission.branch) == f"D\t{decommission.file_path}"
    assert publisher.open_pull_request(decommission) == dataclasses.replace(deleting, created=False)
    assert publisher.file_on_base(resize.file_path) is not None


@pytest.mark.parametrize("change", [FileChange.UPDATE, FileChange.DELETE])
def test_a_change_of_a_database_that_is_not_on_main_is_refused(
    publisher: LocalGitPublisher, change: FileChange
):
    with pytest.raises(PermanentError, match="not on main"):
        publisher.open_pull_request(
            make_change(request_id="req-x", change=change, branch="rds-resize/dev/orders/req-x")
        )
    assert publisher.list_pull_requests() == []
