"""The Slack app: one Bolt ``App`` for Lambda (HTTP, ``POST /slack/events``) and Socket Mode.

Cold-start budget: importing this module does no I/O, and building the app makes no Slack API
call. Bolt would normally call ``auth.test`` to learn the bot's identity; instead the identity
comes from settings (``SLACK_BOT_USER_ID``, ``SLACK_BOT_ID``, ``SLACK_TEAM_ID``) through a custom
``authorize``, and the bot token is resolved (Secrets Manager, cached) on the first request
that needs it. With ``SLACK_TEAM_ID`` (and ``SLACK_ENTERPRISE_ID``) set, any other workspace's
request is refused before that (``bot.workspace``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools import Logger
from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from backend.adapters.secrets import SecretMisconfigured
from backend.adapters.slack import build_web_client
from backend.runtime import freeze_heap, frozen_after_first_invocation
from backend.settings import Settings, get_settings
from bot.aws_lambda import LambdaRequestHandler
from bot.backend_access import BackendAccess
from bot.listeners import register_listeners
from bot.workspace import Workspace, workspace_guard

if TYPE_CHECKING:
    from backend.adapters.store import RequestStore
    from backend.services.intake import IntakeService

logger = Logger()
# A wrong configuration stops the cold start, naming the variable (no network here).
get_settings()


def create_app(
    settings: Settings,
    client: WebClient | None = None,
    *,
    intake: IntakeService | None = None,
    store: RequestStore | None = None,
    socket_mode: bool = False,
) -> App:
    """Build the Bolt app.

    ``client`` is the Web API client to talk through (tests point it at the local stand-in);
    its token, when it has one, is the bot token. ``intake`` and ``store`` default to the
    container's, resolved on first use. Over HTTP (Lambda) every listener finishes before the
    response goes back (``process_before_response``); over Socket Mode ``ack()`` answers at once.
    """
    backend = BackendAccess(settings, intake=intake, store=store)
    signing_secret = backend.signing_secret()
    if not signing_secret and not socket_mode:
        raise ValueError(
            "the Slack signing secret is not configured: set SLACK_SIGNING_SECRET or "
            "SLACK_SIGNING_SECRET_SECRET_ID"
        )
    given_token = client.token if client is not None else None
    # The app's own client carries no token: Bolt copies it per request and ``authorize``
    # supplies the token, so a token here would only make Bolt call auth.test.
    template = client or build_web_client(None, base_url=settings.slack_api_url, rate_limit_retries=0)
    app_client = WebClient(
        base_url=template.base_url,
        timeout=template.timeout,
        retry_handlers=list(template.retry_handlers or []),
        logger=template.logger,
    )

    def authorize(
        enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult | None:
        try:
            token = given_token or backend.bot_token()
        except SecretMisconfigured as error:
            logger.error(error.message)
            return None
        if not token:
            logger.error(
                "the Slack bot token is not configured (SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_SECRET_ID)"
            )
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id or settings.slack_team_id,
            bot_user_id=settings.slack_bot_user_id,
            bot_id=settings.slack_bot_id,
            bot_token=token,
            user_id=user_id,
        )

    app = App(
        name=settings.service_name,
        signing_secret=signing_secret or "",
        client=app_client,
        # Another workspace's request is refused before authorize resolves any token.
        before_authorize=workspace_guard(Workspace(settings.slack_team_id, settings.slack_enterprise_id)),
        # Returning None is Bolt's documented "not authorized"; its annotation is narrower.
        authorize=cast(Callable[..., AuthorizeResult], authorize),
        process_before_response=not socket_mode,
        # Socket Mode traffic is authenticated by the app-level token instead of a signature.
        request_verification_enabled=not socket_mode,
    )
    register_listeners(app, backend)
    return app


_handler: LambdaRequestHandler | None = None


def _lambda_handler_instance() -> LambdaRequestHandler:
    global _handler  # noqa: PLW0603 - one app per Lambda execution environment, built on first use
    if _handler is None:
        _handler = LambdaRequestHandler(create_app(get_settings()))
    return _handler


@frozen_after_first_invocation
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway proxy entry point for ``POST /slack/events``."""
    return _lambda_handler_instance().handle(event, context)


# The end of the cold start's import: what it built stays out of the collector's way.
freeze_heap()
