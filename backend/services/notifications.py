"""Telling a requester what happened to their request: one table from status to message.

Whoever records a status (the provisioner, the webhook, CI, the dead-letter function) calls
``notify_once``, so redeliveries and races between them still send one message per status. The
message goes to the requester's DM (in the confirmation's thread when there is one) for Slack
requests; API requests have no Slack user, so they are announced in ``api_channel`` when one is
configured (the local stack's ``#rds-provisioner``) and only logged otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from aws_lambda_powertools import Logger

from backend.adapters.chat import ChatSender
from backend.adapters.slack_blocks import (
    COMMAND,
    STATUS_EMOJI,
    Message,
    context,
    describe,
    escape,
    message,
    pull_request_link,
    section,
)
from backend.domain import RequestRecord, RequestStatus, Source, Step, policy_for
from backend.domain.kinds import EngineFamily
from backend.domain.policy import capacity_text

logger = Logger(child=True)


# --- the messages --------------------------------------------------------------------------------
def _pr_opened(record: RequestRecord) -> Message:
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


def _ended(record: RequestRecord) -> Message:
    rejected = record.status is RequestStatus.REJECTED
    verb = "was rejected" if rejected else "failed"
    reason = record.error or "no reason was recorded"
    shown = escape(reason)
    if record.denied_by:
        # The approver as a mention; what they typed stays text.
        reason, shown = f"denied by {record.denied_by}: {reason}", f"denied by <@{record.denied_by}>: {shown}"
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
        f"Your request for {describe(record)} {verb}: {reason}",
        [
            section(f"{STATUS_EMOJI[record.status]} Your request for {describe(record)} {verb}."),
            section(f"*Reason:* {shown}"),
            context(f"{next_step} · request `{record.request_id}`"),
        ],
    )


def _merged(record: RequestRecord) -> Message:
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


def _applied(record: RequestRecord, outputs: Mapping[str, str] | None = None) -> Message:
    """Where to find the new database; names of outputs and secrets only, never a secret value.

    ``outputs`` are the environment's ``terraform output`` values when the caller has them (the
    local CI): each endpoint is then given itself, beside the output that holds it.
    """
    request = record.request
    env_dir = f"terraform/envs/{record.environment.value}"
    module = request.module_name
    kind = "Aurora cluster" if record.database_engine.family is EngineFamily.AURORA else "RDS instance"
    endpoints = _endpoints(record)
    known = outputs or {}

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


def _resize_opened(record: RequestRecord) -> Message:
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


def _resized(record: RequestRecord) -> Message:
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


def _decommission_opened(record: RequestRecord) -> Message:
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


def _unprotected(record: RequestRecord) -> Message:
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


def _decommissioned(record: RequestRecord) -> Message:
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


def _reprotect_opened(record: RequestRecord) -> Message:
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


def _reprotected(record: RequestRecord) -> Message:
    return message(
        f"Deletion protection of {describe(record)} is on again.",
        [
            section(
                f"{STATUS_EMOJI[RequestStatus.APPLIED]} Deletion protection of {describe(record)} is on."
            ),
            context(f"Request `{record.request_id}` · applied by CircleCI"),
        ],
    )


def _approved(record: RequestRecord) -> Message:
    who = f"<@{record.approved_by}>" if record.approved_by else "an approver"
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


Builder = Callable[[RequestRecord], Message]
# What the requester hears when their request reaches a status, at a step (None: at any step).
# ``accepted`` is said only when an approver approved or a second step began: the frontend that
# took the request has answered its acceptance.
MESSAGES: Mapping[tuple[RequestStatus, Step | None], Builder] = {
    (RequestStatus.PR_OPENED, Step.CREATE): _pr_opened,
    (RequestStatus.PR_OPENED, Step.RESIZE): _resize_opened,
    (RequestStatus.PR_OPENED, Step.UNPROTECT): _decommission_opened,
    (RequestStatus.PR_OPENED, Step.DECOMMISSION): _decommission_opened,
    (RequestStatus.PR_OPENED, Step.REPROTECT): _reprotect_opened,
    # Approved (a prod request's first step), or a prod decommission's second step begun.
    (RequestStatus.ACCEPTED, Step.CREATE): _approved,
    (RequestStatus.ACCEPTED, Step.RESIZE): _approved,
    (RequestStatus.ACCEPTED, Step.UNPROTECT): _approved,
    (RequestStatus.ACCEPTED, Step.DECOMMISSION): _unprotected,
    (RequestStatus.MERGED, None): _merged,
    (RequestStatus.APPLIED, Step.CREATE): _applied,
    (RequestStatus.APPLIED, Step.RESIZE): _resized,
    (RequestStatus.APPLIED, Step.DECOMMISSION): _decommissioned,
    (RequestStatus.APPLIED, Step.REPROTECT): _reprotected,
    (RequestStatus.FAILED, None): _ended,
    (RequestStatus.REJECTED, None): _ended,
}


def message_for(record: RequestRecord, outputs: Mapping[str, str] | None = None) -> Message | None:
    """What the requester hears about ``record`` now; None when there is nothing to say.

    ``outputs``: its environment's ``terraform output`` values, where the caller knows them.
    """
    build = MESSAGES.get((record.status, record.step)) or MESSAGES.get((record.status, None))
    if build is _applied and outputs:
        return _applied(record, outputs)
    return None if build is None else build(record)


# --- sending -------------------------------------------------------------------------------------
class Notifier(Protocol):
    def notify(self, record: RequestRecord) -> None:
        """Tell ``record``'s requester about its current status (nothing for ``accepted``)."""
        ...


