"""A new environment is a table and a command: ``staging``, copied from dev, walked end to end.

Its table is dev's, copied under a new name into a temporary ENVIRONMENTS_FILE; ``rdsctl
new-environment staging`` writes its Terraform root into a copy of terraform/ and its CircleCI
wiring into a copy of .circleci/ (its path filter, workflow and drift job). Then a request for it
goes through the real API handler (signed with the API key), the Slack app (its form offers staging,
its slash command is accepted), the worker's renderer (the file lands in terraform/envs/staging on a
pull request) and a ``terraform plan`` of the merged root (the mocked provider of the plan tests,
one run). A name the file does not hold is a 400 naming the ones it does.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from moto import mock_aws

from backend.adapters.gitops.local_git import LocalGitPublisher
from backend.container import set_container
from backend.domain import RequestStatus, policy_for
from backend.settings import DEFAULT_ENVIRONMENTS_FILE
from local import cli
from local.resources import ensure_resources
from tests.integration.slack.driver import USER, slack_harness
from tests.integration.terraform.cases import plans_file_header
from tests.integration.terraform.conftest import TERRAFORM_DIR
from tests.support.aws import REGION, Pipeline, RecordingNotifier, call_api, make_container
from tests.support.terraform import Terraform, exclusive, parse_test_output, run_results

STAGING = {"database_name": "orders", "database_engine": "postgres", "environment": "staging"}
CONFIGURED = "dev, prod, staging"


def _with_staging(shipped: str) -> str:
    """The shipped file with dev's tables copied under ``staging`` (the first step of the docs)."""
    start, end = shipped.index("[environments.dev]"), shipped.index("[environments.prod]")
    return shipped + "\n" + shipped[start:end].replace("[environments.dev", "[environments.staging")


@pytest.fixture
def environments_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "environments.toml"
    path.write_text(_with_staging(DEFAULT_ENVIRONMENTS_FILE.read_text()))
    monkeypatch.setenv("ENVIRONMENTS_FILE", str(path))  # what rdsctl reads
    return path


@pytest.fixture
def terraform_copy(tmp_path: Path, environments_file: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A copy of terraform/ to which ``rdsctl new-environment staging`` added envs/staging, and of
    .circleci/ beside it, to which it added staging's wiring."""
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "tests"))
    shutil.copytree(TERRAFORM_DIR.parent / ".circleci", tmp_path / ".circleci")
    assert cli.main(["new-environment", "staging", "--terraform-dir", str(copy)]) == 0
    written = capsys.readouterr().out
    assert "envs/staging/backend.tf" in written
    assert ".circleci/continue_config.yml" in written
    return copy


@pytest.fixture
def staging_pipeline(tmp_path: Path, environments_file: Path, terraform_copy: Path) -> Iterator[Pipeline]:
    """The pipeline in this process, its settings naming the file, its GitOps repository seeded from
    the copy (main holds envs/staging as the new environment's commit would)."""
    with mock_aws():
        resources = ensure_resources(region=REGION, endpoint_url=None)
        publisher = LocalGitPublisher(tmp_path / "gitops", base_branch="main", pr_base_url="http://prs.test")
        publisher.ensure_repository(terraform_copy)
        notifier = RecordingNotifier()
        container = make_container(
            resources, publisher=publisher, notifier=notifier, environments_file=environments_file
        )
        set_container(container)
        try:
            yield Pipeline(resources, container, notifier)
        finally:
            set_container(None)


def _plan(terraform: Terraform, work_directory: Path, root: Path) -> dict[str, dict[str, object]]:
    """``terraform test`` of ``root`` with one plan run; the run's planned changes by address."""
    # The lock pins what the machine's mirror holds; the plan tests init without it (build_tree).
    (root / ".terraform.lock.hcl").unlink()
    (root / "backend.tf").unlink()  # a backend means nothing to a test
    (root / "tests").mkdir()
    run = ["", 'run "staging" {', "  command = plan", "}"]
    (root / "tests" / "staging.tftest.hcl").write_text("\n".join([*plans_file_header(), *run]) + "\n")
    with exclusive(work_directory / "plugin-cache.lock"):
        init = terraform.run(root, "init", "-backend=false", "-input=false", "-no-color")
    assert init.ok, init.explain()
    tested = terraform.run(root, "test", "-json", "-verbose", "-no-color")
    parsed = parse_test_output(tested.stdout)
    (result,) = run_results(parsed).values()
    assert (result.status, parsed["diagnostics"]) == ("pass", []), result.diagnostics or tested.explain()
    return result.changes()


