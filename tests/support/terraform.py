"""The real ``terraform`` binary for tests: offline, hermetic, and shared by pytest-xdist workers.

- Providers come only from a filesystem mirror (the machine image's ``/opt/tf-plugins``, or the
  directory named by ``TF_PROVIDER_MIRROR``), through a CLI configuration written for the session;
  ``direct`` installation is excluded for every provider, so nothing is ever fetched from the
  internet. ``CHECKPOINT_DISABLE`` stops terraform's own version check.
- Where terraform (or the mirror) is missing the tests skip with the reason; with
  ``REQUIRE_TERRAFORM=1`` (``.ci/run`` sets it) they fail instead.
- Expensive steps (``init`` of a root module, a ``terraform test`` run) happen once per pytest
  session: the first worker to take a step's lock does it and writes its result beside the lock;
  the others wait and read it (see ``once``).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

DEFAULT_MIRROR = Path("/opt/tf-plugins")
AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"
# Mock providers need 1.7; the configuration itself needs 1.10 (S3 lock files).
MINIMUM_VERSION = (1, 10)
COMMAND_TIMEOUT_SECONDS = 600


def mirror() -> Path:
    return Path(os.environ.get("TF_PROVIDER_MIRROR") or DEFAULT_MIRROR)  # noqa: TID251


def mirrored_aws_versions(root: Path) -> list[str]:
    """Versions of hashicorp/aws in a mirror, in either layout terraform reads.

    Unpacked: ``<host>/<namespace>/<type>/<version>/<os_arch>/``; packed:
    ``<host>/<namespace>/<type>/terraform-provider-<type>_<version>_<os_arch>.zip``.
    """
    directory = root / AWS_PROVIDER
    if not directory.is_dir():
        return []
    unpacked = {child.name for child in directory.iterdir() if child.is_dir()}
    packed = {
        match.group(1)
        for child in directory.glob("terraform-provider-aws_*.zip")
        if (match := re.fullmatch(r"terraform-provider-aws_([^_]+)_.+\.zip", child.name))
    }
    return sorted(unpacked | packed)


def binary_version(binary: str) -> tuple[int, ...] | None:
    completed = subprocess.run(
        [binary, "version", "-json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=hermetic_environment(None),
    )
    try:
        text = json.loads(completed.stdout)["terraform_version"]
    except (json.JSONDecodeError, KeyError):
        return None
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def unavailable_reason() -> str | None:
    """Why the real terraform cannot run here, or None when it can."""
    binary = shutil.which("terraform")
    if binary is None:
        return "terraform is not on PATH"
    version = binary_version(binary)
    if version is None or version[:2] < MINIMUM_VERSION:
        wanted = ".".join(map(str, MINIMUM_VERSION))
        return f"{binary} is not terraform {wanted} or newer (found {version})"
    if not mirrored_aws_versions(mirror()):
        return (
            f"no {AWS_PROVIDER} provider in the mirror {mirror()} "
            "(set TF_PROVIDER_MIRROR to a filesystem mirror holding it)"
        )
    return None


def local_ci_env() -> dict[str, str]:
    """What a local stack needs to run its CI with terraform from the offline mirror."""
    return {"LOCAL_CI": "terraform", "TF_PROVIDER_MIRROR": str(mirror())}


def require_terraform() -> None:
    """Skip (or, with REQUIRE_TERRAFORM=1, fail) the calling test when terraform cannot run."""
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("REQUIRE_TERRAFORM") == "1":  # noqa: TID251
        pytest.fail(f"REQUIRE_TERRAFORM=1 but {reason}")
    pytest.skip(f"real terraform tests skipped: {reason}")


def cli_config_text(mirror_path: Path, plugin_cache: Path) -> str:
    # The cache matters for a packed mirror (zip files, as `terraform providers mirror` writes):
    # each init would otherwise unpack the provider (hundreds of MB) into its own .terraform.
    # From an unpacked mirror terraform links the provider directory instead.
    return (
        f"plugin_cache_dir = {json.dumps(str(plugin_cache))}\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror_path))}\n"
        '    include = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "  # Never the internet: no provider may be installed from its origin registry.\n"
        "  direct {\n"
        '    exclude = ["*/*/*"]\n'
        "  }\n"
        "}\n"
    )


def hermetic_environment(cli_config: Path | None) -> dict[str, str]:
    """The process environment without TF_* or AWS_* settings of the caller, plus ours.

    The machine's own TF_CLI_CONFIG_FILE (which may name a missing file), TF_VAR_* values,
    TF_CLI_ARGS or TF_DATA_DIR would change what is judged; AWS credentials are never needed
    (the provider is mocked).
    """
    inherited = os.environ.items()  # noqa: TID251
    environment = {name: value for name, value in inherited if not name.startswith(("TF_", "AWS_"))}
    environment.update(CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", TF_INPUT="0")
    environment["TF_CLI_CONFIG_FILE"] = str(cli_config) if cli_config is not None else os.devnull
    return environment


@dataclass(frozen=True)
class Completed:
    args: list[str]
    cwd: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def explain(self, tail: int = 6000) -> str:
        return (
            f"$ terraform {' '.join(self.args)}  (in {self.cwd}, exit {self.returncode})\n"
            f"{self.stdout[-tail:]}\n{self.stderr[-tail:]}"
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Completed:
        return cls(**data)


@dataclass(frozen=True)
class Terraform:
    binary: str
    cli_config: Path
    environment: dict[str, str] = field(repr=False)

    @classmethod
    def prepare(cls, directory: Path) -> Terraform:
        """A terraform whose only provider source is the mirror (CLI config written in directory)."""
        binary = shutil.which("terraform")
        assert binary is not None, "call require_terraform() first"
        directory.mkdir(parents=True, exist_ok=True)
        cli_config = directory / "terraform.tfrc"
        plugin_cache = directory / "plugin-cache"
        plugin_cache.mkdir(exist_ok=True)
        if not cli_config.exists():
            temporary = cli_config.with_suffix(f".{os.getpid()}")
            temporary.write_text(cli_config_text(mirror(), plugin_cache), encoding="utf-8")
            temporary.replace(cli_config)
        return cls(binary, cli_config, hermetic_environment(cli_config))

    def run(self, cwd: Path, *args: str, timeout: int = COMMAND_TIMEOUT_SECONDS) -> Completed:
        started = time.monotonic()
        completed = subprocess.run(
            [self.binary, *args],
            cwd=cwd,
            env=self.environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
        return Completed(
            list(args),
            str(cwd),
            completed.returncode,
            completed.stdout,
            completed.stderr,
            round(time.monotonic() - started, 2),
        )


# --- once per session, across xdist workers ----------------------------------------------------


def shared_directory(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory every worker of this pytest session sees (the session's own base temp dir)."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's basetemp is <session dir>/popen-gwN; without it, basetemp is the
    # session dir itself (its parent is shared by every session of the user, so never use that).
    return base.parent if hasattr(config, "workerinput") else base


@contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def once(directory: Path, name: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` run by the first worker that asks for ``name``; later askers get its JSON result.

    A step that raises leaves no result, so the next asker tries again (and fails the same way,
    with its own traceback).
    """
    result = directory / f"{name}.json"
    with exclusive(directory / f"{name}.lock"):
        if not result.exists():
            value = compute()
            temporary = result.with_suffix(".partial")
            temporary.write_text(json.dumps(value), encoding="utf-8")
            temporary.replace(result)
    return json.loads(result.read_text(encoding="utf-8"))


