"""Every payload the app can send is valid Block Kit by slack_sdk's own models.

The builders are enumerated, not listed: every public function of a ``bot.blocks`` module, every
status in the notification table and every intake refusal. A builder is called with each sample
of each of its parameters (chosen by the parameter's type), so a new builder is covered as soon as
it exists, and one taking a type without samples fails here until samples are added.

Valid means: ``Block.parse`` knows each block, ``validate_json()`` finds no limit broken, and the
parsed block gives back exactly the dict the app sends (nothing misspelled, nothing Slack would
drop); views likewise through ``View``. Messages carry a non-empty ``text`` fallback.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from slack_sdk.errors import SlackObjectFormationError

import bot.blocks
from backend.adapters.slack_notices import render
from backend.domain import (
    Action,
    AlreadyRequested,
    DatabaseRecord,
    Engine,
    Environment,
    FieldError,
    NotAllowed,
    NotFound,
    QueueUnavailable,
    RequestRecord,
    RequestStatus,
    RetryableError,
    Source,
    Step,
    ValidationFailed,
    policy_for,
)
from backend.domain.expiry import ExpiryPolicy
from backend.domain.notices import FIRST_STEP_NOTICES, STATUS_NOTICES, Happening, Notice, Offer, status_notice
from backend.services.inventory import InventoryEntry
from bot.blocks import dm_confirmation
from bot.intake_answers import INTAKE_ANSWERS
from tests.support.block_kit import (
    assert_valid_block,
    assert_valid_message,
    assert_valid_payload,
    assert_valid_view,
)

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
# Markup and length that must never break a payload: user text is escaped and sections truncated.
HOSTILE = "<!channel> *bold* & <https://evil.example|click> `code` " + "x" * 4000

# Helpers of the modal that return no payload: what a submission carries, and its inline errors.
NOT_PAYLOADS = {
    "modal_values",
    "with_labels",
    "change_callback_id",
    "change_button_id",
    "modal_errors",
    "deny_reason",
    "resize_values",
    "decommission_values",
    "resize_block_ids",
    "modal_database",
    "database_key",
    "parse_key",
    # Text: the command's usage line and its environments.
    "usage",
    "environment_choices",
    # Blocks that App Home and the list message carry (checked through them).
    "database_blocks",
}


def _record(status: RequestStatus, **changes: Any) -> RequestRecord:
    data: dict[str, Any] = {
        "request_id": "6bb2208b-b125-401e-b678-803282d03f11",
        "status": status,
        "database_name": "orders",
        "database_engine": Engine.POSTGRES,
        "environment": Environment("dev"),
        "requested_by": "U0REQUESTER",
        "source": Source.SLACK,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return RequestRecord.model_validate(data | changes)


def _records(status: RequestStatus) -> list[RequestRecord]:
    """A request at ``status`` in its plain and its fullest, most hostile shapes."""
    return [
        _record(status),
        _record(
            status,
            environment=Environment("prod"),
            database_engine=Engine.MYSQL,
            pr_url="https://github.example/acme/infra/pull/7",
            pr_number=7,
            owner="payments-team",
            purpose="order history for the checkout service",
            error=HOSTILE,
        ),
        _record(status, source=Source.API, requested_by="api-key:ci", error="boom"),
    ]


ALL_RECORDS = [record for status in RequestStatus for record in _records(status)]


def _database(environment: str = "dev", **changes: Any) -> DatabaseRecord:
    data: dict[str, Any] = {
        "database_name": "orders",
        "database_engine": Engine.POSTGRES,
        "environment": environment,
        "request_id": "6bb2208b-b125-401e-b678-803282d03f11",
        "requested_by": "U0REQUESTER",
        "created_at": NOW,
        "instance_class": policy_for(environment).instance_class,
        "allocated_storage": policy_for(environment).allocated_storage,
    }
    return DatabaseRecord.model_validate(data | changes)


DATABASES = [
    _database(),
    _database(Environment("prod"), database_name="a" * 50, owner="payments-team"),
    # The largest size the policy has: nothing left to grow into.
    _database(instance_class="db.t3.medium", allocated_storage=100),
    # Aurora: a Serverless v2 cluster in dev (a capacity maximum), writer + reader in prod (a class).
    _database(
        database_engine=Engine.AURORA_MYSQL,
        instance_class="db.serverless",
        allocated_storage=None,
        max_capacity=2,
    ),
    _database(
        Environment("prod"),
        database_engine=Engine.AURORA_POSTGRESQL,
        instance_class="db.r6g.large",
        allocated_storage=None,
    ),
]
ENTRIES = [
    InventoryEntry(
        database, _record(RequestStatus.APPLIED), _record(RequestStatus.PR_OPENED, action=Action.RESIZE)
    )
    for database in DATABASES
]
FIELD_ERRORS = [
    [FieldError("database_name", "database_name must start with a lowercase letter")],
    [FieldError("text", HOSTILE), FieldError("environment", "must be one of dev, prod")],
]

# Samples per parameter type. A builder whose parameter has a type not listed here fails the
# enumeration below: add samples for it.
SAMPLES: Mapping[Any, list[Any]] = {
    RequestRecord: ALL_RECORDS,
    Sequence[RequestRecord]: [[], ALL_RECORDS[:10]],
    Sequence[FieldError]: FIELD_ERRORS,
    Iterable[FieldError]: FIELD_ERRORS,
    str: ["orders postgres dev", HOSTILE],
    str | None: [None, "6bb2208b-b125-401e-b678-803282d03f11"],
    DatabaseRecord: DATABASES,
    Sequence[InventoryEntry]: [[], ENTRIES],
}


def _builder_modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{bot.blocks.__name__}.{info.name}")
        for info in pkgutil.iter_modules(bot.blocks.__path__)
    ]


def builders() -> list[Callable[..., Any]]:
    found: list[Callable[..., Any]] = []
    for module in _builder_modules():
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if (
                function.__module__ == module.__name__
                and not name.startswith("_")
                and name not in NOT_PAYLOADS
            ):
                found.append(function)
    return found


def calls_of(builder: Callable[..., Any]) -> Iterator[dict[str, Any]]:
    """Keyword arguments for ``builder``: each parameter through its samples, the others at their first."""
    # Builders name some types only for the type checker (cold start); this module imports them.
    hints = typing.get_type_hints(builder, localns=globals())
    parameters = list(inspect.signature(builder).parameters)
    missing = [f"{name}: {hints.get(name)}" for name in parameters if hints.get(name) not in SAMPLES]
    assert not missing, f"{builder.__qualname__} takes {missing}: add samples to SAMPLES in {__name__}"
    first = {name: SAMPLES[hints[name]][0] for name in parameters}
    yield first
    for name in parameters:
        for value in SAMPLES[hints[name]][1:]:
            yield first | {name: value}


def test_the_enumeration_finds_the_builders_it_must():
    names = {function.__name__ for function in builders()}
    assert {"home_view", "provision_modal", "submitted", "dm_confirmation", "status_message"} <= names
    assert len(names) >= 14


@pytest.mark.parametrize("builder", builders(), ids=lambda function: function.__name__)
def test_every_builder_gives_valid_block_kit(builder: Callable[..., Any]):
    for arguments in calls_of(builder):
        assert_valid_payload(builder(**arguments))


@pytest.mark.parametrize("status", list(FIRST_STEP_NOTICES))
def test_every_first_step_notification_is_valid_block_kit(status: RequestStatus):
    for record in _records(status):
        notice = status_notice(record.model_copy(update={"step": record.steps[0]}))
        assert notice is not None
        assert notice.happening is FIRST_STEP_NOTICES[status]
        assert_valid_message(render(notice))


@pytest.mark.parametrize("key", list(STATUS_NOTICES), ids=lambda key: f"{key[0].value}-{key[1] or 'any'}")
def test_every_notification_is_valid_block_kit(key: tuple[RequestStatus, Step | None]):
    status, step = key
    changes: dict[str, Any] = {}
    if step is not None:
        changes["step"] = step
        changes["action"] = Action.DECOMMISSION if step is Step.UNPROTECT else Action(step.value)
    if step is Step.RESIZE:
        changes |= {
            "instance_class": "db.t3.small",
            "allocated_storage": 50,
            "previous_instance_class": "db.t3.micro",
            "previous_allocated_storage": 20,
        }
    for sample in _records(status):
        record = sample.model_copy(update=changes)
        if status in FIRST_STEP_NOTICES and record.steps[0] is step:
            continue  # told by FIRST_STEP_NOTICES (test_notices holds which)
        notice = status_notice(record)
        assert notice is not None
        if step is None and (status, record.step) in STATUS_NOTICES:
            # The words of a step without its own row: every step has one today, so say them
            # of this record as a new step's would be.
            notice = Notice(STATUS_NOTICES[key], to=notice.to, request=record)
        assert notice.happening is STATUS_NOTICES[key]
        assert_valid_message(render(notice))


@pytest.mark.parametrize("status", list(RequestStatus))
def test_any_status_told_in_its_rows_words_is_valid_block_kit(status: RequestStatus):
    for record in _records(status):
        assert_valid_message(render(Notice(Happening.STATUS_REACHED, request=record)))


@pytest.mark.parametrize("record", _records(RequestStatus.AWAITING_APPROVAL))
def test_every_approval_message_is_valid_block_kit(record: RequestRecord):
    asked = Notice(Happening.APPROVAL_ASKED, request=record, offers=(Offer.APPROVE, Offer.DENY))
    assert_valid_message(render(asked))
    for decided in (
        {"approved_by": "U0APPROVER"},
        {"denied_by": "U0APPROVER", "error": HOSTILE},
        {"error": "no approver decided within 24 hours"},
    ):
        assert_valid_message(
            render(Notice(Happening.APPROVAL_DECIDED, request=record.model_copy(update=decided)))
        )


REFUSALS = [
    ValidationFailed(FIELD_ERRORS[1]),
    NotAllowed("You are not on the list of people who may request prod databases."),
    AlreadyRequested(HOSTILE, "6bb2208b-b125-401e-b678-803282d03f11"),
    AlreadyRequested("orders is already requested in dev"),
    NotFound("There is no dev database orders"),
    QueueUnavailable("the queue is down"),
    RetryableError("DynamoDB throttled"),
]


def test_every_intake_refusal_answers_with_valid_block_kit():
    answered = set()
    for error in REFUSALS:
        for kind, answer in INTAKE_ANSWERS:
            if isinstance(error, kind):
                assert_valid_message(answer.command(error, HOSTILE))
                answered.add(kind)
                break
    assert answered == {kind for kind, _ in INTAKE_ANSWERS}, "a refusal kind has no sample in REFUSALS"


def test_an_invalid_payload_is_caught():
    section = {"type": "mrkdwn", "text": "hello"}
    with pytest.raises(AssertionError, match="slack_sdk reads"):
        assert_valid_block({"type": "section", "text": section, "colour": "red"})
    with pytest.raises(SlackObjectFormationError):
        assert_valid_block({"type": "section", "txt": section})
    with pytest.raises(SlackObjectFormationError, match="3000"):
        assert_valid_block({"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}})
    with pytest.raises(AssertionError, match="text fallback"):
        assert_valid_message({"text": " ", "blocks": [{"type": "divider"}]})
    with pytest.raises(SlackObjectFormationError, match="title"):
        assert_valid_view(
            {
                "type": "modal",
                "title": {"type": "plain_text", "text": "x" * 25},
                "blocks": [{"type": "divider"}],
            }
        )


EXPIRING = [
    _database(expires_on=NOW.date() + timedelta(days=days), requested_by=requester)
    for days, requester in ((3, "U0REQUESTER"), (1, "api-key:ci"), (0, "U0REQUESTER"))
] + [_database(database_name="b" * 50, owner=HOSTILE[:64], expires_on=NOW.date())]


@pytest.mark.parametrize("database", EXPIRING, ids=lambda d: f"{d.database_name[:8]}-{d.expires_on}")
def test_every_expiry_message_is_valid_block_kit(database: DatabaseRecord):
    policy = ExpiryPolicy()
    reminder = Notice(
        Happening.EXPIRES_SOON,
        database=database,
        offers=(Offer.EXTEND, Offer.DECOMMISSION_NOW),
        today=NOW.date(),
        expiry=policy,
    )
    assert_valid_message(render(reminder))
    assert_valid_message(render(Notice(Happening.EXTENDED, database=database, by="U0REQUESTER")))
    decommission = _record(RequestStatus.ACCEPTED, request_id="6bb2208b-b125-401e-b678-803282d03f11")
    assert_valid_message(render(Notice(Happening.EXPIRED, database=database, request=decommission)))
    assert_valid_message(dm_confirmation(_record(RequestStatus.ACCEPTED, expires_on=database.expires_on)))
