"""Notices and errors name people by id; only Slack turns an id into a mention."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.adapters.environments import load_environments
from backend.adapters.slack_blocks import mentioning
from backend.adapters.slack_notices import render
from backend.domain import (
    Action,
    DatabaseRecord,
    Engine,
    Environment,
    NotAllowed,
    RequestRecord,
    RequestStatus,
    Source,
    Step,
    configure_environments,
    policy_for,
)
from backend.domain.access import check_may_change
from backend.domain.notices import STATUS_NOTICES, Happening, Notice, Offer, status_notice
from backend.handlers.http import answer_for
from backend.services.approvals import decided
from backend.settings import DEFAULT_ENVIRONMENTS_FILE
from bot.blocks import home_view, status_message
from tests.support.block_kit import message_for

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _record(**changes: object) -> RequestRecord:
    data: dict[str, object] = {
        "request_id": "req-7",
        "status": RequestStatus.AWAITING_APPROVAL,
        "database_name": "ledger",
        "database_engine": Engine.POSTGRES,
        "environment": Environment("prod"),
        "requested_by": "U0REQUESTER",
        "source": Source.SLACK,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return RequestRecord.model_validate(data | changes)


def test_a_late_decision_names_the_approver_by_id_and_slack_mentions_them():
    error = decided(_record(status=RequestStatus.ACCEPTED, approved_by="U0ALICE"))

    _answer, body = answer_for(error)

    assert body["message"] == "This request was already approved by U0ALICE."
    assert "<@" not in json.dumps(body)
    assert mentioning(error) == "This request was already approved by <@U0ALICE>."


@pytest.mark.parametrize(
    ("requested_by", "shown"),
    [("U0ASKER", "Only <@U0ASKER>, who asked"), ("api-key:ci", "Only api-key:ci, who asked")],
)
def test_a_refused_change_mentions_its_requester_only_when_they_are_a_slack_user(requested_by, shown):
    database = DatabaseRecord(
        database_name="orders",
        database_engine=Engine.POSTGRES,
        environment=Environment("dev"),
        request_id="req-1",
        requested_by=requested_by,
        created_at=NOW,
        instance_class="db.t3.micro",
    )
    with pytest.raises(NotAllowed) as refused:
        check_may_change(database, "U0OTHER", Source.SLACK, platform_admins=())

    assert refused.value.message.startswith(f"Only {requested_by}, who asked")
    assert mentioning(refused.value).startswith(shown)


def test_a_denial_reads_alike_in_the_dm_the_status_and_the_home():
    # The approver is a mention; what they typed (a mention among it) stays text.
    denied = _record(status=RequestStatus.REJECTED, denied_by="U0APPROVER", error="ask <@U0BOSS> & retry")
    expected = "denied by <@U0APPROVER>: ask &lt;@U0BOSS&gt; &amp; retry"

    told = message_for(denied)
    assert told is not None
    assert told["text"].endswith(f"was rejected: {expected}")  # the notification pings nobody else
    for shown in (told["blocks"], status_message(denied)["blocks"], home_view([denied])["blocks"]):
        assert expected in json.dumps(shown)
        assert "<@U0BOSS>" not in json.dumps(shown)


def test_a_status_notice_says_what_happened_to_whom_with_no_slack_in_it():
    conversation = {"channel": "D0DM", "thread_ts": "1764000000.000100"}
    notice = status_notice(_record(status=RequestStatus.MERGED, conversation=conversation))

    assert notice is not None
    assert notice.happening is Happening.MERGED
    assert notice.to.person == "U0REQUESTER"
    assert notice.to.conversation is not None
    assert notice.to.conversation.channel == "D0DM"
    assert notice.offers == ()
    api = status_notice(_record(status=RequestStatus.MERGED, source=Source.API, requested_by="api-key:ci"))
    assert api is not None
    assert api.to.person is None  # nobody to reach in a chat: the API channel, if any, hears it


def test_offers_become_the_buttons_the_slack_app_listens_to():
    record = _record()
    asked = render(Notice(Happening.APPROVAL_ASKED, request=record, offers=(Offer.APPROVE, Offer.DENY)))

    (actions,) = [block for block in asked["blocks"] if block["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        ("approve_request", "req-7"),
        ("deny_request", "req-7"),
    ]
    decided_message = render(
        Notice(Happening.APPROVAL_DECIDED, request=record.model_copy(update={"approved_by": "U0A"}))
    )
    assert not [block for block in decided_message["blocks"] if block["type"] == "actions"]


def test_a_step_without_words_of_its_own_is_told_in_its_actions_words():
    # Every step has its own words today; a new one falls back to these (STATUS_NOTICES' rows at
    # any step), so what they say is checked on a resize standing in for it.
    record = _record(
        status=RequestStatus.PR_OPENED,
        action=Action.RESIZE,
        step=Step.RESIZE,
        pr_url="https://github.example/acme/infra/pull/7",
    )
    opened = render(Notice(STATUS_NOTICES[(RequestStatus.PR_OPENED, None)], request=record))
    assert opened["text"] == (
        "Pull request opened for the resize of `ledger` (postgres, prod): https://github.example/acme/infra/pull/7"
    )
    applied = record.model_copy(update={"status": RequestStatus.APPLIED})
    done = render(Notice(STATUS_NOTICES[(RequestStatus.APPLIED, None)], request=applied))
    assert done["text"] == "The resize of `ledger` (postgres, prod) is applied."


def test_a_status_without_words_of_its_own_is_told_in_its_rows():
    record = _record(status=RequestStatus.MERGED, pr_url="https://github.example/acme/infra/pull/7")
    told = render(Notice(Happening.STATUS_REACHED, request=record))
    assert told["text"] == (
        "The request for `ledger` (postgres, prod) is merged: merged; CircleCI is applying the Terraform."
    )
    assert ":twisted_rightwards_arrows:" in json.dumps(told["blocks"])


def test_an_approval_is_told_at_the_first_step_whichever_step_that_is(tmp_path: Path) -> None:
    """In prod a decommission's first step turns deletion protection off; in an environment with
    approvals and no deletion protection its first step deletes, and there too the requester hears
    the approval, not "deletion protection is off"."""
    shipped = DEFAULT_ENVIRONMENTS_FILE.read_text()
    prod = shipped[shipped.index("[environments.prod]") :]
    qa = prod.replace("[environments.prod", "[environments.qa").replace(
        "deletion_protection = true", "deletion_protection = false"
    )
    assert qa.count("deletion_protection = false") == 1
    path = tmp_path / "environments.toml"
    path.write_text(shipped + qa)
    configure_environments(load_environments(path))

    def told(environment: str, step: Step) -> Happening | None:
        record = _record(
            status=RequestStatus.ACCEPTED,
            action=Action.DECOMMISSION,
            step=step,
            environment=Environment(environment),
            approved_by="U0APPROVER",
        )
        notice = status_notice(record)
        return notice.happening if notice else None

    assert policy_for(Environment("qa")).approvals.required
    assert told("qa", Step.DECOMMISSION) is Happening.APPROVED
    assert told("prod", Step.UNPROTECT) is Happening.APPROVED
    assert told("prod", Step.DECOMMISSION) is Happening.UNPROTECTED
