"""schemathesis, an outside judge, holds the running API to the OpenAPI document it serves.

It runs as a user would run it (README, "The OpenAPI document"): the ``schemathesis`` command with
the repository's ``schemathesis.toml`` (fixed seed, bounded examples, every check but
``unsupported_method``) against a local stack, on every operation the served document lists, so
routes added later are fuzzed without touching this test. The databases the configuration points
the day-2 routes at are created, merged and applied first.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import REPO_ROOT, StackProcess, _child_environment

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONFIG = REPO_ROOT / "schemathesis.toml"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Far above a run's usual 10-30 s: only a hung stack reaches it.
RUN_SECONDS = 300
# Every check schemathesis 4.32 has, but unsupported_method (schemathesis.toml says why).
CHECKS = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
}


def _operations(document: dict[str, Any]) -> list[str]:
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return [f"{m.upper()} {path}" for path, item in document["paths"].items() for m in item if m in methods]


def _pinned_databases(config: dict[str, Any]) -> set[tuple[str, str]]:
    """(environment, name) of every database an operation's path is pointed at by a dictionary."""
    values = {name: dictionary["values"] for name, dictionary in config.get("dictionaries", {}).items()}
    pinned: set[tuple[str, str]] = set()
    for operation in config.get("operations", []):
        parameters = operation.get("parameters", {})
        environments, names = parameters.get("path.environment"), parameters.get("path.database_name")
        if environments and names:
            pinned |= {
                (environment, name)
                for environment in values[environments["dictionary"]]
                for name in values[names["dictionary"]]
            }
    return pinned


def _applied(stack: StackProcess, environment: str, name: str) -> None:
    """A database as after its pull request was merged and CircleCI applied it."""
    request_id = stack.submit(name, environment=environment)
    record = stack.wait_for_status(request_id, status="pr_opened")
    status, _ = stack.http("POST", f"/_local/prs/{record['pr_url'].rsplit('/', 1)[-1]}/merge")
    assert status < 400
    files = [f"terraform/envs/{environment}/rds_{name}.tf"]
    assert stack.api("POST", "/_local/ci/applied", {"environment": environment, "files": files})[0] == 200
    stack.wait_for_status(request_id, status="applied")


def _checks_run(events: Path) -> set[str]:
    """The checks the run applied, from its NDJSON event stream."""
    names: set[str] = set()
    for line in events.read_text().splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        if finished:
            for checks in (finished.get("recorder") or {}).get("checks", {}).values():
                names.update(check["name"] for check in checks)
    return names


def _check_evaluations(events: Path) -> int:
    return sum(
        len(checks)
        for line in events.read_text().splitlines()
        if (finished := json.loads(line).get("ScenarioFinished"))
        for checks in (finished.get("recorder") or {}).get("checks", {}).values()
    )


def test_the_api_keeps_every_promise_its_openapi_document_makes(stack: StackProcess, tmp_path: Path) -> None:
    status, raw = stack.http("GET", "/openapi.json")
    assert status == 200
    operations = _operations(json.loads(raw))
    config = tomllib.loads(CONFIG.read_text())
    for environment, name in sorted(_pinned_databases(config)):
        _applied(stack, environment, name)
    report_path = tmp_path / "schemathesis.json"
    events_path = tmp_path / "schemathesis.ndjson"
    child_env = {k: v for k, v in _child_environment().items() if not k.startswith("SCHEMATHESIS_")}

    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(CONFIG),
            "--no-color",
            "run",
            f"{stack.url}/openapi.json",
            "--report",
            "json,ndjson",
            "--report-json-path",
            str(report_path),
            "--report-ndjson-path",
            str(events_path),
        ],
        # Its working files (.hypothesis/) stay out of the repository.
        cwd=tmp_path,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )

    output = f"{run.stdout[-12_000:]}\n{run.stderr[-4_000:]}"
    assert run.returncode == 0, (
        f"schemathesis found problems:\n{output}\n--- stack log ---\n{stack.output()[-4_000:]}"
    )
    report = json.loads(report_path.read_text())
    assert report["complete"], output
    assert report["operations"] == {
        "total": len(operations),
        "selected": len(operations),
        "tested": len(operations),
        "errored": 0,
        "skipped": 0,
        "skip_reasons": [],
    }, output
    assert {name: phase["status"] for name, phase in report["phases"].items()} == {
        "examples": "success",
        "coverage": "success",
        "fuzzing": "success",
        "stateful": "success",
    }, output
    assert (report["failures"], report["errors"]) == ([], []), output
    checks = _checks_run(events_path)
    assert checks == CHECKS
    print(
        f"schemathesis {report['schemathesis_version']}, seed {report['seed']}: "
        f"{report['test_cases']['generated']} test cases over {len(operations)} operations, "
        f"{len(checks)} checks applied {_check_evaluations(events_path)} times, "
        f"in {report['running_time']:.1f} s"
    )
    # Not vacuous: hundreds of requests, and the operations pointed at existing databases reached
    # them (schemathesis warns, without failing, about any other operation that only met 404s).
    assert report["test_cases"]["generated"] >= 100 * len(operations), output
    pinned = {operation["include-path"] for operation in config.get("operations", [])}
    reached_nothing = {label.split(" ", 1)[1] for label in report["warnings"]["missing_test_data"]}
    assert not pinned & reached_nothing, output
