"""The local CI: what CircleCI does for the GitOps repository, run against the local AWS.

With ``LOCAL_CI=terraform`` (the default where terraform and the provider mirror are there)
``make run`` watches the local GitOps repository the way CircleCI watches GitHub:

- an open pull request gets ``terraform plan`` of its environment on its merge result (main with
  the branch merged), through ``.circleci/scripts/terraform-plan.sh``; the PR page shows it and
  the request's Slack thread hears its summary line;
- a new commit on main gets ``.circleci/scripts/terraform-apply.sh`` for each environment it
  changed, one environment at a time, then the record-applied code, so requests become
  ``applied`` with no hand step and the ready message names the endpoint ``terraform output`` gave;
- ``drift(environment)`` runs ``.circleci/scripts/drift.sh`` on main (what the nightly pipeline
  runs) and names each database and attribute changed outside Terraform.

The scripts are the repository's own; only the AWS provider is pointed elsewhere, by an override
file written next to them (``terraform/envs/<env>/local_override.tf``, git-ignored): the moto
server's endpoints, a local state file, and the VPC and two subnets created in the local AWS.
Terraform runs in background threads, so the gateway keeps answering meanwhile. With
``LOCAL_CI=manual`` none of this runs and ``rdsctl applied`` records an apply by hand.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from backend.cli.drift import drift_of
from backend.domain.drift import Drift

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
SCRIPTS_DIR = PACKAGE_ROOT / ".circleci" / "scripts"
AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"
OVERRIDE_FILE = "local_override.tf"
NETWORK_NAME = "rds-provisioner-local"
# What a terraform command may take at most (an apply against moto takes about three minutes).
COMMAND_TIMEOUT_SECONDS = 1800
# The services terraform/ calls; each is pointed at the local AWS.
AWS_SERVICES = (
    "backup",
    "cloudwatch",
    "ec2",
    "iam",
    "kms",
    "logs",
    "rds",
    "s3",
    "secretsmanager",
    "sns",
    "sts",
)

PlanStatus = Literal["pending", "success", "failure"]
_PLAN_LINE = re.compile(r"^Plan: (\d+) to add, (\d+) to change, (\d+) to destroy\.", re.MULTILINE)
_NO_CHANGES = "No changes."
_ENV_FILE = re.compile(r"^terraform/envs/(?P<env>[^/]+)/")


def terraform_unavailable(mirror: Path) -> str | None:
    """Why the local CI cannot run terraform here, or None when it can."""
    if shutil.which("terraform") is None:
        return "terraform is not on PATH"
    provider = mirror / AWS_PROVIDER
    if not provider.is_dir() or not any(provider.iterdir()):
        return f"no {AWS_PROVIDER} provider in the mirror {mirror} (set TF_PROVIDER_MIRROR)"
    return None


@dataclass(frozen=True)
class PlanResult:
    """A pull request's plan: ``GET /_local/prs.json`` items carry ``as_dict()`` as ``plan``."""

    status: PlanStatus
    head_sha: str = ""
    add: int = 0
    change: int = 0
    destroy: int = 0
    summary: str = ""
    text: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "add": self.add, "change": self.change, "destroy": self.destroy}

    @classmethod
    def of_text(cls, text: str, *, head_sha: str, seconds: float) -> PlanResult:
        """The plan ``terraform show -no-color`` printed, with its summary line's counts."""
        match = _PLAN_LINE.search(text)
        if match is not None:
            add, change, destroy = (int(group) for group in match.groups())
            summary = match.group(0)
        elif _NO_CHANGES in text:
            add = change = destroy = 0
            summary = "No changes. Your infrastructure matches the configuration."
        else:
            return cls("failure", head_sha, text=text, summary="terraform plan printed no summary line")
        return cls("success", head_sha, add, change, destroy, summary, text, seconds)


@dataclass(frozen=True)
class Job:
    """One run of the local CI, for its log and ``GET /_local/ci.json``."""

    kind: str  # plan, apply or drift
    subject: str  # "#3 (dev)" or "dev"
    status: str = "running"  # running, success, failure, superseded
    detail: str = ""
    started: float = field(default_factory=time.time)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "status": self.status,
            "detail": self.detail,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class Network:
    vpc_id: str
    subnet_ids: tuple[str, ...]


