"""The Slack function's secrets through the AWS Parameters and Secrets Lambda Extension.

The extension is a stand-in at the edge (``tests.support.secrets_extension``) answering from
Secrets Manager in moto; the app, the container and the secrets adapter are the real ones.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from moto import mock_aws

from backend.adapters.secrets import SecretMisconfigured, SecretsExtension, resolve_secret
from bot.app import create_app
from bot.aws_lambda import LambdaRequestHandler
from local.resources import ensure_resources
from local.slack_api import SlackApiStandIn
from tests.integration.slack.driver import (
    APP_ID,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    TEAM_ID,
    SlackDriver,
    bot_settings,
)
from tests.support.secrets_extension import SecretsExtensionStandIn

REGION = "us-east-1"
SESSION_TOKEN = "the-function-session-token"


@contextmanager
def extension_with_secrets() -> Iterator[tuple[SecretsExtensionStandIn, dict[str, str]]]:
    """Moto's Secrets Manager holding the Slack secrets, and the extension in front of it."""
    with (
        mock_aws(),
        SecretsExtensionStandIn(session_token=lambda: SESSION_TOKEN, region=REGION) as extension,
    ):
        secrets = boto3.client("secretsmanager", region_name=REGION)
        ids = {
            # The console's key/value shape for one, plain text for the other: both are read.
            "signing": secrets.create_secret(
                Name="rds-provisioner/slack-signing-secret",
                SecretString=json.dumps({"value": SIGNING_SECRET}),
            )["ARN"],
            "bot": secrets.create_secret(Name="rds-provisioner/slack-bot-token", SecretString=BOT_TOKEN)[
                "ARN"
            ],
        }
        yield extension, ids


def test_the_slack_app_verifies_signed_requests_with_secrets_read_through_the_extension() -> None:
    stand_in = SlackApiStandIn(team_id=TEAM_ID, bot_user_id=BOT_USER_ID, bot_id=BOT_ID, app_id=APP_ID)
    with extension_with_secrets() as (extension, ids), stand_in as slack_api:
        settings = bot_settings(
            ensure_resources(region=REGION, endpoint_url=None),
            slack_api.base_url,
            slack_signing_secret=None,
            slack_bot_token=None,
            slack_signing_secret_secret_id=ids["signing"],
            slack_bot_token_secret_id=ids["bot"],
            secrets_extension_port=extension.port,
            aws_session_token=SESSION_TOKEN,
        )
        handler = LambdaRequestHandler(create_app(settings))

        forged = SlackDriver(handler.handle, secret="not-the-signing-secret").command("")
        answer = SlackDriver(handler.handle).command("")

        assert forged["statusCode"] == 401
        assert answer["statusCode"] == 200, answer
        # The form opened: authorize had the bot token, read through the extension too.
        [opened] = slack_api.calls_to("views.open")
        assert opened["view"]["type"] == "modal"
        assert sorted(extension.requests) == sorted(ids.values())


def test_what_the_extension_refuses_is_a_configuration_error_naming_the_secret() -> None:
    with extension_with_secrets() as (extension, ids):
        wrong_token = SecretsExtension(extension.port, "another-token")
        with pytest.raises(SecretMisconfigured) as refused:
            wrong_token.secret_text(ids["bot"])
        assert ids["bot"] in refused.value.message
        assert "HTTP 401" in refused.value.message

        missing = "rds-provisioner/no-such-secret"
        with pytest.raises(SecretMisconfigured) as unknown:
            SecretsExtension(extension.port, SESSION_TOKEN).secret_text(missing)
        assert missing in unknown.value.message
        assert "HTTP 400" in unknown.value.message
        assert "ResourceNotFoundException" in unknown.value.message

        # A secret stored in a shape the product cannot read is refused as on the boto3 path.
        boto3.client("secretsmanager", region_name=REGION).put_secret_value(
            SecretId=ids["bot"], SecretString=json.dumps({"a": "1", "b": "2"})
        )
        with pytest.raises(SecretMisconfigured) as shape:
            resolve_secret(None, ids["bot"], source=SecretsExtension(extension.port, SESSION_TOKEN))
        assert "keys [a, b]" in shape.value.message


def test_an_extension_that_does_not_answer_is_a_configuration_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    absent = SecretsExtension(port, SESSION_TOKEN, ready_within=0.2)
    with pytest.raises(SecretMisconfigured) as refused:
        absent.secret_text("rds-provisioner/slack-bot-token")
    assert "rds-provisioner/slack-bot-token" in refused.value.message
    assert "SECRETS_EXTENSION_PORT" in refused.value.message


# Run in a fresh interpreter: the cold first request, then the AWS SDK modules it loaded.
FIRST_REQUEST = """
import json, sys
from bench._cold_child import main
main("slack-first", sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore", "s3transfer"))))
"""


def test_the_cold_first_request_that_opens_the_form_imports_no_boto3_through_the_extension() -> None:
    from bench.cold import REPO_ROOT, first_requests

    loaded: dict[bool, list[str]] = {}
    with first_requests() as first:
        for extension in (False, True):
            event = first.event("opens the form")
            completed = subprocess.run(
                [sys.executable, "-c", FIRST_REQUEST, str(event)],
                cwd=REPO_ROOT,
                env=dict(first.extension_env if extension else first.env),
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            )
            loaded[extension] = json.loads(completed.stdout.strip().splitlines()[-1])

    # Powertools' user-agent probe imports the bare botocore package (its __init__), nothing more.
    assert set(loaded[True]) <= {"botocore"}, loaded[True]
    # The same request reading its secrets with boto3 loads the SDK: the comparison can fail.
    assert "boto3" in loaded[False]
    assert "botocore.client" in loaded[False]
