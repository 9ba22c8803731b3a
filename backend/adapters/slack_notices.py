"""Notices in Slack: each kind of ``Notice`` rendered to Block Kit, and delivered over the chat.

``RENDERERS`` holds one rendering per kind of notice and ``OFFERS`` one button per answer a
notice offers; their action ids are the contract with the Slack app's listeners (``bot``).
``SlackNotices`` posts a notice where its audience hears from us: the conversation already begun
(in its thread), else the person's DM with the app, else ``api_channel`` (requests made through
the HTTP API have no Slack user), else only the log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from aws_lambda_powertools import Logger

from backend.adapters.chat import ChatSender
from backend.adapters.slack_blocks import (
    COMMAND,
    STATUS_EMOJI,
    Block,
    Message,
    context,
    database_key,
    describe,
    escape,
    mention,
    message,
    plain,
    pull_request_link,
    reason,
    requester,
    section,
    status_line,
)
from backend.domain import DatabaseRecord, RequestRecord, RequestStatus, Step, policy_for
from backend.domain.actions import spec_of
from backend.domain.conversation import Conversation, ConversationKind
from backend.domain.expiry import ExpiryPolicy
from backend.domain.kinds import EngineFamily
from backend.domain.notices import Audience, Happening, Notice, Offer
from backend.domain.policy import capacity_text
from backend.domain.pricing import change_text

logger = Logger(child=True)

# The buttons' action ids (the Slack app's listeners answer them).
APPROVE_ACTION_ID = "approve_request"
DENY_ACTION_ID = "deny_request"
# The expiry reminder's buttons, Keep it and Decommission now; each value is ``<environment>/<name>``.
EXTEND_TTL_ACTION_ID = "extend_ttl"
DECOMMISSION_NOW_ACTION_ID = "decommission_now"


def _request(notice: Notice) -> RequestRecord:
    assert notice.request is not None, f"a {notice.happening} notice is about a request"
    return notice.request


def _database(notice: Notice) -> DatabaseRecord:
    assert notice.database is not None, f"a {notice.happening} notice is about a database"
    return notice.database


def _policy(notice: Notice) -> ExpiryPolicy:
    return notice.expiry or ExpiryPolicy()


# --- the answers offered -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Button:
    action_id: str
    style: str
    label: Callable[[Notice], str]
    # What the button carries back: the request's id, or the database's ``<environment>/<name>``.
    value: Callable[[Notice], str]


OFFERS: Mapping[Offer, _Button] = {
    Offer.APPROVE: _Button(
        APPROVE_ACTION_ID, "primary", lambda _: "Approve", lambda n: _request(n).request_id
    ),
    Offer.DENY: _Button(DENY_ACTION_ID, "danger", lambda _: "Deny", lambda n: _request(n).request_id),
    Offer.EXTEND: _Button(
        EXTEND_TTL_ACTION_ID,
        "primary",
        lambda n: f"Keep it {_policy(n).default_days} more days",
        lambda n: database_key(_database(n)),
    ),
    Offer.DECOMMISSION_NOW: _Button(
        DECOMMISSION_NOW_ACTION_ID,
        "danger",
        lambda _: "Decommission now",
        lambda n: database_key(_database(n)),
    ),
}


def _buttons(notice: Notice, block_id: str) -> list[Block]:
    if not notice.offers:
        return []
    elements = [
        {
            "type": "button",
            "action_id": button.action_id,
            "value": button.value(notice),
            "style": button.style,
            "text": plain(button.label(notice)),
        }
        for button in (OFFERS[offer] for offer in notice.offers)
    ]
    return [{"type": "actions", "block_id": block_id, "elements": elements}]


# --- a request's status --------------------------------------------------------------------------
def _pr_opened(notice: Notice) -> Message:
    record = _request(notice)
    sizing = record.sizing or policy_for(record.environment).new_sizing(record.database_engine)
    text = f"Pull request opened for {describe(record)}"
    if record.pr_url:
        text += f": {record.pr_url}"
    details = "\n".join(
        [
            f"*Database:* `{record.database_name}`",
            f"*Engine:* {record.database_engine.value}",
            f"*Environment:* {record.environment.value}",
            f"*Size:* {sizing.summary}",
        ]
    )
    return message(
        text,
        [
            section(f":mag: The {pull_request_link(record)} for {describe(record)} is open."),
            section(details),
            context(f"Request `{record.request_id}` · once it is reviewed and merged, CircleCI applies it."),
        ],
    )


def _ended(notice: Notice) -> Message:
    record = _request(notice)
    rejected = record.status is RequestStatus.REJECTED
    verb = "was rejected" if rejected else "failed"
    if record.undo is not None and not rejected:
        next_step = (
            "Deletion protection stays off until the pull request turning it on again is merged; "
            "it follows in this thread."
        )
    elif rejected:
        next_step = (
            f"Nothing was changed. Fix the request and send it again with `{COMMAND}`, "
            "or pick another name if this database already exists."
        )
    else:
        next_step = (
            f"Nothing was merged. Try again with `{COMMAND}`; if it keeps failing, ask the platform "
            f"team and quote request `{record.request_id}`."
        )
    return message(
        # The fallback text notifies too: what people typed stays text there as well.
        f"Your request for {describe(record)} {verb}: {reason(record)}",
        [
            section(f"{STATUS_EMOJI[record.status]} Your request for {describe(record)} {verb}."),
            # The approver as a mention; what they typed stays text.
            section(f"*Reason:* {reason(record)}"),
            context(f"{next_step} · request `{record.request_id}`"),
        ],
    )


def _merged(notice: Notice) -> Message:
    record = _request(notice)
    return message(
        f"The pull request for {describe(record)} was merged; CircleCI is applying it.",
        [
            section(
                f"{STATUS_EMOJI[RequestStatus.MERGED]} The {pull_request_link(record)} for "
                f"{describe(record)} was merged; CircleCI is applying it."
            ),
            context(f"Request `{record.request_id}` · I'll tell you here when the database is ready."),
        ],
    )


def _endpoints(record: RequestRecord) -> list[tuple[str, str]]:
    """(what, terraform output) of each endpoint: an Aurora cluster has a writer and a reader."""
    module = record.request.module_name
    if record.database_engine.family is EngineFamily.AURORA:
        return [("Writer endpoint", f"{module}_endpoint"), ("Reader endpoint", f"{module}_reader_endpoint")]
    return [("Endpoint", f"{module}_endpoint")]


def _ready(notice: Notice) -> Message:
    """Where to find the new database; names of outputs and secrets only, never a secret value.

    The notice's ``outputs`` are the environment's ``terraform output`` values when the caller has
    them (the local CI): each endpoint is then given itself, beside the output that holds it.
    """
    record = _request(notice)
    request = record.request
    env_dir = f"terraform/envs/{record.environment.value}"
    module = request.module_name
    kind = "Aurora cluster" if record.database_engine.family is EngineFamily.AURORA else "RDS instance"
    endpoints = _endpoints(record)
    known = notice.outputs or {}

    def value(output: str) -> str:
        return (
            f"`{known[output]}` (`terraform output {output}`)"
            if output in known
            else f"`terraform output {output}`"
        )

    text = (
        f"Your database is ready: {describe(record)}, {kind} `{request.rds_identifier}`. "
        + "; ".join(f"{what}: {value(output)}" for what, output in endpoints)
        + f" in {env_dir}; the master password lives "
        f"in Secrets Manager (`terraform output {module}_master_user_secret_arn`)."
    )
    where = "\n".join(
        [
            f"*{kind}:* `{request.rds_identifier}`",
            *(
                f"*{what}:* {value(output)} in `{env_dir}` "
                f"(or the RDS console, {kind.lower()} `{request.rds_identifier}`)"
                for what, output in endpoints
            ),
            "*Master password:* in AWS Secrets Manager, managed by RDS; the secret's ARN is "
            f"`terraform output {module}_master_user_secret_arn` (the module output "
            "`master_user_secret_arn`). Prefer IAM database authentication for applications.",
        ]
    )
    return message(
        text,
        [
            section(f"{STATUS_EMOJI[RequestStatus.APPLIED]} Your database is ready: {describe(record)}."),
            section(where),
            context(f"Request `{record.request_id}` · applied by CircleCI"),
        ],
    )


def _sizes(record: RequestRecord) -> str:
    before, after = record.previous_sizing, record.sizing
    if before is None or after is None:  # pragma: no cover - a resize records both
        return ""
    changes = []
    if before.instance_class != after.instance_class:
        changes.append(f"`{before.instance_class}` -> `{after.instance_class}`")
    if before.allocated_storage != after.allocated_storage:
        changes.append(f"{before.allocated_storage} GiB -> {after.allocated_storage} GiB")
    if before.max_capacity is not None and after.max_capacity is not None:
        old, new = capacity_text(before.max_capacity), capacity_text(after.max_capacity)
        if old != new:
            changes.append(f"up to {old} ACU -> up to {new} ACU")
    return ", ".join(changes)


# How storage behaves, per kind of database (a resize's reminder).
_GROWTH: Mapping[EngineFamily, str] = {
    EngineFamily.INSTANCE: "storage can only grow",
    EngineFamily.AURORA: "Aurora storage grows by itself",
}


def _when_resized(record: RequestRecord) -> str:
    before, after = record.previous_sizing, record.sizing
    capacity_only = (
        before is not None
        and after is not None
        and before.instance_class == after.instance_class
        and before.max_capacity != after.max_capacity
    )
    if capacity_only:
        return "Aurora applies the new capacity range in place, without a restart."
    return "RDS applies it in the next maintenance window."


def _resize_opened(notice: Notice) -> Message:
    record = _request(notice)
    text = f"Pull request opened to resize {describe(record)}: {_sizes(record)}"
    return message(
        text + (f": {record.pr_url}" if record.pr_url else ""),
        [
            section(f":mag: The {pull_request_link(record)} resizing {describe(record)} is open."),
            section(f"*Change:* {_sizes(record)}"),
            context(
                f"Request `{record.request_id}` · {_GROWTH[record.database_engine.family]}; once merged, "
                "CircleCI applies it."
            ),
        ],
    )


def _resized(notice: Notice) -> Message:
    record = _request(notice)
    return message(
        f"{describe(record)} is resized: {_sizes(record)}.",
        [
            section(
                f"{STATUS_EMOJI[RequestStatus.APPLIED]} {describe(record)} is resized: {_sizes(record)}."
            ),
            context(f"Request `{record.request_id}` · {_when_resized(record)}"),
        ],
    )


def _snapshot(record: RequestRecord) -> str:
    return f"`{record.request.rds_identifier}-final`"


def _decommission_opened(notice: Notice) -> Message:
    record = _request(notice)
    first = record.step is Step.UNPROTECT
    what = "turning deletion protection off (step 1 of 2)" if first else "deleting it"
    return message(
        f"Pull request opened to decommission {describe(record)}, {what}"
        + (f": {record.pr_url}" if record.pr_url else ""),
        [
            section(
                f":mag: The {pull_request_link(record)} decommissioning {describe(record)} is open: {what}."
            ),
            context(
                f"Request `{record.request_id}` · RDS keeps the final snapshot {_snapshot(record)} "
                "when the database is deleted."
            ),
        ],
    )


def _unprotected(notice: Notice) -> Message:
    record = _request(notice)
    return message(
        f"Deletion protection of {describe(record)} is off; opening the pull request that deletes it.",
        [
            section(
                f":unlock: Deletion protection of {describe(record)} is off. I'm opening the second pull "
                "request, which deletes the database."
            ),
            context(f"Request `{record.request_id}` · step 2 of 2"),
        ],
    )


def _decommissioned(notice: Notice) -> Message:
    record = _request(notice)
    return message(
        f"{describe(record)} is decommissioned; the final snapshot {_snapshot(record)} is kept.",
        [
            section(
                f"{STATUS_EMOJI[RequestStatus.APPLIED]} {describe(record)} is decommissioned. RDS kept the "
                f"final snapshot {_snapshot(record)}; the name is free again."
            ),
            context(f"Request `{record.request_id}` · applied by CircleCI"),
        ],
    )


def _reprotect_opened(notice: Notice) -> Message:
    record = _request(notice)
    return message(
        f"Pull request opened to turn deletion protection of {describe(record)} on again"
        + (f": {record.pr_url}" if record.pr_url else ""),
        [
            section(
                f":lock: The {pull_request_link(record)} turning deletion protection of {describe(record)} "
                "on again is open: its decommission did not happen."
            ),
            context(
                f"Request `{record.request_id}` · until it is merged and applied, deletion protection is off."
            ),
        ],
    )


def _reprotected(notice: Notice) -> Message:
    record = _request(notice)
    return message(
        f"Deletion protection of {describe(record)} is on again.",
        [
            section(
                f"{STATUS_EMOJI[RequestStatus.APPLIED]} Deletion protection of {describe(record)} is on."
            ),
            context(f"Request `{record.request_id}` · applied by CircleCI"),
        ],
    )


def _asked_as(record: RequestRecord) -> str:
    """``the resize of `orders` (dev)``: the request, in its action's words."""
    return f"the {spec_of(record.action).asked_as} {describe(record)}"


