"""One cold-start sample, run in a FRESH interpreter: ``python -m bench._cold_child TARGET``.

Prints one JSON object: ``import_ms`` (perf_counter around importing the handler module) and
``init_ms`` (building what its first invocation builds: the app, the container's clients and
services; importing and building make no network call).
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable

from backend.settings import Settings

# Configuration a deployed function has (values are placeholders: nothing is called).
SETTINGS = Settings(
    requests_topic_arn="arn:aws:sns:us-east-1:123456789012:rds-provisioner-requests",
    gitops_backend="github",
    github_repository="acme/infra",
    github_token="ghp_placeholder",
    slack_bot_token="xoxb-placeholder",
    slack_signing_secret="placeholder-signing-secret",
    slack_bot_user_id="U0BOT",
    slack_bot_id="B0BOT",
    slack_team_id="T0TEAM",
)


def _init_api() -> None:
    from backend.container import Container

    Container(SETTINGS).intake  # noqa: B018 - building it is the point


def _init_slack() -> None:
    from backend.container import Container
    from bot.app import create_app

    container = Container(SETTINGS)
    create_app(SETTINGS, intake=container.intake, store=container.store)


def _init_worker() -> None:
    from backend.container import Container

    worker = Container(SETTINGS).provisioner
    worker.renderer  # noqa: B018 - jinja2 and the templates load on the first message


TARGETS: dict[str, tuple[str, Callable[[], None] | None]] = {
    "boto3": ("boto3", None),
    "api": ("backend.handlers.api", _init_api),
    "slack": ("bot.app", _init_slack),
    "worker": ("backend.handlers.worker", _init_worker),
}


def main(target: str) -> None:
    module, init = TARGETS[target]
    started = time.perf_counter()
    importlib.import_module(module)
    imported = time.perf_counter()
    if init is not None:
        init()
    done = time.perf_counter()
    print(json.dumps({"import_ms": (imported - started) * 1000, "init_ms": (done - imported) * 1000}))


if __name__ == "__main__":
    main(sys.argv[1])
