"""The local CI's parts that need no terraform: reading plans, finding drift, the network, the pages.

The runs of terraform against the local AWS are in test_terraform_loop.py (``make test-apply``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from backend.adapters.slack_notices import render
from backend.cli import drift as drift_cli
from backend.container import Container, set_container
from backend.domain import Engine, Environment, RequestRecord, RequestStatus, Source
from backend.domain.drift import Drift, find_drift
from backend.domain.notices import Happening, Notice
from backend.settings import Settings
from local import prs_page
from local.ci import (
    Network,
    PlanResult,
    ensure_network,
    environment_of,
    override_text,
    terraform_unavailable,
)
from local.slack_api import SlackApiStandIn
from tests.support.block_kit import message_for

PLAN_TEXT = """
Terraform will perform the following actions:

  # module.rds_orders.aws_db_instance.this will be created
  + resource "aws_db_instance" "this" {
      + identifier = "orders-dev"
    }

Plan: 10 to add, 0 to change, 0 to destroy.

Changes to Outputs:
  + rds_orders_endpoint = (known after apply)
"""


def _instance_change(
    actions: list[str], before: dict[str, Any] | None, after: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "address": "module.rds_orders.aws_db_instance.this",
        "module_address": "module.rds_orders",
        "mode": "managed",
        "type": "aws_db_instance",
        "name": "this",
        "change": {"actions": actions, "before": before, "after": after, "after_unknown": {}},
    }


# The shape of `terraform show -json` of a plan after someone resized orders-dev behind Terraform's
# back (trimmed from a real plan against the local AWS).
DRIFTED_PLAN: dict[str, Any] = {
    "resource_changes": [
        _instance_change(
            ["update"],
            {
                "identifier": "orders-dev",
                "instance_class": "db.t3.large",
                "allocated_storage": 20,
                "latest_restorable_time": "2026-12-02T02:07:00Z",
                "tags_all": {"ManagedBy": "console"},
            },
            {
                "identifier": "orders-dev",
                "instance_class": "db.t3.micro",
                "allocated_storage": 20,
                "latest_restorable_time": "2026-12-02T02:08:00Z",
                "tags_all": {"ManagedBy": "rds-provisioner"},
            },
        ),
        {
            "address": "module.rds_billing.aws_db_instance.this",
            "module_address": "module.rds_billing",
            "mode": "managed",
            "type": "aws_db_instance",
            "name": "this",
            "change": {"actions": ["no-op"], "before": {"a": 1}, "after": {"a": 1}},
        },
        {
            "address": "module.environment.aws_db_subnet_group.databases",
            "module_address": "module.environment",
            "mode": "managed",
            "type": "aws_db_subnet_group",
            "name": "databases",
            "change": {"actions": ["update"], "before": {"description": "x"}, "after": {"description": "y"}},
        },
        {
            "address": "module.environment.data.aws_subnet.database",
            "module_address": "module.environment",
            "mode": "data",
            "type": "aws_subnet",
            "name": "database",
            "change": {"actions": ["read"], "before": None, "after": {"id": "subnet-1"}},
        },
    ]
}


# --- plans -----------------------------------------------------------------------------------------
def test_a_plan_is_read_by_its_summary_line() -> None:
    plan = PlanResult.of_text(PLAN_TEXT, head_sha="abc", seconds=12.5)
    assert (plan.status, plan.add, plan.change, plan.destroy) == ("success", 10, 0, 0)
    assert plan.summary == "Plan: 10 to add, 0 to change, 0 to destroy."
    assert plan.as_dict() == {"status": "success", "add": 10, "change": 0, "destroy": 0}


def test_a_plan_without_changes_or_without_a_summary() -> None:
    unchanged = PlanResult.of_text(
        "No changes. Your infrastructure matches the configuration.", head_sha="a", seconds=1
    )
    assert (unchanged.status, unchanged.add, unchanged.change, unchanged.destroy) == ("success", 0, 0, 0)
    broken = PlanResult.of_text("Error: Invalid reference", head_sha="a", seconds=1)
    assert broken.status == "failure"


@pytest.mark.parametrize(
    ("path", "environment"),
    [
        ("terraform/envs/dev/rds_orders.tf", "dev"),
        ("terraform/envs/prod/network.tf", "prod"),
        ("terraform/modules/rds/main.tf", None),
        ("README.md", None),
    ],
)
def test_the_environment_of_a_file(path: str, environment: str | None) -> None:
    assert environment_of(path) == environment


# --- drift -----------------------------------------------------------------------------------------
def test_drift_names_the_database_and_the_attribute_changed_behind_terraforms_back() -> None:
    drifts = find_drift(DRIFTED_PLAN, ["orders", "billing"])
    assert [drift.as_dict() for drift in drifts] == [
        {
            "database_name": None,
            "attributes": ["description"],
            "resources": ["module.environment.aws_db_subnet_group.databases"],
        },
        {
            "database_name": "orders",
            "attributes": ["instance_class"],
            "resources": ["module.rds_orders.aws_db_instance.this"],
        },
    ]


def test_a_database_deleted_behind_terraforms_back_is_missing() -> None:
    plan = {"resource_changes": [_instance_change(["create"], None, {"identifier": "orders-dev"})]}
    assert find_drift(plan, ["orders"]) == [
        Drift("orders", ("missing",), ("module.rds_orders.aws_db_instance.this",))
    ]


def test_no_changes_is_no_drift() -> None:
    assert find_drift({"resource_changes": []}, ["orders"]) == []
    assert find_drift({}, []) == []


def test_the_drift_message_names_each_database_and_attribute() -> None:
    drifts = tuple(find_drift(DRIFTED_PLAN, ["orders"]))
    message = render(Notice(Happening.DRIFTED, environment="dev", drifts=drifts))
    text = message["text"] + json.dumps(message["blocks"])
    assert message["text"].startswith("Terraform drift in dev")
    assert "`orders`" in text
    assert "`instance_class`" in text
    assert "dev (shared resources)" in text


def test_the_nightly_report_reads_the_plan_and_the_databases_of_main(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    envs = tmp_path / "terraform" / "envs" / "dev"
    envs.mkdir(parents=True)
    (envs / "rds_orders.tf").write_text("# orders\n")
    (envs / "versions.tf").write_text("# not a database\n")
    plan = tmp_path / "drift.json"
    plan.write_text(json.dumps(DRIFTED_PLAN))

    assert drift_cli.main(["--environment", "dev", "--plan", str(plan), "--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["dev/(shared): description", "dev/orders: instance_class"]


# --- the local AWS ---------------------------------------------------------------------------------
@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.mark.usefixtures("aws")
def test_the_network_is_a_vpc_and_two_subnets_in_two_zones_made_once() -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    first = ensure_network(ec2, "us-east-1")
    again = ensure_network(ec2, "us-east-1")

    assert again == first
    subnets = ec2.describe_subnets(SubnetIds=list(first.subnet_ids))["Subnets"]
    assert {subnet["VpcId"] for subnet in subnets} == {first.vpc_id}
    assert sorted(subnet["AvailabilityZone"] for subnet in subnets) == ["us-east-1a", "us-east-1b"]


def test_the_override_points_every_service_at_the_local_aws_and_keeps_state_local(tmp_path: Path) -> None:
    network = Network(vpc_id="vpc-0123", subnet_ids=("subnet-a", "subnet-b"))
    text = override_text(
        endpoint_url="http://127.0.0.1:5000", state_path=tmp_path / "dev.tfstate", network=network
    )
    assert 'backend "local"' in text
    assert json.dumps(str(tmp_path / "dev.tfstate")) in text
    for service in ("rds", "ec2", "iam", "kms", "backup", "sts"):
        assert f'{service} = "http://127.0.0.1:5000"' in text.replace("  ", " ").replace("  ", " ")
    assert '"subnet-a", "subnet-b"' in text


# --- what the user sees ----------------------------------------------------------------------------
PULL = SimpleNamespace(
    number=1,
    title="Provision RDS postgres database orders (dev)",
    branch="rds/dev/orders",
    base="main",
    file_path="terraform/envs/dev/rds_orders.tf",
    state="open",
    url="http://127.0.0.1:3000/_local/prs/1",
    body="A <b>database</b>",
)


def test_the_pr_list_carries_each_plan() -> None:
    plans = {1: PlanResult.of_text(PLAN_TEXT, head_sha="abc", seconds=3)}
    (item,) = prs_page.summaries([PULL], plans.get)
    assert item["plan"] == {"status": "success", "add": 10, "change": 0, "destroy": 0}
    (unplanned,) = prs_page.summaries([PULL])
    assert unplanned["plan"] is None


def test_the_pr_page_shows_the_summary_line_and_the_plan_text_escaped() -> None:
    plan = PlanResult.of_text(PLAN_TEXT + '\n  + name = "<script>"\n', head_sha="abc", seconds=3)
    page = prs_page.detail_page(PULL, diff="", plan=plan)
    assert "<p class=plan data-plan=success>Plan: 10 to add, 0 to change, 0 to destroy.</p>" in page
    assert "module.rds_orders.aws_db_instance.this will be created" in page
    assert "&lt;script&gt;" in page
    assert "<script>" not in page
    pending = prs_page.detail_page(PULL, diff="", plan=PlanResult("pending", "abc"))
    assert "data-plan=pending" in pending


def test_the_ready_message_gives_the_endpoint_terraform_output_gave() -> None:
    now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    record = RequestRecord.model_validate(
        {
            "request_id": "req-1",
            "status": RequestStatus.APPLIED,
            "database_name": "orders",
            "database_engine": Engine.POSTGRES,
            "environment": Environment("dev"),
            "requested_by": "api",
            "source": Source.API,
            "created_at": now,
            "updated_at": now,
        }
    )
    endpoint = "orders-dev.aaaaaaaaaa.us-east-1.rds.amazonaws.com:5432"
    message = message_for(record, {"rds_orders_endpoint": endpoint})
    assert message is not None
    assert endpoint in message["text"]
    assert endpoint in json.dumps(message["blocks"])
    without = message_for(record)
    assert without is not None
    assert endpoint not in without["text"]
    assert "terraform output rds_orders_endpoint" in without["text"]


# --- where terraform cannot run ---------------------------------------------------------------------
def test_without_terraform_on_path_the_local_ci_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert terraform_unavailable(tmp_path) == "terraform is not on PATH"


def test_without_the_provider_in_the_mirror_the_local_ci_says_why(tmp_path: Path) -> None:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH: the mirror is not looked at")
    reason = terraform_unavailable(tmp_path / "empty-mirror")
    assert reason is not None
    assert "registry.terraform.io/hashicorp/aws" in reason
    assert "TF_PROVIDER_MIRROR" in reason


def test_the_nightly_report_posts_the_drift_to_the_drift_channel(tmp_path: Path) -> None:
    envs = tmp_path / "terraform" / "envs" / "dev"
    envs.mkdir(parents=True)
    (envs / "rds_orders.tf").write_text("# orders\n")
    plan = tmp_path / "drift.json"
    plan.write_text(json.dumps(DRIFTED_PLAN))
    with SlackApiStandIn() as slack_api:
        settings = Settings(
            slack_bot_token="xoxb-test", slack_api_url=slack_api.base_url, drift_channel="C0DRIFT"
        )
        set_container(Container(settings))
        try:
            assert drift_cli.main(["--environment", "dev", "--plan", str(plan), "--root", str(tmp_path)]) == 0
        finally:
            set_container(None)

    (posted,) = slack_api.calls_to("chat.postMessage")
    assert posted["channel"] == "C0DRIFT"
    assert posted["text"].startswith("Terraform drift in dev")
    assert "`instance_class`" in json.dumps(posted["blocks"])