def _change_opened(notice: Notice) -> Message:
    record = _request(notice)
    return message(
        f"Pull request opened for {_asked_as(record)}" + (f": {record.pr_url}" if record.pr_url else ""),
        [
            section(f":mag: The {pull_request_link(record)} for {_asked_as(record)} is open."),
            context(f"Request `{record.request_id}` · once it is reviewed and merged, CircleCI applies it."),
        ],
    )


def _change_applied(notice: Notice) -> Message:
    record = _request(notice)
    done = f"{_asked_as(record)[0].upper()}{_asked_as(record)[1:]} is applied."
    return message(
        done,
        [
            section(f"{STATUS_EMOJI[RequestStatus.APPLIED]} {done}"),
            context(f"Request `{record.request_id}` · applied by CircleCI"),
        ],
    )


def _status_reached(notice: Notice) -> Message:
    record = _request(notice)
    said = f"{_asked_as(record)[0].upper()}{_asked_as(record)[1:]} is {record.status.value}"
    return message(
        f"{said}: {record.status.spec.meaning}.",
        [section(f"{STATUS_EMOJI[record.status]} {said}."), context(status_line(record))],
    )


def _approved(notice: Notice) -> Message:
    record = _request(notice)
    who = mention(record.approved_by) if record.approved_by else "an approver"
    return message(
        f"Your {record.action.value} of {describe(record)} was approved by {who}; "
        "the pull request is on its way.",
        [
            section(
                f":white_check_mark: {who} approved your {record.action.value} of {describe(record)}. "
                "I'm opening the pull request."
            ),
            context(f"Request `{record.request_id}`"),
        ],
    )


