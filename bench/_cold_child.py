"""One cold-start sample, run in a FRESH interpreter: ``python -m bench._cold_child TARGET [EVENT]``.

Prints one JSON object: ``import_ms`` (perf_counter around importing the handler module) and
``init_ms`` (building what its first invocation builds before any request's own work, as
``INIT_BUILDS`` says per target; importing and building make no network call).

This module imports nothing of the project (nor pydantic) at its top: what the timed import
loads is measured from a bare interpreter, as Lambda's init phase starts.

``--import-only MODULE`` imports that module and nothing else (``bench.cold`` runs it as a script,
from a deployment package's directory, so the package's modules are the ones imported).

``slack-first`` is the Slack function's whole cold start as Slack waits for it: the import, then
``bot.app.lambda_handler`` handling one signed API Gateway event read from the file ``EVENT``,
with its configuration taken from the environment as in Lambda (secrets from Secrets Manager, AWS
on a moto server, Slack on the stand-in; ``bench.cold`` sets them up). Its ``init_ms`` is that
first invocation: the app, the secrets, the clients the listener needs, and the request itself.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backend.settings import Settings


def _settings() -> Settings:
    """Configuration a deployed function has (values are placeholders: nothing is called)."""
    from backend.settings import Settings

    return Settings(
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

    Container(_settings()).intake  # noqa: B018 - building it is the point


def _init_slack() -> None:
    # What ``bot.app.lambda_handler`` builds before its first listener runs: the app, whose
    # backend (the intake, the store and their AWS clients) a listener builds when it first needs
    # it. The first-request targets measure those, per kind of first request.
    from bot.app import create_app
    from bot.aws_lambda import LambdaRequestHandler

    LambdaRequestHandler(create_app(_settings()))


def _init_worker() -> None:
    from backend.container import Container

    worker = Container(_settings()).provisioner
    worker.renderer  # noqa: B018 - jinja2 and the templates load on the first message


# What Powertools' inject_lambda_context and Bolt read from Lambda's context object.
LAMBDA_CONTEXT = SimpleNamespace(
    function_name="rds-provisioner-slack",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:rds-provisioner-slack",
    aws_request_id="00000000-0000-0000-0000-000000000000",
)


def _first_request(event_path: str) -> Callable[[], None]:
    def invoke() -> None:
        from bot.app import lambda_handler

        with open(event_path, encoding="utf-8") as file:
            event = json.load(file)
        response: dict[str, Any] = lambda_handler(event, LAMBDA_CONTEXT)
        if response["statusCode"] != 200:
            raise SystemExit(f"the first request was answered {response}")

    return invoke


TARGETS: dict[str, tuple[str, Callable[[], None] | None]] = {
    "boto3": ("boto3", None),
    "api": ("backend.handlers.api", _init_api),
    "slack": ("bot.app", _init_slack),
    "worker": ("backend.handlers.worker", _init_worker),
}
# What each target's init builds (the bench's table says it beside the figure).
INIT_BUILDS = {
    "api": "the intake with its DynamoDB and SNS clients (every API request needs them); no network",
    "slack": "the Bolt app, as lambda_handler builds it (clients on a listener's first use); no network",
    "worker": "the provisioner, its clients, PyGithub, jinja2 and the templates; no network",
}
# Targets whose init is one request through the handler (the event file is the second argument).
FIRST_REQUEST_TARGETS = {"slack-first": "bot.app"}


def import_only(module: str) -> None:
    """Import ``module`` alone; print its time and the file it was imported from."""
    started = time.perf_counter()
    imported = importlib.import_module(module)
    elapsed = time.perf_counter() - started
    print(json.dumps({"import_ms": elapsed * 1000, "init_ms": 0.0, "origin": imported.__file__}))


def main(target: str, event_path: str | None = None) -> None:
    if target == "--import-only":
        import_only(event_path or "")
        return
    init: Callable[[], None] | None
    if target in FIRST_REQUEST_TARGETS:
        module, init = FIRST_REQUEST_TARGETS[target], _first_request(event_path or "")
    else:
        module, init = TARGETS[target]
    started = time.perf_counter()
    importlib.import_module(module)
    imported = time.perf_counter()
    if init is not None:
        init()
    done = time.perf_counter()
    print(json.dumps({"import_ms": (imported - started) * 1000, "init_ms": (done - imported) * 1000}))


if __name__ == "__main__":
    main(*sys.argv[1:])
