"""POST /github/webhook through the real handler, with API Gateway proxy events and moto."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from backend.domain.naming import pull_request_marker
from backend.handlers import github_webhook
from backend.handlers.github_webhook import signature_of
from local.lambda_events import LambdaContext, apigw_proxy_event
from tests.integration.lifecycle.conftest import REPOSITORY, WEBHOOK_SECRET, WEBHOOK_SECRET_ID
from tests.support.aws import Pipeline


def closed_event(
    request_id: str | None,
    *,
    merged: bool,
    branch: str = "rds/dev/orders",
    number: int = 1,
    repository: str = REPOSITORY,
    head_repository: str | None = None,
    base: str = "main",
) -> dict[str, Any]:
    """The parts of GitHub's pull_request payload that matter, shaped as GitHub sends them.

    The body ends with the marker rds-provisioner writes into its PRs (none for ``request_id=None``).
    """
    marker = f"\n\n{pull_request_marker(request_id)}\n" if request_id else ""
    return {
        "action": "closed",
        "number": number,
        "pull_request": {
            "number": number,
            "html_url": f"https://github.com/{repository}/pull/{number}",
            "body": f"Adds the PostgreSQL database `orders` to **dev**.{marker}",
            "state": "closed",
            "merged": merged,
            "merged_by": {"login": "reviewer"} if merged else None,
            "head": {"ref": branch, "sha": "a" * 40, "repo": {"full_name": head_repository or repository}},
            "base": {"ref": base, "sha": "b" * 40, "repo": {"full_name": repository}},
        },
        "repository": {"full_name": repository, "name": repository.split("/")[1]},
        "sender": {"login": "reviewer"},
    }


def deliver(
    payload: dict[str, Any] | bytes,
    *,
    event: str = "pull_request",
    secret: str | None = WEBHOOK_SECRET,
    signature: str | None = None,
) -> tuple[int, dict[str, Any]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "User-Agent": "GitHub-Hookshot/abc123",
    }
    if signature is None and secret is not None:
        signature = signature_of(body, secret)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    proxy = apigw_proxy_event("POST", "/github/webhook", headers=headers, body=body)
    answer = github_webhook.lambda_handler(proxy, LambdaContext(function_name="github-webhook"))
    return answer["statusCode"], json.loads(answer["body"])


def open_request(pipeline: Pipeline, name: str = "orders") -> str:
    answer = pipeline.post({"database_name": name, "database_engine": "postgres", "environment": "dev"})
    assert answer.status == 202, answer.body
    pipeline.run_worker()
    request_id: str = answer.json["request_id"]
    assert pipeline.get(request_id).json["status"] == "pr_opened"
    return request_id


def test_signature_matches_githubs_documented_example():
    # From GitHub's "Validating webhook deliveries" docs: secret "It's a Secret to Everybody".
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_of(b"Hello, World!", "It's a Secret to Everybody") == expected


def test_a_merged_pull_request_records_merged_once(webhook_pipeline: Pipeline):
    request_id = open_request(webhook_pipeline)

    first = deliver(closed_event(request_id, merged=True))
    redelivered = deliver(closed_event(request_id, merged=True))

    assert first[0] == 200
    assert first[1] | {"message": ""} == {
        "message": "",
        "outcome": "recorded",
        "request_id": request_id,
        "status": "merged",
        "notified": True,
    }
    assert redelivered[0] == 200
    assert (redelivered[1]["outcome"], redelivered[1]["notified"]) == ("unchanged", False)
    assert webhook_pipeline.get(request_id).json["status"] == "merged"
    assert [e for e in webhook_pipeline.notifier.events if e[0] == "pr_merged"] == [("pr_merged", request_id)]


def test_closed_without_merge_fails_the_request(webhook_pipeline: Pipeline):
    request_id = open_request(webhook_pipeline)

    status, body = deliver(closed_event(request_id, merged=False))

    assert (status, body["status"]) == (200, "failed")
    view = webhook_pipeline.get(request_id).json
    assert view["error"] == "the pull request was closed without merging"


@pytest.mark.parametrize(
    "signature",
    [
        None,  # missing
        "sha256=" + "0" * 64,  # forged
        "sha1=0123",  # the legacy header's format
        signature_of(b"another body", WEBHOOK_SECRET),  # a real signature of something else
        signature_of(json.dumps(closed_event("any", merged=True)).encode(), "not-the-secret"),
    ],
    ids=["missing", "forged", "sha1", "other-body", "other-secret"],
)
def test_unsigned_or_forged_deliveries_are_401_and_change_nothing(webhook_pipeline: Pipeline, signature):
    request_id = open_request(webhook_pipeline)
    items_before = webhook_pipeline.item_count()
    events_before = list(webhook_pipeline.notifier.events)

    status, body = deliver(closed_event(request_id, merged=False), secret=None, signature=signature)

    assert status == 401, body
    assert webhook_pipeline.get(request_id).json["status"] == "pr_opened"
    assert webhook_pipeline.item_count() == items_before
    assert webhook_pipeline.notifier.events == events_before


def test_a_body_changed_after_signing_is_refused(webhook_pipeline: Pipeline):
    request_id = open_request(webhook_pipeline)
    signed = json.dumps(closed_event(request_id, merged=True)).encode()
    tampered = signed.replace(b'"merged": true', b'"merged": false')

    status, _ = deliver(tampered, secret=None, signature=signature_of(signed, WEBHOOK_SECRET))

    assert status == 401


@pytest.mark.parametrize(
    ("event", "payload", "note"),
    [
        ("ping", lambda _id: {"zen": "Keep it logically awesome.", "hook_id": 1}, "pong"),
        ("push", lambda _id: {"ref": "refs/heads/main"}, "ignored: push"),
        (
            "pull_request",
            lambda rid: {**closed_event(rid, merged=True), "action": "opened"},
            "ignored: pull_request opened",
        ),
        (
            "pull_request",
            lambda rid: closed_event(rid, merged=True, repository="someone/else"),
            "ignored: not",
        ),
        (
            "pull_request",
            lambda rid: closed_event(rid, merged=False, head_repository="forker/infrastructure"),
            "ignored: the branch",
        ),
        (
            "pull_request",
            lambda rid: closed_event(rid, merged=True, base="develop"),
            "ignored: the pull request targets",
        ),
        ("pull_request", lambda _id: closed_event(None, merged=True), "ignored: #1 was not opened by"),
    ],
    ids=["ping", "push", "opened", "other-repo", "fork", "other-base", "not-ours"],
)
def test_events_that_are_not_a_request_merge_are_acknowledged_and_ignored(
    webhook_pipeline: Pipeline, event, payload, note
):
    request_id = open_request(webhook_pipeline)

    status, body = deliver(payload(request_id), event=event)

    assert status == 200
    assert body["message"].startswith(note)
    assert webhook_pipeline.get(request_id).json["status"] == "pr_opened"


def test_another_pull_request_of_the_same_request_does_not_touch_it(webhook_pipeline: Pipeline):
    request_id = open_request(webhook_pipeline)

    status, body = deliver(closed_event(request_id, merged=False, number=42))

    assert (status, body["outcome"]) == (200, "other_pull_request")
    assert webhook_pipeline.get(request_id).json["status"] == "pr_opened"


def test_a_late_event_of_an_earlier_requests_pr_never_changes_a_new_request(webhook_pipeline: Pipeline):
    first = open_request(webhook_pipeline)
    deliver(closed_event(first, merged=False, number=1))  # closed: the name is free again
    answer = webhook_pipeline.post(
        {"database_name": "orders", "database_engine": "postgres", "environment": "dev"}
    )
    second = answer.json["request_id"]

    # GitHub redelivers the old PR's "closed" before the new request has a PR of its own.
    status, body = deliver(closed_event(first, merged=False, number=1))

    assert (status, body["outcome"], body["request_id"]) == (200, "unchanged", first)
    assert webhook_pipeline.get(second).json["status"] == "accepted"
    webhook_pipeline.run_worker()
    assert webhook_pipeline.get(second).json["status"] == "pr_opened"


def test_a_pr_merged_before_the_worker_recorded_it_is_recorded_from_the_event(webhook_pipeline: Pipeline):
    answer = webhook_pipeline.post(
        {"database_name": "orders", "database_engine": "postgres", "environment": "dev"}
    )
    request_id = answer.json["request_id"]

    status, body = deliver(closed_event(request_id, merged=True, number=7))

    assert (status, body["outcome"], body["status"]) == (200, "recorded", "merged")
    view = webhook_pipeline.get(request_id).json
    assert view["pr_url"] == f"https://github.com/{REPOSITORY}/pull/7"
    assert [kind for kind, rid in webhook_pipeline.notifier.events if rid == request_id] == [
        "pr_opened",
        "pr_merged",
    ]


def test_a_signed_body_that_is_not_a_pull_request_payload_is_400(webhook_pipeline: Pipeline):
    status, _ = deliver(b'{"action": "closed"}')
    assert status == 400


def test_without_a_configured_secret_everything_is_refused(pipeline: Pipeline):
    # The plain pipeline has no webhook secret at all.
    status, body = deliver(closed_event("any", merged=True))
    assert status == 500
    assert "not configured" in body["message"]


@pytest.mark.parametrize(
    "stored",
    [{"value": WEBHOOK_SECRET}, {"webhook_secret": WEBHOOK_SECRET}],
    ids=["value-key", "console-single-key"],
)
def test_a_secret_stored_as_a_json_object_works(webhook_pipeline: Pipeline, stored):
    request_id = open_request(webhook_pipeline)
    webhook_pipeline.container.secretsmanager.put_secret_value(
        SecretId=WEBHOOK_SECRET_ID, SecretString=json.dumps(stored)
    )

    status, body = deliver(closed_event(request_id, merged=True))

    assert (status, body["status"]) == (200, "merged")


def test_a_secret_of_the_wrong_shape_is_a_500_whose_log_names_it(webhook_pipeline: Pipeline):
    handler = github_webhook.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    logs = io.StringIO()
    request_id = open_request(webhook_pipeline)
    webhook_pipeline.container.secretsmanager.put_secret_value(
        SecretId=WEBHOOK_SECRET_ID, SecretString=json.dumps({"one": WEBHOOK_SECRET, "two": "other"})
    )

    previous = handler.setStream(logs)
    try:
        status, body = deliver(closed_event(request_id, merged=True))
    finally:
        handler.setStream(previous)

    assert status == 500
    assert "misconfigured" in body["message"]
    logged = logs.getvalue()
    assert WEBHOOK_SECRET_ID in logged
    assert WEBHOOK_SECRET not in logged
    assert webhook_pipeline.get(request_id).json["status"] == "pr_opened"
