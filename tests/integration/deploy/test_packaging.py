"""Packaging: each function's artifact holds runtime code and runtime dependencies only.

These check the staging step ``sam build`` packages from (``make build`` runs the full build and
prints artifact sizes; it takes a minute, too long for every test run).
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from backend.local import build
from tests.integration.deploy.conftest import REPO_ROOT, load_template


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build.stage(REPO_ROOT, tmp_path_factory.mktemp("staging") / "artifact")


def test_template_builds_from_the_staging_directory():
    code_uri = load_template()["Globals"]["Function"]["CodeUri"]
    assert (REPO_ROOT / "sam" / code_uri).resolve() == (REPO_ROOT / build.STAGING_DIR).resolve()


def test_artifact_has_runtime_code_and_nothing_else(staged):
    top_level = {path.name for path in staged.iterdir()}
    assert top_level == {"backend", "bot", "requirements.txt"}
    assert (staged / "backend" / "handlers" / "api.py").is_file()
    assert (staged / "bot" / "app.py").is_file()
    assert build.forbidden_entries(staged) == []
    assert not (staged / "backend" / "local").exists()
    assert not list(staged.rglob("__pycache__"))
    assert not list(staged.rglob("*.pyc"))


def test_render_templates_travel_with_the_code(staged):
    source = sorted(p.relative_to(REPO_ROOT) for p in (REPO_ROOT / "backend").rglob("*.j2"))
    copied = sorted(p.relative_to(staged) for p in (staged / "backend").rglob("*.j2"))
    assert copied == source


def test_requirements_leave_out_only_what_lambda_provides(staged):
    requirements = (staged / "requirements.txt").read_text().splitlines()
    names = {line.split(">")[0].split("=")[0].split("<")[0].strip().lower() for line in requirements}
    names.discard("")
    names = {name for name in names if not name.startswith("#")}
    assert "boto3" not in names
    assert {"aws-lambda-powertools", "pydantic", "slack-bolt", "pygithub", "jinja2"} <= names


def test_runtime_requirements_filter():
    text = "# comment\nboto3>=1.35,<2\nBotocore==1.0\npydantic>=2.9,<3\n\nslack-bolt>=1.21,<2\n"
    kept = [line for line in build.runtime_requirements(text).splitlines() if not line.startswith("#")]
    assert kept == ["pydantic>=2.9,<3", "slack-bolt>=1.21,<2"]


@pytest.mark.slow
def test_handlers_import_from_the_artifact_alone(staged, tmp_path):
    """Import every handler with only the artifact and third-party packages on sys.path.

    ``-S`` skips site processing, so the editable install cannot put the repository back on the
    path: a handler importing backend.local (not shipped) or a missing module fails here.
    """
    site_packages = sysconfig.get_paths()["purelib"]
    modules = [
        resource["Properties"]["Handler"].rpartition(".")[0]
        for resource in load_template()["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    ]
    code = (
        "import importlib, sys\n"
        f"sys.path[:0] = [{str(staged)!r}, {site_packages!r}]\n"
        f"for name in {modules!r}:\n"
        "    module = importlib.import_module(name)\n"
        "    assert module.__file__.startswith(sys.path[0]), module.__file__\n"
        "    assert callable(module.lambda_handler)\n"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-I", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
