"""Per-client API keys: each automation client's key maps to a name and, optionally, an owner.

API Gateway checks the key and tells the function its id (``requestContext.identity.apiKeyId``);
API_CLIENTS says whose it is. A request made with an owner's key is the owner's: they see it as
theirs, and cannot approve it when it waits for a prod approver.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.container import set_container
from backend.domain import NotAllowed
from backend.handlers import api
from backend.settings import Settings, SettingsError
from local.lambda_events import LambdaContext, apigw_proxy_event
from local.resources import AwsResources
from local.slack_api import SlackApiStandIn
from tests.support import aws as support
from tests.support.aws import Pipeline, RecordingNotifier, make_container

aws_resources = support.aws_resources

OWNER = "U0OWNER"
APPROVER = "U0APPROVER"
SECOND_APPROVER = "U0SECOND"


@pytest.fixture
def pipeline(aws_resources: AwsResources, tmp_path: Path) -> Iterator[Pipeline]:
    notifier = RecordingNotifier()
    with SlackApiStandIn(team_id="T0TEAM", bot_user_id="U0BOT", bot_id="B0BOT", app_id="A0APP") as slack:
        yield from _installed(aws_resources, tmp_path, notifier, slack.base_url)


def _installed(
    aws_resources: AwsResources, tmp_path: Path, notifier: RecordingNotifier, slack_api_url: str
) -> Iterator[Pipeline]:
    container = make_container(
        aws_resources,
        notifier=notifier,
        gitops_path=tmp_path / "gitops",
        api_key=None,  # in AWS, API Gateway checks the keys
        api_clients=("k1backstage=backstage:" + OWNER, "k2nightly=nightly-job"),
        prod_approvers=(APPROVER, SECOND_APPROVER, OWNER),
        approvals_channel="C0APPROVALS",
        slack_bot_token="xoxb-test-token",
        slack_api_url=slack_api_url,
    )
    set_container(container)
    try:
        yield Pipeline(aws_resources, container, notifier)
    finally:
        set_container(None)


def request_with_key(key_id: str | None, name: str, environment: str = "prod") -> dict[str, Any]:
    body = json.dumps({"database_name": name, "database_engine": "postgres", "environment": environment})
    event = apigw_proxy_event(
        "POST",
        "/provision-rds",
        headers={"Content-Type": "application/json", "X-Api-Key": "secret"},
        body=body,
    )
    if key_id is not None:
        event["requestContext"]["identity"]["apiKeyId"] = key_id
    answer = api.lambda_handler(event, LambdaContext(function_name="api"))
    assert answer["statusCode"] == 202, answer
    view: dict[str, Any] = json.loads(answer["body"])
    return view


def test_a_request_made_with_an_owners_key_is_the_owners_and_they_cannot_approve_it(pipeline: Pipeline):
    request_id = request_with_key("k1backstage", "orders")["request_id"]

    record = pipeline.container.store.get(request_id)
    assert record is not None
    assert record.requested_by == OWNER
    assert record.status.value == "awaiting_approval"
    with pytest.raises(NotAllowed):
        pipeline.container.approvals.approve(request_id, OWNER)
    assert pipeline.container.approvals.approve(request_id, APPROVER).status.value == "accepted"


def test_a_key_without_an_owner_still_works_and_any_approver_decides(pipeline: Pipeline):
    request_id = request_with_key("k2nightly", "ledger")["request_id"]

    record = pipeline.container.store.get(request_id)
    assert record is not None
    assert record.requested_by == "api:nightly-job"
    assert record.status.value == "awaiting_approval"
    assert pipeline.container.approvals.approve(request_id, OWNER).status.value == "accepted"


def test_a_key_no_client_names_is_recorded_by_its_id(pipeline: Pipeline):
    request_id = request_with_key("k3unknown", "billing", environment="dev")["request_id"]

    record = pipeline.container.store.get(request_id)
    assert record is not None
    assert record.requested_by == "k3unknown"


@pytest.mark.parametrize("entry", ["k1", "k1=", "k1=Backstage", "k1=backstage:owner", "k 1=backstage"])
def test_a_malformed_client_entry_stops_the_cold_start_naming_the_variable(entry: str):
    with pytest.raises(SettingsError, match="API_CLIENTS"):
        Settings.from_env({"API_CLIENTS": entry})


def test_the_template_passes_the_clients_to_the_api_function():
    from tests.integration.deploy.conftest import environment, load_template

    template = load_template()
    assert environment(template, "ApiFunction")["API_CLIENTS"] == {"Ref": "ApiClients"}
    assert template["Parameters"]["ApiClients"]["Default"] == ""
