"""A model-based test of every database's lifecycle: each actor's moves, in any order, against the
real services (moto's DynamoDB, SNS and SQS, the local git publisher, the real worker and
dead-letter handlers), with what must always hold checked after every move.

The actors: requesters (create, resize, decommission in dev and prod; extend a dev database),
approvers (approve; deny through a modal that may have been opened before someone else decided),
the sweeper (at any moment from now to weeks ahead), the queue (deliveries, duplicates, late
redeliveries, retries running out, a worker dying between opening a pull request and recording
it), reviewers (merge, close), GitHub (webhook events delivered
late, out of order, twice) and CI (record-applied after an apply of main).

``make test`` runs a bounded number of examples; ``make soak`` runs many more
(``LIFECYCLE_MODEL_EXAMPLES``, ``LIFECYCLE_MODEL_STEPS``).
"""

from __future__ import annotations

import contextlib
import functools
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from backend.adapters.chat import Posted
from backend.adapters.database_items import to_database as database_of
from backend.adapters.gitops.local_git import LocalGitPublisher
from backend.adapters.queue import ProvisionMessage
from backend.adapters.request_items import to_record
from backend.adapters.slack_blocks import Message
from backend.cli.record_applied import record_applied
from backend.container import Container, set_container
from backend.domain import (
    Action,
    DatabaseRecord,
    Environment,
    ProvisionerError,
    RequestRecord,
    RequestStatus,
    Source,
    Step,
    policy_for,
)
from local.lambda_events import LambdaContext, QueueMessage, sqs_event
from local.resources import AwsResources, ensure_resources
from tests.support.aws import REGION, Pipeline, RecordingNotifier, make_container

pytestmark = [
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
    pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning"),
]

NAMES = ("orders", "ledger")
ENVIRONMENTS = ("dev", "prod")
APPROVERS = ("U0APPROVER1", "U0APPROVER2")
APPROVALS_CHANNEL = "C0APPROVALS"
REQUESTER = "automation"
APPROVAL_TIMEOUT = timedelta(hours=72)
_PROTECTION_OFF = re.compile(r"deletion_protection\s*=\s*false")

# ``make test`` runs this many sequences of moves; ``make soak`` passes ``--soak-examples``.
EXAMPLES = 15
STEPS = 40


class RecordingChat:
    """The chat at the edge (Slack): remembers what was posted and updated."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, Message]] = []
        self.updated: list[tuple[str, str, Message]] = []

    def post(self, channel: str, message: Message, *, thread_ts: str | None = None) -> Posted | None:
        self.posted.append((channel, message))
        return Posted(channel, f"{len(self.posted)}.000100")

    def update(self, channel: str, ts: str, message: Message) -> None:
        self.updated.append((channel, ts, message))


class WorkerDied(Exception):
    """The worker's process ended between opening a pull request and recording it (a crash, a
    timeout): whatever it would have done next is not done, and SQS hands the message out again."""


class DyingAfterPublish:
    """The GitOps publisher, whose next ``open_pull_request`` while ``armed`` opens the pull request
    and then ends the worker before the request records it."""

    def __init__(self, publisher: LocalGitPublisher) -> None:
        self._publisher = publisher
        self.armed = False

    @property
    def worst_call_seconds(self) -> float:
        return self._publisher.worst_call_seconds

    def open_pull_request(self, change: Any, *, resume: bool = False, deadline: float | None = None) -> Any:
        opened = self._publisher.open_pull_request(change, resume=resume, deadline=deadline)
        if self.armed:
            self.armed = False
            raise WorkerDied(f"the worker died after opening {opened.url}")
        return opened

    def withdraw(self, branch: str, request_id: str, reason: str) -> Any:
        return self._publisher.withdraw(branch, request_id, reason)


@dataclass(frozen=True)
class PullRequestEvent:
    """What GitHub's ``pull_request`` ``closed`` webhook says about a PR the tool opened."""

    request_id: str
    number: int
    url: str
    branch: str
    merged: bool


