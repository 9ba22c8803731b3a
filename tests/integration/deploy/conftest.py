"""Shared fixtures: the SAM template parsed as CloudFormation (short-form tags understood)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = REPO_ROOT / "sam" / "template.yaml"

# Template function -> the REQUIRED_IN_AWS key of backend.settings.
FUNCTION_ROLES = {
    "ApiFunction": "api",
    "SlackFunction": "slack",
    "WorkerFunction": "worker",
    "GitHubWebhookFunction": "github_webhook",
    "DeadLetterFunction": "dead_letters",
    "SweeperFunction": "sweeper",
}


def load_template() -> dict[str, Any]:
    template: dict[str, Any] = cfn_yaml.load(str(TEMPLATE_PATH))
    return template


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def function_property(template: dict[str, Any], function: str, key: str) -> Any:
    """A function's property, falling back to Globals.Function as SAM does."""
    properties = template["Resources"][function]["Properties"]
    if key in properties:
        return properties[key]
    return template.get("Globals", {}).get("Function", {}).get(key)


def environment(template: dict[str, Any], function: str) -> dict[str, Any]:
    """Environment variables a function gets: Globals merged under the function's own."""
    global_vars = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
    return {**global_vars, **own}


def checkov_binary() -> str:
    """The checkov `make tools` installs (.tools/checkov), else one on PATH; fails the test without."""
    bundled = REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"
    if bundled.exists():
        return str(bundled)
    found = shutil.which("checkov")
    if found is None:
        pytest.fail("checkov not found: run `make tools` (creates .tools/checkov)")
    return found
