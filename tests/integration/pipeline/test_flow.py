"""The pipeline end to end, in-process: API -> SNS -> (real subscription) -> SQS -> worker -> PR.

Deliveries go through the real worker handler (Powertools BatchProcessor) and are settled the way
Lambda's SQS integration does it: successes deleted, batchItemFailures made visible again.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from backend.adapters.gitops.github import GitHubPublisher
from backend.adapters.gitops.local_git import LocalGitPublisher
from backend.container import set_container
from backend.domain import PermanentError, RetryableError
from backend.settings import Settings
from local.lambda_events import QueueMessage
from tests.support.aws import (
    Pipeline,
    RecordingNotifier,
    RecordingPublisher,
    make_container,
)
from tests.support.github_stub import STUB_TOKEN, GitHubStub

ORDERS = {"database_name": "orders", "database_engine": "postgres", "environment": "dev"}


def local_publisher(pipeline: Pipeline) -> LocalGitPublisher:
    publisher = pipeline.container.publisher
    assert isinstance(publisher, LocalGitPublisher)
    return publisher


def branches(repo: LocalGitPublisher) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(repo.repo_path), "for-each-ref", "--format=%(refname:short)", "refs/heads/"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted(out.split())


def test_a_request_becomes_a_pull_request(pipeline: Pipeline):
    request_id = pipeline.post(ORDERS).json["request_id"]

    (message,) = pipeline.receive()  # delivered by the real SNS -> SQS subscription
    answer = pipeline.deliver([message])
    pipeline.settle(answer, [message])

    assert answer == {"batchItemFailures": []}
    status = pipeline.get(request_id).json
    assert status["status"] == "pr_opened"
    repo = local_publisher(pipeline)
    (pull,) = repo.list_pull_requests()
    assert status["pr_url"] == pull.url
    assert (pull.branch, pull.file_path) == ("rds/dev/orders", "terraform/envs/dev/rds_orders.tf")
    assert "rds/dev/orders" in branches(repo)
    assert 'module "rds_orders"' in repo.diff(pull.number)
    assert request_id in pull.body  # rendered by backend.render, with the request's details
    assert pipeline.notifier.events == [("pr_opened", request_id)]
    assert pipeline.queue_depth() == 0


def test_three_deliveries_make_one_branch_one_pr_one_notification(pipeline: Pipeline):
    request_id = pipeline.post(ORDERS).json["request_id"]
    (message,) = pipeline.receive()

    # SQS redelivers (receive counts 1..3), twice in separate batches and once twice in one batch.
    answers = [pipeline.deliver([replace(message, receive_count=n)]) for n in (1, 2)]
    answers.append(pipeline.deliver([replace(message, receive_count=3), replace(message, message_id="dup")]))

    assert all(a == {"batchItemFailures": []} for a in answers)
    repo = local_publisher(pipeline)
    assert len(repo.list_pull_requests()) == 1
    assert branches(repo).count("rds/dev/orders") == 1
    assert pipeline.notifier.events == [("pr_opened", request_id)]


def test_an_sns_redelivery_of_the_same_message_is_harmless(pipeline: Pipeline):
    request_id = pipeline.post(ORDERS).json["request_id"]
    (message,) = pipeline.receive()
    pipeline.settle(pipeline.deliver([message]), [message])
    # SNS delivers the same message again, later (a new SQS message with the same body).
    pipeline.container.sns.publish(TopicArn=pipeline.resources.topic_arn, Message=message.body)

    answers = pipeline.run_worker()

    assert sum(len(a["batchItemFailures"]) for a in answers) == 0
    assert len(local_publisher(pipeline).list_pull_requests()) == 1
    assert pipeline.notifier.events == [("pr_opened", request_id)]
    assert pipeline.queue_depth() == 0


def test_a_bad_record_fails_alone_and_good_ones_go_through(pipeline: Pipeline):
    pipeline.post(ORDERS)
    pipeline.post({**ORDERS, "database_name": "billing"})
    good = pipeline.receive()
    bad = [
        QueueMessage("not-json", "rh-1", "{not json"),
        QueueMessage(
            "wrong-version", "rh-2", good[0].body.replace('"schema_version":2', '"schema_version":9')
        ),
    ]

    answer = pipeline.deliver([*good, *bad])

    assert sorted(f["itemIdentifier"] for f in answer["batchItemFailures"]) == ["not-json", "wrong-version"]
    assert len(local_publisher(pipeline).list_pull_requests()) == 2


def test_a_permanent_publisher_error_fails_the_request_and_tells_the_requester(aws_resources, tmp_path):
    notifier = RecordingNotifier()
    publisher = RecordingPublisher(errors=[PermanentError("GITHUB_REPOSITORY is not a repository")])
    container = make_container(aws_resources, publisher=publisher, notifier=notifier)
    set_container(container)
    try:
        pipeline = Pipeline(aws_resources, container, notifier)
        request_id = pipeline.post(ORDERS).json["request_id"]
        answers = pipeline.run_worker()
    finally:
        set_container(None)

    assert answers == [{"batchItemFailures": []}]
    status = container.store.get(request_id)
    assert status is not None
    assert (status.status.value, status.error) == ("failed", "GITHUB_REPOSITORY is not a repository")
    assert notifier.events == [("request_failed", request_id)]


def test_exhausted_retries_end_the_request_failed_told_once_and_the_name_free(aws_resources, tmp_path):
    notifier = RecordingNotifier()
    publisher = RecordingPublisher(
        errors=[RetryableError("GitHub answered 502: Bad Gateway") for _ in range(10)]
    )
    container = make_container(aws_resources, publisher=publisher, notifier=notifier)
    set_container(container)
    try:
        pipeline = Pipeline(aws_resources, container, notifier)
        request_id = pipeline.post(ORDERS).json["request_id"]
        receives = 0
        while messages := pipeline.receive():
            receives += 1
            answer = pipeline.deliver(messages)
            assert [f["itemIdentifier"] for f in answer["batchItemFailures"]] == [messages[0].message_id]
            pipeline.settle(answer, messages)
        # Until the DLQ's consumer runs, the request is still in the works (and says why it waits).
        waiting = pipeline.get(request_id).json
        first = pipeline.run_dead_letters()
        dlq_left = pipeline.queue_depth(aws_resources.dlq_url)
        # SQS delivers at least once: the same dead letter again changes and tells nothing.
        again = container.lifecycle.gave_up(request_id)
        view = pipeline.get(request_id).json
        retry = pipeline.post(ORDERS)
    finally:
        set_container(None)

    assert receives == 5  # maxReceiveCount
    assert waiting["status"] == "accepted"
    assert first == [{"batchItemFailures": []}]
    assert dlq_left == 0
    assert view["status"] == "failed"
    assert "GitHub answered 502: Bad Gateway" in view["error"]
    assert "Nothing was created" in view["error"]
    assert again.outcome.value == "unchanged"
    assert notifier.events == [("request_failed", request_id)]
    assert retry.status == 202, retry.body  # the name is free again


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        "null",
        '{"Type": "Notification", "Message": {"request_id": "x"}}',
        '{"Type": "Notification", "Message": null}',
        '{"Type": "Notification", "Message": "[]"}',
    ],
)
def test_a_dead_letter_that_is_not_a_message_is_consumed_and_counted(
    pipeline: Pipeline, body: str, capsys: pytest.CaptureFixture[str]
):
    pipeline.sqs.send_message(QueueUrl=pipeline.resources.dlq_url, MessageBody=body)
    capsys.readouterr()

    answers = pipeline.run_dead_letters()

    assert answers == [{"batchItemFailures": []}]
    assert pipeline.queue_depth(pipeline.resources.dlq_url) == 0
    documents = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')
    ]
    assert [document.get("InvalidMessages") for document in documents] == [[1.0]]


def test_a_dead_letter_of_a_request_that_got_further_keeps_its_status(pipeline: Pipeline):
    request_id = pipeline.post(ORDERS).json["request_id"]
    (message,) = pipeline.receive()
    pipeline.settle(pipeline.deliver([message]), [message])  # pr_opened
    pipeline.sqs.send_message(QueueUrl=pipeline.resources.dlq_url, MessageBody=message.body)

    pipeline.run_dead_letters()

    assert pipeline.get(request_id).json["status"] == "pr_opened"
    assert [kind for kind, _ in pipeline.notifier.events] == ["pr_opened"]


def test_records_the_invocation_has_no_time_for_go_back_without_burning_a_receive(pipeline: Pipeline):
    ids = [
        pipeline.post({**ORDERS, "database_name": name}).json["request_id"] for name in ("orders", "billing")
    ]
    messages = pipeline.receive()
    assert len(messages) == 2

    # 12 s left: less than a record needs (one GitHub step plus recording), so none is started.
    answer = pipeline.deliver(messages, timeout_seconds=12)
    pipeline.settle(answer, messages)

    assert answer == {"batchItemFailures": []}  # not failures: nothing was tried
    assert {pipeline.get(i).json["status"] for i in ids} == {"accepted"}
    requeued = pipeline.receive()
    assert sorted(m.body for m in requeued) == sorted(m.body for m in messages)
    assert {m.receive_count for m in requeued} == {1}  # fresh copies: no receive was spent
    pipeline.settle(pipeline.deliver(requeued), requeued)
    assert {pipeline.get(i).json["status"] for i in ids} == {"pr_opened"}


# --- against the stub GitHub ----------------------------------------------------------------------
@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    asked: list[float] = []
    monkeypatch.setattr(time, "sleep", asked.append)
    return asked


@pytest.fixture
def github_pipeline(aws_resources, no_sleep) -> Iterator[tuple[Pipeline, GitHubStub]]:
    with GitHubStub(owner="acme", repo="infra") as github:
        settings = Settings(
            gitops_backend="github",
            github_repository=github.full_name,
            github_api_url=github.base_url,
            github_token=STUB_TOKEN,
        )
        publisher = GitHubPublisher.from_settings(settings, secret=lambda value, _secret_id: value)
        notifier = RecordingNotifier()
        container = make_container(aws_resources, publisher=publisher, notifier=notifier)
        set_container(container)
        try:
            yield Pipeline(aws_resources, container, notifier), github
        finally:
            set_container(None)


def test_github_new_request_costs_four_calls_and_redeliveries_none(github_pipeline):
    pipeline, github = github_pipeline
    request_id = pipeline.post(ORDERS).json["request_id"]
    (message,) = pipeline.receive()

    pipeline.deliver([message])
    first = github.calls
    pipeline.deliver([replace(message, receive_count=2)])
    pipeline.deliver([replace(message, receive_count=3)])

    assert [method for method, _ in first] == ["GET", "POST", "PUT", "POST"]
    assert github.calls == first  # redeliveries stop at the request record: no GitHub call
    assert len(github.pulls) == 1
    assert pipeline.get(request_id).json["pr_url"].endswith("/pull/1")
    assert pipeline.notifier.events == [("pr_opened", request_id)]


def test_a_github_failure_fails_only_that_record_and_a_later_delivery_succeeds(github_pipeline):
    pipeline, github = github_pipeline
    request_id = pipeline.post(ORDERS).json["request_id"]
    github.fail_next(3, status=502)  # the first try and both quick retries

    (message,) = pipeline.receive()
    answer = pipeline.deliver([message])
    pipeline.settle(answer, [message])

    assert answer["batchItemFailures"] == [{"itemIdentifier": message.message_id}]
    assert pipeline.get(request_id).json["status"] == "accepted"
    assert pipeline.notifier.events == []
    assert pipeline.queue_depth() == 1  # still there: nothing lost

    github.reset_calls()
    (again,) = pipeline.receive()
    assert again.receive_count == 2
    answer = pipeline.deliver([again])
    pipeline.settle(answer, [again])

    assert answer == {"batchItemFailures": []}
    assert pipeline.get(request_id).json["status"] == "pr_opened"
    assert len(github.pulls) == 1
    assert pipeline.notifier.events == [("pr_opened", request_id)]
    assert pipeline.queue_depth() == 0
    # The redelivery says so (resume): it looks for the PR first, then publishes what is missing.
    assert github.calls[0] == ("GET", "/repos/acme/infra/pulls")


def delayed(pipeline: Pipeline) -> int:
    attributes = pipeline.sqs.get_queue_attributes(
        QueueUrl=pipeline.resources.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesDelayed"])


@pytest.mark.parametrize(
    "inject",
    [
        lambda github: github.rate_limit_next(reset_in=600),
        lambda github: github.too_many_requests_next(retry_after=30),
        lambda github: github.secondary_rate_limit_next(retry_after=45, method="PUT"),
    ],
    ids=["primary", "429", "secondary"],
)
def test_a_wait_from_github_requeues_the_record_delayed_without_spending_a_receive(github_pipeline, inject):
    pipeline, github = github_pipeline
    request_id = pipeline.post(ORDERS).json["request_id"]
    inject(github)

    (message,) = pipeline.receive()
    answer = pipeline.deliver([message])
    pipeline.settle(answer, [message])

    assert answer == {"batchItemFailures": []}  # not a failure: the original is acknowledged
    assert pipeline.receive() == []  # the copy waits out GitHub's time on the queue
    assert delayed(pipeline) == 1
    shown = pipeline.get(request_id).json
    assert shown["status"] == "accepted"
    assert shown["error"].startswith("waiting for GitHub's rate limit until ")
    assert "rate limit" in shown["error"].split("(", 1)[1]
    assert pipeline.notifier.events == []


def test_a_waiting_record_comes_back_when_github_says_as_a_fresh_copy(github_pipeline):
    pipeline, github = github_pipeline
    request_id = pipeline.post(ORDERS).json["request_id"]
    github.too_many_requests_next(retry_after=1)

    (message,) = pipeline.receive()
    pipeline.settle(pipeline.deliver([message]), [message])

    deadline = time.monotonic() + 10
    again: list[QueueMessage] = []
    while not again and time.monotonic() < deadline:
        threading.Event().wait(0.2)  # time.sleep is patched out by no_sleep
        again = pipeline.receive()
    assert [m.body for m in again] == [message.body]
    assert again[0].receive_count == 1  # a fresh copy: the wait spent none of its receives
    pipeline.settle(pipeline.deliver(again), again)
    shown = pipeline.get(request_id).json
    assert (shown["status"], len(github.pulls)) == ("pr_opened", 1)
    assert pipeline.notifier.events == [("pr_opened", request_id)]


def test_a_wait_longer_than_sqs_can_delay_comes_back_after_fifteen_minutes(github_pipeline):
    pipeline, github = github_pipeline
    pipeline.post(ORDERS)
    github.rate_limit_next(reset_in=3600)
    sent: list[dict[str, object]] = []
    sqs = pipeline.container.sqs
    sqs.meta.events.register("provide-client-params.sqs.SendMessage", lambda params, **_: sent.append(params))

    (message,) = pipeline.receive()
    pipeline.settle(pipeline.deliver([message]), [message])

    assert [params["DelaySeconds"] for params in sent] == [900]


def test_a_database_already_on_main_is_rejected_notified_and_freed(github_pipeline):
    pipeline, github = github_pipeline
    github.seed_file("terraform/envs/dev/rds_orders.tf", 'module "rds_orders" {}\n')
    request_id = pipeline.post(ORDERS).json["request_id"]

    answers = pipeline.run_worker()

    assert answers == [{"batchItemFailures": []}]  # permanent: the message is done with
    status = pipeline.get(request_id).json
    assert status["status"] == "rejected"
    assert "already" in status["error"]
    assert github.pulls == {}
    assert pipeline.notifier.events == [("request_failed", request_id)]
    assert pipeline.post(ORDERS).status == 202  # the claim was released with the rejection