class LifecycleModel(RuleBasedStateMachine):
    # How much was explored (make soak reports it).
    sequences = 0
    moves = 0

    def __init__(self) -> None:
        super().__init__()
        LifecycleModel.sequences += 1
        from moto import mock_aws

        self._mock = mock_aws()
        self._mock.start()
        self._dir = Path(tempfile.mkdtemp(prefix="lifecycle-model-"))
        self.resources: AwsResources = ensure_resources(region=REGION, endpoint_url=None)
        self.notifier = RecordingNotifier()
        self.chat = RecordingChat()
        self.container: Container = make_container(
            self.resources,
            notifier=self.notifier,
            gitops_path=self._dir / "gitops",
            prod_approvers=APPROVERS,
            approvals_channel=APPROVALS_CHANNEL,
        )
        self.container.chat = self.chat
        publisher = self.container.publisher
        assert isinstance(publisher, LocalGitPublisher)
        self.git = publisher
        self.dying = DyingAfterPublish(publisher)
        self.container.publisher = self.dying
        set_container(self.container)
        self.pipeline = Pipeline(self.resources, self.container, self.notifier)
        self.now = datetime.now(UTC)
        # Webhook events GitHub has yet to deliver, and every one it delivered (to redeliver).
        self.pending_events: list[PullRequestEvent] = []
        self.delivered_events: list[PullRequestEvent] = []
        # Every message the worker was handed (SQS may hand any of them out again).
        self.delivered_messages: list[QueueMessage] = []
        # Deny modals an approver opened (the request was awaiting approval then).
        self.deny_modals: list[tuple[str, str]] = []
        # Requests a sweep read as waiting too long, before it ends them.
        self.timeouts_read: list[RequestRecord] = []
        self._main_sha: str | None = None
        self._main: dict[tuple[str, str], str] = {}
        self._world: World | None = None

    def teardown(self) -> None:
        set_container(None)
        self._mock.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    # --- what the model reads ------------------------------------------------------------------
    def waiting(self) -> list[RequestRecord]:
        """The requests awaiting approval, as the last check read them (it runs after every move)."""
        if self._world is None:
            return []
        return [r for r in self._world.requests.values() if r.status is RequestStatus.AWAITING_APPROVAL]

    def open_pulls(self) -> list[Any]:
        return [pull for pull in self.git.list_pull_requests() if pull.state == "open"]

    def queued(self) -> list[ProvisionMessage]:
        """What the queue and its dead-letter queue hold now, read from moto's own queues: receiving
        would count as a receive (and move a message to the dead-letter queue after
        ``maxReceiveCount`` looks)."""
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.sqs.models import sqs_backends

        queues = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues
        # A message SQS moved to the dead-letter queue is on its way to the dead-letter function.
        return [
            ProvisionMessage.from_sqs_body(message.body)
            for url in (self.resources.queue_url, self.resources.dlq_url)
            for message in queues[url.rsplit("/", 1)[-1]]._messages
        ]

    def table_items(self) -> list[dict[str, Any]]:
        """Every item of the requests table, read from moto's own table (a scan through the API
        costs more than the move it checks)."""
        from boto3.dynamodb.types import TypeDeserializer
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        table: Any = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables[self.resources.table_name]
        plain = TypeDeserializer()
        return [
            {name: plain.deserialize(value) for name, value in item.to_json()["Attributes"].items()}
            for item in table.items.values()
        ]

    def on_main(self, environment: str, name: str) -> str | None:
        return self.git.file_on_base(f"terraform/envs/{environment}/rds_{name}.tf")

    # --- requesters ------------------------------------------------------------------------------
    @rule(
        name=st.sampled_from(NAMES),
        environment=st.sampled_from(ENVIRONMENTS),
        ttl_days=st.integers(1, 3),
    )
    def submit_create(self, name: str, environment: str, ttl_days: int) -> None:
        body: dict[str, Any] = {
            "database_name": name,
            "database_engine": "postgres",
            "environment": environment,
        }
        if environment == "dev":
            body["ttl_days"] = ttl_days
        self.unless_refused(
            lambda: self.container.intake.submit(body, requested_by=REQUESTER, source=Source.API)
        )

    @rule(name=st.sampled_from(NAMES), environment=st.sampled_from(ENVIRONMENTS), data=st.data())
    def submit_resize(self, name: str, environment: str, data: st.DataObject) -> None:
        wanted = {
            "instance_class": data.draw(
                st.sampled_from(policy_for(Environment(environment)).instance_classes)
            )
        }
        self.unless_refused(
            lambda: self.container.intake.submit_resize(
                environment, name, wanted, requested_by=REQUESTER, source=Source.API
            )
        )

    @rule(name=st.sampled_from(NAMES), environment=st.sampled_from(ENVIRONMENTS))
    def submit_decommission(self, name: str, environment: str) -> None:
        self.unless_refused(
            lambda: self.container.intake.submit_decommission(
                environment, name, {"confirm": name}, requested_by=REQUESTER, source=Source.API
            )
        )

    def unless_refused(self, submit: Callable[[], object]) -> None:
        """Submit; a refusal (taken, not there, in flight, invalid) must change nothing at all."""
        before = self.table_items()
        try:
            submit()
        except ProvisionerError as refused:
            why = refused.message
        else:
            return
        assert self.table_items() == before, f"a refused request changed the store: {why}"

    @rule(name=st.sampled_from(NAMES), days=st.integers(1, 10))
    def extend(self, name: str, days: int) -> None:
        try:
            self.container.expiry.extend(
                "dev", name, requested_by=REQUESTER, source=Source.API, data={"ttl_days": days}
            )
        except ProvisionerError:
            return
        # A database its requester just kept is not being deleted.
        database = self.container.store.get_database("dev", name)
        assert database is not None, "an extended database vanished"
        if database.change_request_id is not None:
            change = self.container.store.get(database.change_request_id)
            assert change is None or change.action is not Action.DECOMMISSION, (
                f"dev/{name} was extended while its decommission {change.request_id} is {change.status}"
            )

    # --- approvers -------------------------------------------------------------------------------
    @precondition(lambda self: bool(self.waiting()))
    @rule(data=st.data(), approver=st.sampled_from(APPROVERS))
    def approve(self, data: st.DataObject, approver: str) -> None:
        record = data.draw(st.sampled_from(self.waiting()))
        with contextlib.suppress(ProvisionerError):
            self.container.approvals.approve(record.request_id, approver)

    @precondition(lambda self: bool(self.waiting()))
    @rule(data=st.data(), approver=st.sampled_from(APPROVERS))
    def open_deny_modal(self, data: st.DataObject, approver: str) -> None:
        record = data.draw(st.sampled_from(self.waiting()))
        self.deny_modals.append((record.request_id, approver))

    @precondition(lambda self: bool(self.deny_modals))
    @rule(data=st.data())
    def submit_deny_modal(self, data: st.DataObject) -> None:
        request_id, approver = data.draw(st.sampled_from(self.deny_modals))
        self.deny_modals.remove((request_id, approver))
        before = self.container.store.get(request_id)
        with contextlib.suppress(ProvisionerError):
            self.container.approvals.deny(request_id, approver, "not this quarter")
        after = self.container.store.get(request_id)
        if before is not None and before.status is not RequestStatus.AWAITING_APPROVAL:
            # Someone else decided (or the sweeper did) after the modal opened: nothing changes.
            assert after is not None
            assert after.status == before.status, (
                f"a stale deny moved {request_id} from {before.status} to {after.status}"
            )

    # --- the sweeper -----------------------------------------------------------------------------
    @rule(days=st.integers(0, 12), hours=st.integers(0, 23))
    def sweep(self, days: int, hours: int) -> None:
        self.container.sweeper.sweep(self.now + timedelta(days=days, hours=hours))

    @precondition(lambda self: bool(self.waiting()))
    @rule()
    def sweep_reads_the_waiting_requests(self) -> None:
        """A sweep past the approval timeout reads the requests still waiting (and acts later)."""
        self.timeouts_read.extend(self.waiting())

    @precondition(lambda self: bool(self.timeouts_read))
    @rule()
    def sweep_times_them_out(self) -> None:
        read, self.timeouts_read = self.timeouts_read, []
        for seen in read:
            self.container.approvals.time_out(seen, timeout=APPROVAL_TIMEOUT)
            now = self.container.store.get(seen.request_id)
            assert now is not None
            if now.approved_by or now.denied_by:
                # An approver decided after the sweep read it: the decision stands.
                assert now.status is not RequestStatus.REJECTED or now.denied_by, (
                    f"{seen.request_id} was approved by {now.approved_by} and then timed out"
                )

    # --- everything automated catching up ---------------------------------------------------------
    @rule()
    def settle(self) -> None:
        """Time passes: the queue drains (SQS's dead letters too), GitHub delivers its events, CI
        applies both environments."""
        for _ in range(5):
            messages = self.pipeline.receive()
            if not messages:
                break
            answer = self.pipeline.deliver(messages)
            # Nothing outside fails here (moto, local git): a failed record is our bug.
            assert not answer.get("batchItemFailures"), f"the worker failed: {answer}"
            self.pipeline.settle(answer, messages)
            self.delivered_messages += messages
        self.dead_letters_arrive()
        while self.pending_events:
            event = self.pending_events.pop(0)
            self._send(event)
            self.delivered_events.append(event)
        for environment in ENVIRONMENTS:
            self.ci_applied(environment)

    # --- the queue and the worker ----------------------------------------------------------------
    @rule(duplicate=st.booleans())
    def deliver(self, duplicate: bool) -> None:
        messages = self.pipeline.receive(max_messages=1)
        if not messages:
            return
        answer = self.pipeline.deliver(messages)
        assert not answer.get("batchItemFailures"), f"the worker failed: {answer}"
        if duplicate:
            # At-least-once: the same message handed out again before the first was deleted.
            again = self.pipeline.deliver(messages)
            assert not again.get("batchItemFailures"), f"the worker failed a duplicate: {again}"
        self.pipeline.settle(answer, messages)
        self.delivered_messages += messages

    @rule()
    def worker_dies_after_opening_a_pull_request(self) -> None:
        """The next delivery opens its pull request, then its worker dies before recording it; the
        message goes back to the queue (a delivery that reaches no publish just succeeds)."""
        messages = self.pipeline.receive(max_messages=1)
        if not messages:
            return
        self.dying.armed = True
        try:
            answer = self.pipeline.deliver(messages)
        finally:
            died, self.dying.armed = not self.dying.armed, False
        assert bool(answer.get("batchItemFailures")) == died, f"the worker's answer: {answer}"
        self.pipeline.settle(answer, messages)
        self.delivered_messages += messages

    @precondition(lambda self: bool(self.delivered_messages))
    @rule(data=st.data())
    def redeliver_message(self, data: st.DataObject) -> None:
        message = data.draw(st.sampled_from(self.delivered_messages))
        answer = self.pipeline.deliver([message])
        assert not answer.get("batchItemFailures"), f"the worker failed a redelivery: {answer}"

    @rule()
    def dead_letters_arrive(self) -> None:
        """The dead-letter function runs on what SQS moved to the dead-letter queue by itself."""
        for answer in self.pipeline.run_dead_letters():
            assert not answer.get("batchItemFailures"), answer

    @rule()
    def retries_run_out(self) -> None:
        """SQS gives up on a queued message: it moves to the dead-letter queue and its function runs."""
        from backend.handlers import dead_letters

        messages = self.pipeline.receive(max_messages=1)
        if not messages:
            return
        self.container.sqs.delete_message(
            QueueUrl=self.resources.queue_url, ReceiptHandle=messages[0].receipt_handle
        )
        event = sqs_event(messages, queue_arn=self.resources.dlq_arn, region=REGION)
        answer = dead_letters.lambda_handler(event, LambdaContext(function_name="dead-letters"))
        assert not answer.get("batchItemFailures"), answer

    # --- reviewers and GitHub --------------------------------------------------------------------
    @precondition(lambda self: bool(self.open_pulls()))
    @rule(data=st.data(), merged=st.booleans())
    def review(self, data: st.DataObject, merged: bool) -> None:
        pull = data.draw(st.sampled_from(self.open_pulls()))
        if merged:
            self.git.merge_pull_request(pull.number)
        else:
            self.git.close_pull_request(pull.number)
        self.pending_events.append(
            PullRequestEvent(pull.request_id, pull.number, pull.url, pull.branch, merged)
        )

    @precondition(lambda self: bool(self.pending_events))
    @rule(data=st.data())
    def webhook(self, data: st.DataObject) -> None:
        event = data.draw(st.sampled_from(self.pending_events))
        self.pending_events.remove(event)
        self._send(event)
        self.delivered_events.append(event)

    @precondition(lambda self: bool(self.delivered_events))
    @rule(data=st.data())
    def webhook_redelivered(self, data: st.DataObject) -> None:
        self._send(data.draw(st.sampled_from(self.delivered_events)))

    def _send(self, event: PullRequestEvent) -> None:
        self.container.lifecycle.pull_request_closed(
            event.request_id,
            pr_number=event.number,
            pr_url=event.url,
            branch=event.branch,
            merged=event.merged,
            actor="reviewer",
        )

    # --- CI ----------------------------------------------------------------------------------------
    @rule(environment=st.sampled_from(ENVIRONMENTS))
    def ci_applied(self, environment: str) -> None:
        files = [
            f"terraform/envs/{environment}/rds_{name}.tf"
            for name in NAMES
            if self.on_main(environment, name) is not None
        ]
        record_applied(self.container.lifecycle, environment, files, self.git.file_on_base)

    # --- what always holds -----------------------------------------------------------------------
    @invariant()
    def what_always_holds(self) -> None:
        LifecycleModel.moves += 1
        world = self._world = self.world()
        every_database_on_main_is_tracked(world)
        no_open_pull_request_belongs_to_an_ended_request(world)
        every_request_in_flight_has_its_pull_request_or_message(world, self.pending_events)
        prod_deletion_protection_is_off_only_while_tracked(world)
        each_requester_hears_each_status_once_and_it_is_true(world, self.notifier.records)
        every_decision_stands(world)

    def world(self) -> World:
        """Everything the invariants look at, read once per step (one scan of the table, main read
        again only when it moved)."""
        items = self.table_items()
        requests = [to_record(item) for item in items if str(item["pk"]).startswith("REQ#")]
        databases = [database_of(item) for item in items if str(item["pk"]).startswith("DB#")]
        main_sha = self.git._resolve(f"refs/heads/{self.git.base_branch}")
        if main_sha != self._main_sha:
            self._main = {
                (environment, name): text
                for environment in ENVIRONMENTS
                for name in NAMES
                if (text := self.on_main(environment, name)) is not None
            }
            self._main_sha = main_sha
        return World(
            requests={r.request_id: r for r in requests},
            databases={(d.environment.value, d.database_name): d for d in databases},
            queued={(m.request_id, m.step) for m in self.queued()},
            pulls={pull.number: pull for pull in self.git.list_pull_requests()},
            main=self._main,
        )


