from __future__ import annotations

import pytest

from tests.support.aws import aws_resources, moto_server, pipeline  # noqa: F401  (fixtures for this folder)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # GET routes emit no business metric; Powertools warns about the empty flush, which is fine.
    for item in items:
        if "tests/integration/pipeline" in str(item.path):
            item.add_marker(pytest.mark.filterwarnings("ignore:No application metrics to publish"))
