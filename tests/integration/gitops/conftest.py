from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from backend.adapters.gitops.base import ChangeSet
from backend.adapters.gitops.github import GitHubPublisher
from backend.domain import FileChange
from backend.settings import Settings
from tests.support.github_stub import STUB_TOKEN, GitHubStub


def make_change(
    database: str = "orders",
    environment: str = "dev",
    *,
    labels: tuple[str, ...] = (),
    version: int = 1,
    request_id: str | None = None,
    change: FileChange = FileChange.ADD,
    branch: str | None = None,
) -> ChangeSet:
    """One request's change; the request id defaults to one per database, like the worker's."""
    request_id = request_id or f"req-{environment}-{database}"
    return ChangeSet(
        request_id=request_id,
        change=change,
        branch=branch or f"rds/{environment}/{database}",
        file_path=f"terraform/envs/{environment}/rds_{database}.tf",
        content=None
        if change is FileChange.DELETE
        else (
            f'module "rds_{database}" {{\n  source = "../../modules/rds"\n  revision = {version}\n'
            f'  request  = "{request_id}"\n}}\n'
        ),
        commit_message=f"Add RDS database {database} ({environment})",
        title=f"RDS: {database} ({environment})",
        body=f"Requested by U123: postgres database `{database}` in {environment}.",
        labels=labels,
    )


@pytest.fixture
def github() -> Iterator[GitHubStub]:
    with GitHubStub(owner="acme", repo="infra") as stub:
        yield stub


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every time.sleep anyone asks for (PyGithub throttling, urllib3 backoff), without sleeping."""
    asked: list[float] = []
    monkeypatch.setattr(time, "sleep", asked.append)
    return asked


PublisherFactory = Callable[..., GitHubPublisher]


@pytest.fixture
def publisher_for() -> PublisherFactory:
    def build(stub: GitHubStub, **overrides: object) -> GitHubPublisher:
        settings = Settings(
            gitops_backend="github",
            github_repository=stub.full_name,
            github_api_url=stub.base_url,
            github_token=STUB_TOKEN,
        ).with_overrides(**overrides)
        return GitHubPublisher.from_settings(settings, secret=lambda value, _secret_id: value)

    return build