@dataclass(frozen=True)
class World:
    requests: dict[str, RequestRecord]
    databases: dict[tuple[str, str], DatabaseRecord]
    queued: set[tuple[str, Step]]
    pulls: dict[int, Any]
    main: dict[tuple[str, str], str]


def every_database_on_main_is_tracked(world: World) -> None:
    for key in world.main:
        assert key in world.databases, f"{'/'.join(key)} is on main but not in the inventory"


def no_open_pull_request_belongs_to_an_ended_request(world: World) -> None:
    for pull in world.pulls.values():
        if pull.state != "open":
            continue
        record = world.requests.get(pull.request_id)
        assert record is not None, f"PR #{pull.number} belongs to no request"
        assert not record.status.is_final, (
            f"PR #{pull.number} ({pull.branch}) is open but its request is {record.status}"
        )


def every_request_in_flight_has_its_pull_request_or_message(
    world: World, pending_events: list[PullRequestEvent]
) -> None:
    for record in world.requests.values():
        where = f"{record.action.value} {record.request_id} ({record.status.value}, {record.step.value})"
        if record.status is RequestStatus.ACCEPTED and (record.request_id, record.step) not in world.queued:
            # A worker opened its PR and died before recording it, a reviewer merged it and the
            # retries ran out: the merge's event, on its way, records it.
            merged = [
                pull
                for pull in world.pulls.values()
                if pull.request_id == record.request_id
                and pull.branch == record.branch_name
                and pull.state == "merged"
            ]
            assert merged, f"{where}: no queued message"
            assert any(e.number == pull.number for e in pending_events for pull in merged), (
                f"{where}: no queued message, and the event of its merged PR was delivered"
            )
        if record.status in {RequestStatus.PR_OPENED, RequestStatus.MERGED}:
            pull = world.pulls.get(record.pr_number or 0)
            assert pull is not None, f"{where}: no PR"
            assert pull.request_id == record.request_id, f"{where}: PR #{pull.number} is another request's"
            assert pull.branch == record.branch_name, f"{where}: PR #{pull.number} is {pull.branch}'s"
            if record.status is RequestStatus.PR_OPENED and pull.state == "closed":
                # GitHub has the event on its way.
                assert any(e.number == pull.number for e in pending_events), f"{where}: its PR is closed"
            if record.status is RequestStatus.MERGED:
                assert pull.state == "merged", f"{where}: PR #{pull.number} is {pull.state}"
    for (environment, name), database in world.databases.items():
        where = f"{environment}/{name}"
        create = world.requests.get(database.request_id)
        if create is not None:
            assert create.status not in {RequestStatus.FAILED, RequestStatus.REJECTED}, (
                f"{where} is in the inventory but its create ended {create.status}"
            )
        if database.change_request_id is not None:
            change = world.requests.get(database.change_request_id)
            assert change is not None, f"{where} is held by {database.change_request_id}, which is gone"
            assert not change.status.is_final, (
                f"{where} is held by {change.request_id}, which is {change.status}"
            )


