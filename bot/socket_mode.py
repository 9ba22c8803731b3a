"""Run the same Bolt app over Socket Mode (no public URL): ``python -m bot.socket_mode``.

Needs SLACK_APP_TOKEN (xapp-, connections:write) and SLACK_BOT_TOKEN; the signing secret is not
used because Socket Mode traffic is authenticated by the app-level token.
"""

from __future__ import annotations

from slack_bolt.adapter.socket_mode import SocketModeHandler

from backend.adapters.slack import build_web_client
from backend.settings import Settings, get_settings
from bot.app import create_app


def build_handler(settings: Settings) -> SocketModeHandler:
    if not settings.slack_app_token:
        raise SystemExit("SLACK_APP_TOKEN is not set; Socket Mode needs an app-level token (xapp-...)")
    client = build_web_client(settings.slack_bot_token, base_url=settings.slack_api_url, rate_limit_retries=0)
    app = create_app(settings, client if settings.slack_bot_token else None, socket_mode=True)
    return SocketModeHandler(app, app_token=settings.slack_app_token)


def main() -> None:
    build_handler(get_settings()).start()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
