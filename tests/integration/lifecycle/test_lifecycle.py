"""LifecycleService on the real store (moto): transitions, redelivery, one message per status."""

from __future__ import annotations

import pytest

from backend.domain import RequestStatus
from backend.services.lifecycle import CLOSED_WITHOUT_MERGE, LifecycleOutcome
from tests.integration.lifecycle.conftest import RequestFactory, close_pr, on_main
from tests.support.aws import Pipeline


def test_merge_records_merged_and_tells_the_requester_once(pipeline: Pipeline, requests: RequestFactory):
    view = requests.pr_opened()

    first = close_pr(pipeline, view["request_id"], merged=True, actor="reviewer")
    again = close_pr(pipeline, view["request_id"], merged=True, actor="reviewer")

    assert (first.outcome, first.notified) == (LifecycleOutcome.RECORDED, True)
    assert (again.outcome, again.notified) == (LifecycleOutcome.UNCHANGED, False)
    assert pipeline.get(view["request_id"]).json["status"] == "merged"
    assert [e for e in pipeline.notifier.events if e[0] == "pr_merged"] == [("pr_merged", view["request_id"])]


def test_applied_after_merge_is_final_and_keeps_the_name(pipeline: Pipeline, requests: RequestFactory):
    view = requests.pr_opened()
    lifecycle = pipeline.container.lifecycle
    close_pr(pipeline, view["request_id"], merged=True)

    main = on_main(pipeline, view["request_id"])
    first = lifecycle.applied("dev", "orders", main)
    again = lifecycle.applied("dev", "orders", main)

    assert (first.outcome, first.notified) == (LifecycleOutcome.RECORDED, True)
    assert (again.outcome, again.notified) == (LifecycleOutcome.UNCHANGED, False)
    assert first.record is not None
    assert first.record.status is RequestStatus.APPLIED
    kinds = [kind for kind, _ in pipeline.notifier.events]
    assert kinds == ["pr_opened", "pr_merged", "database_applied"]
    # The database exists now: the name stays claimed.
    assert (
        pipeline.post({"database_name": "orders", "database_engine": "mysql", "environment": "dev"}).status
        == 409
    )
    assert pipeline.get(view["request_id"]).json["status"] == "applied"


def test_applied_without_a_merge_event_passes_through_merged_silently(
    pipeline: Pipeline, requests: RequestFactory
):
    view = requests.pr_opened()

    result = pipeline.container.lifecycle.applied("dev", "orders", on_main(pipeline, view["request_id"]))

    assert result.outcome is LifecycleOutcome.RECORDED
    assert result.record is not None
    assert result.record.status is RequestStatus.APPLIED
    assert [kind for kind, _ in pipeline.notifier.events] == ["pr_opened", "database_applied"]


def test_closed_without_merge_fails_the_request_and_frees_the_name(
    pipeline: Pipeline, requests: RequestFactory
):
    view = requests.pr_opened()

    first = close_pr(pipeline, view["request_id"], merged=False, actor="reviewer")
    # Redelivery: already failed, so there is nothing left to change or to tell.
    again = close_pr(pipeline, view["request_id"], merged=False, actor="reviewer")

    assert (first.outcome, first.notified) == (LifecycleOutcome.RECORDED, True)
    assert (again.outcome, again.notified) == (LifecycleOutcome.UNCHANGED, False)
    status = pipeline.get(view["request_id"]).json
    assert (status["status"], status["error"]) == ("failed", CLOSED_WITHOUT_MERGE)
    assert pipeline.notifier.events[-1] == ("request_failed", view["request_id"])
    assert len(pipeline.notifier.events) == 2
    # The person can ask again for the same name.
    retry = pipeline.post({"database_name": "orders", "database_engine": "postgres", "environment": "dev"})
    assert retry.status == 202, retry.body


def test_an_event_about_another_pull_request_changes_nothing(pipeline: Pipeline, requests: RequestFactory):
    view = requests.pr_opened()

    result = pipeline.container.lifecycle.pull_request_closed(view["request_id"], pr_number=99, merged=False)

    assert result.outcome is LifecycleOutcome.OTHER_PULL_REQUEST
    assert pipeline.get(view["request_id"]).json["status"] == "pr_opened"
    assert len(pipeline.notifier.events) == 1


def test_a_status_the_lifecycle_forbids_is_a_conflict(pipeline: Pipeline, requests: RequestFactory):
    view = requests.pr_opened()
    close_pr(pipeline, view["request_id"], merged=False)
    # A merge of a closed PR (a reopened one, say) cannot revive a failed request.

    result = close_pr(pipeline, view["request_id"], merged=True)

    assert result.outcome is LifecycleOutcome.CONFLICT
    assert pipeline.get(view["request_id"]).json["status"] == "failed"
    assert [kind for kind, _ in pipeline.notifier.events] == ["pr_opened", "request_failed"]


def test_an_event_without_a_pr_url_for_a_request_without_a_pr_changes_nothing(pipeline: Pipeline):
    answer = pipeline.post({"database_name": "orders", "database_engine": "postgres", "environment": "dev"})

    result = pipeline.container.lifecycle.pull_request_closed(
        answer.json["request_id"], pr_number=3, merged=True
    )

    assert result.outcome is LifecycleOutcome.OTHER_PULL_REQUEST
    assert pipeline.get(answer.json["request_id"]).json["status"] == "accepted"
    assert pipeline.notifier.events == []


def test_unknown_database_is_reported_not_raised(pipeline: Pipeline):
    result = pipeline.container.lifecycle.applied("prod", "nothing_here", None)
    assert result.outcome is LifecycleOutcome.UNKNOWN
    assert result.record is None


def test_a_failed_notification_is_sent_by_the_redelivery(pipeline: Pipeline, requests: RequestFactory):
    view = requests.pr_opened()
    pipeline.notifier.fail_next = 1

    with pytest.raises(ConnectionError):
        close_pr(pipeline, view["request_id"], merged=True)
    redelivered = close_pr(pipeline, view["request_id"], merged=True)
    third = close_pr(pipeline, view["request_id"], merged=True)

    assert (redelivered.outcome, redelivered.notified) == (LifecycleOutcome.UNCHANGED, True)
    assert not third.notified
    assert [e for e in pipeline.notifier.events if e[0] == "pr_merged"] == [("pr_merged", view["request_id"])]


def test_a_stale_worker_delivery_does_not_repeat_the_merge_message(
    pipeline: Pipeline, requests: RequestFactory
):
    """The worker and the lifecycle share one notify-once: whoever comes second sends nothing."""
    from backend.adapters.queue import ProvisionMessage
    from backend.domain import Source

    view = requests.pr_opened()
    close_pr(pipeline, view["request_id"], merged=True)
    record = pipeline.container.store.get(view["request_id"])
    assert record is not None

    result = pipeline.container.provisioner.process(
        ProvisionMessage(
            request_id=record.request_id,
            request=record.request,
            requested_by=record.requested_by,
            source=Source.API,
            submitted_at=record.created_at,
        ),
        redelivered=True,
    )

    assert not result.notified
    assert [kind for kind, _ in pipeline.notifier.events] == ["pr_opened", "pr_merged"]
