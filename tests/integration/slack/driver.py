"""Builds signed Slack requests as API Gateway proxy events and feeds them to the Bolt handler.

Shared by the Slack integration tests and the ack-path timing script, so both exercise exactly
what Lambda runs: ``bot.aws_lambda.LambdaRequestHandler.handle(event, context)``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from moto import mock_aws
from slack_sdk.signature import SignatureVerifier

from backend.adapters.slack import build_web_client
from backend.container import Container
from backend.settings import Settings
from bot.app import create_app
from bot.aws_lambda import LambdaRequestHandler
from local.lambda_events import LambdaContext, apigw_proxy_event
from local.resources import AwsResources, ensure_resources
from local.slack_api import SlackApiStandIn
from tests.support.slack_web_api import assert_app_calls_conform

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
TEAM_ID = "T0TEAM"
APP_ID = "A0APP"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
USER = "U0REQUESTER"
ADMIN = "U0ADMIN"

Handle = Callable[[dict[str, Any], Any], dict[str, Any]]


def bot_settings(resources: AwsResources, slack_api_url: str, **overrides: Any) -> Settings:
    base = Settings(
        slack_signing_secret=SIGNING_SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=slack_api_url,
        slack_bot_user_id=BOT_USER_ID,
        slack_bot_id=BOT_ID,
        slack_team_id=TEAM_ID,
        prod_allowed_slack_users=(ADMIN,),
    )
    return resources.configure(base).with_overrides(**overrides)


@dataclass
class SlackDriver:
    """Sends Slack's three request kinds (commands, interactivity, events) through ``handle``.

    ``team_id`` and ``enterprise_id`` say which workspace (and Enterprise Grid org) the requests
    come from, in the fields Slack puts them in for each kind.
    """

    handle: Handle
    secret: str = SIGNING_SECRET
    team_id: str = TEAM_ID
    enterprise_id: str | None = None
    # The acting user's own workspace in interactions (``user.team_id``), when not ``team_id``.
    user_team_id: str | None = None

    def _team(self) -> dict[str, Any]:
        team: dict[str, Any] = {"id": self.team_id, "domain": "example"}
        if self.enterprise_id:
            team |= {"enterprise_id": self.enterprise_id, "enterprise_name": "Example Org"}
        return team

    def _enterprise(self) -> dict[str, Any] | None:
        return {"id": self.enterprise_id, "name": "Example Org"} if self.enterprise_id else None

    def post(
        self,
        body: str,
        *,
        content_type: str,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> dict[str, Any]:
        sent_at = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(sent_at),
            "X-Slack-Signature": signature
            or str(SignatureVerifier(self.secret).generate_signature(timestamp=str(sent_at), body=body)),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        event = apigw_proxy_event("POST", "/slack/events", headers=headers, body=body)
        return self.handle(event, LambdaContext(function_name="rds-provisioner-slack"))

    def command_body(self, text: str, *, user_id: str = USER) -> str:
        grid = {"enterprise_id": self.enterprise_id, "enterprise_name": "Example Org"}
        return urlencode(
            {
                **(grid if self.enterprise_id else {}),
                "token": "legacy-verification-token",
                "team_id": self.team_id,
                "team_domain": "example",
                "channel_id": "C0GENERAL",
                "channel_name": "general",
                "user_id": user_id,
                "user_name": "requester",
                "command": "/provision-rds",
                "text": text,
                "api_app_id": APP_ID,
                "is_enterprise_install": "false",
                "response_url": "https://hooks.slack.invalid/commands/T0TEAM/1/abc",
                "trigger_id": f"1.{uuid.uuid4().hex}",
            }
        )

    def command(self, text: str, *, user_id: str = USER, **kwargs: Any) -> dict[str, Any]:
        return self.post(
            self.command_body(text, user_id=user_id),
            content_type="application/x-www-form-urlencoded",
            **kwargs,
        )

    def interaction(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, content_type="application/x-www-form-urlencoded")

    def _interaction_by(self, user_id: str, **payload: Any) -> dict[str, Any]:
        """An interaction of ``user_id`` in the envelope Slack gives every kind; ``payload`` adds the rest."""
        return self.interaction(
            {
                "team": self._team(),
                "enterprise": self._enterprise(),
                "is_enterprise_install": False,
                "user": {
                    "id": user_id,
                    "username": "requester",
                    "team_id": self.user_team_id or self.team_id,
                },
                "api_app_id": APP_ID,
                "token": "legacy-verification-token",
                "trigger_id": f"2.{uuid.uuid4().hex}",
                **payload,
            }
        )

    def view_submission(
        self,
        values: Mapping[str, Mapping[str, Mapping[str, Any]]],
        *,
        user_id: str = USER,
        callback_id: str = "provision_rds",
        private_metadata: str = "",
        blocks: Sequence[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        return self._interaction_by(
            user_id,
            type="view_submission",
            view={
                "id": "V0MODAL",
                "team_id": self.team_id,
                "app_installed_team_id": self.team_id,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                # Slack sends the submitted view's blocks back with its state.
                "blocks": list(blocks),
                "state": {"values": values},
                "hash": "1.abc",
                "app_id": APP_ID,
                "bot_id": BOT_ID,
            },
            response_urls=[],
        )

    def block_action(
        self,
        action_id: str,
        *,
        user_id: str = USER,
        value: str | None = None,
        channel: str | None = None,
        message_ts: str = "1764000000.000200",
    ) -> dict[str, Any]:
        """A button press: on App Home, or on a message of ``channel`` when given."""
        where: dict[str, Any] = (
            {
                "container": {"type": "view", "view_id": "V0HOME"},
                "view": {
                    "id": "V0HOME",
                    "type": "home",
                    "team_id": self.team_id,
                    "app_installed_team_id": self.team_id,
                    "app_id": APP_ID,
                    "bot_id": BOT_ID,
                },
            }
            if channel is None
            else {
                "container": {"type": "message", "channel_id": channel, "message_ts": message_ts},
                "channel": {"id": channel, "name": "approvals"},
                "message": {"type": "message", "ts": message_ts, "text": "Approval needed", "bot_id": BOT_ID},
            }
        )
        return self._interaction_by(
            user_id,
            type="block_actions",
            **where,
            actions=[
                {
                    "action_id": action_id,
                    "block_id": "home_actions",
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Request a database"},
                    "action_ts": f"{time.time():.6f}",
                    **({"value": value} if value is not None else {}),
                }
            ],
        )

    def event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        body = json.dumps(
            {
                "token": "legacy-verification-token",
                "team_id": self.team_id,
                "enterprise_id": self.enterprise_id,
                "api_app_id": APP_ID,
                "event": dict(event),
                "type": "event_callback",
                "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
                "event_time": int(time.time()),
                "authorizations": [
                    {
                        "enterprise_id": self.enterprise_id,
                        "team_id": self.team_id,
                        "user_id": BOT_USER_ID,
                        "is_bot": True,
                        "is_enterprise_install": False,
                    }
                ],
            }
        )
        return self.post(body, content_type="application/json")


SELECT_BLOCKS = {"database_engine", "environment", "instance_class", "allocated_storage", "max_capacity"}


def modal_state(**values: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    """``view.state.values`` as Slack sends it for the app's modals (selects and text inputs)."""
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for block_id, value in values.items():
        if block_id in SELECT_BLOCKS:
            option = (
                None if value is None else {"text": {"type": "plain_text", "text": value}, "value": value}
            )
            result[block_id] = {"value": {"type": "static_select", "selected_option": option}}
        else:
            result[block_id] = {"value": {"type": "plain_text_input", "value": value}}
    return result


