"""Dev expiry through the real API handler: the 202, the views, ttl_days' rules, POST .../extend,
and the sweeper function's handler on a scheduled event (docs/lifecycle.md)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from backend.domain import ValidationFailed
from backend.domain.expiry import EXPIRY_REQUESTER
from backend.handlers import sweeper as sweeper_function
from local.lambda_events import LambdaContext
from tests.integration.lifecycle.test_day2 import change, created, databases
from tests.support.aws import Pipeline

ORDERS = {"database_name": "orders", "database_engine": "postgres", "environment": "dev"}


def today() -> date:
    return datetime.now(UTC).date()


def extend(body: Any, name: str = "orders", environment: str = "dev") -> Any:
    return change(None, "extend", environment, name, body)  # type: ignore[arg-type]


def test_the_expiry_shows_in_the_202_the_request_and_the_inventory(pipeline: Pipeline):
    answer = pipeline.post({**ORDERS, "ttl_days": 14})
    pipeline.run_worker()

    expected = (today() + timedelta(days=14)).isoformat()
    assert answer.status == 202, answer.body
    assert answer.json["expires_on"] == expected
    assert pipeline.get(answer.json["request_id"]).json["expires_on"] == expected
    (listed,) = databases(pipeline, "dev")
    assert listed["expires_on"] == expected


def test_prod_requests_have_no_expiry_and_refuse_ttl_days(pipeline: Pipeline):
    refused = pipeline.post({**ORDERS, "environment": "prod", "ttl_days": 7})
    accepted = pipeline.post({**ORDERS, "environment": "prod"})

    assert refused.status == 400
    assert refused.json["errors"] == [
        {
            "field": "ttl_days",
            "message": "ttl_days applies to dev databases only: prod databases do not expire",
        }
    ]
    assert accepted.status == 202
    assert accepted.json["expires_on"] is None


@pytest.mark.parametrize(
    ("ttl_days", "message"),
    [
        (0, "ttl_days must be between 1 and 90 (got 0)"),
        (91, "ttl_days must be between 1 and 90 (got 91)"),
        ("30", "ttl_days must be a whole number"),
    ],
)
def test_ttl_days_out_of_range_is_a_400_and_changes_nothing(pipeline: Pipeline, ttl_days: Any, message: str):
    items = pipeline.item_count()
    answer = pipeline.post({**ORDERS, "ttl_days": ttl_days})

    assert answer.status == 400
    assert answer.json["errors"] == [{"field": "ttl_days", "message": message}]
    assert pipeline.item_count() == items


def test_extend_moves_the_expiry_without_a_pull_request(pipeline: Pipeline):
    created(pipeline)
    queued = pipeline.queue_depth()

    answer = extend({"ttl_days": 60})
    default = extend({})

    assert answer.status == 200, answer.body
    assert answer.json == {
        "database_name": "orders",
        "environment": "dev",
        "expires_on": (today() + timedelta(days=60)).isoformat(),
    }
    assert default.status == 400  # 30 days from today is before the 60 just given
    assert "already expires on" in default.json["errors"][0]["message"]
    (listed,) = databases(pipeline, "dev")
    assert listed["expires_on"] == (today() + timedelta(days=60)).isoformat()
    assert pipeline.queue_depth() == queued


def test_extend_refuses_prod_unknown_and_out_of_range(pipeline: Pipeline):
    created(pipeline, "ledger", "prod")

    prod = extend({"ttl_days": 10}, "ledger", "prod")
    unknown = extend({"ttl_days": 10}, "nobody")
    too_long = extend({"ttl_days": 365}, "ledger", "prod")

    assert prod.status == 400
    assert prod.json["errors"][0]["message"] == "ledger is a prod database: it does not expire"
    assert unknown.status == 404
    assert too_long.status == 400


def test_the_sweeper_function_sweeps_the_scheduled_day_and_decommissions_once(pipeline: Pipeline):
    created(pipeline, "scratch")
    day = today() + timedelta(days=30)
    event = {
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "time": f"{day.isoformat()}T07:00:00Z",
    }

    first = sweeper_function.lambda_handler(event, LambdaContext("rds-provisioner-sweeper"))
    retried = sweeper_function.lambda_handler(event, LambdaContext("rds-provisioner-sweeper"))

    assert first["now"].startswith(day.isoformat())
    assert [(r["database"], r["outcome"]) for r in first["expiries"]] == [
        ("dev/scratch", "decommission_requested")
    ]
    assert [(r["database"], r["outcome"]) for r in retried["expiries"]] == [("dev/scratch", "already_done")]
    (decommission,) = pipeline.container.store.list_by_requester(EXPIRY_REQUESTER)
    pipeline.run_worker()
    view = pipeline.get(decommission.request_id).json
    assert (view["action"], view["status"], view["requested_by"], view["source"]) == (
        "decommission",
        "pr_opened",
        "ttl",
        "schedule",
    )


@pytest.mark.parametrize(
    "now",
    ["9999-12-31", "0001-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2100-01-01T00:00:01Z", "yesterday", 7],
)
def test_a_sweep_at_a_moment_out_of_range_is_a_400_naming_now_and_sweeps_nothing(
    pipeline: Pipeline, now: Any
):
    from local.stack import LocalStack

    created(pipeline, "scratch")

    page = LocalStack._sweep(json.dumps({"now": now}).encode())

    assert page.status == 400, page.body
    body = json.loads(page.body)
    assert [error["field"] for error in body["errors"]] == ["now"]
    assert pipeline.container.store.list_by_requester(EXPIRY_REQUESTER) == []
    with pytest.raises(ValidationFailed, match="now"):
        sweeper_function.lambda_handler({"now": now}, LambdaContext("rds-provisioner-sweeper"))


def _expired(pipeline: Pipeline) -> str:
    """orders, created (merged, applied) with a one-day expiry, then swept at its expiry: the id of
    the decommission its expiry asked for, whose PR the worker opened."""
    answer = pipeline.post({**ORDERS, "ttl_days": 1})
    pipeline.run_worker()
    from tests.integration.lifecycle.conftest import on_main
    from tests.integration.lifecycle.test_day2 import apply_main

    on_main(pipeline, answer.json["request_id"])
    apply_main(pipeline, "dev", "orders")
    report = pipeline.container.sweeper.sweep(datetime.now(UTC) + timedelta(days=1))
    (expiry,) = report.expiries
    assert expiry.outcome.value == "decommission_requested", expiry
    pipeline.run_worker()
    return expiry.detail


def test_extending_a_database_whose_expiry_asked_for_its_decommission_closes_that_pr(pipeline: Pipeline):
    decommission_id = _expired(pipeline)
    opened = pipeline.container.store.get(decommission_id)
    assert opened is not None
    assert opened.status.value == "pr_opened"

    kept = extend({"ttl_days": 30})

    assert kept.status == 200, kept.body
    ended = pipeline.get(decommission_id).json
    assert ended["status"] == "failed"
    assert ended["error"] == f"kept by api until {(today() + timedelta(days=30)).isoformat()}"
    pull = pipeline.container.publisher.get_pull_request(opened.pr_number)  # type: ignore[attr-defined]
    assert pull.state == "closed"
    (listed,) = databases(pipeline, "dev")
    assert listed["expires_on"] == (today() + timedelta(days=30)).isoformat()
    assert listed["last_request"]["request_id"] == decommission_id  # no change in flight any more
    # Its requester hears why the decommission ended.
    told = [r for r in pipeline.notifier.records if r.request_id == decommission_id]
    assert [r.status.value for r in told][-1] == "failed"


def test_once_the_expiry_decommission_is_merged_an_extension_is_a_409_naming_it(pipeline: Pipeline):
    from tests.integration.lifecycle.test_day2 import merge

    decommission_id = _expired(pipeline)
    merge(pipeline, decommission_id)

    late = extend({"ttl_days": 30})
    too_few = extend({"ttl_days": 1})  # the 409 comes first: no number of days would help

    assert late.status == 409, late.body
    assert decommission_id in late.json["message"]
    assert late.json["existing_request_id"] == decommission_id
    assert too_few.status == 409
    assert pipeline.get(decommission_id).json["status"] == "merged"
