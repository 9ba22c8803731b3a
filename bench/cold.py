"""Cold start: fresh interpreters importing (and initialising) each Lambda handler module.

Samples are interleaved round-robin across targets so drift (other load, CPU frequency) spreads
evenly, and one discarded round first makes sure every ``.pyc`` exists. ``import boto3`` is
measured the same way in the same run as the yardstick. Every child gets the variables the
template sets for every function as plain values (``template_variables``), as Lambda does.

The Slack function is also measured as Slack waits for it on a cold start: a fresh process
imports ``bot.app`` and answers its first request through ``lambda_handler``, configured from the
environment as deployed (the signing secret and bot token in Secrets Manager, the table and topic
on a moto server in another process, Slack calls to the local stand-in). Two first requests: the
bare command that opens the form, and a command that submits a request (the intake's DynamoDB
transaction and SNS publish, then the DM confirmation). Each is measured twice: the secrets read
with boto3 (the default), and through the AWS Parameters and Secrets Lambda Extension
(``SECRETS_EXTENSION_PORT``; here its stand-in, ``tests.support.secrets_extension``, answering
from the same moto server), as the template deploys the Slack function.

The imports above come from this checkout, whose bytecode caches exist. Lambda imports from the
deployment package in its read-only /var/task instead, so each handler is also imported from its
package (``local.build.local_twin``) with bytecode writing off: once as ``sam build`` leaves it,
without bytecode, and once with the bytecode ``make build`` compiles into it.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench._cold_child import INIT_BUILDS, TARGETS
from bench.report import Row, median

REPO_ROOT = Path(__file__).resolve().parents[1]
HANDLER_TARGETS = ("api", "slack", "worker")


@functools.cache
def template_variables() -> dict[str, str]:
    """The variables the template gives every function as plain values (its Globals), as Lambda
    sets them before the handler module is imported; those taken from parameters are left out."""
    from cfnlint.decode import cfn_yaml

    template = cfn_yaml.load(str(REPO_ROOT / "sam" / "template.yaml"))
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    return {name: value for name, value in variables.items() if isinstance(value, str)}


def _child(arguments: list[str], *, cwd: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """What one fresh interpreter running ``bench/_cold_child.py`` printed (its last line, JSON),
    with the template's plain variables added to ``env``."""
    completed = subprocess.run(
        [sys.executable, *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**env, **template_variables()},
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def sample(target: str, *arguments: str, env: Mapping[str, str] | None = None) -> dict[str, float]:
    environment = os.environ if env is None else env  # noqa: TID251 - the bench's own process
    return _child(["-m", "bench._cold_child", target, *arguments], cwd=REPO_ROOT, env=environment)


FIRST_REQUESTS = {"opens the form": "", "submits": "{name} postgres dev"}
# How the first request reads its two secrets: each first request is measured both ways.
SECRET_PATHS = {"": False, " (secrets through the extension)": True}
# What the extension stand-in expects and the Slack function sends (Lambda's AWS_SESSION_TOKEN).
SESSION_TOKEN = "bench-session-token"


class FirstRequests:
    """Signed first requests for fresh Slack functions configured as deployed (see the module)."""

    def __init__(self, env: Mapping[str, str], directory: Path, extension_port: int) -> None:
        self.env = env
        self.directory = directory
        self.count = 0
        self.extension_env = {
            **env,
            "SECRETS_EXTENSION_PORT": str(extension_port),
            "AWS_SESSION_TOKEN": SESSION_TOKEN,
        }

    def event(self, kind: str) -> Path:
        """A file holding a new signed first request of ``kind`` (each names a new database)."""
        from tests.integration.slack.driver import SlackDriver

        self.count += 1
        text = FIRST_REQUESTS[kind].format(name=f"cold_{self.count}")
        events: list[dict[str, Any]] = []

        def capture(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            events.append(event)
            return {"statusCode": 200}

        SlackDriver(capture).command(text)
        path = self.directory / f"event-{self.count}.json"
        path.write_text(json.dumps(events[0]), encoding="utf-8")
        return path

    def sample(self, kind: str, *, extension: bool = False) -> dict[str, float]:
        return sample("slack-first", str(self.event(kind)), env=self.extension_env if extension else self.env)


@contextmanager
def first_requests() -> Iterator[FirstRequests]:
    import boto3

    from bench.ack import fake_aws_credentials, moto_server
    from local.resources import ensure_resources
    from local.slack_api import SlackApiStandIn
    from tests.integration.slack import driver
    from tests.support.secrets_extension import SecretsExtensionStandIn

    stand_in = SlackApiStandIn(
        team_id=driver.TEAM_ID, bot_user_id=driver.BOT_USER_ID, bot_id=driver.BOT_ID, app_id=driver.APP_ID
    )
    with (
        fake_aws_credentials(),
        moto_server() as url,
        stand_in as slack_api,
        tempfile.TemporaryDirectory() as directory,
        SecretsExtensionStandIn(
            session_token=lambda: SESSION_TOKEN, region="us-east-1", endpoint_url=url
        ) as extension,
    ):
        resources = ensure_resources(region="us-east-1", endpoint_url=url)
        secrets = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=url)
        secret_ids = {
            name: secrets.create_secret(Name=f"rds-provisioner/{name}", SecretString=value)["ARN"]
            for name, value in (("signing-secret", driver.SIGNING_SECRET), ("bot-token", driver.BOT_TOKEN))
        }
        env = {
            "PATH": os.environ.get("PATH", ""),  # noqa: TID251 - the bench's own process
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": url,
            "REQUESTS_TABLE_NAME": resources.table_name,
            "REQUESTS_TOPIC_ARN": resources.topic_arn,
            "SLACK_SIGNING_SECRET_SECRET_ID": secret_ids["signing-secret"],
            "SLACK_BOT_TOKEN_SECRET_ID": secret_ids["bot-token"],
            "SLACK_API_URL": slack_api.base_url,
            "SLACK_BOT_USER_ID": driver.BOT_USER_ID,
            "SLACK_BOT_ID": driver.BOT_ID,
            "SLACK_TEAM_ID": driver.TEAM_ID,
        }
        yield FirstRequests(env, Path(directory), extension.port)


# How a package's modules are loaded, as Lambda loads them from its read-only /var/task.
PACKAGE_BYTECODE = {"without bytecode (sam build alone)": False, "with bytecode (make build)": True}


class Packages:
    """Each handler's deployment package as this machine can run it (``local.build.local_twin``),
    without and with the bytecode ``make build`` compiles; imports from them never write bytecode,
    as Lambda's read-only /var/task cannot hold any."""

    def __init__(self, directory: Path) -> None:
        from local import build

        self.roots: dict[tuple[str, bool], Path] = {}
        for target in HANDLER_TARGETS:
            plain = build.local_twin(target, directory / "plain" / target)
            compiled = directory / "compiled" / target
            shutil.copytree(plain, compiled)
            build.compile_bytecode(compiled)
            self.roots[target, False], self.roots[target, True] = plain, compiled

    def sample(self, target: str, *, bytecode: bool) -> dict[str, float]:
        root = self.roots[target, bytecode]
        result = _child(
            [str(REPO_ROOT / "bench" / "_cold_child.py"), "--import-only", TARGETS[target][0]],
            cwd=root,
            env={
                "PATH": os.environ.get("PATH", ""),  # noqa: TID251 - the bench's own process
                "PYTHONPATH": str(root),
                "PYTHONDONTWRITEBYTECODE": "1",
            },
        )
        if not str(result["origin"]).startswith(str(root)):
            raise SystemExit(f"{TARGETS[target][0]} was imported from {result['origin']}, not its package")
        return {"import_ms": result["import_ms"]}


def run(runs: int) -> tuple[list[Row], dict[str, Any]]:
    with first_requests() as first, tempfile.TemporaryDirectory() as directory:
        packages = Packages(Path(directory))
        package_kinds = [
            (target, bytecode) for target in HANDLER_TARGETS for bytecode in PACKAGE_BYTECODE.values()
        ]
        for target, bytecode in package_kinds:
            packages.sample(target, bytecode=bytecode)
        package_samples: dict[tuple[str, bool], list[float]] = {kind: [] for kind in package_kinds}
        for target in TARGETS:  # warm-up round: compile bytecode, fill the page cache
            sample(target)
        first_kinds = [(kind, path) for kind in FIRST_REQUESTS for path in SECRET_PATHS]
        for kind, path in first_kinds:
            first.sample(kind, extension=SECRET_PATHS[path])
        samples: dict[str, list[dict[str, float]]] = {target: [] for target in TARGETS}
        first_samples: dict[str, list[dict[str, float]]] = {kind + path: [] for kind, path in first_kinds}
        for _ in range(runs):
            for target in TARGETS:
                samples[target].append(sample(target))
            for kind, path in first_kinds:
                first_samples[kind + path].append(first.sample(kind, extension=SECRET_PATHS[path]))
            for target, bytecode in package_kinds:
                package_samples[target, bytecode].append(
                    packages.sample(target, bytecode=bytecode)["import_ms"]
                )
    boto3_ms = median([s["import_ms"] for s in samples["boto3"]])
    rows = [Row("cold start", "import boto3 (yardstick)", boto3_ms, "ms", "", f"median of {runs}")]
    details: dict[str, Any] = {"runs": runs, "boto3_import_ms": boto3_ms, "targets": {}, "first_request": {}}
    for target in HANDLER_TARGETS:
        module = TARGETS[target][0]
        import_ms = median([s["import_ms"] for s in samples[target]])
        total_ms = median([s["import_ms"] + s["init_ms"] for s in samples[target]])
        details["targets"][target] = {
            "module": module,
            "import_ms": import_ms,
            "import_plus_init_ms": total_ms,
            "ratio_to_boto3": import_ms / boto3_ms,
            "samples": samples[target],
        }
        rows.append(
            Row(
                "cold start",
                f"import {module}",
                import_ms,
                "ms",
                f"{import_ms / boto3_ms:.2f}x boto3",
                f"median of {runs}",
            )
        )
        rows.append(
            Row(
                "cold start",
                f"  + init ({target})",
                total_ms,
                "ms",
                f"{total_ms / boto3_ms:.2f}x boto3",
                INIT_BUILDS[target],
            )
        )
    details["packages"] = {}
    for (target, bytecode), imports in package_samples.items():
        import_ms = median(imports)
        how = next(name for name, compiled in PACKAGE_BYTECODE.items() if compiled is bytecode)
        details["packages"][f"{target} {how}"] = {"import_ms": import_ms, "samples": imports}
        rows.append(
            Row(
                "cold start",
                f"import {TARGETS[target][0]} from its package, {how}",
                import_ms,
                "ms",
                f"{import_ms / boto3_ms:.2f}x boto3",
                "read-only, as Lambda's /var/task; this machine's builds of the requirements",
            )
        )
    for kind, kind_samples in first_samples.items():
        first_ms = median([s["init_ms"] for s in kind_samples])
        total_ms = median([s["import_ms"] + s["init_ms"] for s in kind_samples])
        details["first_request"][kind] = {
            "first_request_ms": first_ms,
            "import_plus_first_request_ms": total_ms,
            "ratio_to_boto3": total_ms / boto3_ms,
            "samples": kind_samples,
        }
        rows.append(
            Row(
                "cold start",
                f"Slack import + first request that {kind}",
                total_ms,
                "ms",
                f"{total_ms / boto3_ms:.2f}x boto3",
                f"of it the request {first_ms:.0f} ms; secrets, moto server, Slack stand-in",
            )
        )
    return rows, details
