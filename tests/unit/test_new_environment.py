"""``rdsctl new-environment``: every environment's Terraform root comes from the shared one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from local import cli
from local.environments import TERRAFORM_DIR

SHIPPED_ENVIRONMENTS = ("dev", "prod")


def _copy_root(tmp_path: Path) -> Path:
    """A terraform/ that holds only the shared root: every environment must come from it."""
    terraform = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR / "root", terraform / "root")
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
