"""Day 2 through the real API, queue, worker, local git and lifecycle: inventory, resize, decommission."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, timedelta
from typing import Any

import pytest

from backend.adapters.gitops.local_git import LocalGitPublisher
from backend.domain import Source
from tests.integration.lifecycle.conftest import on_main
from tests.support.aws import ApiAnswer, Pipeline, call_api


def create(
    pipeline: Pipeline, name: str = "orders", environment: str = "dev", engine: str = "postgres"
) -> str:
    answer = pipeline.post({"database_name": name, "database_engine": engine, "environment": environment})
    assert answer.status == 202, answer.body
    pipeline.run_worker()
    return str(answer.json["request_id"])


def apply_main(pipeline: Pipeline, environment: str, name: str) -> Any:
    """What CircleCI's record-applied does for this database after applying main."""
    publisher = pipeline.container.publisher
    assert isinstance(publisher, LocalGitPublisher)
    path = f"terraform/envs/{environment}/rds_{name}.tf"
    return pipeline.container.lifecycle.applied(environment, name, publisher.file_on_base(path))


def merge(pipeline: Pipeline, request_id: str) -> None:
    """A reviewer merges the request's PR (local git) and GitHub's webhook says so."""
    from tests.integration.lifecycle.conftest import close_pr

    record = pipeline.container.store.get(request_id)
    assert record is not None
    publisher = pipeline.container.publisher
    assert isinstance(publisher, LocalGitPublisher)
    assert record.pr_number is not None
    publisher.merge_pull_request(record.pr_number)
    close_pr(pipeline, request_id, merged=True)


def created(
    pipeline: Pipeline, name: str = "orders", environment: str = "dev", engine: str = "postgres"
) -> str:
    request_id = create(pipeline, name, environment, engine)
    on_main(pipeline, request_id)
    assert apply_main(pipeline, environment, name).outcome.value == "recorded"
    return request_id


def change(pipeline: Pipeline, action: str, environment: str, name: str, body: Any) -> ApiAnswer:
    return call_api(
        "POST",
        f"/databases/{environment}/{name}/{action}",
        body=body,
        resource=f"/databases/{{environment}}/{{database_name}}/{action}",
        path_parameters={"environment": environment, "database_name": name},
    )


def databases(pipeline: Pipeline, environment: str | None = None) -> list[dict[str, Any]]:
    answer = call_api(
        "GET",
        "/databases",
        resource="/databases",
        query_string=f"environment={environment}" if environment else "",
    )
    assert answer.status == 200, answer.body
    return list(answer.json["databases"])


def test_the_inventory_lists_databases_from_their_pull_request_until_decommissioned(pipeline: Pipeline):
    assert databases(pipeline) == []
    accepted = pipeline.post({"database_name": "orders", "database_engine": "mysql", "environment": "dev"})
    assert databases(pipeline) == []  # only once its pull request is open

    pipeline.run_worker()
    (item,) = databases(pipeline, "dev")

    assert (
        item["expires_on"] == (date.fromisoformat(item["created_at"][:10]) + timedelta(days=30)).isoformat()
    )
    assert item | {"created_at": None, "expires_on": None} == {
        "database_name": "orders",
        "database_engine": "mysql",
        "environment": "dev",
        "instance_class": "db.t3.micro",
        "allocated_storage": 20,
        "max_capacity": None,
        "requested_by": "api",
        "created_at": None,
        "expires_on": None,
        "deletion_protection": False,
        # db.t3.micro, 730 h x $0.017 + 20 GiB x $0.115 (backend/domain/pricing.py)
        "estimated_monthly_usd": 14.71,
        "last_request": {
            "request_id": accepted.json["request_id"],
            "action": "create",
            "status": "pr_opened",
            "pr_url": pipeline.get(accepted.json["request_id"]).json["pr_url"],
        },
    }
    assert databases(pipeline, "prod") == []


