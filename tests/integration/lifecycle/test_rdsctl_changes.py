"""rdsctl's change commands (one per change the route table has) against the real API handler,
served over HTTP by the local gateway: a resize takes exactly what the environment policies offer
(``resize_choices``), an Aurora Serverless cluster's capacity maximum included."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from backend.domain import Action, Engine
from backend.domain.policy import environment_policies
from backend.handlers import api
from backend.settings import Settings
from local import cli
from local.gateway import Function, GatewayServer, LocalGateway
from tests.integration.lifecycle.test_day2 import created
from tests.support.aws import API_KEY, Pipeline

Rdsctl = Callable[..., int]


@pytest.fixture
def rdsctl(pipeline: Pipeline) -> Iterator[Rdsctl]:
    server = GatewayServer(
        LocalGateway({"api": Function("api", api.lambda_handler)}, access_log=False), host="127.0.0.1", port=0
    )
    server.start()
    url = f"http://127.0.0.1:{server.port}"
    try:
        yield lambda *argv: cli.main(["--url", url, "--api-key", API_KEY, *argv])
    finally:
        server.stop(grace_seconds=5)


def test_rdsctl_resizes_an_aurora_serverless_cluster_by_its_capacity_maximum(
    pipeline: Pipeline, rdsctl: Rdsctl, capsys: pytest.CaptureFixture[str]
) -> None:
    created(pipeline, "carts", "dev", "aurora-postgresql")

    assert rdsctl("resize", "carts", "dev", "--max-capacity", "4") == 0

    (record,) = [r for r in pipeline.container.store.list_recent(10) if r.action is Action.RESIZE]
    assert (record.previous_max_capacity, record.max_capacity) == (2, 4)
    assert f'"request_id": "{record.request_id}"' in capsys.readouterr().out
    # The next change waits for this one; rdsctl names the request in the way.
    assert rdsctl("decommission", "carts", "dev", "--confirm", "carts") == 1
    assert record.request_id in capsys.readouterr().err


def test_rdsctl_resize_takes_every_value_a_policy_offers_and_nothing_else() -> None:
    parser = cli.build_parser(Settings.from_env({}))
    # The flags a resize has: what it parses into besides the global options and the database.
    flags = set(vars(parser.parse_args(["resize", "orders", "dev"]))) - {
        "url",
        "api_key",
        "command_name",
        "database_name",
        "environment",
    }
    offered: dict[str, set[object]] = {}
    for environment, policy in environment_policies().items():
        for engine in Engine:
            for field, values in policy.resize_choices(engine).items():
                offered.setdefault(field, set()).update(values)
                for value in values:
                    args = parser.parse_args(
                        ["resize", "orders", environment.value, "--" + field.replace("_", "-"), str(value)]
                    )
                    assert getattr(args, field) == value
    assert flags == set(offered) == {"instance_class", "allocated_storage", "max_capacity"}
    for field, refused in {
        "max_capacity": "3",
        "instance_class": "db.x1.huge",
        "allocated_storage": "21",
    }.items():
        assert refused not in {str(value) for value in offered[field]}
        with pytest.raises(SystemExit):
            parser.parse_args(["resize", "orders", "dev", "--" + field.replace("_", "-"), refused])
