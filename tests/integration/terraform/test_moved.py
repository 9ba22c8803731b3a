"""modules/rds and modules/aurora share modules/database-base (subnet group, the security group's
rules, enhanced-monitoring role); their ``moved`` blocks keep every existing database's resources
where they are.

- In ``make test``: the moved blocks of both modules cover every resource of the shared module,
  each from exactly the address it had in the module before.
- In ``make test-apply`` (``terraform_apply``: an apply against the local AWS takes minutes): a
  prod root with real databases applied with the modules as they were before the extraction (from
  git), then planned with today's modules: every resource stays, nothing is created, changed or
  destroyed, and the shared parts are moved, not replaced.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import boto3
import hcl2
import pytest

from local.ci import ensure_network, override_text
from tests.support.terraform import Completed, Terraform, require_terraform

REPO = Path(__file__).resolve().parents[3]
MODULES = REPO / "terraform" / "modules"
SHARED = "database-base"
CALLERS = ("rds", "aurora")
# The last commit whose modules/rds and modules/aurora held these resources themselves.
BEFORE_EXTRACTION = "520d172887ba8b707b26c70bddb9868ba813a233"
REGION = "us-east-1"


def _hcl(path: Path) -> dict[str, Any]:
    parsed: dict[str, Any] = hcl2.loads(path.read_text(encoding="utf-8"))
    return parsed


def _address(reference: str) -> str:
    """A reference as python-hcl2 gives it (``${aws_x.y}``) as terraform writes it."""
    return reference.removeprefix("${").removesuffix("}")


def _resources(path: Path) -> set[str]:
    return {
        f"{kind.strip(chr(34))}.{name.strip(chr(34))}"
        for block in _hcl(path).get("resource", [])
        for kind, named in block.items()
        for name in named
    }


def test_the_moved_blocks_cover_every_resource_of_the_shared_module() -> None:
    shared = _resources(MODULES / SHARED / "main.tf")
    assert {"aws_vpc_security_group_ingress_rule.cidr", "aws_iam_role.monitoring"} <= shared
    for caller in CALLERS:
        moves = {
            (_address(move["from"]), _address(move["to"]))
            for move in _hcl(MODULES / caller / "moved.tf")["moved"]
        }
        assert moves == {(address, f"module.base.{address}") for address in shared}, caller
        # Each address moved away is free in the caller, so the move is all terraform sees.
        assert not _resources(MODULES / caller / "main.tf") & shared, caller
        calls = {
            name.strip('"'): body
            for block in _hcl(MODULES / caller / "main.tf")["module"]
            for name, body in block.items()
        }
        assert calls["base"]["source"].strip('"') == f"../{SHARED}", caller


# --- the real plan: state written by the old modules, planned with the new ones -----------------


def _tree_before_extraction(into: Path) -> Path:
    """``terraform/`` as it was at BEFORE_EXTRACTION (git archive of this repository)."""
    completed = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", BEFORE_EXTRACTION, "terraform"],
        capture_output=True,
        check=False,
        timeout=120,
    )
    if completed.returncode != 0:
        pytest.skip(
            f"the modules before the extraction are not in this clone's history: {completed.stderr!r}"
        )
    with tarfile.open(fileobj=BytesIO(completed.stdout)) as archive:
        archive.extractall(into, filter="data")
    return into / "terraform"


@pytest.fixture
def local_aws() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    from local import moto_patches

    # What the AWS provider trips on in moto, patched as the local stack does.
    moto_patches.apply()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


# A root module calling both modules the way an environment does, in the cheapest shape that still
# creates every shared resource: its own subnet group, both kinds of ingress rule, monitoring.
ROOT = """
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

variable "kms_key_arn" {
  type = string
}

variable "app_tier" {
  type = string
}

locals {
  shared = {
    vpc_id                     = var.vpc_id
    create_db_subnet_group     = true
    subnet_ids                 = var.database_subnet_ids
    allowed_cidr_blocks        = ["10.20.0.0/16"]
    allowed_security_group_ids = [var.app_tier]
    kms_key_id                 = var.kms_key_arn
  }
}

module "rds_orders" {
  source = "./modules/rds"

  identifier            = "orders-dev"
  db_name               = "orders"
  engine                = "postgres"
  engine_version        = "16"
  family                = "postgres16"
  major_engine_version  = "16"
  port                  = 5432
  instance_class        = "db.t3.micro"
  allocated_storage     = 20
  max_allocated_storage = 100

  multi_az                     = false
  deletion_protection          = false
  performance_insights_enabled = false
  monitoring_interval          = 60

  vpc_id                     = local.shared.vpc_id
  create_db_subnet_group     = local.shared.create_db_subnet_group
  subnet_ids                 = local.shared.subnet_ids
  allowed_cidr_blocks        = local.shared.allowed_cidr_blocks
  allowed_security_group_ids = local.shared.allowed_security_group_ids
  kms_key_id                 = local.shared.kms_key_id
}

module "rds_events" {
  source = "./modules/aurora"

