"""The Slack function's cold start and its API Gateway conversion (``bot.aws_lambda``).

What the Lambda imports before its first request is checked in a fresh interpreter; how long it
takes is the benchmark's business (``make bench``), never a test's.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from local.lambda_events import LambdaContext, apigw_proxy_event
from tests.integration.slack.driver import SlackHarness

REPO_ROOT = Path(__file__).resolve().parents[3]


def fresh_interpreter(code: str) -> Any:
    """What ``code`` prints last, as JSON, run in a new Python process (nothing imported yet)."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_the_slack_function_imports_no_boto3_and_builds_no_model_before_its_first_request():
    seen = fresh_interpreter(
        """
        import json, sys
        import bot.app
        from backend.domain import DatabaseRecord, ProvisionRequest, RequestRecord
        print(json.dumps({
            "imported": sorted(m for m in ("boto3", "slack_bolt.adapter.aws_lambda") if m in sys.modules),
            "built": [m.__name__ for m in (ProvisionRequest, RequestRecord, DatabaseRecord)
                      if m.__pydantic_complete__],
        }))
        """
    )

    assert seen == {"imported": [], "built": []}


FUNCTION_MODULES = [
    "bot.app",
    "backend.handlers.api",
    "backend.handlers.worker",
    "backend.handlers.github_webhook",
    "backend.handlers.dead_letters",
    "backend.handlers.sweeper",
]


# The API declares its routes with OpenAPI examples, priced from the environments file and made with
# its answer model: what its first request (a create) builds anyway.
API_EXAMPLES = ["backend.adapters.environments.EnvironmentsFile", "backend.handlers.openapi.AcceptedResponse"]


@pytest.mark.parametrize("module", FUNCTION_MODULES)
def test_each_function_builds_no_model_but_its_settings_at_import(module: str):
    # A model's validator is built when it first validates (defer_build), so a cold start pays only
    # for the models its first request uses; the settings are validated at import, to fail fast.
    built = fresh_interpreter(
        f"""
        import json
        from pydantic import BaseModel
        import {module}

        def models(cls):
            for sub in cls.__subclasses__():
                yield sub
                yield from models(sub)

        print(json.dumps(sorted(
            f"{{model.__module__}}.{{model.__qualname__}}" for model in set(models(BaseModel))
            if model.__module__.split(".")[0] in ("backend", "bot") and model.__pydantic_complete__
        )))
        """
    )

    examples = API_EXAMPLES if module == "backend.handlers.api" else []
    assert built == sorted(["backend.settings.Settings", *examples])


@pytest.mark.parametrize("module", FUNCTION_MODULES)
def test_each_function_freezes_its_heap_once_its_module_is_imported(module: str):
    frozen = fresh_interpreter(
        f"""
        import gc, json
        before = gc.get_freeze_count()
        import {module}
        print(json.dumps([before, gc.get_freeze_count()]))
        """
    )

    assert frozen[0] == 0
    assert frozen[1] > 0


def test_the_first_invocation_freezes_what_it_built_and_later_ones_do_not():
    counts = fresh_interpreter(
        """
        import gc, json
        from backend.handlers import api
        from local.lambda_events import LambdaContext, apigw_proxy_event
        counts = [gc.get_freeze_count()]
        for _ in range(2):
            answer = api.lambda_handler(apigw_proxy_event("GET", "/openapi.json"), LambdaContext("api"))
            assert answer["statusCode"] == 200, answer
            counts.append(gc.get_freeze_count())
        print(json.dumps(counts))
        """
    )

    imported, first, second = counts
    assert first > imported
    assert second <= first  # frozen objects may still be freed; nothing new was frozen


def test_a_base64_encoded_body_is_decoded_like_api_gateway_sends_it(harness: SlackHarness):
    event = json.loads(json.dumps(harness_event(harness, "help")))
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True

    answer = harness.handler.handle(event, LambdaContext(function_name="rds-provisioner-slack"))

    assert answer["statusCode"] == 200
    assert "/provision-rds" in answer["body"]


def test_anything_but_a_post_is_a_404(harness: SlackHarness):
    answer = harness.handler.handle(
        apigw_proxy_event("GET", "/slack/events"), LambdaContext(function_name="rds-provisioner-slack")
    )

    assert answer == {"statusCode": 404, "body": "Not Found", "headers": {}}
    assert harness.slack_api.calls == []


def harness_event(harness: SlackHarness, text: str) -> dict[str, Any]:
    """The signed event the driver would send for ``/provision-rds <text>``."""
    captured: list[dict[str, Any]] = []

    def capture(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        captured.append(event)
        return {"statusCode": 200}

    type(harness.driver)(handle=capture).command(text)
    return captured[0]
