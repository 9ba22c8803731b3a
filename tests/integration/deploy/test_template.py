"""The SAM template: lint, handlers, settings wiring, queueing, API keys, IAM, checkov."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

from backend.adapters.store import DATABASES_INDEX, EXPIRY_INDEX, REQUESTER_INDEX, STATUS_INDEX
from backend.handlers.routes import ROUTES, Function
from backend.settings import REQUIRED_IN_AWS, Settings
from tests.integration.deploy.conftest import (
    FUNCTION_ROLES,
    REPO_ROOT,
    TEMPLATE_PATH,
    checkov_binary,
    environment,
    function_property,
    functions,
    load_template,
)

# Read by Powertools and pydantic themselves rather than by Settings.
READ_BY_LIBRARIES = {
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOGGER_LOG_EVENT",
    "PYDANTIC_DISABLE_PLUGINS",
}


def _translate(template: dict[str, Any], **parameters: str) -> dict[str, Any]:
    """Run the real SAM transform offline (CodeUri swapped for the S3 URI sam deploy uploads to)."""
    document = json.loads(json.dumps(template))
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/rds-provisioner.zip"
    session = boto3.Session(region_name="us-east-1")
    translator = Translator(None, Parser(), boto_session=session)
    values = {"GitHubRepository": "acme/infrastructure", **parameters}
    result: dict[str, Any] = translator.translate(document, values, get_managed_policy_map=dict)
    return result


def test_cfn_lint_passes():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", str(TEMPLATE_PATH)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_six_functions_are_declared(template):
    handlers = {name: resource["Properties"]["Handler"] for name, resource in functions(template).items()}
    assert handlers == {
        "ApiFunction": "backend.handlers.api.lambda_handler",
        "SlackFunction": "bot.app.lambda_handler",
        "WorkerFunction": "backend.handlers.worker.lambda_handler",
        "GitHubWebhookFunction": "backend.handlers.github_webhook.lambda_handler",
        "DeadLetterFunction": "backend.handlers.dead_letters.lambda_handler",
        "SweeperFunction": "backend.handlers.sweeper.lambda_handler",
    }


@pytest.mark.parametrize("function", sorted(FUNCTION_ROLES))
def test_handler_resolves_to_a_callable(function):
    handler = load_template()["Resources"][function]["Properties"]["Handler"]
    module_name, _, attribute = handler.rpartition(".")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute, None)), f"{handler} is not a callable"


@pytest.mark.parametrize(("function", "role"), sorted(FUNCTION_ROLES.items()))
def test_every_required_setting_is_set_by_the_template(template, function, role):
    variables = environment(template, function)
    missing = [name for name in REQUIRED_IN_AWS[role] if name not in variables]
    assert not missing, f"{function} lacks {missing}"
    conditional = [
        name
        for name in REQUIRED_IN_AWS[role]
        if isinstance(variables[name], Mapping) and "Fn::If" in variables[name]
    ]
    assert not conditional, f"{function} sets {conditional} only under a condition"


def test_every_template_variable_is_one_the_code_reads(template):
    known = Settings.environment_variables() | READ_BY_LIBRARIES
    for function in FUNCTION_ROLES:
        unknown = set(environment(template, function)) - known
        assert not unknown, f"{function} sets variables nothing reads: {sorted(unknown)}"


def test_worker_talks_to_github_and_function_roles_are_covered(template):
    assert set(REQUIRED_IN_AWS) == set(FUNCTION_ROLES.values())
    assert environment(template, "WorkerFunction")["GITOPS_BACKEND"] == "github"


def test_queue_visibility_is_at_least_six_worker_timeouts(template):
    queue = template["Resources"]["RequestsQueue"]["Properties"]
    worker_timeout = function_property(template, "WorkerFunction", "Timeout")
    assert worker_timeout == 60
    assert queue["VisibilityTimeout"] >= 6 * worker_timeout


def test_dead_letter_queue_after_five_receives(template):
    redrive = template["Resources"]["RequestsQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == 5
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["RequestsDeadLetterQueue", "Arn"]}


def test_topic_feeds_the_queue_raw_and_only_that_topic_may_send(template):
    resources = template["Resources"]
    subscription = resources["RequestsSubscription"]["Properties"]
    assert subscription["RawMessageDelivery"] is True
    assert subscription["Endpoint"] == {"Fn::GetAtt": ["RequestsQueue", "Arn"]}
    statements = resources["RequestsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allows = [statement for statement in statements if statement["Effect"] == "Allow"]
    assert len(allows) == 1
    assert allows[0]["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Ref": "RequestsTopic"}


def test_resources_are_encrypted_and_named_like_the_local_stack(template):
    resources = template["Resources"]
    assert resources["RequestsTopic"]["Properties"]["KmsMasterKeyId"]
    for queue in ("RequestsQueue", "RequestsDeadLetterQueue"):
        assert resources[queue]["Properties"]["SqsManagedSseEnabled"] is True
    table = resources["RequestsTable"]["Properties"]
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert [key["AttributeName"] for key in indexes[REQUESTER_INDEX]["KeySchema"]] == [
        "requested_by",
        "created_at",
    ]
    assert [key["AttributeName"] for key in indexes[DATABASES_INDEX]["KeySchema"]] == [
        "db_environment",
        "db_database_name",
    ]
    assert [key["AttributeName"] for key in indexes[STATUS_INDEX]["KeySchema"]] == ["status", "created_at"]
    assert [key["AttributeName"] for key in indexes[EXPIRY_INDEX]["KeySchema"]] == [
        "db_environment",
        "db_expires_on",
    ]
    assert set(indexes) == {REQUESTER_INDEX, DATABASES_INDEX, STATUS_INDEX, EXPIRY_INDEX}
    names = {
        "RequestsTable": ("TableName", "${NamePrefix}-requests"),
        "RequestsTopic": ("TopicName", "${NamePrefix}-requests"),
        "RequestsQueue": ("QueueName", "${NamePrefix}-requests"),
        "RequestsDeadLetterQueue": ("QueueName", "${NamePrefix}-requests-dlq"),
    }
    for resource, (key, name) in names.items():
        assert resources[resource]["Properties"][key] == {"Fn::Sub": name}
    assert template["Parameters"]["NamePrefix"]["Default"] == "rds-provisioner"


def test_worker_reports_partial_batch_failures(template):
    (event,) = template["Resources"]["WorkerFunction"]["Properties"]["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["BatchSize"] <= 10


def test_worker_concurrency_and_its_github_write_budget_are_parameters(template):
    worker = template["Resources"]["WorkerFunction"]["Properties"]
    (event,) = worker["Events"].values()
    assert event["Properties"]["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "WorkerMaxConcurrency"}
    variables = worker["Environment"]["Variables"]
    assert variables["GITHUB_WRITES_PER_MINUTE"] == {"Ref": "GitHubWritesPerMinute"}
    parameters = template["Parameters"]
    assert parameters["GitHubWritesPerMinute"]["Default"] == Settings().github_writes_per_minute
    assert parameters["WorkerMaxConcurrency"]["MinValue"] == 2  # SQS's minimum


def test_only_the_slack_and_github_endpoints_skip_the_api_key(template):
    # Neither Slack nor GitHub can send an API key; their handlers verify a request signature.
    translated = _translate(template)
    paths = translated["Resources"]["ProvisionerApi"]["Properties"]["Body"]["paths"]
    keyed = {
        (path, method): bool(operation.get("security")) and {"api_key": []} in operation["security"]
        for path, methods in paths.items()
        for method, operation in methods.items()
    }
    # Every route of the API function carries the key; the Slack and GitHub functions' do not.
    assert keyed == {(route.path, route.method.lower()): route.function is Function.API for route in ROUTES}
    assert keyed[("/slack/events", "post")] is False
    plan = translated["Resources"]["ProvisionerApiUsagePlan"]["Properties"]
    assert plan["Throttle"]
    assert plan["Quota"]["Period"] == "DAY"
    assert translated["Resources"]["ProvisionerApiApiKey"]["Type"] == "AWS::ApiGateway::ApiKey"


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    """Every policy statement of a (translated) function role."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            if "Action" in node and "Effect" in node:
                found.append(dict(node))
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(role["Properties"].get("Policies", []))
    return found


