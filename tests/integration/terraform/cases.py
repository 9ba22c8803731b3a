"""What the real terraform plans: every tree a reviewer can merge, rendered by the project's renderer.

For each environment, one ``terraform test`` file with one ``run`` block per case, all planned
with a mocked AWS provider:

- ``no_database``: main as committed (the root module itself);
- ``first_pr_<engine>``: main plus one rendered file, for every engine the domain knows; the
  environment's subnet group and KMS key are created in the same plan, the case that broke;
  an Aurora cluster's first PR also plans the environment's AWS Backup plan it joins in prod;
- ``many_databases``: main plus several databases of every engine, with and without the optional
  owner/purpose tags, and one with the longest name the validation allows;
- day 2 (``day2_cases``): ``day2_created`` applies a database of every engine with the mock
  provider (``command = apply``), and every tree a resize or decommission pull request leaves is
  planned against that state (the same ``state_key``, a different module source): ``resize``,
  ``unprotect`` (prod) and ``decommission_<engine>``, so test_plans can say what each would change,
  replace or destroy.

Engines and environments come from the domain enums, so a new engine is planned without touching
this file. Each non-empty case is a copy of the committed root module plus its rendered files in
``<tree>/cases-<environment>/<case>``, two levels under the tree like ``envs/<environment>``, so
the rendered ``source = "../../modules/rds"`` resolves as it does on main.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from backend.domain import (
    Engine,
    EngineFamily,
    Environment,
    ProvisionRequest,
    Sizing,
    environment_policies,
    parse_request,
    policy_for,
)
from backend.render import render_database
from backend.render.hcl import HclValue, attributes

TEST_FILE = "rds_provisioner_plans.tftest.hcl"
# A root module's network inputs (terraform/envs/<env>/variables.tf), as CI passes them.
VPC_ID = "vpc-0a1b2c3d4e5f60718"
DATABASE_SUBNET_IDS = ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]
ALLOWED_CIDR_BLOCKS = ["10.20.0.0/16"]
ALLOWED_SECURITY_GROUP_IDS = ["sg-0a1b2c3d4e5f60718"]
NETWORK: dict[str, HclValue] = {
    "vpc_id": VPC_ID,
    "database_subnet_ids": DATABASE_SUBNET_IDS,
    "allowed_cidr_blocks": ALLOWED_CIDR_BLOCKS,
    "allowed_security_group_ids": ALLOWED_SECURITY_GROUP_IDS,
}
# The zone of each subnet, as the environment module reads them at plan time (data aws_subnet).
DATABASE_SUBNET_ZONES = dict(zip(DATABASE_SUBNET_IDS, ["us-east-1a", "us-east-1b"], strict=True))
# What the day-2 runs' apply needs to pass the modules' and the provider's validations (the mock
# provider's random strings are no ARNs); plans never see them (the values are unknown until apply).
MOCK_ARNS = {
    "aws_kms_key": "arn:aws:kms:us-east-1:111122223333:key/0a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d",
    "aws_iam_role": "arn:aws:iam::111122223333:role/rds-provisioner-mock",
}
NAME_MAX_LENGTH = 50  # the naming rule (docs/api.md): at most 50 characters


def slug(engine: Engine) -> str:
    """An engine as part of a database name (``aurora-mysql`` would become ``aurora_mysql``)."""
    return engine.name.lower()


@dataclass(frozen=True)
class Database:
    name: str
    engine: Engine
    owner: str | None = None
    purpose: str | None = None
    # Day 2: the size a resize gave it, or its prod decommission's first step (deletion protection off).
    sizing: Sizing | None = None
    unprotecting: bool = False

    def request(self, environment: Environment) -> ProvisionRequest:
        payload = {"database_name": self.name, "database_engine": self.engine.value}
        payload["environment"] = environment.value
        if self.owner:
            payload["owner"] = self.owner
        if self.purpose:
            payload["purpose"] = self.purpose
        return parse_request(payload)


@dataclass(frozen=True)
class Case:
    run: str
    environment: Environment
    databases: tuple[Database, ...]
    # A day-2 case: planned against the state its state_key's apply left (see day2_cases).
    command: Literal["plan", "apply"] = "plan"
    state_key: str | None = None

    @property
    def directory(self) -> str | None:
        """Where the case's tree lives, relative to the tree root (None: the root module itself)."""
        return f"cases-{self.environment.value}/{self.run}" if self.databases else None

    @property
    def creates(self) -> bool:
        """A tree of new databases only (planned against no state)."""
        return self.state_key is None

    def database(self, name: str) -> Database:
        (found,) = [database for database in self.databases if database.name == name]
        return found


