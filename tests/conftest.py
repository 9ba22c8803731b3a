"""Test-wide safety: fake AWS credentials so nothing can reach a real account."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.adapters.environments import load_environments
from backend.domain import configure_environments
from backend.settings import DEFAULT_ENVIRONMENTS_FILE

configure_environments(source=lambda: load_environments(DEFAULT_ENVIRONMENTS_FILE))


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak-examples",
        type=int,
        default=None,
        help="run the lifecycle model with this many sequences of moves (make soak)",
    )


@pytest.fixture(autouse=True)
def _shipped_environments() -> Iterator[None]:
    """Every test starts with the environments of deploy/environments.toml (a test that configures
    others, through its container's settings, leaves no trace on the next)."""
    yield
    configure_environments(source=lambda: load_environments(DEFAULT_ENVIRONMENTS_FILE))