def _policy_actions(role: dict[str, Any]) -> set[str]:
    actions: set[str] = set()
    for statement in _statements(role):
        value = statement["Action"]
        actions.update([value] if isinstance(value, str) else value)
    return actions


def test_functions_get_only_what_they_use():
    translated = _translate(load_template())
    resources = translated["Resources"]
    api = _policy_actions(resources["ApiFunctionRole"])
    slack = _policy_actions(resources["SlackFunctionRole"])
    worker = _policy_actions(resources["WorkerFunctionRole"])
    assert "sns:Publish" in api
    assert "sns:Publish" in slack
    assert "sns:Publish" not in worker
    # The API reads one secret, the Slack bot token (it asks approvers of prod requests).
    (api_secret,) = [
        statement["Resource"]
        for statement in _statements(resources["ApiFunctionRole"])
        if statement["Action"] == "secretsmanager:GetSecretValue"
        or "secretsmanager:GetSecretValue" in statement["Action"]
    ]
    assert "SlackBotTokenSecretId" in json.dumps(api_secret)
    assert "secretsmanager:GetSecretValue" in slack
    assert "secretsmanager:GetSecretValue" in worker
    assert not any(action.endswith("*") for action in api | slack | worker)


@pytest.mark.parametrize("role", ["GitHubWebhookFunctionRole", "DeadLetterFunctionRole"])
def test_the_lifecycle_functions_may_only_move_statuses(role):
    resources = _translate(load_template())["Resources"]
    actions = _policy_actions(resources[role])
    assert {a for a in actions if a.startswith("dynamodb:")} == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    assert "secretsmanager:GetSecretValue" in actions
    assert not {"sns:Publish", "dynamodb:Scan", "dynamodb:PutItem"} & actions
    assert not any(action.endswith("*") for action in actions)


