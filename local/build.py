"""Build the Lambda artifacts: stage the runtime code, run ``sam build``, report artifact sizes.

``make build`` runs ``python -m local.build``. Each artifact (``ARTIFACTS``) is staged in
``.aws-sam/staging/<artifact>/`` (the ``CodeUri`` of its functions) with only what its functions
run:

- ``backend/`` (never ``local/``: the local stack, this builder, test event builders),
- ``bot/`` for the Slack function only,
- ``deploy/environments.toml``, the environments and their policy (where settings look for it),
- ``requirements.txt``: the runtime requirements that artifact needs, never the AWS SDK (see
  ``RUNTIME_PROVIDED``). The API carries only slack-sdk (to ask approvers), no Bolt, GitHub or
  jinja2; only the worker carries PyGithub (with its native ``cryptography`` and ``nacl``) and jinja2.

``sam build`` then installs those requirements for python3.11/arm64 into each function's
artifact, so tests, Terraform, the SAM template, dev tools and caches never reach Lambda.

Last, every artifact gets its bytecode (``compile_bytecode``). ``sam build`` unpacks wheels
without compiling them, Lambda's ``/var/task`` is read-only, and ``sam deploy`` zips every file
with the zip format's default date (1980), so a function would compile every module it imports
(Bolt, slack_sdk, pydantic, Powertools, ours) from source on every cold start: about 2.5x the
import (``make bench``). The bytecode is hash-based and unchecked (PEP 552): Python uses it
without comparing the source's date or hash, which the zip's dates would defeat, and an artifact
is never edited after its build.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.metadata
import io
import py_compile
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path("sam/template.yaml")
STAGING_DIR = Path(".aws-sam/staging")
BUILD_DIR = Path(".aws-sam/build")
CACHE_DIR = Path(".aws-sam/cache")


@dataclass(frozen=True)
class Artifact:
    """What one deployment package holds: top-level code packages and runtime requirements."""

    packages: tuple[str, ...]
    requirements: tuple[str, ...]

    def left_out_imports(self) -> list[str]:
        """The modules of the optional libraries this artifact does not carry."""
        declared = {_normalise(requirement) for requirement in self.requirements}
        return sorted(module for name, module in IMPORT_NAMES.items() if _normalise(name) not in declared)


_CORE = ("aws-lambda-powertools", "pydantic")
# Artifact name -> contents. The template's functions point at .aws-sam/staging/<name>/.
ARTIFACTS: dict[str, Artifact] = {
    # slack-sdk: a prod request from the API is posted to the approvals channel by the API itself.
    "api": Artifact(("backend",), (*_CORE, "slack-sdk")),
    "slack": Artifact(("backend", "bot"), (*_CORE, "slack-bolt", "slack-sdk")),
    "worker": Artifact(("backend",), (*_CORE, "slack-sdk", "PyGithub", "jinja2")),
    # The functions that record statuses and tell people: webhook, dead letters, the sweeper.
    "lifecycle": Artifact(("backend",), (*_CORE, "slack-sdk")),
}
# The module a requirement is imported as, for the ones an artifact may leave out.
IMPORT_NAMES = {
    "slack-bolt": "slack_bolt",
    "slack-sdk": "slack_sdk",
    "PyGithub": "github",
    "jinja2": "jinja2",
}
IGNORED_NAMES = ("__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".pytest_cache", ".ruff_cache")

# The python3.11 Lambda runtime ships boto3/botocore (~25 MB unzipped with s3transfer). The
# functions use long-stable DynamoDB, SNS, SQS and Secrets Manager calls, so the runtime's SDK
# serves them; shipping our own would pin a newer SDK at the price of a bigger package and a
# slower cold start on the Slack ack path. Add a name back here to bundle it.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})

# Names an artifact must never contain at its top level.
FORBIDDEN_IN_ARTIFACT = (
    "tests",
    "terraform",
    "sam",
    "bench",
    ".circleci",
    ".venv",
    ".tools",
    "local",
)

# The functions' runtime (the template's Globals): bytecode is only used by the Python that wrote it.
RUNTIME = "python3.11"
# Where Lambda unpacks a .zip package: the paths the bytecode records, for tracebacks.
LAMBDA_TASK_ROOT = "/var/task"

# Lambda quotas for a .zip deployment package.
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class ArtifactSize:
    function: str
    files: int
    unzipped_bytes: int
    zipped_bytes: int


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements(
    text: str, needed: Iterable[str] | None = None, provided: Iterable[str] = RUNTIME_PROVIDED
) -> str:
    """``requirements.txt`` for an artifact: the runtime requirements it ``needed`` (all when None),
    except those Lambda provides, with the version ranges of ``text``."""
    skip = {_normalise(name) for name in provided}
    keep = None if needed is None else {_normalise(name) for name in needed}
    kept = [
        "# Generated by local/build.py from requirements.txt; the Lambda runtime",
        f"# provides: {', '.join(sorted(skip))}.",
    ]
    for line in text.splitlines():
        match = _REQUIREMENT_NAME.match(line)
        if not match or line.lstrip().startswith("#"):
            continue
        name = _normalise(match.group(1))
        if name in skip or (keep is not None and name not in keep):
            continue
        kept.append(line.strip())
    return "\n".join(kept) + "\n"


def stage(root: Path = REPO_ROOT, destination: Path | None = None) -> Path:
    """Stage every artifact under ``destination`` (recreated from scratch); returns it."""
    destination = destination or root / STAGING_DIR
    if destination.exists():
        shutil.rmtree(destination)
    for name in ARTIFACTS:
        _stage_artifact(name, destination / name, root)
    return destination


def _stage_artifact(name: str, target: Path, root: Path) -> None:
    """Artifact ``name``'s runtime code, environments file and requirements, in ``target`` (new)."""
    artifact = ARTIFACTS[name]
    target.mkdir(parents=True)
    for package in artifact.packages:
        shutil.copytree(root / package, target / package, ignore=shutil.ignore_patterns(*IGNORED_NAMES))
    (target / "deploy").mkdir()
    shutil.copy2(root / "deploy" / "environments.toml", target / "deploy" / "environments.toml")
    requirements = (root / "requirements.txt").read_text(encoding="utf-8")
    (target / "requirements.txt").write_text(
        runtime_requirements(requirements, artifact.requirements), encoding="utf-8"
    )


