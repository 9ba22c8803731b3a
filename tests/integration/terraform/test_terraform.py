"""The Terraform tree: it parses, checkov passes it with real databases in it, and skips are justified.

checkov runs once per session (shared by xdist workers through a lock file) over a copy of
terraform/ holding rendered dev and prod databases of every engine (DB instances and Aurora
clusters); the tests then read the results per environment.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import pytest

from backend.domain import Engine, EngineFamily, environment_policies, parse_request
from backend.render import render_database

REPO = Path(__file__).resolve().parents[3]
TERRAFORM = REPO / "terraform"
DEFAULT_CHECKOV = REPO / ".tools" / "checkov" / "bin" / "checkov"

# Distinct names per environment: checkov reports module resources by address
# (module.rds_<name>....), which is how results are split between dev and prod.
SCANNED = {
    "dev": [
        ("orders", "mysql"),
        ("ledger", "postgres"),
        ("carts", "aurora-mysql"),
        ("events", "aurora-postgresql"),
    ],
    "prod": [
        ("billing", "postgres"),
        ("catalog", "mysql"),
        ("sessions", "aurora-mysql"),
        ("analytics", "aurora-postgresql"),
    ],
}


def scanned(env: str, family: EngineFamily) -> list[tuple[str, str]]:
    return [(name, engine) for name, engine in SCANNED[env] if Engine(engine).family is family]


# The only suppressions allowed anywhere under terraform/, each for a feature the dev policy
# switches off on purpose (cost or disposability); prod files may carry none.
DEV_ONLY_SKIPS = {
    "CKV_AWS_157": "Multi-AZ: a dev database runs in one AZ",
    "CKV_AWS_293": "deletion protection: dev databases are disposable (the final snapshot stays)",
    "CKV_AWS_353": "Performance Insights: prod only (not available for MySQL on db.t3.micro)",
    "CKV_AWS_118": "enhanced monitoring: prod only",
}
# An Aurora cluster's dev-only suppressions (issue #17).
AURORA_DEV_ONLY_SKIPS = {
    "CKV_AWS_139": "deletion protection: dev databases are disposable (the final snapshot stays)",
    "CKV_AWS_353": "Performance Insights: prod only",
    "CKV_AWS_118": "enhanced monitoring: prod only",
    # checkov 3.3 passes CKV2_AWS_8 even when the module's aws_backup_selection has count = 0 (it
    # does not evaluate count): the skip states what the plan shows, no AWS Backup plan in dev.
    "CKV2_AWS_8": "AWS Backup plan: prod only (Aurora's own backups and the final snapshot remain)",
}
ALLOWED_SKIPS = {**DEV_ONLY_SKIPS, **AURORA_DEV_ONLY_SKIPS}
SKIP_COMMENT = re.compile(r"checkov:skip=([^:\s]*)(?::(.*))?")

# Checks every database must pass outright (prod adds the ones dev skips).
REQUIRED_PASSES = {
    "CKV_AWS_16",  # storage encrypted
    "CKV_AWS_17",  # not publicly accessible
    "CKV_AWS_129",  # log exports
    "CKV_AWS_133",  # backups retained
    "CKV_AWS_211",  # current CA certificate
    "CKV_AWS_226",  # auto minor version upgrade
    "CKV_AWS_354",  # Performance Insights encrypted with a CMK (when on)
    "CKV2_AWS_60",  # copy tags to snapshots
    "CKV2_AWS_69",  # TLS enforced by the parameter group
}
# Not listed: CKV_AWS_161 (IAM auth) and CKV_AWS_250 only judge mysql/postgres instances, and
# checkov 3.3 does not resolve aws_db_instance.engine through a module variable, so they come
# back UNKNOWN (neither passed nor failed) for module calls. test_database_resource_is_hardened
# checks IAM authentication directly instead.

# Checks every Aurora cluster must pass outright (prod adds the ones dev skips).
AURORA_REQUIRED_PASSES = {
    "CKV_AWS_96",  # storage encrypted
    "CKV_AWS_327",  # encrypted with a customer managed key
    "CKV_AWS_162",  # IAM authentication
    "CKV_AWS_313",  # copy tags to snapshots
    "CKV_AWS_324",  # log exports
    "CKV_AWS_133",  # backups retained
    "CKV_AWS_17",  # instances not publicly accessible
    "CKV_AWS_226",  # auto minor version upgrade
    "CKV_AWS_354",  # Performance Insights encrypted with a CMK (when on)
    "CKV_AWS_382",  # no egress to the internet
    "CKV2_AWS_5",  # the security group is attached
}
# Not listed: CKV_AWS_325 (aurora-mysql audit log) and CKV_AWS_326 (aurora-mysql Backtrack) come
# back UNKNOWN for module calls, as checkov 3.3 does not resolve the cluster's engine through the
# module variable; test_plans.check_aurora asserts the audit export and Backtrack on the plans.


def terraform_files() -> list[Path]:
    return sorted(TERRAFORM.rglob("*.tf"))


def checkov_binary() -> Path:
    if DEFAULT_CHECKOV.exists():
        return DEFAULT_CHECKOV
    found = shutil.which("checkov")
    if found is None:
        pytest.fail("checkov not found: run `make tools` (it installs .tools/checkov)")
    return Path(found)


@dataclass(frozen=True)
class Scan:
    directory: Path
    report: dict[str, Any]

    @property
    def summary(self) -> dict[str, int]:
        return dict(self.report["summary"])

    def results(self, kind: str) -> list[dict[str, Any]]:
        return list(self.report["results"].get(kind, []))

    def environment_of(self, result: dict[str, Any]) -> str | None:
        resource = str(result["resource"])
        for env, databases in SCANNED.items():
            if str(result["file_path"]).startswith(f"/envs/{env}/"):
                return env
            if any(resource.startswith(f"module.rds_{name}.") for name, _ in databases):
                return env
        return None

    def figures(self, env: str) -> dict[str, int]:
        return {
            kind: sum(1 for r in self.results(f"{kind}_checks") if self.environment_of(r) == env)
            for kind in ("passed", "failed", "skipped")
        }


def _run_checkov(directory: Path) -> dict[str, Any]:
    shutil.copytree(TERRAFORM, directory / "terraform")
    for env, databases in SCANNED.items():
        for name, engine in databases:
            request = parse_request({"database_name": name, "database_engine": engine, "environment": env})
            rendered = render_database(request, request_id=f"scan-{env}-{name}", requested_by="checkov")
            (directory / rendered.path).write_text(rendered.content, encoding="utf-8")
    completed = subprocess.run(
        [
            str(checkov_binary()),
            "-d",
            str(directory / "terraform"),
            "--framework",
            "terraform",
            "-o",
            "json",
            "--skip-download",  # no network: guidelines and mappings are not needed
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # checkov exits 1 when a check fails; the report says which, so only a missing report is fatal.
    try:
        reports = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov gave no JSON (exit {completed.returncode}):\n{completed.stderr[-3000:]}")
    reports = reports if isinstance(reports, list) else [reports]
    (report,) = [r for r in reports if r.get("check_type") == "terraform"]
    return dict(report)


@pytest.fixture(scope="session")
def scan(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Scan:
    if getattr(request.config, "workerinput", None) is None:
        directory = tmp_path_factory.mktemp("checkov")
        return Scan(directory, _run_checkov(directory))
    # Under xdist every worker shares the session's base directory: the first one scans.
    shared = tmp_path_factory.getbasetemp().parent
    directory = shared / "checkov-scan"
    result = shared / "checkov-report.json"
    with (shared / "checkov.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            directory.mkdir()
            result.write_text(json.dumps(_run_checkov(directory)), encoding="utf-8")
    return Scan(directory, json.loads(result.read_text(encoding="utf-8")))


# --- parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", terraform_files(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_terraform_file_parses(path: Path) -> None:
    parsed = hcl2.loads(path.read_text(encoding="utf-8"))
    assert set(parsed) - {"__comments__"}, f"{path} declares nothing"


def test_the_tree_has_the_module_and_both_root_modules() -> None:
    names = {str(p.relative_to(TERRAFORM)) for p in terraform_files()}
    expected = {"modules/rds/main.tf", "modules/rds/variables.tf", "modules/rds/outputs.tf"}
    expected |= {"modules/rds/versions.tf"}
    for env in ("dev", "prod"):
        expected |= {
            f"envs/{env}/{f}.tf" for f in ("versions", "backend", "providers", "variables", "network")
        }
    assert expected <= names


# --- checkov -----------------------------------------------------------------------------


@pytest.mark.slow
def test_checkov_finds_no_failed_checks(scan: Scan) -> None:
    failed = [
        f"{r['check_id']} {r['resource']} ({r['file_path']}:{r['file_line_range']}) {r['check_name']}"
        for r in scan.results("failed_checks")
    ]
    assert scan.summary["parsing_errors"] == 0
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert scan.summary["failed"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_checkov_really_checked_every_database(scan: Scan, env: str) -> None:
    figures = scan.figures(env)
    print(f"checkov {env}: {figures}")
    assert figures["failed"] == 0
    for name, engine in scanned(env, EngineFamily.INSTANCE):
        prefix = f"module.rds_{name}."
        passed = {r["check_id"] for r in scan.results("passed_checks") if r["resource"].startswith(prefix)}
        skipped = {r["check_id"] for r in scan.results("skipped_checks") if r["resource"].startswith(prefix)}
        # Far above zero, so the scan cannot pass by scanning nothing.
        assert len(passed) >= 20, f"{name}: only {sorted(passed)}"
        assert passed >= REQUIRED_PASSES, f"{name} misses {sorted(REQUIRED_PASSES - passed)}"
        if engine == "postgres":
            assert "CKV2_AWS_30" in passed  # query logging
        if env == "prod":
            assert not skipped, f"prod must not skip anything: {sorted(skipped)}"
            assert set(DEV_ONLY_SKIPS) <= passed
        else:
            assert skipped == set(DEV_ONLY_SKIPS)


@pytest.mark.slow
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_checkov_really_checked_every_aurora_cluster(scan: Scan, env: str) -> None:
    clusters = scanned(env, EngineFamily.AURORA)
    assert {engine for _, engine in clusters} == {"aurora-mysql", "aurora-postgresql"}
    for name, engine in clusters:
        prefix = f"module.rds_{name}."
        passed = {r["check_id"] for r in scan.results("passed_checks") if r["resource"].startswith(prefix)}
        failed = {r["check_id"] for r in scan.results("failed_checks") if r["resource"].startswith(prefix)}
        skipped = {r["check_id"] for r in scan.results("skipped_checks") if r["resource"].startswith(prefix)}
        figures = {"passed": len(passed), "failed": len(failed), "skipped": sorted(skipped)}
        print(f"checkov {name}: {figures}")
        assert not failed, f"{name}: {sorted(failed)}"
        assert len(passed) >= 20, f"{name}: only {sorted(passed)}"
        missing = sorted(AURORA_REQUIRED_PASSES - passed)
        assert not missing, f"{name} misses {missing}"
        if engine == "aurora-postgresql":
            assert "CKV2_AWS_27" in passed  # query logging in the cluster parameter group
        if env == "prod":
            assert not skipped, f"prod must not skip anything: {sorted(skipped)}"
            assert set(AURORA_DEV_ONLY_SKIPS) <= passed
        else:
            assert skipped == set(AURORA_DEV_ONLY_SKIPS)


@pytest.mark.slow
def test_checkov_skips_carry_their_reasons(scan: Scan) -> None:
    for result in scan.results("skipped_checks"):
        assert result["check_id"] in ALLOWED_SKIPS
        assert scan.environment_of(result) == "dev"
        assert str(result["check_result"].get("suppress_comment", "")).strip()


def test_every_skip_in_terraform_is_dev_only_and_explained(scan: Scan) -> None:
    # The repository's files plus the rendered ones in the scanned copy.
    found: Counter[str] = Counter()
    for path in sorted((scan.directory / "terraform").rglob("*.tf")):
        relative = path.relative_to(scan.directory / "terraform")
        for line in path.read_text(encoding="utf-8").splitlines():
            for check_id, reason in SKIP_COMMENT.findall(line):
                assert check_id in ALLOWED_SKIPS, f"{relative}: {check_id} may not be skipped"
                assert reason.strip(), f"{relative}: skip of {check_id} gives no reason"
                assert relative.parts[:2] == ("envs", "dev"), f"{relative}: skips are for dev only"
                found[check_id] += 1
    # Each rendered dev database carries each dev-only skip of its kind once; nothing else does.
    expected = Counter({check: len(scanned("dev", EngineFamily.INSTANCE)) for check in DEV_ONLY_SKIPS})
    expected.update({check: len(scanned("dev", EngineFamily.AURORA)) for check in AURORA_DEV_ONLY_SKIPS})
    assert found == expected


# --- what the configuration promises ------------------------------------------------------


def _unquote_labels(node: Any) -> Any:
    """python-hcl2 keeps block labels quoted ('"aws_db_instance"'); values stay as parsed."""
    if isinstance(node, dict):
        return {key.strip('"'): _unquote_labels(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_unquote_labels(item) for item in node]
    return node


def load(relative: str) -> dict[str, Any]:
    return dict(_unquote_labels(hcl2.loads((TERRAFORM / relative).read_text(encoding="utf-8"))))


def test_database_resource_is_hardened() -> None:
    (instance,) = [
        r["aws_db_instance"]["this"]
        for r in load("modules/rds/main.tf")["resource"]
        if "aws_db_instance" in r
    ]

    assert instance["manage_master_user_password"] is True
    assert instance["storage_encrypted"] is True
    assert instance["publicly_accessible"] is False
    assert instance["iam_database_authentication_enabled"] is True
    assert instance["copy_tags_to_snapshot"] is True
    assert instance["skip_final_snapshot"] is False
    assert instance["auto_minor_version_upgrade"] is True
    assert instance["storage_type"] == "${var.storage_type}"
    assert "password" not in instance


def test_parameter_groups_force_tls() -> None:
    groups = {
        name: body
        for r in load("modules/rds/main.tf")["resource"]
        for name, body in r.get("aws_db_parameter_group", {}).items()
    }
    parameters = {
        engine: {p["name"].strip('"'): p["value"].strip('"') for p in group["parameter"]}
        for engine, group in groups.items()
    }

    assert parameters["postgres"]["rds.force_ssl"] == "1"
    assert parameters["mysql"]["require_secure_transport"] == "1"


def test_module_variables_and_outputs_are_typed_and_described() -> None:
    variables = {k: v for block in load("modules/rds/variables.tf")["variable"] for k, v in block.items()}
    outputs = {k: v for block in load("modules/rds/outputs.tf")["output"] for k, v in block.items()}

    for name, body in variables.items():
        assert body.get("description"), f"variable {name} has no description"
        assert body.get("type"), f"variable {name} has no type"
    for name, body in outputs.items():
        assert body.get("description"), f"output {name} has no description"
    assert {"db_instance_endpoint", "db_instance_port", "db_instance_master_user_secret_arn"} <= set(outputs)
    assert not any("password" in name for name in variables)


@pytest.mark.parametrize("env", list(environment_policies()))
def test_root_module_backend_versions_and_tags(env: str) -> None:
    backend = load(f"envs/{env}/backend.tf")["terraform"][0]["backend"][0]["s3"]
    versions = load(f"envs/{env}/versions.tf")["terraform"][0]
    provider = load(f"envs/{env}/providers.tf")["provider"][0]["aws"]

    assert backend["use_lockfile"] is True
    assert backend["encrypt"] is True
    assert backend["key"] == f'"rds-provisioner/{env}/terraform.tfstate"'
    assert "bucket" not in backend, "the bucket comes from -backend-config in CI"
    assert ">= 1.10" in versions["required_version"]
    # One provider range everywhere: a module admitting less than its root would fail init.
    ranges = {
        load(str(path.relative_to(TERRAFORM)))["terraform"][0]["required_providers"][0]["aws"]["version"]
        for path in TERRAFORM.glob("*/*/versions.tf")
    }
    assert ranges == {versions["required_providers"][0]["aws"]["version"]}
    tags = provider["default_tags"][0]["tags"]
    assert tags["ManagedBy"] == '"rds-provisioner"'
    assert tags["Environment"] == f'"{env}"'