@dataclass
class SlackHarness:
    resources: AwsResources
    slack_api: SlackApiStandIn
    settings: Settings
    container: Container
    handler: LambdaRequestHandler
    driver: SlackDriver


@contextmanager
def slack_harness(*, aws_endpoint_url: str | None = None, **setting_overrides: Any) -> Iterator[SlackHarness]:
    """Moto-backed AWS resources, the Slack API stand-in, and the app behind the Lambda adapter.

    AWS is moto in this process (``mock_aws``), or the moto server at ``aws_endpoint_url``.
    """
    # The stand-in is the workspace the app is configured for, as in the local stack.
    stand_in = SlackApiStandIn(team_id=TEAM_ID, bot_user_id=BOT_USER_ID, bot_id=BOT_ID, app_id=APP_ID)
    with nullcontext() if aws_endpoint_url else mock_aws(), stand_in as slack_api:
        resources = ensure_resources(region="us-east-1", endpoint_url=aws_endpoint_url)
        settings = bot_settings(
            resources, slack_api.base_url, aws_endpoint_url=aws_endpoint_url, **setting_overrides
        )
        container = Container(settings)
        client = build_web_client(BOT_TOKEN, base_url=slack_api.base_url, rate_limit_retries=0)
        app = create_app(settings, client, intake=container.intake, store=container.store)
        handler = LambdaRequestHandler(app)
        yield SlackHarness(resources, slack_api, settings, container, handler, SlackDriver(handler.handle))
        # Only the app talked to this stand-in: every call it made is one the scope test knows
        # about, and every message it posted has its text fallback.
        assert_app_calls_conform([*slack_api.calls, *slack_api.rejected])