def local_twin(name: str, destination: Path, root: Path = REPO_ROOT) -> Path:
    """Artifact ``name`` as this machine can run it: staged, with its requirements installed from
    this interpreter's distributions (this platform's builds, not arm64's), without bytecode.

    What ``sam build`` would unpack, for measuring (``make bench``) and testing imports locally;
    the runtime-provided SDK stays where this interpreter has it, as Lambda's runtime has it.
    """
    target = destination / name
    _stage_artifact(name, target, root)
    for distribution in _requirement_closure(ARTIFACTS[name].requirements):
        for file in distribution.files or ():
            if file.parts[0] == ".." or "__pycache__" in file.parts or file.suffix in (".pyc", ".pyo"):
                continue  # scripts outside site-packages, and this machine's bytecode
            copied = target / file
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(str(distribution.locate_file(file))), copied)
    return target


def _requirement_closure(names: Iterable[str]) -> list[importlib.metadata.Distribution]:
    """The installed distributions ``names`` need, transitively, except what the runtime provides."""
    from packaging.requirements import Requirement

    provided = {_normalise(name) for name in RUNTIME_PROVIDED}
    pending: list[tuple[str, frozenset[str]]] = [(_normalise(name), frozenset()) for name in names]
    seen: set[tuple[str, frozenset[str]]] = set()
    found: dict[str, importlib.metadata.Distribution] = {}
    while pending:
        name, extras = wanted = pending.pop()
        if wanted in seen or name in provided:
            continue
        seen.add(wanted)
        distribution = found.setdefault(name, importlib.metadata.distribution(name))
        for line in distribution.requires or ():
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in ("", *extras)):
                pending.append((_normalise(requirement.name), frozenset(requirement.extras)))
    return list(found.values())