def test_staging_copied_from_dev_is_offered_accepted_rendered_and_planned(
    staging_pipeline: Pipeline,
    environments_file: Path,
    terraform_copy: Path,
    terraform: Terraform,
    work_directory: Path,
) -> None:
    # CircleCI: a change to its root runs its workflow (plan on branches, apply on main, no approval
    # as dev), and its drift is planned nightly.
    circleci = terraform_copy.parent / ".circleci"
    mapping = yaml.safe_load((circleci / "config.yml").read_text())["workflows"]["select-workflows"]["jobs"][
        0
    ]["path-filtering/filter"]["mapping"]
    assert "terraform/envs/staging/.* terraform-staging true" in mapping.splitlines()
    config = yaml.safe_load((circleci / "continue_config.yml").read_text())
    assert config["parameters"]["terraform-staging"] == {"type": "boolean", "default": False}
    workflow = config["workflows"]["terraform-staging"]
    assert workflow["when"] == "<< pipeline.parameters.terraform-staging >>"
    jobs = [next(iter(job.values()))["name"] for job in workflow["jobs"]]
    assert jobs == [
        "terraform-fmt-staging",
        "terraform-plan-staging",
        "terraform-apply-staging",
        "record-applied-staging",
    ]
    drift = [next(iter(job.values()))["name"] for job in config["workflows"]["drift"]["jobs"]]
    assert drift == ["terraform-drift-dev", "terraform-drift-prod", "terraform-drift-staging"]

    # The API: the OpenAPI document offers it, a signed request for it is accepted.
    from backend.handlers.api import openapi_json

    environment_schema = json.loads(openapi_json())["components"]["schemas"]["Environment"]
    assert environment_schema["enum"] == ["dev", "prod", "staging"]
    answer = staging_pipeline.post(STAGING)
    assert answer.status == 202, answer.body
    assert answer.json["expires_on"] is not None  # dev's table: its databases expire

    # The renderer: the worker opens the pull request of terraform/envs/staging/rds_orders.tf.
    assert staging_pipeline.run_worker() == [{"batchItemFailures": []}]
    publisher = staging_pipeline.container.publisher
    assert isinstance(publisher, LocalGitPublisher)
    (pull,) = publisher.list_pull_requests()
    assert pull.file_path == "terraform/envs/staging/rds_orders.tf"
    publisher.merge_pull_request(pull.number)
    rendered = publisher.file_on_base(pull.file_path)
    assert rendered is not None
    root = terraform_copy / "envs" / "staging"
    (root / "rds_orders.tf").write_text(rendered)

    # Slack: the form offers staging, a slash command for it is accepted.
    with slack_harness(environments_file=environments_file) as harness:
        harness.driver.command("")
        [opened] = harness.slack_api.calls_to("views.open")
        assert "staging" in json.dumps(opened["view"]["blocks"])
        accepted = harness.driver.command("billing mysql staging")
        assert "accepted" in json.loads(accepted["body"])["text"]

    # terraform: the environment's root plans the database as dev's policy has it.
    changes = _plan(terraform, work_directory, root)
    instance = changes["module.rds_orders.aws_db_instance.this"]["change"]["after"]  # type: ignore[index]
    policy = policy_for("dev")
    assert instance["identifier"] == "orders-staging"
    assert (instance["instance_class"], instance["allocated_storage"]) == (
        policy.instance_class,
        policy.allocated_storage,
    )
    alias = changes["module.environment.aws_kms_alias.databases[0]"]["change"]["after"]  # type: ignore[index]
    assert alias["name"] == "alias/rds-provisioner-staging"


def test_an_unknown_environment_is_a_400_naming_the_configured_ones(
    staging_pipeline: Pipeline, environments_file: Path
) -> None:
    said = f"environment must be one of {CONFIGURED} (got 'qa')"
    posted = staging_pipeline.post({**STAGING, "environment": "qa"})
    listed = call_api("GET", "/databases", query_string="environment=qa", resource="/databases")
    resized = call_api(
        "POST",
        "/databases/qa/orders/resize",
        body={"instance_class": "db.t3.small"},
        resource="/databases/{environment}/{database_name}/resize",
        path_parameters={"environment": "qa", "database_name": "orders"},
    )
    for answer in (posted, listed, resized):
        assert answer.status == 400, answer.body
        assert answer.json["errors"] == [{"field": "environment", "message": said}]
    with slack_harness(environments_file=environments_file) as harness:
        text = json.loads(harness.driver.command("billing mysql qa")["body"])["text"]
        assert said.replace("environment", "*Environment*", 1) in text


def test_an_environment_names_its_own_approvers(tmp_path: Path) -> None:
    """A staging whose requests wait for its own approver: PROD_APPROVERS still approve prod, not it."""
    shipped = DEFAULT_ENVIRONMENTS_FILE.read_text()
    approved = '\n[environments.staging.approvals]\nrequired = true\napprovers = ["U0STAGING"]\n'
    path = tmp_path / "environments.toml"
    path.write_text(_with_staging(shipped) + approved)
    channel = "C0APPROVALS"
    with slack_harness(
        environments_file=path, prod_approvers=("U0PROD",), approvals_channel=channel
    ) as harness:
        answer = harness.driver.command("billing mysql staging")
        assert "approver" in json.loads(answer["body"])["text"]
        (record,) = harness.container.store.list_by_requester(USER)
        assert record.status is RequestStatus.AWAITING_APPROVAL
        for clicker in ("U0PROD", "U0STAGING"):
            harness.driver.block_action(
                "approve_request", user_id=clicker, value=record.request_id, channel=channel
            )
        decided = harness.container.store.get(record.request_id)
        assert decided is not None
        assert (decided.status, decided.approved_by) == (RequestStatus.ACCEPTED, "U0STAGING")
        (refused,) = harness.slack_api.calls_to("chat.postEphemeral")
        assert (refused["user"], "Only the staging approvers" in refused["text"]) == ("U0PROD", True)
        # dev's requests still wait for nobody.
        harness.driver.command("orders postgres dev")
        (dev,) = [r for r in harness.container.store.list_by_requester(USER) if r.environment == "dev"]
        assert dev.status is RequestStatus.ACCEPTED
