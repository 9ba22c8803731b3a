"""``rdsctl new-environment <name>``: an environment's Terraform root and CircleCI wiring, written
from the shared ones.

Every ``terraform/envs/<name>`` is ``terraform/root`` rendered for its name (its state key, its
tags, its network module's name) plus the shared provider lock file, so environments cannot drift
apart and a new one is a table in the environments file plus this command.

The CircleCI files keep their per-environment parts (the path filter's mapping, the pipeline
parameters, the Terraform workflows, the nightly drift jobs) between ``# BEGIN rdsctl
new-environment: .circleci/templates/<part>`` and ``# END ...`` lines: each is its template rendered
for every environment of the file that has a Terraform root, in the file's order. The rest of the
files is written by hand and left as it is.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from backend.adapters.environments import load_environments
from backend.settings import Settings

TERRAFORM_DIR = Path(__file__).resolve().parents[1] / "terraform"
ROOT = "root"
LOCK_FILE = ".terraform.lock.hcl"
CIRCLECI_FILES = ("config.yml", "continue_config.yml")
CIRCLECI_TEMPLATES = "templates"
_SECTION = re.compile(
    r"^(?P<begin>[ ]*# BEGIN rdsctl new-environment: \.circleci/templates/(?P<template>[\w.-]+\.j2)\b.*\n)"
    r"(?:.*\n)*?"
    r"(?P<end>[ ]*# END rdsctl new-environment: \.circleci/templates/(?P=template)\n)",
    re.MULTILINE,
)


class NewEnvironmentRefused(ValueError):
    """The environment is not configured, or its directory exists already (without ``force``)."""


@dataclass(frozen=True)
class WiredEnvironment:
    """What the CircleCI templates know of an environment."""

    name: str
    # An approval job between the saved plan and its apply on main.
    approvals_required: bool


def _templates(directory: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - YAML and HCL, not HTML
    )


def render_circleci(circleci_dir: Path, environments: Sequence[WiredEnvironment]) -> dict[Path, str]:
    """Each CircleCI file with its generated sections rendered for ``environments``."""
    templates = _templates(circleci_dir / CIRCLECI_TEMPLATES)

    def section(match: re.Match[str]) -> str:
        body = templates.get_template(match["template"]).render(environments=environments)
        return match["begin"] + body + match["end"]

    rendered = {}
    for name in CIRCLECI_FILES:
        path = circleci_dir / name
        text = path.read_text()
        if text.count("# BEGIN rdsctl new-environment:") != len(_SECTION.findall(text)):
            raise NewEnvironmentRefused(f"{path}: a '# BEGIN rdsctl new-environment' line without its END")
        rendered[path] = _SECTION.sub(section, text)
    return rendered


def write_environment(
    name: str,
    settings: Settings,
    *,
    terraform_dir: Path = TERRAFORM_DIR,
    circleci_dir: Path | None = None,
    force: bool = False,
) -> list[Path]:
    """Write ``terraform_dir/envs/<name>`` from ``terraform_dir/root``, then the CircleCI wiring of
    every environment with a root (``circleci_dir``, default the ``.circleci`` beside
    ``terraform_dir``); the files written."""
    circleci_dir = circleci_dir or terraform_dir.parent / ".circleci"
    if not (circleci_dir / CIRCLECI_TEMPLATES).is_dir():
        raise NewEnvironmentRefused(
            f"{circleci_dir} holds no {CIRCLECI_TEMPLATES}/: --circleci-dir names the .circleci to wire"
        )
    policies = load_environments(settings.environments_file)
    configured = list(policies)
    if name not in configured:
        raise NewEnvironmentRefused(
            f"{name!r} is not an environment of {settings.environments_file} "
            f"(one of: {', '.join(configured)}); add its [environments.{name}] table first"
        )
    target = terraform_dir / "envs" / name
    if target.exists() and not force:
        raise NewEnvironmentRefused(f"{target} exists already; --force rewrites its shared files")
    root = terraform_dir / ROOT
    templates = _templates(root)
    wired = [
        WiredEnvironment(environment, policy.approvals.required)
        for environment, policy in policies.items()
        if environment == name or (terraform_dir / "envs" / environment).is_dir()
    ]
    circleci = render_circleci(circleci_dir, wired)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for template in sorted(root.glob("*.tf.j2")):
        path = target / template.name.removesuffix(".j2")
        path.write_text(templates.get_template(template.name).render(environment=name))
        written.append(path)
    written.append(Path(shutil.copyfile(root / LOCK_FILE, target / LOCK_FILE)))
    for path, text in circleci.items():
        path.write_text(text)
        written.append(path)
    return written