def sam_executable(root: Path = REPO_ROOT) -> str:
    """The SAM CLI from ``make build``'s isolated venv, else one on PATH."""
    bundled = root / ".tools/sam/bin/sam"
    if bundled.exists():
        return str(bundled)
    found = shutil.which("sam")
    if found is None:
        raise SystemExit("SAM CLI not found: run `make build` (it installs it into .tools/sam).")
    return found


def sam_build(root: Path = REPO_ROOT) -> None:
    command = [
        sam_executable(root),
        "build",
        "--template-file",
        str(TEMPLATE),
        "--build-dir",
        str(BUILD_DIR),
        "--cache-dir",
        str(CACHE_DIR),
        "--cached",
        "--parallel",
    ]
    subprocess.run(command, cwd=root, check=True)  # noqa: S603 - fixed argv, no shell


def compile_bytecode(directory: Path) -> None:
    """Write the bytecode of every module in ``directory`` (an artifact) beside it, for Lambda.

    Raises SystemExit when this Python is not the functions' runtime (its bytecode would be
    ignored there) or when a module does not compile.
    """
    running = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if running != RUNTIME:
        raise SystemExit(
            f"the artifacts' bytecode must be written by {RUNTIME} (the runtime); this is {running}"
        )
    compiled = compileall.compile_dir(
        directory,
        ddir=LAMBDA_TASK_ROOT,
        quiet=1,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not compiled:
        raise SystemExit(f"{directory}: a module does not compile (above)")


def build_functions(root: Path = REPO_ROOT) -> dict[str, Path]:
    """``sam build`` the staged artifacts and compile their bytecode; each function's artifact."""
    sam_build(root)
    functions = built_functions(root / BUILD_DIR)
    for directory in sorted(set(functions.values())):
        compile_bytecode(directory)
    return functions


def built_functions(build_dir: Path) -> dict[str, Path]:
    """Function logical id -> artifact directory, from the template ``sam build`` wrote."""
    from cfnlint.decode import cfn_yaml

    template = cfn_yaml.load(str(build_dir / "template.yaml"))
    functions: dict[str, Path] = {}
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            functions[name] = build_dir / str(resource["Properties"]["CodeUri"])
    return functions


def measure(function: str, directory: Path) -> ArtifactSize:
    """Unzipped size, and the size of the .zip ``sam deploy`` would upload (deflate)."""
    files = sorted(path for path in directory.rglob("*") if path.is_file())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(directory).as_posix())
    return ArtifactSize(
        function=function,
        files=len(files),
        unzipped_bytes=sum(path.stat().st_size for path in files),
        zipped_bytes=len(buffer.getvalue()),
    )


def forbidden_entries(directory: Path) -> list[str]:
    return [name for name in FORBIDDEN_IN_ARTIFACT if (directory / name).exists()]


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def report(sizes: Sequence[ArtifactSize]) -> str:
    lines = [f"{'function':<18} {'files':>6} {'unzipped':>10} {'zipped':>10}"]
    lines += [
        f"{size.function:<18} {size.files:>6} {_mb(size.unzipped_bytes):>10} {_mb(size.zipped_bytes):>10}"
        for size in sizes
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.build", description=__doc__.splitlines()[0])
    parser.add_argument("--stage-only", action="store_true", help="stage the runtime code, skip sam build")
    args = parser.parse_args(argv)

    staging = stage()
    print(f"staged runtime code in {staging.relative_to(REPO_ROOT)}")
    if args.stage_only:
        return 0

    sizes = []
    problems = []
    for function, directory in sorted(build_functions().items()):
        sizes.append(measure(function, directory))
        problems += [f"{function}: artifact contains {name}" for name in forbidden_entries(directory)]
        if not (directory / "backend").is_dir():
            problems.append(f"{function}: artifact lacks backend/")
    print(report(sizes))
    problems += [
        f"{size.function}: {_mb(size.unzipped_bytes)} unzipped exceeds Lambda's 250 MB"
        for size in sizes
        if size.unzipped_bytes > MAX_UNZIPPED_BYTES
    ]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