  identifier                         = "events-dev"
  db_name                            = "events"
  engine                             = "aurora-postgresql"
  engine_version                     = "16"
  family                             = "aurora-postgresql16"
  major_engine_version               = "16"
  port                               = 5432
  instance_class                     = "db.serverless"
  instance_count                     = 1
  serverlessv2_scaling_configuration = { min_capacity = 0.5, max_capacity = 2 }
  availability_zones                 = ["us-east-1a", "us-east-1b"]

  deletion_protection          = false
  performance_insights_enabled = false
  monitoring_interval          = 60

  vpc_id                     = local.shared.vpc_id
  create_db_subnet_group     = local.shared.create_db_subnet_group
  subnet_ids                 = local.shared.subnet_ids
  allowed_cidr_blocks        = local.shared.allowed_cidr_blocks
  allowed_security_group_ids = local.shared.allowed_security_group_ids
  kms_key_id                 = local.shared.kms_key_id
}
"""
# An apply against moto takes minutes (the AWS provider's own waits), more on a loaded machine.
APPLY_SECONDS = 1800


def _ok(completed: Completed) -> Completed:
    assert completed.ok, completed.explain()
    return completed


def _planned_changes(
    terraform: Terraform, root: Path, variables: list[str], name: str
) -> list[dict[str, Any]]:
    _ok(terraform.run(root, "plan", "-input=false", "-no-color", f"-out={name}", *variables))
    shown = _ok(terraform.run(root, "show", "-json", name))
    changes: list[dict[str, Any]] = json.loads(shown.stdout).get("resource_changes", [])
    return changes


def _not_kept(changes: list[dict[str, Any]]) -> dict[str, list[str]]:
    """What a plan would do besides keeping, by each resource's address before any move."""
    return {
        change.get("previous_address") or change["address"]: change["change"]["actions"]
        for change in changes
        if change["change"]["actions"] != ["no-op"]
    }


@pytest.mark.slow
@pytest.mark.terraform_apply
def test_databases_applied_with_the_old_modules_plan_no_change_with_the_new(
    tmp_path: Path, local_aws: str
) -> None:
    require_terraform()
    tree = _tree_before_extraction(tmp_path / "checkout")
    root = tmp_path / "checkout" / "terraform"
    local = {"region_name": REGION, "endpoint_url": local_aws, "aws_access_key_id": "local"}
    local["aws_secret_access_key"] = "local"  # moto takes any
    ec2 = boto3.client("ec2", **local)
    kms = boto3.client("kms", **local)
    network = ensure_network(ec2, REGION)
    app_tier = ec2.create_security_group(GroupName="app", Description="app tier", VpcId=network.vpc_id)[
        "GroupId"
    ]
    key = kms.create_key(Description="databases")["KeyMetadata"]["Arn"]
    (root / "main.tf").write_text(ROOT, encoding="utf-8")
    # The local CI's provider, state and network settings, as a file of this root's own (an
    # environment's root names the region in its providers.tf).
    settings = override_text(
        endpoint_url=local_aws, state_path=tmp_path / "terraform.tfstate", network=network
    )
    settings = settings.replace('provider "aws" {\n', f'provider "aws" {{\n  region = "{REGION}"\n', 1)
    (root / "local_aws.tf").write_text(settings, encoding="utf-8")
    variables = ["-var", f"kms_key_arn={key}", "-var", f"app_tier={app_tier}"]
    terraform = Terraform.prepare(tmp_path / "terraform-cli")

    _ok(terraform.run(root, "init", "-input=false", "-no-color"))
    _ok(
        terraform.run(
            root, "apply", "-input=false", "-no-color", "-auto-approve", *variables, timeout=APPLY_SECONDS
        )
    )
    # What the old modules plan on their own state: moto reads some attributes back differently
    # (updates in place, never a replacement); the new modules must plan exactly these and no more.
    before = _not_kept(_planned_changes(terraform, root, variables, "before.plan"))
    assert all(actions == ["update"] for actions in before.values()), before

    shutil.rmtree(tree / "modules")
    shutil.copytree(MODULES, tree / "modules", ignore=shutil.ignore_patterns(".terraform*"))
    _ok(terraform.run(root, "init", "-input=false", "-no-color"))
    changes = _planned_changes(terraform, root, variables, "after.plan")

    assert _not_kept(changes) == before
    moved = {c["previous_address"]: c["address"] for c in changes if c.get("previous_address")}
    expected = {
        f"module.{database}.{address}": f"module.{database}.module.base.{address}"
        for database in ("rds_orders", "rds_events")
        for address in (
            "aws_db_subnet_group.this[0]",
            'aws_vpc_security_group_ingress_rule.cidr["10.20.0.0/16"]',
            f'aws_vpc_security_group_ingress_rule.security_group["{app_tier}"]',
            "aws_iam_role.monitoring[0]",
            "aws_iam_role_policy_attachment.monitoring[0]",
        )
    }
    assert moved == expected