def prod_deletion_protection_is_off_only_while_tracked(world: World) -> None:
    for (environment, name), text in world.main.items():
        if environment != "prod" or not _PROTECTION_OFF.search(text):
            continue
        database = world.databases.get((environment, name))
        assert database is not None, f"prod/{name} is unprotected on main and untracked"
        change = world.requests.get(database.change_request_id or "")
        in_flight = change is not None and change.action in {Action.DECOMMISSION, Action.REPROTECT}
        assert in_flight or database.deletion_protection is False, (
            f"prod/{name} has deletion protection off on main with no decommission in flight"
        )


def every_decision_stands(world: World) -> None:
    """An approved request is never rejected afterwards (by a stale deny or the timeout)."""
    for record in world.requests.values():
        if record.approved_by is not None:
            assert record.status is not RequestStatus.REJECTED, (
                f"{record.request_id} was approved by {record.approved_by}, then rejected: {record.error}"
            )


def each_requester_hears_each_status_once_and_it_is_true(world: World, told: list[RequestRecord]) -> None:
    said = [(r.request_id, r.status, r.step) for r in told]
    assert len(said) == len(set(said)), f"a status was told twice: {said}"
    for record in told:
        now = world.requests[record.request_id]
        if record.status.is_final:
            assert now.status == record.status, (
                f"told {record.status} about {record.request_id}, now {now.status}"
            )
        if record.status in {RequestStatus.PR_OPENED, RequestStatus.MERGED}:
            pull = world.pulls.get(record.pr_number or 0)
            assert pull is not None
            assert pull.request_id == record.request_id
            assert pull.branch == record.branch_name, (
                f"told {record.status} of {record.step} about PR #{pull.number}, which is {pull.branch}"
            )
            if record.status is RequestStatus.MERGED:
                assert pull.state == "merged", f"told merged about PR #{pull.number}, which is {pull.state}"