def ensure_network(ec2: Any, region: str) -> Network:
    """The VPC and two subnets (two zones, as RDS asks) the databases go in, created once."""
    found = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [NETWORK_NAME]}])["Vpcs"]
    if found:
        vpc_id = found[0]["VpcId"]
    else:
        vpc_id = ec2.create_vpc(
            CidrBlock="10.42.0.0/16",
            TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": NETWORK_NAME}]}],
        )["Vpc"]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    by_zone = {subnet["AvailabilityZone"]: subnet["SubnetId"] for subnet in subnets}
    for number, zone in enumerate((f"{region}a", f"{region}b"), start=1):
        if zone not in by_zone:
            by_zone[zone] = ec2.create_subnet(
                VpcId=vpc_id, CidrBlock=f"10.42.{number}.0/24", AvailabilityZone=zone
            )["Subnet"]["SubnetId"]
    return Network(vpc_id, tuple(by_zone[zone] for zone in sorted(by_zone)[:2]))


def override_text(*, endpoint_url: str, state_path: Path, network: Network) -> str:
    """``local_override.tf``: the AWS provider, the state and the network of the local AWS."""
    endpoints = "\n".join(f"    {service} = {json.dumps(endpoint_url)}" for service in AWS_SERVICES)
    return (
        "# Written by the local CI (local/ci.py) for the local AWS; git ignores it.\n"
        "terraform {\n"
        '  backend "local" {\n'
        f"    path = {json.dumps(str(state_path))}\n"
        "  }\n"
        "}\n\n"
        'provider "aws" {\n'
        '  access_key                  = "local"\n'
        '  secret_key                  = "local"\n'
        "  skip_credentials_validation = true\n"
        "  skip_metadata_api_check     = true\n"
        "  skip_requesting_account_id  = true\n"
        "  endpoints {\n"
        f"{endpoints}\n"
        "  }\n"
        "}\n\n"
        'variable "vpc_id" {\n'
        f"  default = {json.dumps(network.vpc_id)}\n"
        "}\n\n"
        'variable "database_subnet_ids" {\n'
        f"  default = {json.dumps(list(network.subnet_ids))}\n"
        "}\n"
    )