def test_a_resize_is_one_pr_on_its_own_branch_then_the_new_size(pipeline: Pipeline):
    created(pipeline)

    answer = change(
        pipeline, "resize", "dev", "orders", {"instance_class": "db.t3.small", "allocated_storage": 50}
    )
    busy = change(pipeline, "resize", "dev", "orders", {"allocated_storage": 100})
    (message,) = pipeline.receive()
    for receive_count in (1, 2, 3):  # SQS delivers at least once: three deliveries, one PR
        pipeline.deliver([dataclasses.replace(message, receive_count=receive_count)])
    pipeline.settle({"batchItemFailures": []}, [message])

    assert answer.status == 202, answer.body
    assert busy.status == 409
    assert busy.json["existing_request_id"] == answer.json["request_id"]
    view = pipeline.get(answer.json["request_id"]).json
    assert (view["action"], view["step"], view["status"]) == ("resize", "resize", "pr_opened")
    # postgres db.t3.micro + 20 GiB -> db.t3.small + 50 GiB, at the price table's prices
    assert (view["previous_estimated_monthly_usd"], view["estimated_monthly_usd"]) == (15.44, 32.03)
    assert answer.json["estimated_monthly_usd"] == 32.03
    record = pipeline.container.store.get(answer.json["request_id"])
    assert record is not None
    assert record.branch == f"rds-resize/dev/orders/{record.request_id[:8]}"
    publisher = pipeline.container.publisher
    assert isinstance(publisher, LocalGitPublisher)
    pull = publisher.get_pull_request(record.pr_number or 0)
    assert pull is not None
    assert "`db.t3.micro` -> `db.t3.small`" in pull.body
    assert "20 GiB -> 50 GiB" in pull.body
    assert "| Estimated cost | $15.44 -> $32.03/month (db.t3.small x 1 x 730 h + 50 GiB gp3 x 1;" in pull.body
    assert "Storage can only grow" in pull.body
    assert databases(pipeline)[0]["last_request"]["action"] == "resize"
    assert databases(pipeline)[0]["instance_class"] == "db.t3.micro"  # until it is applied

    merge(pipeline, record.request_id)
    result = apply_main(pipeline, "dev", "orders")

    assert result.outcome.value == "recorded"
    (item,) = databases(pipeline)
    assert (item["instance_class"], item["allocated_storage"]) == ("db.t3.small", 50)
    assert item["last_request"] | {"pr_url": None} == {
        "request_id": record.request_id,
        "action": "resize",
        "status": "applied",
        "pr_url": None,
    }
    # It may change again now.
    assert change(pipeline, "resize", "dev", "orders", {"allocated_storage": 100}).status == 202


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"instance_class": "db.x1.32xlarge"}, 400, "instance_class"),
        ({"allocated_storage": 30}, 400, "allocated_storage"),
        ({"instance_class": "db.t3.micro"}, 400, "body"),
        ({}, 400, "body"),
        ({"size": "big"}, 400, "size"),
        ({"allocated_storage": "50"}, 400, "allocated_storage"),
    ],
    ids=[
        "class-outside-policy",
        "storage-outside-policy",
        "no-change",
        "empty",
        "unknown-field",
        "wrong-type",
    ],
)
def test_a_resize_outside_the_policy_is_a_400_and_changes_nothing(pipeline: Pipeline, body, status, field):
    created(pipeline)
    items = pipeline.item_count()

    answer = change(pipeline, "resize", "dev", "orders", body)

    assert answer.status == status, answer.body
    assert field in [error["field"] for error in answer.json["errors"]]
    assert pipeline.item_count() == items
    assert pipeline.queue_depth() == 0


def test_storage_can_only_grow(pipeline: Pipeline):
    created(pipeline)
    first = change(pipeline, "resize", "dev", "orders", {"allocated_storage": 100})
    pipeline.run_worker()
    merge(pipeline, first.json["request_id"])
    apply_main(pipeline, "dev", "orders")

    shrink = change(pipeline, "resize", "dev", "orders", {"allocated_storage": 50})

    assert shrink.status == 400
    assert "storage can only grow" in shrink.json["errors"][0]["message"]


def test_changes_of_a_database_that_is_not_there_or_not_created_yet(pipeline: Pipeline):
    assert change(pipeline, "resize", "dev", "nothing_here", {"allocated_storage": 50}).status == 404
    unknown = change(pipeline, "resize", "staging", "orders", {"allocated_storage": 50})
    assert (unknown.status, unknown.json["errors"]) == (
        400,
        [{"field": "environment", "message": "environment must be one of dev, prod (got 'staging')"}],
    )
    create(pipeline)  # its PR is open, not merged

    answer = change(pipeline, "decommission", "dev", "orders", {"confirm": "orders"})

    assert answer.status == 409
    assert "not created yet" in answer.json["message"]