def requester_channel(
    source: Source | None, requested_by: str, api_channel: str | None, *, conversation: str | None = None
) -> str | None:
    """Where a requester hears from us: the conversation already begun with them, else a Slack
    user's DM, else (an API request) ``api_channel``; None when there is nobody to tell in Slack."""
    if conversation:
        return conversation
    return requested_by if source is Source.SLACK else api_channel


class ChatNotifier:
    """``Notifier`` over a chat: the requester's DM thread, or ``api_channel`` for API requests."""

    def __init__(
        self,
        chat: ChatSender,
        *,
        api_channel: str | None = None,
        outputs: Callable[[str], Mapping[str, str]] | None = None,
    ) -> None:
        self._chat = chat
        self._api_channel = api_channel
        # An environment's terraform outputs, where known (the local CI applies Terraform itself).
        self._outputs = outputs

    def notify(self, record: RequestRecord) -> None:
        outputs = self._outputs(record.environment.value) if self._outputs else None
        built = message_for(record, outputs)
        if built is None:
            return
        self.tell(record, built)

    def tell(self, record: RequestRecord, built: Message) -> None:
        """Post ``built`` where ``record``'s requester hears from us (or log it: nobody to tell)."""
        channel = requester_channel(
            record.source, record.requested_by, self._api_channel, conversation=record.slack_channel
        )
        if channel:
            # The thread of the confirmation (or of the expiry message, for the sweeper's requests).
            self._chat.post(
                channel, built, thread_ts=record.slack_thread_ts if record.slack_channel else None
            )
        else:
            logger.info(
                "request status (an API request: nobody to tell in Slack)",
                extra={"request_id": record.request_id, "status": record.status, "text": built["text"]},
            )


class NotificationClaims(Protocol):
    """The part of the request store that makes a notification happen once (``RequestStore``)."""

    def claim_notification(self, request_id: str, status: RequestStatus) -> bool: ...

    def release_notification(self, request_id: str, status: RequestStatus) -> None: ...


def notify_once(claims: NotificationClaims, notifier: Notifier, record: RequestRecord) -> bool:
    """Tell the requester about ``record``'s status unless someone already did; True if this call did.

    A notifier failure gives the claim back (so a retry notifies) and propagates.
    """
    if message_for(record) is None or not claims.claim_notification(record.request_id, record.status):
        return False
    try:
        notifier.notify(record)
    except Exception:
        claims.release_notification(record.request_id, record.status)
        raise
    return True
