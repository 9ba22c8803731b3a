"""The request lifecycle as users live it on the local stack: close, ask again, GitHub down, applied."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from backend.domain.naming import request_id_of_pull_request
from backend.handlers.github_webhook import signature_of
from tests.e2e.conftest import StackProcess, eventually
from tests.support.github_stub import GitHubStub

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LOCAL_WEBHOOK_SECRET = "local-webhook-secret"


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _number(record: dict[str, Any]) -> str:
    return str(record["pr_url"]).rstrip("/").rsplit("/", 1)[1]


def test_a_closed_pr_frees_the_name_and_asking_again_opens_a_new_pr_on_the_current_main(
    stack: StackProcess,
) -> None:
    name = _unique("story")
    first = stack.wait_for_status(stack.submit(name))
    first_number = _number(first)

    closed = stack.rdsctl("close", first_number)

    assert closed.returncode == 0, closed.stderr
    assert f"#{first_number} closed" in closed.stdout
    assert f"request {first['request_id']}: failed" in closed.stdout
    ended = stack.api("GET", f"/requests/{first['request_id']}")[1]
    assert (ended["status"], ended["error"]) == ("failed", "the pull request was closed without merging")
    eventually(
        lambda: [m for m in stack.posted_messages() if name in json.dumps(m) and "closed" in json.dumps(m)],
        what="the announcement that the request failed",
    )

    # Meanwhile another database is merged, so main moves on.
    other = _unique("other")
    other_record = stack.wait_for_status(stack.submit(other))
    assert stack.rdsctl("merge", _number(other_record)).returncode == 0

    again = stack.wait_for_status(stack.submit(name))  # the name is free again

    assert again["status"] == "pr_opened"
    assert _number(again) != first_number
    main = stack.git("rev-parse", "main").stdout.strip()
    assert stack.git("rev-parse", f"rds/dev/{name}^").stdout.strip() == main
    assert stack.git("cat-file", "-e", f"rds/dev/{name}:terraform/envs/dev/rds_{other}.tf").returncode == 0
    _, page = stack.http("GET", f"/_local/prs/{first_number}")
    assert "closed" in page.decode()
    assert "Merge pull request" not in page.decode()

    # CircleCI's record-applied, stood in for by rdsctl applied, finishes the merged one.
    applied = stack.rdsctl("applied", "dev", f"terraform/envs/dev/rds_{other}.tf")
    assert applied.returncode == 0, applied.stderr
    assert f"dev/{other}: recorded (request {other_record['request_id']})" in applied.stdout
    assert stack.api("GET", f"/requests/{other_record['request_id']}")[1]["status"] == "applied"
    status, body = stack.http(
        "POST",
        "/_local/ci/applied",
        body=json.dumps({"environment": "dev", "files": [f"terraform/envs/dev/rds_{other}.tf"]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 200
    assert json.loads(body)["results"] == [f"dev/{other}: unchanged (request {other_record['request_id']})"]


def _webhook(stack: StackProcess, github: GitHubStub, number: int, *, merged: bool) -> tuple[int, Any]:
    """GitHub's signed ``pull_request`` ``closed`` delivery of the stub's PR ``number``."""
    payload = {
        "action": "closed",
        "number": number,
        "pull_request": github.pull_payload(number) | {"state": "closed", "merged": merged},
        "repository": {"full_name": github.full_name},
        "sender": {"login": "reviewer"},
    }
    body = json.dumps(payload).encode()
    status, raw = stack.http(
        "POST",
        "/github/webhook",
        body=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "pull_request",
            "X-Hub-Signature-256": signature_of(body, LOCAL_WEBHOOK_SECRET),
        },
    )
    return status, json.loads(raw)


def test_github_down_until_sqs_gives_up_then_closed_and_asked_again_while_rate_limited(
    tmp_path: Path,
) -> None:
    with GitHubStub(owner="acme", repo="infra") as github:
        stack = StackProcess(
            tmp_path / "state",
            tmp_path / "stack.log",
            env=github.environment,
            args=("--visibility-timeout", "1"),
        ).start()
        try:
            name = _unique("outage")
            user = "U0OUTAGE"
            github.fail_next(1000, status=502)  # down for as long as SQS keeps trying

            asked = stack.rdsctl("slack", f"/provision-rds {name} postgres dev", "--user", user)
            assert asked.returncode == 0, asked.stderr
            request_id = next(w.strip("`") for w in asked.stdout.split() if len(w.strip("`")) == 36)
            failed = stack.wait_for_status(request_id, timeout=60, status="failed")

            assert "GitHub answered 502" in failed["error"]
            told = eventually(
                lambda: [
                    m for m in stack.posted_messages() if "502" in json.dumps(m) and name in json.dumps(m)
                ],
                what="the requester being told why",
            )
            # In the thread of the confirmation the requester got in their DM.
            (confirmation,) = [
                m for m in stack.posted_messages() if m.get("channel") == user and "thread_ts" not in m
            ]
            assert told[0]["thread_ts"]
            assert confirmation
            assert github.pulls == {}

            github.recover()
            first = stack.wait_for_status(stack.submit(name))  # the name is free again
            assert first["status"] == "pr_opened"
            first_number = int(_number(first))

            # A reviewer closes it; GitHub tells the webhook.
            github.close_pull(first_number)
            status, answer = _webhook(stack, github, first_number, merged=False)
            assert (status, answer["status"]) == (200, "failed"), answer

            # Main moves on, then the name is asked for again while GitHub rate-limits PR creation.
            github.seed_file("terraform/envs/dev/rds_billing.tf", 'module "rds_billing" {}\n')
            github.rate_limit_next(reset_in=1, method="POST", path="/pulls")
            again = stack.wait_for_status(stack.submit(name), timeout=60)

            assert again["status"] == "pr_opened", again
            assert int(_number(again)) != first_number
            new_pull = github.pulls[int(_number(again))]
            assert request_id_of_pull_request(new_pull.body) == again["request_id"]
            assert github.pulls[first_number].state == "closed"
            branch_files = github.files(f"rds/dev/{name}")
            assert branch_files == {
                **github.files("main"),
                f"terraform/envs/dev/rds_{name}.tf": branch_files[f"terraform/envs/dev/rds_{name}.tf"],
            }
            # The old PR's "closed" delivered again changes nothing of the new request.
            _webhook(stack, github, first_number, merged=False)
            assert stack.api("GET", f"/requests/{again['request_id']}")[1]["status"] == "pr_opened"
        finally:
            stack.kill()