def test_the_sweeper_runs_daily_with_only_what_a_sweep_does(template):
    resources = _translate(load_template())["Resources"]
    statements = _statements(resources["SweeperFunctionRole"])
    actions = _policy_actions(resources["SweeperFunctionRole"])
    assert {a for a in actions if a.startswith("dynamodb:")} == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
    }
    (query,) = [s for s in statements if s["Action"] == "dynamodb:Query"]
    indexes = json.dumps(query["Resource"])
    assert "/index/expiring" in indexes
    assert "/index/by_status" in indexes
    assert "dynamodb:Scan" not in actions
    assert "sns:Publish" in actions
    assert "secretsmanager:GetSecretValue" in actions
    assert not any(action.endswith("*") for action in actions)
    (event,) = template["Resources"]["SweeperFunction"]["Properties"]["Events"].values()
    assert event["Type"] == "ScheduleV2"
    assert template["Parameters"]["SweepSchedule"]["Default"] == "cron(0 7 * * ? *)"
    assert json.loads(event["Properties"]["Input"]) == {"time": "<aws.scheduler.scheduled-time>"}
    alarm = template["Resources"]["SweeperErrorsAlarm"]["Properties"]
    assert alarm["MetricName"] == "Errors"
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "SweeperFunction"}}]


def test_the_dead_letter_function_consumes_the_dlq_and_each_queue_outlasts_its_function(template):
    resources = template["Resources"]
    (event,) = resources["DeadLetterFunction"]["Properties"]["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["RequestsDeadLetterQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    timeout = function_property(template, "DeadLetterFunction", "Timeout")
    assert resources["RequestsDeadLetterQueue"]["Properties"]["VisibilityTimeout"] >= 6 * timeout


def test_the_worker_may_requeue_only_on_its_own_queue(template):
    resources = _translate(load_template())["Resources"]
    assert {a for a in _policy_actions(resources["WorkerFunctionRole"]) if a.startswith("sqs:Send")} == {
        "sqs:SendMessage"
    }
    (statement,) = [
        statement
        for policy in template["Resources"]["WorkerFunction"]["Properties"]["Policies"]
        for statement in (policy.get("Statement", []) if isinstance(policy, Mapping) else [])
        if "sqs:SendMessage" in statement.get("Action", [])
    ]
    assert statement["Resource"] == {"Fn::GetAtt": ["RequestsQueue", "Arn"]}


def test_the_slack_function_cannot_invoke_functions():
    # The bot answers within the ack (no Bolt lazy listeners), so it needs no lambda:InvokeFunction.
    policies = _translate(load_template())["Resources"]["SlackFunctionRole"]["Properties"]["Policies"]
    assert "lambda:InvokeFunction" not in json.dumps(policies)


@pytest.mark.parametrize(
    ("variable", "parameter"),
    [
        ("SLACK_TEAM_ID", "SlackTeamId"),
        ("SLACK_ENTERPRISE_ID", "SlackEnterpriseId"),
        ("PLATFORM_ADMINS", "PlatformAdmins"),
        ("PROD_APPROVERS", "ProdApprovers"),
    ],
)
def test_the_slack_function_gets_its_workspace_and_who_sees_every_request(template, variable, parameter):
    assert environment(template, "SlackFunction")[variable] == {"Ref": parameter}
    # Optional: a deploy without them serves every workspace and shows requests to requesters only.
    assert template["Parameters"][parameter]["Default"] == ""


def test_the_slack_request_url_is_the_slack_functions_route(template):
    route = template["Resources"]["SlackFunction"]["Properties"]["Events"]["SlackEvents"]["Properties"]
    output = template["Outputs"]["SlackRequestUrl"]["Value"]["Fn::Sub"]
    assert (route["Path"], route["Method"]) == ("/slack/events", "post")
    assert output.endswith("/${StageName}" + route["Path"])


def test_the_docs_slack_setup_names_what_the_template_has(template):
    page = (REPO_ROOT / "docs" / "slack.md").read_text(encoding="utf-8")
    setup = page[page.index("## Set up the Slack app") :].split("\n## ", 1)[0]
    parameters = template["Parameters"]
    assert "OutputKey=='SlackRequestUrl'" in setup
    assert "SlackRequestUrl" in template["Outputs"]
    for secret_parameter in ("SlackBotTokenSecretId", "SlackSigningSecretSecretId"):
        assert f"--name {parameters[secret_parameter]['Default']} " in setup
    for parameter in (
        "SlackTeamId",
        "SlackEnterpriseId",
        "SlackBotUserId",
        "SlackBotId",
        "ProdAllowedSlackUsers",
        "PlatformAdmins",
        "ProdApprovers",
    ):
        assert parameter in parameters
        assert parameter in setup
    assert "rdsctl slack-manifest --request-url" in setup
    assert "rdsctl slack-manifest --socket-mode" in setup


def test_outputs_name_what_operators_need(template):
    assert {
        "ApiUrl",
        "SlackRequestUrl",
        "GitHubWebhookUrl",
        "ApiKeyId",
        "RequestsQueueUrl",
        "RequestsDeadLetterQueueUrl",
    } <= set(template["Outputs"])


@pytest.mark.slow
def test_checkov_finds_nothing_and_every_skip_has_a_reason(tmp_path):
    result = subprocess.run(
        [
            checkov_binary(),
            "--file",
            str(TEMPLATE_PATH),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--skip-download",
            "--compact",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [(check["check_id"], check["resource"]) for check in report["results"]["failed_checks"]]
    assert summary["failed"] == 0, failed
    assert summary["parsing_errors"] == 0
    assert summary["passed"] >= 15, "checkov scanned too little of the template"
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason) > 40, f"{check['check_id']} on {check['resource']} is skipped without a reason"


def test_the_templates_api_events_are_the_route_table(template):
    """The template's ``Api`` events are ``backend.handlers.routes.ROUTES``, each served by the
    function the table names (by handler): the API's routers and the local gateway are built from
    that table, so a route added to it or to the template alone fails here."""
    declared = {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"], handler.rpartition(".")[0])
        for resource in functions(template).values()
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "Api"
        for handler in [resource["Properties"]["Handler"]]
    }
    table = {(route.method, route.path, route.function.handler_module) for route in ROUTES}
    assert len(table) == len(ROUTES)
    assert declared == table


def test_an_undelivered_sweep_lands_in_a_dead_letter_queue_with_an_alarm(template):
    resources = template["Resources"]
    (event,) = resources["SweeperFunction"]["Properties"]["Events"].values()
    assert event["Properties"]["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["SweeperScheduleDeadLetterQueue", "Arn"]}
    }
    assert resources["SweeperScheduleDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    # The schedule's own role (SAM's) may send there.
    role = _translate(template)["Resources"]["SweeperFunctionDailyRole"]
    assert "sqs:SendMessage" in _policy_actions(role)
    alarm = resources["SweeperMissedAlarm"]["Properties"]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["SweeperScheduleDeadLetterQueue", "QueueName"]}}
    ]