def test_every_interleaving_of_the_actors_keeps_every_database_tracked(pytestconfig: pytest.Config) -> None:
    soak = pytestconfig.getoption("soak_examples")
    run_state_machine_as_test(
        LifecycleModel,
        settings=settings(
            max_examples=soak or EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.data_too_large,
            ],
        ),
    )


# --- the five stories of the issue that asked for this model, replayed as moves ------------------
# Random exploration reaches short races quickly; these deeper ones (a prod decommission's second
# step, a dev expiry) are also replayed move by move, every invariant checked after each move.
class Story:
    def __init__(self) -> None:
        self.model = LifecycleModel()
        self.model.what_always_holds()

    def __enter__(self) -> Story:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.model.teardown()

    def then(self, move: Callable[[], object]) -> None:
        move()
        self.model.what_always_holds()

    def submit(self, name: str, environment: str, action: str = "create", **extra: Any) -> str:
        intake = self.model.container.intake
        calls: dict[str, Callable[[], Any]] = {
            "create": lambda: intake.submit(
                {"database_name": name, "database_engine": "postgres", "environment": environment, **extra},
                requested_by=REQUESTER,
                source=Source.API,
            ),
            "decommission": lambda: intake.submit_decommission(
                environment, name, {"confirm": name}, requested_by=REQUESTER, source=Source.API
            ),
        }
        submitted: list[Any] = []
        self.then(lambda: submitted.append(calls[action]()))
        return str(submitted[0].request_id)

    def approve(self, request_id: str, approver: str = APPROVERS[0]) -> None:
        self.then(lambda: self.model.container.approvals.approve(request_id, approver))

    def review(self, request_id: str, *, merged: bool) -> None:
        """A reviewer merges (or closes) the open PR of the request; GitHub's event is on its way."""
        (pull,) = [p for p in self.model.open_pulls() if p.request_id == request_id]

        def act() -> None:
            (self.model.git.merge_pull_request if merged else self.model.git.close_pull_request)(pull.number)
            self.model.pending_events.append(
                PullRequestEvent(pull.request_id, pull.number, pull.url, pull.branch, merged)
            )

        self.then(act)

    def settle(self) -> None:
        self.then(self.model.settle)

    def redeliver_every_webhook_event(self) -> None:
        for event in list(self.model.delivered_events):
            self.then(functools.partial(self.model._send, event))

    def create_live(self, name: str, environment: str, **extra: Any) -> str:
        request_id = self.submit(name, environment, **extra)
        if environment == "prod":
            self.approve(request_id)
        self.settle()
        self.review(request_id, merged=True)
        self.settle()
        return request_id


