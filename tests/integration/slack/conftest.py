from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.slack.driver import SlackHarness, slack_harness


@pytest.fixture
def harness() -> Iterator[SlackHarness]:
    with slack_harness() as built:
        yield built