# --- prod approvals ------------------------------------------------------------------------------
def _asked(record: RequestRecord) -> str:
    sizing = record.sizing or policy_for(record.environment).new_sizing(record.database_engine)
    size = sizing.summary
    before = record.previous_sizing
    if before is not None:
        size = f"{before.summary} -> {size}"
    figure = record.estimate
    cost = "" if figure is None else f"\n*Estimated cost:* {change_text(record.previous_estimate, figure)}"
    return (
        f"*{record.action.value.capitalize()}* {describe(record)}\n"
        f"*Size:* {size}{cost}\n*Requested by:* {requester(record)}"
    )


def _approval_asked(notice: Notice) -> Message:
    """The message approvers decide on: what is asked, by whom, and the two buttons."""
    record = _request(notice)
    return message(
        f"Approval needed: {record.action.value} of {record.database_name} ({record.environment.value})",
        [
            section(f":raised_hand: A prod request waits for an approver.\n{_asked(record)}"),
            *_buttons(notice, "approval"),
            context(f"Request `{record.request_id}` · the requester cannot approve their own request"),
        ],
    )


def _approval_decided(notice: Notice) -> Message:
    """The approval message once decided: what was asked, the outcome and who, no buttons."""
    record = _request(notice)
    if record.approved_by:
        outcome = f":white_check_mark: Approved by {mention(record.approved_by)}"
    elif record.denied_by:
        outcome = f":no_entry: Denied by {mention(record.denied_by)}: {escape(record.error or '')}"
    else:
        outcome = f":hourglass: Rejected: {escape(record.error or 'no decision')}"
    return message(
        f"{outcome} · {record.action.value} of {record.database_name} ({record.environment.value})",
        [section(_asked(record)), section(outcome), context(f"Request `{record.request_id}`")],
    )


