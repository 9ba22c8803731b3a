"""What the real terraform plans: every tree a reviewer can merge, rendered by the project's renderer.

For each environment, one ``terraform test`` file with one ``run`` block per case, all planned
with a mocked AWS provider:

- ``no_database``: main as committed (the root module itself);
- ``first_pr_<engine>``: main plus one rendered file, for every engine the domain knows; the
  environment's subnet group and KMS key are created in the same plan, the case that broke;
- ``many_databases``: main plus several databases of every engine, with and without the optional
  owner/purpose tags, and one with the longest name the validation allows.

Until the renderer writes Aurora files (issue #17), hand-written examples of what it will write,
``fixtures/aurora_<environment>_<engine>.tf``, are planned beside the rendered ones: the
aurora-mysql example in ``first_pr_mysql``, the aurora-postgresql one in ``first_pr_postgres``
(so a cluster is planned with the environment's subnet group, key and backup plan unknown), and
both in ``many_databases``. No run of its own: each run plans the whole environment.

Engines and environments come from the domain enums, so a new engine is planned without touching
this file. Each non-empty case is a copy of the committed root module plus its rendered files in
``<tree>/cases-<environment>/<case>``, two levels under the tree like ``envs/<environment>``, so
the rendered ``source = "../../modules/rds"`` resolves as it does on main.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from backend.domain import Engine, Environment, ProvisionRequest, parse_request
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
NAME_MAX_LENGTH = 50  # DESIGN.md section 3, Naming
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def slug(engine: Engine) -> str:
    """An engine as part of a database name (``aurora-mysql`` would become ``aurora_mysql``)."""
    return engine.name.lower()


@dataclass(frozen=True)
class Database:
    name: str
    engine: Engine
    owner: str | None = None
    purpose: str | None = None

    def request(self, environment: Environment) -> ProvisionRequest:
        payload = {"database_name": self.name, "database_engine": self.engine.value}
        payload["environment"] = environment.value
        if self.owner:
            payload["owner"] = self.owner
        if self.purpose:
            payload["purpose"] = self.purpose
        return parse_request(payload)


AuroraEngine = Literal["aurora-mysql", "aurora-postgresql"]


@dataclass(frozen=True)
class AuroraPolicy:
    """What an environment gives an Aurora cluster: the values the hand-written examples embody.

    The suggested environment policy for Aurora (issue #17), until backend/domain/policy.py holds
    it and the renderer writes these files.
    """

    instance_class: str
    instance_count: int
    serverless_capacity: tuple[float, float] | None  # (min, max) ACUs for db.serverless
    backup_retention_period: int
    backtrack_window: int  # seconds, aurora-mysql only
    deletion_protection: bool
    aws_backup: bool  # joins the environment's AWS Backup plan
    performance_insights_enabled: bool
    performance_insights_retention_period: int
    monitoring_interval: int


AURORA_POLICY: dict[Environment, AuroraPolicy] = {
    Environment.DEV: AuroraPolicy(
        instance_class="db.serverless",
        instance_count=1,
        serverless_capacity=(0.5, 2),
        backup_retention_period=7,
        backtrack_window=0,
        deletion_protection=False,
        aws_backup=False,
        performance_insights_enabled=False,
        performance_insights_retention_period=7,
        monitoring_interval=0,
    ),
    Environment.PROD: AuroraPolicy(
        instance_class="db.r6g.large",
        instance_count=2,
        serverless_capacity=None,
        backup_retention_period=30,
        backtrack_window=86400,
        deletion_protection=True,
        aws_backup=True,
        performance_insights_enabled=True,
        performance_insights_retention_period=7,
        monitoring_interval=60,
    ),
}


@dataclass(frozen=True)
class AuroraEngineDefaults:
    engine_version: str
    family: str  # cluster parameter group family
    port: int
    enabled_cloudwatch_logs_exports: tuple[str, ...]


AURORA_ENGINE_DEFAULTS: dict[AuroraEngine, AuroraEngineDefaults] = {
    # A major version: Aurora picks its default minor, auto minor upgrades keep it current.
    "aurora-mysql": AuroraEngineDefaults("8.0", "aurora-mysql8.0", 3306, ("audit", "error", "slowquery")),
    "aurora-postgresql": AuroraEngineDefaults("16", "aurora-postgresql16", 5432, ("postgresql",)),
}

# Distinct names per environment, as checkov tells module resources apart by address only.
AURORA_EXAMPLE_NAMES: dict[tuple[Environment, AuroraEngine], str] = {
    (Environment.DEV, "aurora-mysql"): "carts",
    (Environment.DEV, "aurora-postgresql"): "events",
    (Environment.PROD, "aurora-mysql"): "sessions",
    (Environment.PROD, "aurora-postgresql"): "analytics",
}


@dataclass(frozen=True)
class AuroraExample:
    """One hand-written example of the renderer's future Aurora output (fixtures/)."""

    environment: Environment
    engine: AuroraEngine

    @property
    def database_name(self) -> str:
        return AURORA_EXAMPLE_NAMES[(self.environment, self.engine)]

    @property
    def engine_slug(self) -> str:
        return self.engine.removeprefix("aurora-")

    @property
    def fixture(self) -> Path:
        return FIXTURES / f"aurora_{self.environment.value}_{self.engine_slug}.tf"

    @property
    def file_name(self) -> str:
        return f"rds_{self.database_name}.tf"

    @property
    def module_name(self) -> str:
        return f"rds_{self.database_name}"

    @property
    def identifier(self) -> str:
        return f"{self.database_name.replace('_', '-')}-{self.environment.value}"

    @property
    def policy(self) -> AuroraPolicy:
        return AURORA_POLICY[self.environment]

    @property
    def defaults(self) -> AuroraEngineDefaults:
        return AURORA_ENGINE_DEFAULTS[self.engine]


def aurora_examples(environment: Environment) -> tuple[AuroraExample, ...]:
    return (AuroraExample(environment, "aurora-mysql"), AuroraExample(environment, "aurora-postgresql"))


# The RDS engine whose first-PR tree also holds an Aurora example.
AURORA_BESIDE: dict[str, AuroraEngine] = {"mysql": "aurora-mysql", "postgres": "aurora-postgresql"}


def aurora_beside(environment: Environment, engine: Engine) -> tuple[AuroraExample, ...]:
    aurora_engine = AURORA_BESIDE.get(engine.value)
    return (AuroraExample(environment, aurora_engine),) if aurora_engine else ()


@dataclass(frozen=True)
class Case:
    run: str
    environment: Environment
    databases: tuple[Database, ...]
    aurora: tuple[AuroraExample, ...] = ()

    @property
    def directory(self) -> str | None:
        """Where the case's tree lives, relative to the tree root (None: the root module itself)."""
        return f"cases-{self.environment.value}/{self.run}" if self.databases or self.aurora else None


def longest_name() -> str:
    return ("longest_name_" + "x" * NAME_MAX_LENGTH)[:NAME_MAX_LENGTH]


def cases(environment: Environment) -> list[Case]:
    first_prs = [
        Case(
            f"first_pr_{slug(engine)}",
            environment,
            (Database(f"first_{slug(engine)}", engine),),
            aurora_beside(environment, engine),
        )
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
        for number in (1, 2, 3)
    ]
    many.append(Database(longest_name(), list(Engine)[-1], owner="platform"))
    return [
        Case("no_database", environment, ()),
        *first_prs,
        Case("many_databases", environment, tuple(many), aurora_examples(environment)),
    ]


def request_id(case: Case, database: Database) -> str:
    return f"plan-{case.environment.value}-{case.run}-{database.name}"


def plans_file_text(environment: Environment) -> str:
    lines = [
        "# Generated by tests/integration/terraform/cases.py for this test session; not committed.",
        'mock_provider "aws" {}',
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
    for case in cases(environment):
        lines += ["", f'run "{case.run}" {{', "  command = plan"]
        if case.directory is not None:
            lines += ["", "  module {", f'    source = "../../{case.directory}"', "  }"]
        lines.append("}")
    return "\n".join(lines) + "\n"


def build_tree(terraform_dir: Path, tree: Path) -> None:
    """Copy terraform/ to ``tree`` and add every environment's cases and test file."""
    shutil.copytree(
        terraform_dir, tree, ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*")
    )
    for environment in Environment:
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
                )
                path = PurePosixPath(rendered.path)
                assert path.parent == PurePosixPath("terraform/envs", environment.value), rendered.path
                assert not (directory / path.name).exists(), f"{path.name} is already on main"
                (directory / path.name).write_text(rendered.content, encoding="utf-8")
            for example in case.aurora:
                assert not (directory / example.file_name).exists(), f"{example.file_name} is already there"
                shutil.copy2(example.fixture, directory / example.file_name)
        (root / "tests").mkdir(exist_ok=True)
        (root / "tests" / TEST_FILE).write_text(plans_file_text(environment), encoding="utf-8")