def longest_name() -> str:
    return ("longest_name_" + "x" * NAME_MAX_LENGTH)[:NAME_MAX_LENGTH]


def cases(environment: Environment) -> list[Case]:
    first_prs = [
        Case(f"first_pr_{slug(engine)}", environment, (Database(f"first_{slug(engine)}", engine),))
        for engine in Engine
    ]
    many = [
        Database(
            f"{slug(engine)}_{number}",
            engine,
            owner="team-a" if number % 2 else None,
            purpose="stock levels: warehouse/eu = 1" if number == 1 else None,
        )
        for engine in Engine
        for number in (1, 2)
    ]
    many.append(Database(longest_name(), list(Engine)[-1], owner="platform"))
    return [
        Case("no_database", environment, ()),
        *first_prs,
        Case("many_databases", environment, tuple(many)),
        *day2_cases(environment),
    ]


# --- day 2 (issue #14 item 7) ---------------------------------------------------------------------
DAY2_STATE = "day2"


def day2_databases() -> tuple[Database, ...]:
    """What the day-2 trees start from: a database of every engine."""
    return tuple(Database(f"day2_{slug(engine)}", engine) for engine in Engine)


def changed_engines() -> list[Engine]:
    """The engine of the database each day-2 case changes: the first of each family."""
    return [next(engine for engine in Engine if engine.family is family) for family in EngineFamily]


def largest(environment: Environment, engine: Engine) -> Sizing:
    """A new database of ``engine`` resized to the last value the policy offers for everything a
    resize may change (its largest storage, capacity and class)."""
    policy = policy_for(environment)
    choices: dict[str, Any] = {field: allowed[-1] for field, allowed in policy.resize_choices(engine).items()}
    return replace(policy.new_sizing(engine), **choices)


def changed_name(engine: Engine) -> str:
    return f"day2_{slug(engine)}"


def day2_cases(environment: Environment) -> list[Case]:
    """Every tree a day-2 pull request leaves, each planned against the state of the databases it
    changes (applied by the mock provider in the first run with the same state_key).

    - ``resize``: the database of one engine per family rendered with the largest size its policy
      allows (only those, in place);
    - ``unprotect`` (where the policy protects databases): the same two at a prod decommission's
      first step, deletion protection off;
    - ``decommission_<engine>``: the tree without that database's file (only it is destroyed).
    """
    base = day2_databases()
    changed = {changed_name(engine) for engine in changed_engines()}

    def edited(**change: Any) -> tuple[Database, ...]:
        return tuple(replace(d, **change) if d.name in changed else d for d in base)

    day2 = [
        Case("day2_created", environment, base, command="apply", state_key=DAY2_STATE),
        Case(
            "resize",
            environment,
            tuple(
                replace(d, sizing=largest(environment, d.engine)) if d.name in changed else d for d in base
            ),
            state_key=DAY2_STATE,
        ),
    ]
    if policy_for(environment).deletion_protection:
        day2.append(Case("unprotect", environment, edited(unprotecting=True), state_key=DAY2_STATE))
    day2 += [
        Case(
            f"decommission_{slug(engine)}",
            environment,
            tuple(d for d in base if d.name != changed_name(engine)),
            state_key=DAY2_STATE,
        )
        for engine in changed_engines()
    ]
    return day2


