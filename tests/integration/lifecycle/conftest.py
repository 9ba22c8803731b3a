from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from backend.container import set_container
from local.resources import AwsResources
from tests.support import aws as support
from tests.support.aws import Pipeline, RecordingNotifier, make_container

# The shared fixtures, for this folder.
aws_resources = support.aws_resources
pipeline = support.pipeline

REPOSITORY = "acme/infrastructure"
WEBHOOK_SECRET = "webhook-secret-for-tests"
WEBHOOK_SECRET_ID = "rds-provisioner/github-webhook-secret"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/lifecycle" in str(item.path):
            item.add_marker(pytest.mark.filterwarnings("ignore:No application metrics to publish"))


@dataclass
class RequestFactory:
    pipeline: Pipeline

    def pr_opened(self, name: str = "orders", environment: str = "dev") -> dict[str, Any]:
        """A request taken through the real API and worker: its GET /requests view, pr_opened."""
        answer = self.pipeline.post(
            {"database_name": name, "database_engine": "postgres", "environment": environment}
        )
        assert answer.status == 202, answer.body
        self.pipeline.run_worker()
        view: dict[str, Any] = self.pipeline.get(answer.json["request_id"]).json
        assert view["status"] == "pr_opened", view
        return view


def close_pr(pipeline: Pipeline, request_id: str, *, merged: bool, actor: str | None = None) -> Any:
    """What GitHub's ``pull_request`` ``closed`` event does to the request's own PR."""
    record = pipeline.container.store.get(request_id)
    assert record is not None
    assert record.pr_number is not None
    return pipeline.container.lifecycle.pull_request_closed(
        request_id,
        pr_number=record.pr_number,
        pr_url=record.pr_url,
        branch=record.branch,
        merged=merged,
        actor=actor,
    )


def on_main(pipeline: Pipeline, request_id: str) -> str:
    """Merge the request's PR in the local repository; the database's file as main now holds it."""
    from backend.adapters.gitops.local_git import LocalGitPublisher

    publisher = pipeline.container.publisher
    assert isinstance(publisher, LocalGitPublisher)
    record = pipeline.container.store.get(request_id)
    assert record is not None
    assert record.pr_number is not None
    publisher.merge_pull_request(record.pr_number)
    content = publisher.file_on_base(record.request.file_path)
    assert content is not None
    return content


@pytest.fixture
def requests(pipeline: Pipeline) -> RequestFactory:
    return RequestFactory(pipeline)


@pytest.fixture
def webhook_pipeline(aws_resources: AwsResources, tmp_path: Path) -> Iterator[Pipeline]:
    """The pipeline configured like the deployed webhook: repository + secret in Secrets Manager."""
    notifier = RecordingNotifier()
    container = make_container(
        aws_resources,
        notifier=notifier,
        gitops_path=tmp_path / "gitops",
        github_repository=REPOSITORY,
        github_webhook_secret_secret_id=WEBHOOK_SECRET_ID,
    )
    container.secretsmanager.create_secret(Name=WEBHOOK_SECRET_ID, SecretString=WEBHOOK_SECRET)
    set_container(container)
    try:
        yield Pipeline(aws_resources, container, notifier)
    finally:
        set_container(None)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How much the lifecycle model explored (what ``make soak`` reports)."""
    import sys

    model = sys.modules.get("tests.integration.lifecycle.test_lifecycle_model")
    machine = getattr(model, "LifecycleModel", None)
    if machine is not None and machine.sequences:
        # Its checks run once before each sequence's first move, then after every move.
        terminalreporter.write_line(
            f"lifecycle model: {machine.sequences} sequences, {machine.moves - machine.sequences} moves, "
            "every invariant held after each"
        )