def _deny_after_an_approval(story: Story) -> None:
    request_id = story.submit("ledger", "prod")
    story.model.deny_modals.append((request_id, APPROVERS[1]))  # B opens the deny form
    story.approve(request_id, APPROVERS[0])  # A approves
    story.settle()
    with contextlib.suppress(ProvisionerError):
        story.model.container.approvals.deny(request_id, APPROVERS[1], "not this quarter")  # B submits
    story.model.what_always_holds()


def _approval_against_the_timeout(story: Story) -> None:
    request_id = story.submit("ledger", "prod")
    read = story.model.container.store.get(request_id)
    assert read is not None
    story.approve(request_id)  # approved after the sweep read it as waiting too long
    story.then(lambda: story.model.container.approvals.time_out(read, timeout=APPROVAL_TIMEOUT))
    story.settle()


def _unprotected(story: Story) -> str:
    """A live prod database whose decommission's first step (protection off) is applied: its id.
    The second step is queued; its PR is not open yet."""
    story.create_live("ledger", "prod")
    decommission = story.submit("ledger", "prod", action="decommission")
    story.approve(decommission)
    story.settle()
    story.review(decommission, merged=True)
    story.settle()
    return decommission


def _a_redelivered_first_step_event(story: Story) -> None:
    _unprotected(story)
    story.redeliver_every_webhook_event()
    story.settle()