def test_the_account_wide_api_gateway_role_is_left_alone_unless_asked(template):
    parameter = template["Parameters"]["ManageApiGatewayAccount"]
    assert parameter["Default"] == "false"
    assert "replacing" in parameter["Description"]
    resources = template["Resources"]
    assert resources["ApiGatewayAccount"]["Condition"] == "CreateApiGatewayAccount"
    assert resources["ApiGatewayCloudWatchRole"]["Condition"] == "CreateApiGatewayAccount"
    assert template["Conditions"]["CreateApiGatewayAccount"] == {
        "Fn::Equals": [{"Ref": "ManageApiGatewayAccount"}, "true"]
    }


def test_cfn_lint_finds_no_error_after_the_transform(tmp_path):
    # Warnings are the transform's own (it inlines the usage plan's parameters, adds DependsOn).
    translated = tmp_path / "translated.json"
    translated.write_text(json.dumps(_translate(load_template())), encoding="utf-8")
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", str(translated)], capture_output=True, text=True, check=False
    )
    errors = [line for line in result.stdout.splitlines() if ":E" in line]
    assert errors == [], result.stdout


@pytest.mark.slow
def test_checkov_finds_nothing_after_the_transform_but_what_the_source_skips_with_a_reason(tmp_path):
    """What SAM generates (roles, stage, permissions) is judged too; a finding on a generated
    resource is accepted only where its source resource skips that check with a reason."""
    source = load_template()
    skipped = {
        (name, skip["id"])
        for name, resource in source["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }
    translated = tmp_path / "translated.json"
    translated.write_text(json.dumps(_translate(source)), encoding="utf-8")
    result = subprocess.run(
        [
            *(checkov_binary(), "--file", str(translated), "--framework", "cloudformation"),
            *("--output", "json", "--skip-download", "--compact"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    report = json.loads(result.stdout)
    unexplained = []
    for check in report["results"]["failed_checks"]:
        logical_id = check["resource"].rpartition(".")[2]
        owners = [name for name in source["Resources"] if logical_id.startswith(name)]
        if not any((owner, check["check_id"]) in skipped for owner in owners):
            unexplained.append((check["check_id"], check["resource"]))
    assert unexplained == []
    assert report["summary"]["passed"] >= 50, "checkov scanned too little of the translated template"
