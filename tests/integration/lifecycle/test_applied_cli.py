"""``python -m backend.cli.record_applied``: what CircleCI's apply job runs after terraform apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.cli.record_applied import database_names, main
from tests.integration.lifecycle.conftest import RequestFactory, close_pr, on_main
from tests.support.aws import Pipeline


def test_only_this_environments_rds_files_name_databases():
    paths = [
        "terraform/envs/dev/rds_orders.tf",
        "terraform/envs/dev/rds_billing_ledger.tf\n",
        "terraform/envs/dev/rds_orders.tf",  # listed twice
        "terraform/envs/prod/rds_payments.tf",  # another environment
        "terraform/envs/dev/versions.tf",
        "terraform/envs/dev/rds_Bad__name.tf",  # not a database name
        "terraform/modules/rds/rds_orders.tf",
        "docs/envs/dev/rds_notes.md",
    ]
    assert database_names(paths, "dev") == ["orders", "billing_ledger"]
    assert database_names(paths, "prod") == ["payments"]


def test_applied_records_each_request_once_and_tells_each_requester(
    pipeline: Pipeline, requests: RequestFactory, capsys: pytest.CaptureFixture[str], tmp_path: Path
):
    orders = requests.pr_opened("orders")
    ledger = requests.pr_opened("ledger")
    close_pr(pipeline, orders["request_id"], merged=True)
    # The applied checkout: main after both merges, and a file no request made.
    checkout = tmp_path / "checkout"
    envs = checkout / "terraform" / "envs" / "dev"
    envs.mkdir(parents=True)
    (envs / "rds_orders.tf").write_text(on_main(pipeline, orders["request_id"]))
    (envs / "rds_ledger.tf").write_text(on_main(pipeline, ledger["request_id"]))
    (envs / "rds_handwritten.tf").write_text('module "rds_handwritten" {}\n')
    files = [
        "--root",
        str(checkout),
        "--files",
        *(f"terraform/envs/dev/{f.name}" for f in sorted(envs.iterdir())),
    ]

    # Through the process's container, as the CI job does.
    assert main(["--environment", "dev", *files]) == 0
    # A re-run of the job records and sends nothing more.
    assert main(["--environment", "dev", *files]) == 0

    output = capsys.readouterr().out
    assert f"dev/orders: recorded (request {orders['request_id']})" in output
    assert f"dev/ledger: recorded (request {ledger['request_id']})" in output
    assert "dev/handwritten: unknown" in output
    assert output.count("unchanged") == 2
    for view in (orders, ledger):
        assert pipeline.get(view["request_id"]).json["status"] == "applied"
    applied = [request_id for kind, request_id in pipeline.notifier.events if kind == "database_applied"]
    assert sorted(applied) == sorted([orders["request_id"], ledger["request_id"]])


def test_no_rds_files_is_not_an_error(pipeline: Pipeline, capsys: pytest.CaptureFixture[str]):
    assert main(["--environment", "prod", "--files", "terraform/envs/prod/versions.tf"]) == 0
    assert main(["--environment", "prod", "--files"]) == 0
    assert "nothing to record" in capsys.readouterr().out
    assert pipeline.notifier.events == []