def test_a_dev_decommission_is_one_pr_deleting_the_file_then_the_name_is_free(pipeline: Pipeline):
    create_id = created(pipeline)
    wrong = change(pipeline, "decommission", "dev", "orders", {"confirm": "order"})

    answer = change(pipeline, "decommission", "dev", "orders", {"confirm": "orders"})
    pipeline.run_worker()

    assert wrong.status == 400
    assert wrong.json["errors"][0]["field"] == "confirm"
    assert answer.status == 202, answer.body
    record = pipeline.container.store.get(answer.json["request_id"])
    assert record is not None
    assert (record.step.value, record.status.value) == ("decommission", "pr_opened")
    publisher = pipeline.container.publisher
    assert isinstance(publisher, LocalGitPublisher)
    pull = publisher.get_pull_request(record.pr_number or 0)
    assert pull is not None
    assert "orders-dev-final" in pull.body
    assert publisher.diff(pull.number).startswith("diff --git")
    assert "+++ /dev/null" in publisher.diff(pull.number)

    merge(pipeline, record.request_id)
    result = apply_main(pipeline, "dev", "orders")

    assert result.outcome.value == "recorded"
    assert databases(pipeline) == []
    assert pipeline.get(create_id).json["status"] == "applied"  # the create's own story is over
    again = pipeline.post({"database_name": "orders", "database_engine": "mysql", "environment": "dev"})
    assert again.status == 202, again.body
    kinds = [kind for kind, request_id in pipeline.notifier.events if request_id == record.request_id]
    assert kinds == ["pr_opened", "pr_merged", "database_applied"]


def test_a_prod_decommission_turns_protection_off_then_deletes_by_itself(pipeline: Pipeline):
    created(pipeline, "ledger", "prod")

    answer = change(pipeline, "decommission", "prod", "ledger", {"confirm": "ledger"})
    pipeline.run_worker()
    request_id = answer.json["request_id"]
    first = pipeline.container.store.get(request_id)
    assert first is not None
    publisher = pipeline.container.publisher
    assert isinstance(publisher, LocalGitPublisher)
    unprotect = publisher.get_pull_request(first.pr_number or 0)

    assert (first.step.value, first.status.value) == ("unprotect", "pr_opened")
    assert unprotect is not None
    assert unprotect.branch == f"rds-unprotect/prod/ledger/{request_id[:8]}"
    diff = publisher.diff(unprotect.number)
    assert re.search(r"^\+\s*deletion_protection\s*=\s*false$", diff, re.MULTILINE), diff
    assert re.search(r"^\+\s*#checkov:skip=CKV_AWS_293:decommission in progress", diff, re.MULTILINE), diff

    merge(pipeline, request_id)
    moved_on = apply_main(pipeline, "prod", "ledger")
    pipeline.run_worker()
    second = pipeline.container.store.get(request_id)
    assert second is not None

    assert moved_on.outcome.value == "next_step"
    assert (second.step.value, second.status.value) == ("decommission", "pr_opened")
    assert second.pr_number != first.pr_number
    assert second.branch == f"rds-decommission/prod/ledger/{request_id[:8]}"
    # A late redelivery of the first PR's merge event changes nothing.
    late = pipeline.container.lifecycle.pull_request_closed(
        request_id, pr_number=first.pr_number or 0, merged=True
    )
    assert late.outcome.value == "other_pull_request"

    merge(pipeline, request_id)
    done = apply_main(pipeline, "prod", "ledger")

    assert done.outcome.value == "recorded"
    assert pipeline.get(request_id).json["status"] == "applied"
    assert databases(pipeline) == []
    kinds = [kind for kind, rid in pipeline.notifier.events if rid == request_id]
    assert kinds == ["pr_opened", "pr_merged", "accepted", "pr_opened", "pr_merged", "database_applied"]


