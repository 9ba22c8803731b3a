"""The local stack as a newcomer uses it: `make run`, curl, `rdsctl slack`, the PR page, Ctrl-C."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import StackProcess, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _assert_branch_holds_the_rendered_file(stack: StackProcess, environment: str, name: str) -> None:
    branch = f"rds/{environment}/{name}"
    path = f"terraform/envs/{environment}/rds_{name}.tf"
    assert branch in stack.branches()
    shown = stack.git("show", f"{branch}:{path}")
    assert shown.returncode == 0, shown.stderr
    assert f'module "rds_{name}"' in shown.stdout
    assert f'"{name}"' in shown.stdout
    # main is untouched: the file exists only on the request's branch until someone merges.
    assert stack.git("cat-file", "-e", f"main:{path}").returncode != 0


def test_an_http_request_ends_as_a_pull_request_and_an_announcement(stack: StackProcess) -> None:
    name = _unique("orders")
    status, accepted = stack.api(
        "POST",
        "/provision-rds",
        {"database_name": name, "database_engine": "postgres", "environment": "dev", "owner": "payments"},
    )
    assert status == 202, accepted
    assert accepted["status_url"] == f"/requests/{accepted['request_id']}"

    record = stack.wait_for_status(accepted["request_id"])

    assert record["status"] == "pr_opened", record
    assert record["source"] == "api"
    assert record["pr_url"].startswith(stack.url + "/_local/prs/")
    _assert_branch_holds_the_rendered_file(stack, "dev", name)
    # API requests have no Slack user; the local stack announces them in a channel.
    announced = eventually(
        lambda: [m for m in stack.posted_messages() if record["pr_url"] in m.get("text", "")],
        what="the PR link in slack-calls.jsonl",
    )
    assert announced[0]["channel"] == "#rds-provisioner"

    # The link the worker posted opens a page with the PR's branch, file and diff.
    page_status, page = stack.http("GET", record["pr_url"].removeprefix(stack.url))
    html = page.decode()
    assert page_status == 200
    assert f"rds/dev/{name}" in html
    assert f"terraform/envs/dev/rds_{name}.tf" in html
    assert "<span class=add>+" in html


def test_a_signed_slash_command_ends_as_a_pull_request_posted_to_the_requester(stack: StackProcess) -> None:
    name = _unique("billing")
    answer = stack.rdsctl("slack", f"/provision-rds {name} mysql dev", "--user", "U0E2EUSER")
    assert answer.returncode == 0, answer.stderr
    assert name in answer.stdout
    request_id = next(word.strip("`") for word in answer.stdout.split() if len(word.strip("`")) == 36)

    record = stack.wait_for_status(request_id)

    assert record["status"] == "pr_opened", record
    assert record["source"] == "slack"
    assert record["requested_by"] == "U0E2EUSER"
    _assert_branch_holds_the_rendered_file(stack, "dev", name)
    posted = eventually(
        lambda: [m for m in stack.posted_messages() if record["pr_url"] in json.dumps(m)],
        what="the PR link posted to the requester",
    )
    # To the requester's DM (their user id, or the DM channel of the confirmation).
    assert posted[0]["channel"] in {"U0E2EUSER"} or posted[0]["channel"].startswith("D")

    listed = stack.rdsctl("prs")
    assert listed.returncode == 0, listed.stderr
    assert f"rds/dev/{name}" in listed.stdout
    assert f"terraform/envs/dev/rds_{name}.tf" in listed.stdout


def test_invalid_requests_leave_no_trace(stack: StackProcess) -> None:
    before_branches = stack.branches()
    before_calls = len(stack.slack_calls())
    bad = "Bad-Name"

    status, body = stack.api(
        "POST", "/provision-rds", {"database_name": bad, "database_engine": "oracle", "environment": "dev"}
    )
    assert status == 400
    assert {error["field"] for error in body["errors"]} >= {"database_name", "database_engine"}

    answer = stack.rdsctl("slack", f"/provision-rds {bad} postgres dev")
    assert answer.returncode == 0, answer.stderr
    assert "database_name" in answer.stdout or "name" in answer.stdout.lower()

    status, listing = stack.api("GET", "/requests")
    assert status == 200
    assert bad not in json.dumps(listing)
    assert stack.queue_depth() == 0
    assert stack.branches() == before_branches
    new_calls = stack.slack_calls()[before_calls:]
    assert bad not in json.dumps(new_calls)


def test_merging_a_pull_request_records_merged_once(stack: StackProcess) -> None:
    name = _unique("ledger")
    _, accepted = stack.api(
        "POST", "/provision-rds", {"database_name": name, "database_engine": "postgres", "environment": "dev"}
    )
    record = stack.wait_for_status(accepted["request_id"])
    page_path = record["pr_url"].removeprefix(stack.url)
    number = page_path.rsplit("/", 1)[1]
    _, page = stack.http("GET", page_path)
    assert f'action="/_local/prs/{number}/merge"' in page.decode()

    merged = stack.rdsctl("merge", number)

    assert merged.returncode == 0, merged.stderr
    assert f"request {record['request_id']}: merged" in merged.stdout
    assert stack.api("GET", f"/requests/{record['request_id']}")[1]["status"] == "merged"
    assert stack.git("cat-file", "-e", f"main:terraform/envs/dev/rds_{name}.tf").returncode == 0

    def merge_messages() -> list[dict[str, object]]:
        return [
            m
            for m in stack.posted_messages()
            if name in str(m.get("text")) and "CircleCI is applying" in str(m.get("text"))
        ]

    eventually(merge_messages, what="the 'merged' announcement")
    # The page's button on an already merged PR (a second delivery): same status, no second message.
    status, again = stack.http("POST", f"/_local/prs/{number}/merge", body=b"")
    assert status == 200  # the redirect to the PR page, followed
    assert "Merge pull request" not in again.decode()
    assert stack.api("GET", f"/requests/{record['request_id']}")[1]["status"] == "merged"
    assert len(merge_messages()) == 1


def test_ctrl_c_right_after_accepting_requests_loses_none_of_them(tmp_path: Path) -> None:
    first = StackProcess(tmp_path / "state", tmp_path / "first.log").start()
    try:
        names = [_unique("burst") for _ in range(4)]
        request_ids = []
        for name in names:
            status, accepted = first.api(
                "POST",
                "/provision-rds",
                {"database_name": name, "database_engine": "postgres", "environment": "dev"},
            )
            assert status == 202, accepted
            request_ids.append(accepted["request_id"])
        exit_code = first.interrupt()
    finally:
        first.kill()

    assert exit_code == 0, first.output()
    assert "queue drained" in first.output()
    for name in names:
        _assert_branch_holds_the_rendered_file(first, "dev", name)
    links = json.dumps(first.posted_messages())
    assert sum(f"rds/dev/{name}" in links or name in links for name in names) == len(names)

    # A second start keeps the git repository, the Slack log and the requests themselves.
    second = StackProcess(first.state_dir, tmp_path / "second.log").start()
    try:
        for request_id in request_ids:
            status, record = second.api("GET", f"/requests/{request_id}")
            assert status == 200
            assert record["status"] == "pr_opened"
        # The names stay claimed: asking again is a conflict, not a second PR.
        status, _ = second.api(
            "POST",
            "/provision-rds",
            {"database_name": names[0], "database_engine": "postgres", "environment": "dev"},
        )
        assert status == 409
    finally:
        second.kill()


def test_gitops_backend_github_opens_the_pr_on_github_by_configuration_alone(tmp_path: Path) -> None:
    from tests.support.github_stub import GitHubStub

    with GitHubStub(owner="acme", repo="infra") as github:
        stack = StackProcess(
            tmp_path / "state",
            tmp_path / "stack.log",
            env=github.environment,
        ).start()
        try:
            name = _unique("ledger")
            status, accepted = stack.api(
                "POST",
                "/provision-rds",
                {"database_name": name, "database_engine": "mysql", "environment": "dev"},
            )
            assert status == 202, accepted
            record = stack.wait_for_status(accepted["request_id"])
        finally:
            stack.kill()

        assert record["status"] == "pr_opened", (record, stack.output())
        assert f"rds/dev/{name}" in github.branches()
        assert f"terraform/envs/dev/rds_{name}.tf" in github.files(f"rds/dev/{name}")
        assert len(github.pulls) == 1
        # Nothing went to the local repository.
        assert not (tmp_path / "state" / "gitops").exists()
