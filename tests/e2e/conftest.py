"""Runs the local stack the way a user does: ``python -m local`` in a subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support.slack_web_api import assert_app_calls_conform

REPO_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "local-dev-key"
START_SECONDS = 60.0
T = TypeVar("T")

# Configuration the developer's shell might carry that would change what the stack talks to.
_SCRUBBED = (
    "PORT",
    "API_KEY",
    "GITOPS_BACKEND",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "AWS_ENDPOINT_URL",
    "LOCAL_GITOPS_PATH",
    "LOCAL_PR_BASE_URL",
    "PROD_ALLOWED_SLACK_USERS",
    "POWERTOOLS_LOG_LEVEL",
    "GITHUB_REPOSITORY",
    "GITHUB_TOKEN",
    "GITHUB_API_URL",
    "GITHUB_APP_ID",
    "LOCAL_CI",
    "DRIFT_CHANNEL",
)


def _child_environment() -> dict[str, str]:
    # The stack and rdsctl run as the user runs them: this shell's environment, minus the
    # settings that would point them somewhere else.
    return {k: v for k, v in os.environ.items() if k not in _SCRUBBED}  # noqa: TID251


def eventually(check: Callable[[], T | None], *, timeout: float = 30.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


class StackProcess:
    def __init__(
        self,
        state_dir: Path,
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.extra_env = dict(env or {})
        self.extra_args = args
        self.state_dir = state_dir
        self.log_path = log_path
        self.url = ""
        self.moto_url = ""
        self.process: subprocess.Popen[bytes] | None = None

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> StackProcess:
        # The hand step (`rdsctl applied`) unless a test asks for the terraform local CI: an apply
        # against the local AWS takes minutes (those tests run in `make test-apply`).
        env = _child_environment() | {"LOCAL_CI": "manual"} | self.extra_env
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local",
                "--port",
                "0",
                "--state-dir",
                str(self.state_dir),
                "--seed-dir",
                str(REPO_ROOT / "terraform"),
                *self.extra_args,
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        ready = eventually(self._ready_line, timeout=START_SECONDS, what="the stack's ready line")
        self.url = ready
        match = re.search(r"AWS \(moto\)\s+(\S+)", self.output())
        self.moto_url = match.group(1) if match else ""
        return self

    def _ready_line(self) -> str | None:
        assert self.process is not None
        if self.process.poll() is not None:
            pytest.fail(f"the stack exited with {self.process.returncode}:\n{self.output()}")
        match = re.search(r"^ready: (\S+)$", self.output(), re.MULTILINE)
        return match.group(1) if match else None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def interrupt(self, timeout: float = 60.0) -> int:
        """Ctrl-C, then wait for the process to finish on its own."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self._log.closed:
            self._log.close()

    # --- as a user -----------------------------------------------------------------------------
    def http(
        self, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def api(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        headers = {"X-Api-Key": API_KEY}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        status, raw = self.http(method, path, body=body, headers=headers)
        return status, json.loads(raw) if raw else None

    def rdsctl(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        env = _child_environment()
        return subprocess.run(
            [sys.executable, "-m", "local.cli", "--url", self.url, *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def wait_for_status(
        self, request_id: str, timeout: float = 30.0, *, status: str | None = None
    ) -> dict[str, Any]:
        """The request once it has left ``accepted`` (or reached ``status``, when given)."""

        def settled() -> dict[str, Any] | None:
            code, data = self.api("GET", f"/requests/{request_id}")
            if code != 200:
                return None
            done = data["status"] == status if status else data["status"] != "accepted"
            return data if done else None

        wanted = f"'{status}'" if status else "a status past 'accepted'"
        return eventually(settled, timeout=timeout, what=f"request {request_id} to reach {wanted}")

    def submit(self, name: str, engine: str = "postgres", environment: str = "dev") -> str:
        code, accepted = self.api(
            "POST",
            "/provision-rds",
            {"database_name": name, "database_engine": engine, "environment": environment},
        )
        assert code == 202, accepted
        return str(accepted["request_id"])

    # --- what it left behind -------------------------------------------------------------------
    @property
    def gitops(self) -> Path:
        return self.state_dir / "gitops"

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "--git-dir", str(self.gitops / ".git"), *args],
            capture_output=True,
            text=True,
            check=False,
            env={
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull,
                "PATH": _child_environment()["PATH"],
            },
        )

    def branches(self) -> set[str]:
        listed = self.git("for-each-ref", "--format=%(refname:short)", "refs/heads/").stdout
        return set(listed.split())

    def slack_calls(self) -> list[dict[str, Any]]:
        path = self.state_dir / "slack-calls.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def posted_messages(self) -> list[dict[str, Any]]:
        return [call["args"] for call in self.slack_calls() if call["method"] == "chat.postMessage"]

    def queue_depth(self) -> int:
        import boto3

        sqs = boto3.client(
            "sqs",
            region_name="us-east-1",
            endpoint_url=self.moto_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        url = sqs.get_queue_url(QueueName="rds-provisioner-requests")["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


@contextmanager
def running_stack(state: Path, env: dict[str, str] | None = None) -> Iterator[StackProcess]:
    """A stack started in ``state`` (with ``env``) and killed after its use, which must leave what
    its app and functions sent Slack conforming: methods the scope test knows about, valid Block
    Kit, every message with its text fallback."""
    running = StackProcess(state / "state", state / "stack.log", env=env).start()
    try:
        yield running
        assert_app_calls_conform(running.slack_calls())
    finally:
        running.kill()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    """One running stack shared by a module's tests (starting one takes a few seconds)."""
    with running_stack(tmp_path_factory.mktemp("local-stack")) as running:
        yield running
