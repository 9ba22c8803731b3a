"""Every Terraform root module commits its dependency lock file: PR plans and main's applies run the
provider release that was reviewed, never whatever the registry offers that day."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.deploy.conftest import REPO_ROOT

ENVS = REPO_ROOT / "terraform" / "envs"
LOCKED = re.compile(
    r'provider "registry\.terraform\.io/hashicorp/aws" \{\s*version\s*=\s*"(?P<version>[^"]+)"\s*'
    r'constraints\s*=\s*"(?P<constraints>[^"]+)"\s*hashes\s*=\s*\[(?P<hashes>[^\]]*)\]'
)


def roots() -> list[Path]:
    return sorted(path for path in ENVS.iterdir() if (path / "versions.tf").is_file())


@pytest.mark.parametrize("root", roots(), ids=lambda path: path.name)
def test_each_root_module_locks_one_aws_release_of_one_major(root: Path):
    lock = root / ".terraform.lock.hcl"
    assert lock.is_file(), f"{lock.relative_to(REPO_ROOT)} is not committed: run terraform providers lock"
    found = LOCKED.search(lock.read_text(encoding="utf-8"))
    assert found is not None, "the lock file records no hashicorp/aws"
    version = re.search(r'\bversion\s*=\s*"([^"]+)"', (root / "versions.tf").read_text(encoding="utf-8"))
    assert version is not None
    # The constraint is the one versions.tf declares, and it admits one major only.
    assert found["constraints"] == version.group(1) == "~> 5.100"
    assert found["version"].startswith("5.")
    assert re.search(r'"h1:[A-Za-z0-9+/=]+"', found["hashes"]), "no checksum recorded"


def test_every_root_locks_the_same_release():
    versions = set()
    for root in roots():
        found = LOCKED.search((root / ".terraform.lock.hcl").read_text(encoding="utf-8"))
        assert found is not None, root
        versions.add(found["version"])
    assert len(versions) == 1, versions