def cli_config_text(mirror: Path, plugin_cache: Path) -> str:
    """Providers from the mirror only, never the internet."""
    return (
        f"plugin_cache_dir = {json.dumps(str(plugin_cache))}\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        '    include = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "  direct {\n"
        '    exclude = ["*/*/*"]\n'
        "  }\n"
        "}\n"
    )


def environment_of(path: str) -> str | None:
    match = _ENV_FILE.match(path)
    return match.group("env") if match else None


@dataclass(frozen=True)
class CiHooks:
    """What the stack does with the local CI's results (the parts CircleCI leaves to GitHub)."""

    # A pull request's plan is ready (or failed).
    plan_ready: Callable[[Any, PlanResult], None]
    # main was applied to an environment: (environment, files on main, read a file of main,
    # terraform outputs) -> the record-applied lines.
    applied: Callable[[str, Sequence[str], Callable[[str], str | None], Mapping[str, str]], list[str]]
    # Drift was found in an environment.
    drifted: Callable[[str, Sequence[Drift]], None]


class LocalCI:
    def __init__(
        self,
        *,
        gitops: Path,
        work_dir: Path,
        aws_endpoint_url: str,
        network: Network,
        mirror: Path,
        pulls: Callable[[], Iterable[Any]],
        hooks: CiHooks,
        base_branch: str = "main",
        log: Callable[[str], None] = print,
        poll_seconds: float = 1.0,
        scripts_dir: Path = SCRIPTS_DIR,
    ) -> None:
        self.gitops = gitops.resolve()
        self.work_dir = work_dir.resolve()
        self.aws_endpoint_url = aws_endpoint_url
        self.network = network
        self.mirror = mirror
        self.base_branch = base_branch
        self.hooks = hooks
        self.log = log
        self.poll_seconds = poll_seconds
        self.scripts_dir = scripts_dir
        self._pulls = pulls
        self._plans: dict[int, PlanResult] = {}
        self._jobs: list[Job] = []
        self._outputs: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._env_locks: dict[str, threading.Lock] = {}
        self._init_lock = threading.Lock()
        self._appliers: dict[str, ThreadPoolExecutor] = {}
        self._planner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-ci-plan")
        self._processes: set[subprocess.Popen[str]] = set()
        self._stopping = threading.Event()
        self._seen_main: str | None = None
        self._thread = threading.Thread(target=self._watch, name="local-ci", daemon=True)

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self, *, watch: bool = True) -> None:
        """Forget the state of an earlier run (its AWS is gone with its moto server) and watch
        the repository (``watch=False``: only when ``tick()`` is called)."""
        shutil.rmtree(self._state_dir, ignore_errors=True)
        self._state_dir.mkdir(parents=True)
        (self.work_dir / "plugin-cache").mkdir(parents=True, exist_ok=True)
        self._cli_config.write_text(cli_config_text(self.mirror, self.work_dir / "plugin-cache"))
        if watch:
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            processes = list(self._processes)
        for process in processes:
            process.terminate()
        self._planner.shutdown(wait=False, cancel_futures=True)
        for executor in self._appliers.values():
            executor.shutdown(wait=False, cancel_futures=True)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    # --- what the pages and rdsctl read ------------------------------------------------------------
    def plan_of(self, number: int) -> PlanResult | None:
        with self._lock:
            return self._plans.get(number)

    def outputs(self, environment: str) -> dict[str, str]:
        """The ``terraform output`` values of the environment's last apply."""
        with self._lock:
            return dict(self._outputs.get(environment, {}))

    def jobs(self) -> list[dict[str, Any]]:
        with self._lock:
            return [job.as_dict() for job in self._jobs]

    # --- the watcher ---------------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stopping.wait(self.poll_seconds):
            try:
                self.tick()
            except Exception as error:  # keep watching; the next tick tries again
                self.log(f"local CI: {error!r}")

    def tick(self) -> list[Future[Any]]:
        """Start what a push would start in CircleCI: plans of new PR heads, applies of a new main."""
        started: list[Future[Any]] = []
        main = self._git(self.gitops, "rev-parse", f"refs/heads/{self.base_branch}")
        for pull in self._pulls():
            if pull.state != "open" or environment_of(pull.file_path) is None:
                continue
            with self._lock:
                known = self._plans.get(pull.number)
                if known is not None and known.head_sha == pull.head_sha:
                    continue
                self._plans[pull.number] = PlanResult("pending", pull.head_sha)
            started.append(self._planner.submit(self._plan, pull, main))
        if main != self._seen_main:
            for environment in self._environments_changed(self._seen_main, main):
                started.append(self._applier(environment).submit(self._apply, environment, main))
            self._seen_main = main
        return started

    def _environments_changed(self, before: str | None, after: str) -> list[str]:
        if before is None:
            # A fresh local AWS: apply every environment main holds databases for.
            files = self._git(
                self.gitops, "ls-tree", "-r", "--name-only", after, "terraform/envs"
            ).splitlines()
            return sorted({env for path in files if (env := environment_of(path)) and "/rds_" in path})
        changed = self._git(self.gitops, "diff", "--name-only", before, after, "--", "terraform").splitlines()
        everything = self._git(self.gitops, "ls-tree", "--name-only", f"{after}:terraform/envs").splitlines()
        if any(not path.startswith("terraform/envs/") for path in changed):
            return sorted(everything)  # a shared module changed: every environment
        return sorted({env for path in changed if (env := environment_of(path)) in everything})

    def _applier(self, environment: str) -> ThreadPoolExecutor:
        with self._lock:
            if environment not in self._appliers:
                self._appliers[environment] = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=f"local-ci-apply-{environment}"
                )
            return self._appliers[environment]

    def _env_lock(self, environment: str) -> threading.Lock:
        with self._lock:
            return self._env_locks.setdefault(environment, threading.Lock())

    # --- jobs ----------------------------------------------------------------------------------------
    def _plan(self, pull: Any, main: str) -> PlanResult:
        environment = environment_of(pull.file_path)
        assert environment is not None
        job = self._begin("plan", f"#{pull.number} ({environment})")
        started = time.monotonic()
        try:
            root = self._checkout("plan", main, merge=pull.head_sha)
            self._prepare(root, environment)
            # A plan reads the state, never writes it: it need not wait for an apply's lock.
            completed = self._script(root, "terraform-plan.sh", environment, TF_CLI_ARGS_plan="-lock=false")
            plan_file = root / "terraform" / "envs" / environment / "plan.txt"
            seconds = round(time.monotonic() - started, 1)
            if completed.returncode == 0 and plan_file.is_file():
                result = PlanResult.of_text(plan_file.read_text(), head_sha=pull.head_sha, seconds=seconds)
            else:
                result = PlanResult(
                    "failure",
                    pull.head_sha,
                    summary="terraform plan failed",
                    text=_tail(completed.stdout + completed.stderr),
                    seconds=seconds,
                )
        except Exception as error:
            result = PlanResult("failure", pull.head_sha, summary="terraform plan failed", text=repr(error))
        with self._lock:
            current = self._plans.get(pull.number)
            if current is None or current.head_sha == pull.head_sha:
                self._plans[pull.number] = result
        self._end(job, result.status, result.summary)
        self.hooks.plan_ready(pull, result)
        return result

    def _apply(self, environment: str, main: str) -> list[str]:
        job = self._begin("apply", environment)
        try:
            return self._apply_job(job, environment, main)
        except Exception as error:  # an executor thread: say it here, nobody reads the future
            self._end(job, "failure", repr(error))
            return []

    def _apply_job(self, job: Job, environment: str, main: str) -> list[str]:
        with self._env_lock(environment):
            root = self._checkout(f"apply-{environment}", main)
            self._prepare(root, environment)
            completed = self._script(root, "terraform-apply.sh", environment)
            marker = root / ".applied" / environment
            applied = marker.read_text().strip() if marker.is_file() else ""
            if completed.returncode != 0 or not applied:
                self._end(job, "failure", _last_line(completed.stderr or completed.stdout))
                return []
            if applied.startswith("superseded"):
                self._end(job, "superseded", applied)
                return []
            outputs = self._terraform_outputs(root, environment)
            with self._lock:
                self._outputs[environment] = outputs
        directory = root / "terraform" / "envs" / environment
        files = [f"terraform/envs/{environment}/{path.name}" for path in sorted(directory.glob("rds_*.tf"))]
        lines = self.hooks.applied(environment, files, _reader(root), outputs)
        self._end(job, "success", "; ".join(lines))
        return lines

    def drift(self, environment: str) -> list[Drift]:
        """``.circleci/scripts/drift.sh`` on main: the databases changed outside Terraform."""
        job = self._begin("drift", environment)
        with self._env_lock(environment):
            main = self._git(self.gitops, "rev-parse", f"refs/heads/{self.base_branch}")
            root = self._checkout(f"apply-{environment}", main)
            directory = root / "terraform" / "envs" / environment
            report = directory / "drift.json"
            report.unlink(missing_ok=True)
            self._prepare(root, environment)
            completed = self._script(root, "drift.sh", environment, DRIFT_REPORT="0")
            if completed.returncode != 0:
                self._end(job, "failure", _last_line(completed.stderr or completed.stdout))
                raise RuntimeError(f"drift.sh {environment} failed: {_tail(completed.stderr, 2000)}")
            drifts = drift_of(report, environment, root) if report.is_file() else []
        self._end(job, "success", f"{len(drifts)} drifted")
        if drifts:
            self.hooks.drifted(environment, drifts)
        return drifts

    # --- the parts ------------------------------------------------------------------------------
    @property
    def _state_dir(self) -> Path:
        return self.work_dir / "state"

    @property
    def _cli_config(self) -> Path:
        return self.work_dir / "terraform.tfrc"

    def _begin(self, kind: str, subject: str) -> Job:
        job = Job(kind, subject)
        with self._lock:
            self._jobs = [*self._jobs[-49:], job]
        self.log(f"local CI: {kind} {subject} started")
        return job

    def _end(self, job: Job, status: str, detail: str) -> None:
        done = replace(job, status=status, detail=detail, seconds=round(time.time() - job.started, 1))
        with self._lock:
            self._jobs = [done if entry is job else entry for entry in self._jobs]
        self.log(f"local CI: {job.kind} {job.subject}: {status} in {done.seconds:.0f} s. {detail}".rstrip())

    def _checkout(self, name: str, commit: str, *, merge: str | None = None) -> Path:
        """A clone of the GitOps repository at ``commit`` (with ``merge`` merged), kept between
        runs so terraform's providers and modules stay initialised."""
        root = self.work_dir / "checkouts" / name
        if not (root / ".git").is_dir():
            root.parent.mkdir(parents=True, exist_ok=True)
            self._git(None, "clone", "--quiet", "--no-checkout", str(self.gitops), str(root))
        self._git(root, "fetch", "--quiet", "--prune", "origin", "+refs/heads/*:refs/remotes/origin/*")
        self._git(root, "checkout", "--quiet", "--force", "--detach", commit)
        if merge is not None:
            self._git(root, "merge", "--quiet", "--no-edit", "--no-ff", merge)
        return root

    def _prepare(self, root: Path, environment: str) -> None:
        """The override file, then ``terraform init`` (CircleCI's terraform-prepare step)."""
        directory = root / "terraform" / "envs" / environment
        override = override_text(
            endpoint_url=self.aws_endpoint_url,
            state_path=self._state_dir / f"{environment}.tfstate",
            network=self.network,
        )
        (directory / OVERRIDE_FILE).write_text(override)
        # Terraform's plugin cache is not safe for concurrent use: two environments' inits at once
        # can leave one without its provider ("still not detected in .terraform/providers").
        with self._init_lock:
            completed = self._run(["terraform", "init", "-input=false", "-no-color"], cwd=directory)
        if completed.returncode != 0:
            raise RuntimeError(f"terraform init of {environment} failed: {_tail(completed.stderr, 2000)}")

    def _script(self, root: Path, script: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return self._run([str(self.scripts_dir / script), *args], cwd=root, **extra)

    def _terraform_outputs(self, root: Path, environment: str) -> dict[str, str]:
        directory = root / "terraform" / "envs" / environment
        completed = self._run(["terraform", "output", "-json", "-no-color"], cwd=directory)
        if completed.returncode != 0:
            return {}
        values = json.loads(completed.stdout or "{}")
        return {name: str(output["value"]) for name, output in values.items() if not output.get("sensitive")}

    def _environment(self, **extra: str) -> dict[str, str]:
        inherited = os.environ.items()  # noqa: TID251 - a child process's environment, not a setting
        environment = {name: value for name, value in inherited if not name.startswith(("TF_", "AWS_"))}
        environment.update(
            CHECKPOINT_DISABLE="1",
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            TF_CLI_CONFIG_FILE=str(self._cli_config),
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - moto accepts any
            MAIN_BRANCH=self.base_branch,
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_AUTHOR_NAME="rds-provisioner local CI",
            GIT_AUTHOR_EMAIL="local-ci@localhost",
            GIT_COMMITTER_NAME="rds-provisioner local CI",
            GIT_COMMITTER_EMAIL="local-ci@localhost",
        )
        environment.update(extra)
        return environment

    def _run(self, command: list[str], *, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        if self._stopping.is_set():
            raise RuntimeError("the local CI is stopping")
        process = subprocess.Popen(  # noqa: S603 - our own scripts and terraform
            command,
            cwd=cwd,
            env=self._environment(**extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with self._lock:
            self._processes.add(process)
        try:
            stdout, stderr = process.communicate(timeout=COMMAND_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        finally:
            with self._lock:
                self._processes.discard(process)
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)

    def _git(self, repo: Path | None, *args: str) -> str:
        command = ["git", *(["-C", str(repo)] if repo is not None else []), *args]
        completed = self._run(command, cwd=self.work_dir if repo is None else repo)
        if completed.returncode != 0:
            raise RuntimeError(f"git {args[0]} failed: {completed.stderr.strip()}")
        return completed.stdout.strip()


def _reader(root: Path) -> Callable[[str], str | None]:
    def read(path: str) -> str | None:
        file = root / PurePosixPath(path)
        return file.read_text(encoding="utf-8") if file.is_file() else None

    return read


def _tail(text: str, limit: int = 20000) -> str:
    return text if len(text) <= limit else text[-limit:]


def _last_line(text: str) -> str:
    """What went wrong, in one line: terraform's first ``Error:`` line, else the last line."""
    lines = [line.strip(" │╷╵") for line in text.strip().splitlines() if line.strip(" │╷╵")]
    errors = [line for line in lines if line.startswith("Error:")]
    return errors[0] if errors else lines[-1] if lines else ""