# --- dev databases expire ------------------------------------------------------------------------
def _on(day: date) -> str:
    return f"{day:%a %d %b %Y}"


def _expires_soon(notice: Notice) -> Message:
    """The DM before a dev database expires: when, what happens then, and the ways out offered."""
    database, policy = _database(notice), _policy(notice)
    assert database.expires_on is not None
    assert notice.today is not None
    days = (database.expires_on - notice.today).days
    when = "tomorrow" if days == 1 else f"in {days} days"
    return message(
        f"Your dev database {database.database_name} expires {when}, on {database.expires_on.isoformat()}.",
        [
            section(
                f":hourglass_flowing_sand: Your dev database {describe(database)} expires {when}, on "
                f"*{_on(database.expires_on)}*. Then I'll open a pull request to decommission it "
                "(RDS keeps a final snapshot)."
            ),
            *_buttons(notice, "expiry"),
            context(
                f"Dev databases live {policy.default_days} days unless extended (at most {policy.max_days})."
            ),
        ],
    )


def _extended(notice: Notice) -> Message:
    """The reminder once someone extended the database: no buttons, the new date."""
    database = _database(notice)
    assert database.expires_on is not None
    who = mention(notice.by) if notice.by else "Someone"
    return message(
        f"{database.database_name} now expires on {database.expires_on.isoformat()}.",
        [
            section(
                f":white_check_mark: {who} extended {describe(database)}: it now expires on "
                f"*{_on(database.expires_on)}*."
            ),
        ],
    )


