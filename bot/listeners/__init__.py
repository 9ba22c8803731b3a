"""Slack listeners; each module registers its own on the app (Bolt's starter-template layout)."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import commands, home, views
from bot.services import BotServices


def register_listeners(app: App, services: BotServices) -> None:
    commands.register(app, services)
    views.register(app, services)
    home.register(app, services)