def test_a_prod_decommission_that_fails_after_its_first_step_turns_protection_on_again(pipeline: Pipeline):
    created(pipeline, "ledger", "prod")
    answer = change(pipeline, "decommission", "prod", "ledger", {"confirm": "ledger"})
    pipeline.run_worker()
    request_id = answer.json["request_id"]
    merge(pipeline, request_id)
    apply_main(pipeline, "prod", "ledger")
    pipeline.run_worker()
    [unprotected] = databases(pipeline, "prod")

    # A reviewer closes the second pull request (the one deleting the database).
    from tests.integration.lifecycle.conftest import close_pr

    publisher = pipeline.container.publisher
    assert isinstance(publisher, LocalGitPublisher)
    second = pipeline.container.store.get(request_id)
    assert second is not None
    publisher.close_pull_request(second.pr_number or 0)
    close_pr(pipeline, request_id, merged=False)
    pipeline.run_worker()
    failed = pipeline.get(request_id).json
    [waiting] = databases(pipeline, "prod")
    reprotect = pipeline.container.store.get(waiting["last_request"]["request_id"])
    assert reprotect is not None
    pull = publisher.get_pull_request(reprotect.pr_number or 0)
    assert pull is not None

    assert unprotected["deletion_protection"] is False
    assert failed["status"] == "failed"
    assert (reprotect.action.value, reprotect.status.value, reprotect.undoes_request_id) == (
        "reprotect",
        "pr_opened",
        request_id,
    )
    assert pull.branch == f"rds-reprotect/prod/ledger/{reprotect.request_id[:8]}"
    assert re.search(r"^\+\s*deletion_protection\s*=\s*true$", publisher.diff(pull.number), re.MULTILINE)
    assert waiting["deletion_protection"] is False  # until the reprotect PR is applied
    told = [r for r in pipeline.notifier.records if r.request_id == request_id][-1]
    assert told.status.value == "failed"
    # Meanwhile nothing else may change it: its reprotect holds it.
    busy = change(pipeline, "resize", "prod", "ledger", {"instance_class": "db.t3.large"})
    assert busy.status == 409

    merge(pipeline, reprotect.request_id)
    done = apply_main(pipeline, "prod", "ledger")

    assert done.outcome.value == "recorded"
    assert pipeline.get(reprotect.request_id).json["status"] == "applied"
    [protected] = databases(pipeline, "prod")
    assert protected["deletion_protection"] is True
    assert protected["last_request"]["action"] == "reprotect"
    kinds = [kind for kind, rid in pipeline.notifier.events if rid == reprotect.request_id]
    assert kinds == ["pr_opened", "pr_merged", "database_applied"]


# --- Aurora (issue #17): what a cluster's resize changes -----------------------------------------


def resized_file(pipeline: Pipeline, request_id: str, environment: str, name: str) -> str:
    """The PR's file once merged and applied (what main says afterwards)."""
    merge(pipeline, request_id)
    assert apply_main(pipeline, environment, name).outcome.value == "recorded"
    publisher = pipeline.container.publisher
    assert isinstance(publisher, LocalGitPublisher)
    text = publisher.file_on_base(f"terraform/envs/{environment}/rds_{name}.tf")
    assert text is not None
    return text


def test_an_aurora_dev_resize_changes_its_serverless_capacity_maximum(pipeline: Pipeline):
    created(pipeline, "carts", "dev", "aurora-mysql")
    (before,) = databases(pipeline, "dev")
    assert (before["instance_class"], before["allocated_storage"], before["max_capacity"]) == (
        "db.serverless",
        None,
        2,
    )

    submission = pipeline.container.intake.submit_resize(
        "dev", "carts", {"max_capacity": 8}, requested_by="api:ci", source=Source.API
    )
    pipeline.run_worker()

    record = pipeline.container.store.get(submission.request_id)
    assert record is not None
    assert (record.status.value, record.max_capacity, record.previous_max_capacity) == ("pr_opened", 8, 2)
    publisher = pipeline.container.publisher
    assert isinstance(publisher, LocalGitPublisher)
    pull = publisher.get_pull_request(record.pr_number or 0)
    assert pull is not None
    assert "| Serverless v2 capacity | 0.5-2 ACU -> 0.5-8 ACU |" in pull.body
    assert "Aurora storage grows by itself" in pull.body
    text = resized_file(pipeline, submission.request_id, "dev", "carts")
    assert "serverlessv2_scaling_configuration = { min_capacity = 0.5, max_capacity = 8 }" in text
    assert 'instance_class                     = "db.serverless"' in text
    (after,) = databases(pipeline, "dev")
    assert (after["instance_class"], after["allocated_storage"], after["max_capacity"]) == (
        "db.serverless",
        None,
        8,
    )
    # Down again is a resize too: the capacity is not storage.
    assert change(pipeline, "resize", "dev", "carts", {"max_capacity": 4}).status == 202