def _expired(notice: Notice) -> Message:
    """The DM when a dev database's expiry asked for its decommission; the PR follows in its thread."""
    database, record = _database(notice), _request(notice)
    assert database.expires_on is not None
    return message(
        f"Your dev database {database.database_name} expired on {database.expires_on.isoformat()}; "
        "I asked for its decommission.",
        [
            section(
                f":wastebasket: Your dev database {describe(database)} expired on "
                f"*{_on(database.expires_on)}*, so I asked for its decommission. The pull request "
                "follows in this thread; RDS keeps a final snapshot."
            ),
            context(
                f"Request `{record.request_id}` · to keep the database, extend it before that pull "
                "request is merged (`rdsctl extend`, or `POST /databases/dev/<name>/extend`): it is "
                "closed then."
            ),
        ],
    )


# --- drift ---------------------------------------------------------------------------------------
def _drifted(notice: Notice) -> Message:
    """What the drift channel reads: each drifted database and its attributes."""
    environment, drifts = notice.environment or "?", notice.drifts
    lines = [
        f"• `{escape(drift.database_name or f'{environment} (shared resources)')}`: "
        + ", ".join(f"`{escape(attribute)}`" for attribute in drift.attributes)
        for drift in drifts
    ]
    names = ", ".join(drift.database_name or "shared resources" for drift in drifts)
    return message(
        f"Terraform drift in {environment}: {names}",
        [
            section(f":warning: *Terraform drift in {escape(environment)}*: changed outside Terraform"),
            section("\n".join(lines)),
            context(
                f"The next apply of {environment} changes these back to what main says; "
                "change main instead if the new values should stay."
            ),
        ],
    )


# How each kind of notice reads in Slack.
RENDERERS: Mapping[Happening, Callable[[Notice], Message]] = {
    Happening.PR_OPENED: _pr_opened,
    Happening.RESIZE_OPENED: _resize_opened,
    Happening.DECOMMISSION_OPENED: _decommission_opened,
    Happening.REPROTECT_OPENED: _reprotect_opened,
    Happening.APPROVED: _approved,
    Happening.UNPROTECTED: _unprotected,
    Happening.MERGED: _merged,
    Happening.READY: _ready,
    Happening.RESIZED: _resized,
    Happening.DECOMMISSIONED: _decommissioned,
    Happening.REPROTECTED: _reprotected,
    Happening.CHANGE_OPENED: _change_opened,
    Happening.CHANGE_APPLIED: _change_applied,
    Happening.STATUS_REACHED: _status_reached,
    Happening.ENDED: _ended,
    Happening.APPROVAL_ASKED: _approval_asked,
    Happening.APPROVAL_DECIDED: _approval_decided,
    Happening.EXPIRES_SOON: _expires_soon,
    Happening.EXTENDED: _extended,
    Happening.EXPIRED: _expired,
    Happening.DRIFTED: _drifted,
}


def render(notice: Notice) -> Message:
    return RENDERERS[notice.happening](notice)


# --- delivering ----------------------------------------------------------------------------------
class SlackNotices:
    """``Notices`` over Slack (``backend.services.notifications``)."""

    def __init__(self, chat: ChatSender, *, api_channel: str | None = None) -> None:
        self._chat = chat
        self._api_channel = api_channel

    def send(self, notice: Notice) -> Conversation | None:
        return self.post(notice.to, render(notice))

    def replace(self, at: Conversation, notice: Notice) -> None:
        if at.thread_ts:
            self._chat.update(at.channel, at.thread_ts, render(notice))

    def post(self, to: Audience, built: Message) -> Conversation | None:
        """Post ``built`` where ``to`` hears from us; the conversation it is in (None: not posted)."""
        begun = to.conversation
        if begun is not None:
            # In the thread of the message the conversation began with (a confirmation, the
            # expiry message), or at the top of a channel.
            posted = self._chat.post(begun.channel, built, thread_ts=begun.thread_ts)
            if posted is None or begun.thread_ts:
                return begun if posted is not None else None
            # A new message begins a conversation of its own (Slack answers with the channel's id).
            return begun.model_copy(update={"channel": posted.channel, "thread_ts": posted.ts})
        channel, kind = to.person, ConversationKind.DIRECT
        if channel is None:
            channel, kind = self._api_channel, ConversationKind.CHANNEL
        if channel is None:
            logger.info("notice (nobody to tell in Slack)", extra={"text": built["text"]})
            return None
        posted = self._chat.post(channel, built)
        if posted is None:
            return None
        return Conversation(channel=posted.channel, thread_ts=posted.ts, user_id=to.person, kind=kind)