def _a_prod_decommission_cancelled_after_its_first_step(story: Story) -> None:
    decommission = _unprotected(story)
    story.settle()  # the second PR opens
    story.review(decommission, merged=False)
    story.settle()


def _an_extension_while_the_expiry_decommission_is_open(story: Story) -> None:
    story.create_live("scratch", "dev", ttl_days=1)
    story.then(lambda: story.model.container.sweeper.sweep(story.model.now + timedelta(days=1, hours=8)))
    story.settle()
    story.then(lambda: story.model.extend("scratch", 30))
    story.settle()


def _a_pull_request_merged_before_its_worker_recorded_it(story: Story) -> None:
    request_id = story.submit("orders", "dev")
    story.then(story.model.worker_dies_after_opening_a_pull_request)
    story.review(request_id, merged=True)
    story.then(story.model.retries_run_out)  # before the merge's event arrives
    story.settle()
    record = story.model.container.store.get(request_id)
    assert record is not None
    assert record.status is RequestStatus.APPLIED


@pytest.mark.parametrize(
    "replay",
    [
        _a_pull_request_merged_before_its_worker_recorded_it,
        _deny_after_an_approval,
        _approval_against_the_timeout,
        _a_redelivered_first_step_event,
        _a_prod_decommission_cancelled_after_its_first_step,
        _an_extension_while_the_expiry_decommission_is_open,
    ],
)
def test_the_stories_that_lost_track_of_databases_keep_every_invariant(
    replay: Callable[[Story], None],
) -> None:
    with Story() as story:
        replay(story)
