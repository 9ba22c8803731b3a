"""Slack listeners, one module per kind (Bolt's starter-template layout): top-level callbacks, each
module's ``register`` wires its own. They reach the backend through Bolt's ``context``."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App, BoltContext

from bot.backend_access import CONTEXT_KEY, BackendAccess
from bot.listeners import block_actions, commands, events, views


def register_listeners(app: App, backend: BackendAccess) -> None:
    def provide_services(context: BoltContext, next: Callable[[], None]) -> None:
        context[CONTEXT_KEY] = backend
        next()

    app.middleware(provide_services)
    commands.register(app)
    views.register(app)
    events.register(app)
    block_actions.register(app)