def test_an_aurora_prod_resize_changes_the_class_of_writer_and_reader(pipeline: Pipeline):
    created(pipeline, "analytics", "prod", "aurora-postgresql")

    submission = pipeline.container.intake.submit_resize(
        "prod", "analytics", {"instance_class": "db.r6g.xlarge"}, requested_by="api:ci", source=Source.API
    )
    pipeline.run_worker()

    record = pipeline.container.store.get(submission.request_id)
    assert record is not None
    publisher = pipeline.container.publisher
    assert isinstance(publisher, LocalGitPublisher)
    pull = publisher.get_pull_request(record.pr_number or 0)
    assert pull is not None
    assert "| Instance class | `db.r6g.large` -> `db.r6g.xlarge` |" in pull.body
    assert "every instance" in pull.body
    text = resized_file(pipeline, submission.request_id, "prod", "analytics")
    assert re.search(r'instance_class += "db.r6g.xlarge"\n +instance_count += 2\n', text)
    assert "deletion_protection     = true" in text
    (item,) = databases(pipeline, "prod")
    assert (item["instance_class"], item["allocated_storage"], item["max_capacity"]) == (
        "db.r6g.xlarge",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("environment", "engine", "body", "field", "says"),
    [
        (
            "prod",
            "aurora-postgresql",
            {"allocated_storage": 100},
            "allocated_storage",
            "Aurora storage grows by itself",
        ),
        (
            "dev",
            "aurora-mysql",
            {"allocated_storage": 50},
            "allocated_storage",
            "Aurora storage grows by itself",
        ),
        ("dev", "aurora-mysql", {"max_capacity": 3}, "max_capacity", "must be one of 2, 4, 8 (ACU)"),
        ("dev", "aurora-mysql", {"max_capacity": 64}, "max_capacity", "must be one of 2, 4, 8 (ACU)"),
        ("dev", "aurora-mysql", {"max_capacity": "4"}, "max_capacity", "must be a number"),
        ("dev", "aurora-mysql", {"max_capacity": 2}, "body", "nothing to change"),
        (
            "dev",
            "aurora-mysql",
            {"instance_class": "db.r6g.large"},
            "instance_class",
            "runs on db.serverless",
        ),
        ("prod", "aurora-postgresql", {"max_capacity": 4}, "max_capacity", "only Aurora Serverless v2"),
        ("prod", "aurora-postgresql", {"instance_class": "db.t3.micro"}, "instance_class", "db.r6g.large"),
        ("dev", "postgres", {"max_capacity": 4}, "max_capacity", "only Aurora Serverless v2"),
    ],
    ids=[
        "storage-on-aurora-prod",
        "storage-on-aurora-dev",
        "capacity-outside-policy",
        "capacity-far-outside-policy",
        "capacity-wrong-type",
        "capacity-unchanged",
        "class-on-serverless",
        "capacity-on-provisioned-aurora",
        "class-outside-aurora-policy",
        "capacity-on-an-instance",
    ],
)
def test_an_aurora_resize_outside_what_applies_is_a_400_and_changes_nothing(
    pipeline: Pipeline, environment, engine, body, field, says
):
    created(pipeline, "carts", environment, engine)
    items = pipeline.item_count()

    answer = change(pipeline, "resize", environment, "carts", body)

    assert answer.status == 400, answer.body
    messages = {error["field"]: error["message"] for error in answer.json["errors"]}
    assert says in messages[field], messages
    assert pipeline.item_count() == items
    assert pipeline.queue_depth() == 0


def test_a_database_outlives_its_requests_records(pipeline: Pipeline):
    # DynamoDB's TTL removes a request REQUEST_RETENTION_DAYS after it ended; the database it
    # created lives on: still listed, still resizable, still decommissionable.
    request_id = created(pipeline)
    pipeline.container.dynamodb_table.delete_item(Key={"pk": f"REQ#{request_id}"})  # what TTL does

    (listed,) = databases(pipeline, "dev")
    resized = change(pipeline, "resize", "dev", "orders", {"allocated_storage": 50})

    assert (listed["database_name"], listed["last_request"]) == ("orders", None)
    assert listed["instance_class"] == "db.t3.micro"
    assert resized.status == 202, resized.body
    pipeline.run_worker()
    assert pipeline.get(resized.json["request_id"]).json["status"] == "pr_opened"
