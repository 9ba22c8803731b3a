"""Packaging: each function's artifact holds runtime code and runtime dependencies only.

These check the staging step ``sam build`` packages from (``make build`` runs the full build and
prints artifact sizes; it takes a minute, too long for every test run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from local import build
from tests.integration.deploy.conftest import REPO_ROOT, load_template


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build.stage(REPO_ROOT, tmp_path_factory.mktemp("staging") / "artifact")


def functions_by_artifact() -> dict[str, list[str]]:
    """Artifact name -> the handler modules of the template's functions built from it."""
    grouped: dict[str, list[str]] = {}
    for resource in load_template()["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        code = (REPO_ROOT / "sam" / properties["CodeUri"]).resolve()
        assert code.parent == (REPO_ROOT / build.STAGING_DIR).resolve(), properties["CodeUri"]
        grouped.setdefault(code.name, []).append(properties["Handler"].rpartition(".")[0])
    return grouped


def test_every_function_builds_from_a_staged_artifact():
    assert set(functions_by_artifact()) == set(build.ARTIFACTS)


@pytest.mark.parametrize("name", sorted(build.ARTIFACTS))
def test_artifact_has_runtime_code_and_nothing_else(staged, name):
    artifact = staged / name
    top_level = {path.name for path in artifact.iterdir()}
    assert top_level == {*build.ARTIFACTS[name].packages, "deploy", "requirements.txt"}
    # The environments file, where settings look for it (deploy/ beside backend/).
    assert [path.name for path in (artifact / "deploy").iterdir()] == ["environments.toml"]
    assert (artifact / "backend" / "handlers").is_dir()
    assert build.forbidden_entries(artifact) == []
    assert not (artifact / "backend" / "local").exists()
    assert not list(artifact.rglob("__pycache__"))
    assert not list(artifact.rglob("*.pyc"))


def test_only_the_slack_function_carries_the_slack_app(staged):
    assert [name for name in build.ARTIFACTS if (staged / name / "bot").exists()] == ["slack"]


def test_render_templates_travel_with_the_worker(staged):
    source = sorted(p.relative_to(REPO_ROOT) for p in (REPO_ROOT / "backend").rglob("*.j2"))
    copied = sorted(p.relative_to(staged / "worker") for p in (staged / "worker" / "backend").rglob("*.j2"))
    assert copied == source


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            names.add(line.split(">")[0].split("=")[0].split("<")[0].strip().lower())
    return names


def test_requirements_are_each_artifacts_own_and_never_the_aws_sdk(staged):
    needed = {name: requirement_names(staged / name / "requirements.txt") for name in build.ARTIFACTS}
    assert needed["api"] == {"aws-lambda-powertools", "pydantic", "slack-sdk"}
    assert needed["slack"] == {"aws-lambda-powertools", "pydantic", "slack-bolt", "slack-sdk"}
    assert needed["worker"] == {"aws-lambda-powertools", "pydantic", "slack-sdk", "pygithub", "jinja2"}
    assert needed["lifecycle"] == {"aws-lambda-powertools", "pydantic", "slack-sdk"}
    assert not any("boto3" in names or "botocore" in names for names in needed.values())


def test_runtime_requirements_filter():
    text = "# comment\nboto3>=1.35,<2\nBotocore==1.0\npydantic>=2.9,<3\n\nslack-bolt>=1.21,<2\n"
    kept = [line for line in build.runtime_requirements(text).splitlines() if not line.startswith("#")]
    assert kept == ["pydantic>=2.9,<3", "slack-bolt>=1.21,<2"]
    only = build.runtime_requirements(text, ["pydantic", "boto3"]).splitlines()
    assert [line for line in only if not line.startswith("#")] == ["pydantic>=2.9,<3"]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(build.ARTIFACTS))
def test_handlers_import_from_their_artifact_alone(staged, tmp_path, name):
    """Import each artifact's handlers with only the artifact and its own requirements.

    ``-S`` skips site processing, so the editable install cannot put the repository back on the
    path; the libraries an artifact does not declare (PyGithub, jinja2, Slack's) are blocked, so
    a handler that imports one at cold start, or code left out of the artifact, fails here.
    """
    site_packages = sysconfig.get_paths()["purelib"]
    declared = {build._normalise(requirement) for requirement in build.ARTIFACTS[name].requirements}
    blocked = sorted(
        module
        for requirement, module in build.IMPORT_NAMES.items()
        if build._normalise(requirement) not in declared
    )
    modules = functions_by_artifact()[name]
    code = (
        "import importlib, importlib.abc, sys\n"
        f"blocked = {blocked!r}\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, fullname, path, target=None):\n"
        "        if fullname.split('.')[0] in blocked:\n"
        "            raise ImportError(f'{fullname} is not in this artifact')\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.path[:0] = [{str(staged / name)!r}, {site_packages!r}]\n"
        f"for module_name in {modules!r}:\n"
        "    module = importlib.import_module(module_name)\n"
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
    assert modules


def test_the_api_carries_neither_bolt_nor_github_nor_jinja2():
    # slack_sdk stays: the API posts a prod request's approval message itself.
    assert build.ARTIFACTS["api"].left_out_imports() == ["github", "jinja2", "slack_bolt"]


def test_the_build_compiles_for_the_templates_runtime():
    assert load_template()["Globals"]["Function"]["Runtime"] == build.RUNTIME


def test_a_compiled_package_imports_from_its_bytecode_whatever_its_sources_dates(tmp_path: Path):
    # Lambda's /var/task is read-only and `sam deploy` zips every file dated 1980: the package's
    # own bytecode must be used as it is, or every cold start compiles each module from source.
    package = build.local_twin("slack", tmp_path)
    build.compile_bytecode(package)
    sam_zip_date = 315532800  # 1980-01-01, the zip format's default date
    for path in package.rglob("*.py"):
        os.utime(path, (sam_zip_date, sam_zip_date))
    # Were the source compiled now, the import would stop here.
    entry = package / "bot" / "app.py"
    entry.write_text(entry.read_text() + '\nraise SystemExit("bot/app.py was compiled from source")\n')

    code = """
        import importlib.util, json, os, sys
        import bot.app
        root = os.getcwd()
        files = {m.__name__: getattr(m, "__file__", None) or "" for m in list(sys.modules.values())}
        ours = {name: file for name, file in files.items() if file.startswith(root)}
        print(json.dumps({
            "origin": bot.app.__file__,
            "modules": len(ours),
            "without_bytecode": sorted(
                name for name, file in ours.items()
                if file.endswith(".py") and not os.path.exists(importlib.util.cache_from_source(file))
            ),
        }))
    """
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=package,
        env={"PATH": os.defpath, "PYTHONPATH": str(package), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    seen = json.loads(completed.stdout.strip().splitlines()[-1])
    assert seen["origin"] == str(entry)
    assert seen["modules"] > 300  # Bolt, slack_sdk, pydantic, Powertools and ours, from the package
    assert seen["without_bytecode"] == []
