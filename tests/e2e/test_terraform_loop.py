"""The local loop made real: a request's PR planned, its merge applied, drift reported, all by
the local CI running terraform against the local AWS (``make test-apply``: minutes, the AWS
provider's own waits; never inside ``make test``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import StackProcess, eventually
from tests.support.terraform import local_ci_env, require_terraform

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.terraform_apply]

# One apply against moto takes about three minutes; leave room for a loaded machine.
APPLY_SECONDS = 900.0
PLAN_SECONDS = 300.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    require_terraform()
    state = tmp_path_factory.mktemp("terraform-loop")
    running = StackProcess(
        state / "state",
        state / "stack.log",
        env=local_ci_env(),
    ).start()
    try:
        yield running
    finally:
        running.kill()


def _pull(stack: StackProcess, number: int) -> dict[str, Any] | None:
    code, raw = stack.http("GET", "/_local/prs.json")
    assert code == 200, raw
    return next((pr for pr in json.loads(raw) if pr["number"] == number), None)


def _rds(stack: StackProcess) -> Any:
    return boto3.client(
        "rds",
        region_name="us-east-1",
        endpoint_url=stack.moto_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _planned(stack: StackProcess, number: int) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        pull = _pull(stack, number)
        plan = pull["plan"] if pull else None
        return plan if plan and plan["status"] != "pending" else None

    plan = eventually(done, timeout=PLAN_SECONDS, what=f"the plan of #{number}")
    assert plan["status"] == "success", stack.output()[-4000:]
    return plan


def _opened(stack: StackProcess, name: str, environment: str) -> tuple[str, int]:
    request_id = stack.submit(name, environment=environment)
    opened = stack.wait_for_status(request_id, status="pr_opened")
    return request_id, int(opened["pr_url"].rsplit("/", 1)[1])


def _drift(stack: StackProcess, environment: str) -> list[dict[str, Any]]:
    completed = stack.rdsctl("drift", environment, "--json", timeout=PLAN_SECONDS)
    assert completed.returncode == 0, completed.stderr
    drifted: list[dict[str, Any]] = json.loads(completed.stdout)["drifted"]
    return drifted


def test_requests_are_planned_applied_and_drift_reported(stack: StackProcess) -> None:
    assert "Local CI        terraform" in stack.output()
    # One database per environment: the environments apply side by side, each on its own.
    orders, orders_pr = _opened(stack, "orders", "dev")
    ledger, ledger_pr = _opened(stack, "ledger", "prod")

    # The PR's plan, as CI would post it: on the PR page, in prs.json and in the request's thread.
    plan = _planned(stack, orders_pr)
    assert plan["add"] >= 1
    assert (plan["change"], plan["destroy"]) == (0, 0)
    summary = f"Plan: {plan['add']} to add, 0 to change, 0 to destroy."
    code, page = stack.http("GET", f"/_local/prs/{orders_pr}")
    assert code == 200
    assert summary in page.decode()
    assert "module.rds_orders.aws_db_instance.this will be created" in page.decode()
    eventually(
        lambda: any(summary in message["text"] for message in stack.posted_messages()),
        what="the plan in the request's thread",
    )
    assert _planned(stack, ledger_pr)["add"] >= 1

    # The merges are applied by themselves; the ready message names the endpoint terraform gave.
    for number in (orders_pr, ledger_pr):
        merged = stack.rdsctl("merge", str(number))
        assert merged.returncode == 0, merged.stderr
    for request_id in (orders, ledger):
        stack.wait_for_status(request_id, timeout=APPLY_SECONDS, status="applied")

    # The status is recorded before its message is posted: wait for both messages.
    def both_ready() -> list[str] | None:
        texts = [m["text"] for m in stack.posted_messages() if m["text"].startswith("Your database is ready")]
        return texts if len(texts) == 2 else None

    ready = eventually(both_ready, what="both ready messages")
    endpoint = next(
        (match.group(1) for text in ready if (match := re.search(r"`(orders-dev\.[^`]+:5432)`", text))), None
    )
    assert endpoint is not None, ready
    (instance,) = _rds(stack).describe_db_instances(DBInstanceIdentifier="orders-dev")["DBInstances"]
    assert f"{instance['Endpoint']['Address']}:{instance['Endpoint']['Port']}" == endpoint
    assert _rds(stack).describe_db_instances(DBInstanceIdentifier="ledger-prod")["DBInstances"]

    # Nothing changed behind Terraform's back yet: no drift (moto's gaps would show some).
    assert _drift(stack, "dev") == []
    assert _drift(stack, "prod") == []

    # Someone resizes the instance in the console: the drift report names it and the attribute.
    _rds(stack).modify_db_instance(
        DBInstanceIdentifier="orders-dev", DBInstanceClass="db.t3.large", ApplyImmediately=True
    )
    report = _drift(stack, "dev")
    assert [(d["database_name"], d["attributes"]) for d in report] == [("orders", ["instance_class"])]
    alert = [m for m in stack.posted_messages() if m["text"].startswith("Terraform drift in dev")]
    assert len(alert) == 1
    assert "instance_class" in json.dumps(alert[0]["blocks"])
    assert "orders" in alert[0]["text"]
