"""``rdsctl new-environment <name>``: an environment's Terraform root, written from the shared one.

Every ``terraform/envs/<name>`` is ``terraform/root`` rendered for its name (its state key, its
tags, its network module's name) plus the shared provider lock file, so environments cannot drift
apart and a new one is a table in the environments file plus this command.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2

from backend.adapters.environments import load_environments
from backend.settings import Settings

TERRAFORM_DIR = Path(__file__).resolve().parents[1] / "terraform"
ROOT = "root"
LOCK_FILE = ".terraform.lock.hcl"


class NewEnvironmentRefused(ValueError):
    """The environment is not configured, or its directory exists already (without ``force``)."""


def write_environment(
    name: str, settings: Settings, *, terraform_dir: Path = TERRAFORM_DIR, force: bool = False
) -> list[Path]:
    """Write ``terraform_dir/envs/<name>`` from ``terraform_dir/root``; the files written."""
    configured = list(load_environments(settings.environments_file))
    if name not in configured:
        raise NewEnvironmentRefused(
            f"{name!r} is not an environment of {settings.environments_file} "
            f"(one of: {', '.join(configured)}); add its [environments.{name}] table first"
        )
    target = terraform_dir / "envs" / name
    if target.exists() and not force:
        raise NewEnvironmentRefused(f"{target} exists already; --force rewrites its shared files")
    root = terraform_dir / ROOT
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - HCL, not HTML
    )
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for template in sorted(root.glob("*.tf.j2")):
        path = target / template.name.removesuffix(".j2")
        path.write_text(templates.get_template(template.name).render(environment=name))
        written.append(path)
    written.append(Path(shutil.copyfile(root / LOCK_FILE, target / LOCK_FILE)))
    return written
