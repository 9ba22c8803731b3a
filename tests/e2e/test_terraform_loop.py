"""The local loop made real: a request's PR planned, its merge applied, drift reported, all by
the local CI running terraform against the local AWS (``make test-apply``: minutes, the AWS
provider's own waits; never inside ``make test``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import StackProcess, eventually
from tests.support.terraform import mirror, require_terraform

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
        env={"LOCAL_CI": "terraform", "TF_PROVIDER_MIRROR": str(mirror())},
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


def test_a_request_is_planned_applied_and_its_drift_reported(stack: StackProcess, tmp_path: Path) -> None:
    assert "Local CI        terraform" in stack.output()
    request_id = stack.submit("orders")
    opened = stack.wait_for_status(request_id, status="pr_opened")
    number = int(opened["pr_url"].rsplit("/", 1)[1])

    # The PR's plan, as CI would post it: on the PR page, in prs.json and in the request's thread.
    def planned() -> dict[str, Any] | None:
        pull = _pull(stack, number)
        plan = pull["plan"] if pull else None
        return plan if plan and plan["status"] != "pending" else None

    plan = eventually(planned, timeout=PLAN_SECONDS, what=f"the plan of #{number}")
    assert plan["status"] == "success", stack.output()[-4000:]
    assert plan["add"] >= 1
    assert (plan["change"], plan["destroy"]) == (0, 0)
    summary = f"Plan: {plan['add']} to add, 0 to change, 0 to destroy."
    code, page = stack.http("GET", f"/_local/prs/{number}")
    assert code == 200
    assert summary in page.decode()
    assert "module.rds_orders.aws_db_instance.this will be created" in page.decode()
    assert any(summary in message["text"] for message in stack.posted_messages())

    # The merge is applied by itself; the ready message names the endpoint terraform output gave.
    merged = stack.rdsctl("merge", str(number))
    assert merged.returncode == 0, merged.stderr
    applied = stack.wait_for_status(request_id, timeout=APPLY_SECONDS, status="applied")
    assert applied["status"] == "applied"
    ready = [m["text"] for m in stack.posted_messages() if m["text"].startswith("Your database is ready")]
    assert len(ready) == 1
    endpoint = re.search(r"`(orders-dev\.[^`]+:5432)`", ready[0])
    assert endpoint is not None, ready

    (instance,) = _rds(stack).describe_db_instances(DBInstanceIdentifier="orders-dev")["DBInstances"]
    assert f"{instance['Endpoint']['Address']}:{instance['Endpoint']['Port']}" == endpoint.group(1)

    # Nothing changed behind Terraform's back yet: no drift (moto's gaps would show some).
    clean = stack.rdsctl("drift", "dev", "--json", timeout=PLAN_SECONDS)
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["drifted"] == []

    # Someone resizes the instance in the console: the drift report names it and the attribute.
    _rds(stack).modify_db_instance(
        DBInstanceIdentifier="orders-dev", DBInstanceClass="db.t3.large", ApplyImmediately=True
    )
    drifted = stack.rdsctl("drift", "dev", "--json", timeout=PLAN_SECONDS)
    assert drifted.returncode == 0, drifted.stderr
    report = json.loads(drifted.stdout)["drifted"]
    assert [(d["database_name"], d["attributes"]) for d in report] == [("orders", ["instance_class"])]
    alert = [m for m in stack.posted_messages() if m["text"].startswith("Terraform drift in dev")]
    assert len(alert) == 1
    assert "instance_class" in json.dumps(alert[0]["blocks"])
    assert "orders" in alert[0]["text"]
