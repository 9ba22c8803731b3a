"""Day 2 and prod approvals as a platform team lives them on the local stack, through rdsctl only."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.domain.naming import branch_name
from tests.e2e.conftest import StackProcess, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

APPROVER = "U0APPROVER"
CHANNEL = "C0APPROVALS"


@pytest.fixture(scope="module")
def approving_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    state = tmp_path_factory.mktemp("approving-stack")
    running = StackProcess(
        state / "state",
        state / "stack.log",
        env={"PROD_APPROVERS": APPROVER, "APPROVALS_CHANNEL": CHANNEL},
    ).start()
    try:
        yield running
    finally:
        running.kill()


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _json(out: str) -> Any:
    return json.loads(out[: out.rindex("}") + 1])


def _number(record: dict[str, Any]) -> str:
    return str(record["pr_url"]).rstrip("/").rsplit("/", 1)[1]


def _approved_pr(stack: StackProcess, request_id: str) -> dict[str, Any]:
    assert stack.api("GET", f"/requests/{request_id}")[1]["status"] == "awaiting_approval"
    assert f"request {request_id}: " in _ok(stack.rdsctl("approve", request_id, "--as", APPROVER))
    return stack.wait_for_status(request_id)


def test_prod_create_resize_and_a_denied_decommission_through_rdsctl(approving_stack: StackProcess) -> None:
    stack = approving_stack
    name = f"ledger_{uuid.uuid4().hex[:8]}"

    submitted = _json(_ok(stack.rdsctl("submit", name, "postgres", "prod")))
    assert submitted["status"] == "awaiting_approval"
    # Nothing is published before a decision: no branch, no PR.
    assert f"rds/prod/{name}" not in stack.branches()
    eventually(
        lambda: [m for m in stack.posted_messages() if m.get("channel") == CHANNEL and name in json.dumps(m)],
        what="the approval request in the approvals channel",
    )
    created = _approved_pr(stack, submitted["request_id"])
    assert created["approved_by"] == APPROVER
    _, page = stack.http("GET", f"/_local/prs/{_number(created)}")
    assert "Approved by" in page.decode()
    assert APPROVER in page.decode()
    _ok(stack.rdsctl("merge", _number(created)))
    applied = _ok(stack.rdsctl("applied", "prod", f"terraform/envs/prod/rds_{name}.tf"))
    assert f"prod/{name}: recorded" in applied

    listed = _ok(stack.rdsctl("databases", "--environment", "prod"))
    (row,) = [line for line in listed.splitlines() if line.startswith(name)]
    assert "db.t3.medium" in row
    assert " 50 " in f" {row} "

    resized = _json(_ok(stack.rdsctl("resize", name, "prod", "--allocated-storage", "100")))
    assert resized["status"] == "awaiting_approval"
    assert stack.api("GET", f"/requests/{resized['request_id']}")[1]["action"] == "resize"
    resize_pr = _approved_pr(stack, resized["request_id"])
    branch = branch_name("prod", name, step="resize", request_id=resize_pr["request_id"])
    tf = stack.git("show", f"{branch}:terraform/envs/prod/rds_{name}.tf").stdout
    assert "allocated_storage     = 100" in tf
    busy = stack.rdsctl("decommission", name, "prod", "--confirm", name)
    assert busy.returncode == 1
    assert "in flight" in busy.stderr
    _ok(stack.rdsctl("merge", _number(resize_pr)))
    assert "recorded" in _ok(stack.rdsctl("applied", "prod", f"terraform/envs/prod/rds_{name}.tf"))
    assert " 100 " in next(line for line in _ok(stack.rdsctl("databases")).splitlines() if name in line)

    refused = stack.rdsctl("decommission", name, "prod", "--confirm", "not-the-name")
    assert refused.returncode != 0
    assert "confirm" in (refused.stdout + refused.stderr)

    asked = _json(_ok(stack.rdsctl("decommission", name, "prod", "--confirm", name)))
    # The requester here is the API key; an approver who is not the requester decides.
    denied = _ok(
        stack.rdsctl("deny", asked["request_id"], "--as", APPROVER, "--reason", "still in use by billing")
    )
    assert f"request {asked['request_id']}: rejected (by {APPROVER})" in denied
    view = stack.api("GET", f"/requests/{asked['request_id']}")[1]
    assert view["denied_by"] == APPROVER
    assert "still in use by billing" in view["error"]
    assert not [b for b in stack.branches() if b.startswith(f"rds-decommission/prod/{name}/")]


def test_rdsctl_approve_says_when_the_user_may_not_decide(approving_stack: StackProcess) -> None:
    stack = approving_stack
    submitted = _json(_ok(stack.rdsctl("submit", f"vault_{uuid.uuid4().hex[:8]}", "mysql", "prod")))

    tried = stack.rdsctl("approve", submitted["request_id"], "--as", "U0SOMEONE")

    assert tried.returncode == 1
    assert "awaiting_approval" in tried.stdout
    assert "PROD_APPROVERS" in tried.stdout
    assert stack.api("GET", f"/requests/{submitted['request_id']}")[1]["status"] == "awaiting_approval"


def test_rdsctl_databases_is_empty_on_a_fresh_stack(tmp_path: Path) -> None:
    stack = StackProcess(tmp_path / "state", tmp_path / "stack.log").start()
    try:
        assert "no databases yet" in _ok(stack.rdsctl("databases"))
    finally:
        stack.kill()


def test_expiry_through_rdsctl_sweep_remind_extend_decommission_and_approval_timeouts(
    approving_stack: StackProcess,
) -> None:
    stack = approving_stack
    name = f"scratch_{uuid.uuid4().hex[:8]}"
    today = datetime.now(UTC).date()
    submitted = _json(_ok(stack.rdsctl("submit", name, "postgres", "dev", "--ttl-days", "2")))
    assert submitted["expires_on"] == (today + timedelta(days=2)).isoformat()
    _ok(stack.rdsctl("merge", _number(stack.wait_for_status(submitted["request_id"]))))
    _ok(stack.rdsctl("applied", "dev", f"terraform/envs/dev/rds_{name}.tf"))

    def line_for(out: str) -> str:
        return next(line for line in out.splitlines() if f"dev/{name} " in line)

    assert line_for(_ok(stack.rdsctl("sweep", "--now", today.isoformat()))).endswith("reminded (api)")
    assert "already_done" in line_for(_ok(stack.rdsctl("sweep", "--now", today.isoformat())))

    extended = _ok(stack.rdsctl("extend", name, "dev", "--ttl-days", "5"))
    assert f"dev/{name} now expires on {(today + timedelta(days=5)).isoformat()}" in extended

    expiry_day = (today + timedelta(days=5)).isoformat()
    swept = line_for(_ok(stack.rdsctl("sweep", "--now", f"{expiry_day}T07:00:00Z")))
    assert "decommission_requested" in swept
    request_id = swept.rsplit("(", 1)[1].rstrip(")")
    assert "already_done" in line_for(_ok(stack.rdsctl("sweep", "--now", f"{expiry_day}T08:00:00Z")))
    decommission = stack.wait_for_status(request_id)
    assert (decommission["action"], decommission["requested_by"]) == ("decommission", "ttl")
    branch = branch_name("dev", name, step="decommission", request_id=request_id)
    assert stack.git("cat-file", "-e", f"{branch}:terraform/envs/dev/rds_{name}.tf").returncode != 0

    waiting = _json(_ok(stack.rdsctl("submit", f"vault_{uuid.uuid4().hex[:8]}", "mysql", "prod")))
    later = (datetime.now(UTC) + timedelta(hours=73)).isoformat()
    timed_out = _ok(stack.rdsctl("sweep", "--now", later))
    assert f"request {waiting['request_id']}: rejected, no approver decided in time" in timed_out
    assert stack.api("GET", f"/requests/{waiting['request_id']}")[1]["status"] == "rejected"