def request_id(case: Case, database: Database) -> str:
    """The RequestId tag: a day-2 tree keeps the create's for the databases it leaves as they are
    (their files are main's), and the change's for the one it changes, as the provisioner does."""
    changed = database.sizing is not None or database.unprotecting
    run = case.state_key if case.state_key is not None and not changed else case.run
    return f"plan-{case.environment.value}-{run}-{database.name}"


# The account the data sources read: the same in every run, or a later run's policies (built from
# them) would differ from the state an earlier run applied, and plan updates that are not there.
MOCK_DATA: dict[str, dict[str, HclValue]] = {
    "aws_caller_identity": {
        "account_id": "111122223333",
        "arn": "arn:aws:iam::111122223333:user/terraform-test",
        "user_id": "AIDAMOCKTERRAFORMTEST",
    },
    "aws_partition": {"partition": "aws", "dns_suffix": "amazonaws.com"},
}


def _mock(kind: str, type_name: str, defaults: dict[str, HclValue]) -> list[str]:
    return [
        f'  {kind} "{type_name}" {{',
        "    defaults = {",
        attributes(list(defaults.items()), 3),
        "    }",
        "  }",
    ]


def mock_resources() -> list[str]:
    lines: list[str] = []
    for resource_type, arn in MOCK_ARNS.items():
        lines += _mock("mock_resource", resource_type, {"arn": arn})
    for data_type, defaults in MOCK_DATA.items():
        lines += _mock("mock_data", data_type, defaults)
    return lines


def plans_file_header() -> list[str]:
    """A test file's mocked provider, network inputs and subnet zones: what every plan of a root needs."""
    lines = [
        "# Generated by tests/integration/terraform/cases.py for this test session; not committed.",
        'mock_provider "aws" {',
        *mock_resources(),
        "}",
        "",
        "variables {",
        attributes(list(NETWORK.items())),
        "}",
    ]
    # The zones the real provider would read for the subnets (the mock would invent them).
    for subnet, zone in DATABASE_SUBNET_ZONES.items():
        lines += [
            "",
            "override_data {",
            f'  target          = module.environment.data.aws_subnet.database["{subnet}"]',
            "  override_during = plan",
            "  values = {",
            f'    availability_zone = "{zone}"',
            "  }",
            "}",
        ]
    return lines


def plans_file_text(environment: Environment) -> str:
    lines = plans_file_header()
    for case in cases(environment):
        lines += ["", f'run "{case.run}" {{']
        if case.state_key is None:
            lines.append(f"  command = {case.command}")
        else:  # aligned as terraform fmt aligns them
            lines += [f"  command   = {case.command}", f'  state_key = "{case.state_key}"']
        if case.directory is not None:
            lines += ["", "  module {", f'    source = "../../{case.directory}"', "  }"]
        lines.append("}")
    return "\n".join(lines) + "\n"


def build_tree(terraform_dir: Path, tree: Path) -> None:
    """Copy terraform/ to ``tree`` and add every environment's cases and test file."""
    shutil.copytree(
        terraform_dir, tree, ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*")
    )
    for environment in environment_policies():
        root = tree / "envs" / environment.value
        for case in cases(environment):
            if case.directory is None:
                continue
            directory = tree / case.directory
            directory.mkdir(parents=True)
            # The committed root module as main has it; a backend block means nothing to a test.
            for committed in root.glob("*.tf"):
                if committed.name != "backend.tf":
                    shutil.copy2(committed, directory / committed.name)
            for database in case.databases:
                rendered = render_database(
                    database.request(environment),
                    request_id=request_id(case, database),
                    requested_by="terraform-plan-test",
                    sizing=database.sizing,
                    unprotecting=database.unprotecting,
                )
                path = PurePosixPath(rendered.path)
                assert path.parent == PurePosixPath("terraform/envs", environment.value), rendered.path
                assert not (directory / path.name).exists(), f"{path.name} is already on main"
                (directory / path.name).write_text(rendered.content, encoding="utf-8")
        (root / "tests").mkdir(exist_ok=True)
        (root / "tests" / TEST_FILE).write_text(plans_file_text(environment), encoding="utf-8")
