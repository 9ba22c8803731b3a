"""The deployed stack inside moto: its resources under the template's names, and a role per principal.

``Deployment`` creates what ``sam deploy`` and the bootstrap stack create that the code talks to
(table, topic, queues, secrets), then one IAM role per Lambda function holding exactly the policies
the translated SAM template gives it, and the CI roles of ``bootstrap/ci-roles.yaml``. ``acting_as``
runs code as one of them: the role's temporary credentials in the environment (as Lambda and
CircleCI's OIDC hand them over), the function's settings read from the environment variables the
template gives it, and moto's IAM enforcement on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto.core.authorization import enable_iam_authentication

from backend.container import Container, set_container
from backend.settings import Settings, set_settings
from local.resources import AwsResources, ensure_resources
from tests.integration.iam.enforcement import Enforcer
from tests.integration.iam.policy import (
    ACCOUNT,
    PARTITION,
    REGION,
    PolicySet,
    Stack,
    bootstrap_template,
    ci_role_policies,
    function_policies,
    parameter_defaults,
    translated_sam_template,
)

NAME_PREFIX = "rds-provisioner"
SLACK_BOT_TOKEN = "xoxb-iam-test-token"
SLACK_SIGNING_SECRET = "iam-test-signing-secret"
WEBHOOK_SECRET = "iam-test-webhook-secret"
APPROVER = "U0APPROVER"
APPROVALS_CHANNEL = "C0APPROVALS"
ADMIN = "U0ADMIN"

# The SAM template's parameters for this deployment (everything else keeps its default).
SAM_PARAMETERS = {
    "NamePrefix": NAME_PREFIX,
    "GitHubRepository": "acme/infra",
    "ProdApprovers": APPROVER,
    "ApprovalsChannel": APPROVALS_CHANNEL,
    "PlatformAdmins": ADMIN,
    "SlackTeamId": "T0TEAM",
    "SlackBotUserId": "U0BOT",
    "SlackBotId": "B0BOT",
}
BOOTSTRAP_PARAMETERS = {
    "NamePrefix": NAME_PREFIX,
    "CircleCIOrganizationId": "c0ffee00-1111-4222-8333-444455556666",
    "CircleCIProjectId": "5eed0000-aaaa-4bbb-8ccc-ddddeeeeffff",
    "VcsOrigin": "github.com/acme/infra",
}

FUNCTIONS = (
    "ApiFunction",
    "SlackFunction",
    "WorkerFunction",
    "GitHubWebhookFunction",
    "DeadLetterFunction",
    "SweeperFunction",
)
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@dataclass
class Deployment:
    resources: AwsResources
    sam: Stack
    bootstrap: Stack
    enforcer: Enforcer
    secrets: dict[str, str]
    _credentials: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def create(cls, enforcer: Enforcer, *, ci_roles: tuple[str, ...]) -> Deployment:
        """Inside ``mock_aws``: the stack's resources, and one role per function and per CI role."""
        resources = ensure_resources(region=REGION, endpoint_url=None, prefix=NAME_PREFIX)
        secrets_client = boto3.client("secretsmanager", region_name=REGION)
        defaults = {
            "SlackBotTokenSecretId": SLACK_BOT_TOKEN,
            "SlackSigningSecretSecretId": SLACK_SIGNING_SECRET,
            "GitHubTokenSecretId": "ghp_stub_token",
            "GitHubWebhookSecretId": WEBHOOK_SECRET,
        }
        sam_template = translated_sam_template(**SAM_PARAMETERS)
        parameters = parameter_defaults(sam_template, **SAM_PARAMETERS)
        secrets = {
            parameters[parameter]: secrets_client.create_secret(
                Name=parameters[parameter], SecretString=value
            )["ARN"]
            for parameter, value in defaults.items()
        }
        queue_name, dlq_name = (url.rsplit("/", 1)[-1] for url in (resources.queue_url, resources.dlq_url))
        sam = Stack(
            sam_template,
            parameters,
            refs={
                "RequestsTable": resources.table_name,
                "RequestsTopic": resources.topic_arn,
                "RequestsQueue": resources.queue_url,
                "RequestsDeadLetterQueue": resources.dlq_url,
            },
            attributes={
                (
                    "RequestsTable",
                    "Arn",
                ): f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{resources.table_name}",
                ("RequestsTopic", "TopicName"): resources.topic_arn.rsplit(":", 1)[-1],
                ("RequestsQueue", "Arn"): resources.queue_arn,
                ("RequestsQueue", "QueueName"): queue_name,
                ("RequestsDeadLetterQueue", "Arn"): resources.dlq_arn,
                ("RequestsDeadLetterQueue", "QueueName"): dlq_name,
            },
        )
        bootstrap_source = bootstrap_template()
        bootstrap = Stack(
            bootstrap_source,
            parameter_defaults(
                bootstrap_source, **BOOTSTRAP_PARAMETERS, RequestsTopicArn=resources.topic_arn
            ),
            refs={"StateBucket": f"{NAME_PREFIX}-tfstate-{ACCOUNT}-{REGION}"},
            attributes={
                ("StateBucket", "Arn"): f"arn:{PARTITION}:s3:::{NAME_PREFIX}-tfstate-{ACCOUNT}-{REGION}"
            },
        )
        deployment = cls(resources, sam, bootstrap, enforcer, secrets)
        for function in FUNCTIONS:
            deployment._create_role(f"{function}Role", function_policies(sam, function))
        for role in ci_roles:
            deployment._create_role(role, ci_role_policies(bootstrap, role))
        return deployment

    def _create_role(self, name: str, policies: PolicySet) -> None:
        iam = boto3.client("iam", region_name=REGION)
        boundary: dict[str, str] = {}
        if policies.boundary is not None:
            arn = iam.create_policy(
                PolicyName=f"{name}-boundary", PolicyDocument=json.dumps(policies.boundary)
            )["Policy"]["Arn"]
            boundary = {"PermissionsBoundary": arn}
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST), **boundary)
        for policy_name, document in policies.documents.items():
            # SAM's policy templates carry no Version (IAM reads that as 2008-10-17); moto wants one.
            versioned = {"Version": "2012-10-17", **document}
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(versioned))
        self.enforcer.held[name] = policies

    def credentials(self, role: str) -> dict[str, str]:
        if role not in self._credentials:
            sts = boto3.client("sts", region_name=REGION)
            answer = sts.assume_role(
                RoleArn=f"arn:{PARTITION}:iam::{ACCOUNT}:role/{role}", RoleSessionName="iam-test"
            )
            self._credentials[role] = answer["Credentials"]
        return self._credentials[role]

    def function_environment(self, function: str) -> dict[str, str]:
        """The environment variables the deployed function gets (Globals merged by the transform)."""
        properties = self.sam.template["Resources"][function]["Properties"]
        variables: Mapping[str, Any] = self.sam.resolve(
            properties.get("Environment", {}).get("Variables", {})
        )
        return {name: str(value) for name, value in variables.items()}

    @contextmanager
    def acting_as(self, role: str, environment: Mapping[str, str], **overrides: Any) -> Iterator[Container]:
        """Run as ``role`` with settings from ``environment``; every AWS call is checked by IAM."""
        credentials = self.credentials(role)
        given = {
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
        }
        # Lambda's environment holds the session token too (the secrets extension wants it).
        variables = {"AWS_REGION": REGION, "AWS_SESSION_TOKEN": credentials["SessionToken"], **environment}
        settings = Settings.from_env(variables).with_overrides(**overrides)
        container = Container(settings)
        with pytest.MonkeyPatch.context() as patch:
            for name, value in given.items():
                patch.setenv(name, value)
            # botocore prefers this older name to AWS_SESSION_TOKEN; Lambda sets only the latter.
            patch.delenv("AWS_SECURITY_TOKEN", raising=False)
            set_settings(settings)
            set_container(container)
            try:
                with enable_iam_authentication():
                    yield container
            finally:
                set_container(None)
                set_settings(None)
