"""``rdsctl new-environment``: every environment's Terraform root and CircleCI wiring come from the
shared ones."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.settings import DEFAULT_ENVIRONMENTS_FILE
from local import cli
from local.environments import CIRCLECI_FILES, TERRAFORM_DIR

SHIPPED_ENVIRONMENTS = ("dev", "prod")


CIRCLECI_DIR = TERRAFORM_DIR.parent / ".circleci"


def _copy_root(tmp_path: Path) -> Path:
    """A terraform/ that holds only the shared root: every environment must come from it; beside it
    a copy of .circleci/ (its generated sections are rewritten from the templates)."""
    terraform = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR / "root", terraform / "root")
    shutil.copytree(CIRCLECI_DIR, tmp_path / ".circleci")
    return terraform


def _files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir()) if path.is_file()}


@pytest.mark.parametrize("environment", SHIPPED_ENVIRONMENTS)
def test_the_committed_roots_are_what_new_environment_writes(
    tmp_path: Path, environment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    terraform = _copy_root(tmp_path)
    assert cli.main(["new-environment", environment, "--terraform-dir", str(terraform)]) == 0
    committed = {
        name: content
        for name, content in _files(TERRAFORM_DIR / "envs" / environment).items()
        # Its databases' files and what a local run leaves there (git ignores it) are not the root's.
        if name not in {"local_override.tf"} and not name.startswith("rds_")
        if name.endswith(".tf") or name == ".terraform.lock.hcl"
    }
    assert _files(terraform / "envs" / environment) == committed
    assert f"wrote {terraform / 'envs' / environment / 'backend.tf'}" in capsys.readouterr().out


def test_each_root_keeps_its_own_state_and_tags(tmp_path: Path) -> None:
    terraform = _copy_root(tmp_path)
    for environment in SHIPPED_ENVIRONMENTS:
        assert cli.main(["new-environment", environment, "--terraform-dir", str(terraform)]) == 0
        root = terraform / "envs" / environment
        assert (
            f'key          = "rds-provisioner/{environment}/terraform.tfstate"'
            in (root / "backend.tf").read_text()
        )
        assert f'Environment = "{environment}"' in (root / "providers.tf").read_text()
        assert f'environment         = "{environment}"' in (root / "network.tf").read_text()


def test_an_environment_the_file_does_not_hold_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    terraform = _copy_root(tmp_path)
    assert cli.main(["new-environment", "staging", "--terraform-dir", str(terraform)]) == 1
    said = capsys.readouterr().err
    assert "'staging' is not an environment of" in said
    assert "(one of: dev, prod)" in said
    assert not (terraform / "envs" / "staging").exists()


def test_an_existing_root_is_rewritten_only_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    terraform = _copy_root(tmp_path)
    assert cli.main(["new-environment", "dev", "--terraform-dir", str(terraform)]) == 0
    database = terraform / "envs" / "dev" / "rds_orders.tf"
    database.write_text("# a database of main\n")
    (terraform / "envs" / "dev" / "backend.tf").write_text("# edited by hand\n")
    assert cli.main(["new-environment", "dev", "--terraform-dir", str(terraform)]) == 1
    assert "exists already; --force rewrites" in capsys.readouterr().err
    assert cli.main(["new-environment", "dev", "--terraform-dir", str(terraform), "--force"]) == 0
    assert (terraform / "envs" / "dev" / "backend.tf").read_bytes() == (
        TERRAFORM_DIR / "envs/dev/backend.tf"
    ).read_bytes()
    assert database.read_text() == "# a database of main\n"


def test_the_committed_circleci_files_are_what_new_environment_writes(tmp_path: Path) -> None:
    terraform = _copy_root(tmp_path)
    for name in CIRCLECI_FILES:  # the generated sections emptied: all must come from the templates
        path = tmp_path / ".circleci" / name
        lines = path.read_text().splitlines(keepends=True)
        kept, inside = [], False
        for line in lines:
            if "# END rdsctl new-environment:" in line:
                inside = False
            if not inside:
                kept.append(line)
            inside = inside or "# BEGIN rdsctl new-environment:" in line
        assert len(kept) < len(lines)
        path.write_text("".join(kept))
    for environment in SHIPPED_ENVIRONMENTS:
        assert cli.main(["new-environment", environment, "--terraform-dir", str(terraform)]) == 0
    for name in CIRCLECI_FILES:
        assert (tmp_path / ".circleci" / name).read_text() == (CIRCLECI_DIR / name).read_text(), name
    # Every template fills exactly one section.
    sections = "".join((CIRCLECI_DIR / name).read_text() for name in CIRCLECI_FILES)
    for template in (CIRCLECI_DIR / "templates").iterdir():
        assert sections.count(f"# BEGIN rdsctl new-environment: .circleci/templates/{template.name} ") == 1


def _continue_config(tmp_path: Path) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((tmp_path / ".circleci" / "continue_config.yml").read_text())
    return config


def _jobs(config: dict[str, Any], workflow: str) -> dict[str, dict[str, Any]]:
    return {
        invocation.get("name", kind): invocation
        for entry in config["workflows"][workflow]["jobs"]
        for kind, invocation in entry.items()
    }


@pytest.mark.parametrize("approvals", [False, True])
def test_a_new_environment_is_wired_with_an_approval_gate_iff_its_approvals_are_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, approvals: bool
) -> None:
    shipped = DEFAULT_ENVIRONMENTS_FILE.read_text()
    start, end = shipped.index("[environments.dev]"), shipped.index("[environments.prod]")
    staging = shipped[start:end].replace("[environments.dev", "[environments.staging")
    if approvals:
        staging += "\n[environments.staging.approvals]\nrequired = true\n"
    environments_file = tmp_path / "environments.toml"
    environments_file.write_text(shipped + "\n" + staging)
    monkeypatch.setenv("ENVIRONMENTS_FILE", str(environments_file))
    terraform = _copy_root(tmp_path)
    shutil.copytree(TERRAFORM_DIR / "envs" / "dev", terraform / "envs" / "dev")
    assert cli.main(["new-environment", "staging", "--terraform-dir", str(terraform)]) == 0

    config = _continue_config(tmp_path)
    # prod has no root in this copy: it is not wired; dev and staging are.
    assert [p for p in config["parameters"] if p.startswith("terraform-")] == [
        "terraform-dev",
        "terraform-staging",
    ]
    assert "terraform-prod" not in config["workflows"]
    assert config["workflows"]["terraform-staging"]["when"] == "<< pipeline.parameters.terraform-staging >>"
    jobs = _jobs(config, "terraform-staging")
    context = "rds-provisioner-terraform-staging"
    assert jobs["terraform-plan-staging"]["context"] == [context, "rds-provisioner-github"]
    assert jobs["terraform-apply-staging"]["context"] == jobs["record-applied-staging"]["context"] == context
    apply = jobs["terraform-apply-staging"]
    assert apply["serial-group"] == "<< pipeline.project.slug >>/terraform-apply-staging"
    assert apply["filters"]["branches"]["only"] == "main"
    if approvals:
        assert jobs["approve-staging-apply"]["type"] == "approval"
        assert apply["requires"] == ["approve-staging-apply"]
        assert apply["saved-plan"] is True
        assert jobs["terraform-plan-staging"]["save-plan"] is True
    else:
        assert "approve-staging-apply" not in jobs
        assert apply["requires"] == ["terraform-fmt-staging"]
        assert "saved-plan" not in apply
    drift = _jobs(config, "drift")
    assert drift["terraform-drift-staging"]["context"] == "rds-provisioner-terraform-staging"
    mapping = yaml.safe_load((tmp_path / ".circleci" / "config.yml").read_text())["workflows"][
        "select-workflows"
    ]["jobs"][0]["path-filtering/filter"]["mapping"]
    assert "terraform/envs/staging/.* terraform-staging true" in mapping.splitlines()
    assert "terraform/envs/prod/.* terraform-prod true" not in mapping.splitlines()


def test_a_circleci_dir_without_templates_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    terraform = _copy_root(tmp_path)
    shutil.rmtree(tmp_path / ".circleci" / "templates")
    assert cli.main(["new-environment", "dev", "--terraform-dir", str(terraform)]) == 1
    assert "holds no templates/" in capsys.readouterr().err
    assert not (terraform / "envs" / "dev").exists()


def test_a_section_without_its_end_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    terraform = _copy_root(tmp_path)
    config = tmp_path / ".circleci" / "continue_config.yml"
    config.write_text(
        config.read_text().replace("# END rdsctl new-environment: .circleci/templates/workflows", "#")
    )
    assert cli.main(["new-environment", "dev", "--terraform-dir", str(terraform)]) == 1
    assert (
        "continue_config.yml: a '# BEGIN rdsctl new-environment' line without its END"
        in capsys.readouterr().err
    )
    assert not (terraform / "envs" / "dev").exists()