def completed_once(directory: Path, name: str, compute: Callable[[], Completed]) -> Completed:
    return Completed.from_json(once(directory, name, lambda: asdict(compute())))


# --- terraform test -json --------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    """One ``run`` block of a ``terraform test``: its status, diagnostics and (with -verbose) plan."""

    name: str
    status: str
    diagnostics: list[str]
    resource_changes: list[dict[str, Any]]

    def changes(self) -> dict[str, dict[str, Any]]:
        return {change["address"]: change for change in self.resource_changes}


def parse_test_output(stdout: str) -> dict[str, Any]:
    """The run results of ``terraform test -json [-verbose]`` output, as plain JSON data.

    Provider schemas (megabytes per plan) are dropped; only resource changes are kept.
    """
    runs: dict[str, dict[str, Any]] = {}
    loose: list[str] = []
    summary: dict[str, Any] = {}

    def run(name: str) -> dict[str, Any]:
        return runs.setdefault(name, {"name": name, "status": "", "diagnostics": [], "resource_changes": []})

    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        kind = event.get("type")
        name = event.get("@testrun")
        if kind == "test_run" and event["test_run"].get("progress") == "complete":
            run(name)["status"] = event["test_run"]["status"]
        elif kind == "test_plan" and name is not None:
            run(name)["resource_changes"] = event["test_plan"].get("resource_changes", [])
        elif kind == "diagnostic":
            diagnostic = event["diagnostic"]
            text = f"{diagnostic['severity']}: {diagnostic['summary']}: {diagnostic.get('detail', '')}"
            where = diagnostic.get("range")
            if where:
                text += f" ({where.get('filename')}:{where.get('start', {}).get('line')})"
            (run(name)["diagnostics"] if name is not None else loose).append(text)
        elif kind == "test_summary":
            summary = event["test_summary"]
    return {"runs": list(runs.values()), "diagnostics": loose, "summary": summary}


def run_results(parsed: Mapping[str, Any]) -> dict[str, RunResult]:
    return {run["name"]: RunResult(**run) for run in parsed["runs"]}
