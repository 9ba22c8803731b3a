"""Answers to the slash command and the DM confirmation (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from backend.adapters.slack_blocks import (
    COMMAND,
    Message,
    context,
    describe,
    escape,
    escape_keeping_mentions,
    message,
    reason,
    requester,
    section,
    status_line,
)
from backend.domain import (
    EnvironmentPolicy,
    FieldError,
    RequestRecord,
    RequestStatus,
    environment_policies,
    policy_for,
)
from backend.domain.actions import spec_of
from backend.domain.pricing import change_text
from bot.blocks.ids import ENGINE_CHOICES, FIELD_LABELS, environment_choices, usage, with_labels


def submitted(record: RequestRecord) -> Message:
    """The ephemeral answer to an accepted request."""
    next_step = (
        "It waits for a prod approver; I'll tell you in a direct message."
        if record.status is RequestStatus.AWAITING_APPROVAL
        else "I'll send you the pull request link in a direct message."
    )
    text = f"Request `{record.request_id}` accepted: {describe(record)}. {next_step}"
    return message(
        text,
        [
            section(f":white_check_mark: Request accepted for {describe(record)}."),
            context(
                f"Request id `{record.request_id}` · {status_line(record)} · "
                f"check with `{COMMAND} status {record.request_id}`"
            ),
        ],
    )


def dm_confirmation(record: RequestRecord) -> Message:
    """The message in the requester's DM whose thread the later messages go into."""
    sizing = record.sizing or policy_for(record.environment).new_sizing(record.database_engine)
    asked = spec_of(record.action).asked_as
    text = f"Your {asked} {describe(record)} is queued (request `{record.request_id}`)."
    details = [
        f"*Database:* `{record.database_name}`",
        f"*Engine:* {record.database_engine.value}",
        f"*Environment:* {record.environment.value} ({sizing.summary})",
    ]
    before = record.previous_sizing
    if before is not None:
        details.append(f"*Resize:* {before.summary} -> {sizing.summary}")
    figure = record.estimate
    if figure is not None:
        details.append(f"*Estimated cost:* {change_text(record.previous_estimate, figure)}")
    if record.expires_on:
        details.append(
            f"*Expires:* {record.expires_on:%a %d %b %Y} (a dev database; I'll remind you "
            "before, and you can keep it longer)"
        )
    if record.owner:
        details.append(f"*Owner:* {escape(record.owner)}")
    if record.purpose:
        details.append(f"*Purpose:* {escape(record.purpose)}")
    return message(
        text,
        [
            section(
                f":inbox_tray: Your {asked} {describe(record)} is queued. "
                + (
                    "A prod approver has to approve it first; "
                    if record.status is RequestStatus.AWAITING_APPROVAL
                    else ""
                )
                + "I'll reply in this thread when the pull request is open."
            ),
            section("\n".join(details)),
            context(f"Request id `{record.request_id}`"),
        ],
    )


def invalid_command(errors: Sequence[FieldError], *, text: str = "") -> Message:
    """The exact field errors, each field named by its form label, then the usage line."""
    lines = [_error_line(error) for error in errors]
    summary = "That request is not valid:\n" + "\n".join(lines)
    if text:
        summary = f"`{COMMAND} {escape(text)}` is not valid:\n" + "\n".join(lines)
    return message(
        summary + "\n" + usage(),
        [section(":warning: " + summary), context(usage())],
    )


def _error_line(error: FieldError) -> str:
    """``• *Engine* is required``, ``• *Database name*: ...``, or the bare message of no field."""
    text = escape(with_labels(error.field, error.message))
    label = FIELD_LABELS.get(error.field)
    if label is None:
        return f"• {text}"
    if text.startswith(label + " "):
        return f"• *{label}*{text[len(label) :]}"
    return f"• *{label}*: {text}"


def unknown_command(word: str, meant: str) -> Message:
    """``/provision-rds lst``: the closest command, rather than a request for a database ``lst``."""
    problem = f"Unknown command `{escape(word)}`. Did you mean `{meant}`?"
    return message(f"{problem}\n{usage()}", [section(f":grey_question: {problem}"), context(usage())])


def usage_error(problem: str) -> Message:
    return message(f"{problem}\n{usage()}", [section(f":warning: {escape(problem)}"), context(usage())])


def not_allowed(reason: str) -> Message:
    return message(
        f"Not submitted: {reason}",
        [section(f":no_entry: *Not submitted.* {escape_keeping_mentions(reason)}")],
    )


def already_requested(reason: str, existing_request_id: str | None) -> Message:
    hint = f" See `{COMMAND} status {existing_request_id}`." if existing_request_id else ""
    return message(
        f"Not submitted: {reason}{hint}",
        [section(f":information_source: *Not submitted.* {escape_keeping_mentions(reason)}{hint}")],
    )


def queue_unavailable() -> Message:
    reason = "The request queue is unavailable right now; nothing was recorded. Please try again in a minute."
    return message(reason, [section(f":warning: {reason}")])


def try_again_later() -> Message:
    reason = (
        "Something on our side is briefly unavailable, so the request was not accepted. "
        "Please try again in a minute."
    )
    return message(reason, [section(f":warning: {reason}")])


def modal_open_failed() -> Message:
    reason = (
        "I could not open the form. Try again, or pass the fields directly: "
        f"`{COMMAND} <database_name> <{ENGINE_CHOICES}> <{environment_choices()}>`."
    )
    return message(reason, [section(f":warning: {reason}")])


def _gets(environment: str, policy: EnvironmentPolicy) -> str:
    """``prod gets db.t3.medium with Multi-AZ and deletion protection; Aurora a writer and a reader of
    db.r6g.large``: what a new database gets there."""
    extras = [
        part
        for part, on in (("Multi-AZ", policy.multi_az), ("deletion protection", policy.deletion_protection))
        if on
    ]
    aurora = policy.aurora
    if aurora.serverless:
        cluster = f"Serverless v2 ({aurora.capacity_range()})"
    else:
        readers = {0: "", 1: " and a reader"}.get(
            aurora.instance_count - 1, f" and {aurora.instance_count - 1} readers"
        )
        apart = " in different availability zones" if readers else ""
        cluster = f"a writer{readers} of `{aurora.instance_class}`{apart}"
    with_ = f" with {' and '.join(extras)}" if extras else ""
    aurora_engines = "Aurora (aurora-mysql, aurora-postgresql)"
    return f"{environment} gets `{policy.instance_class}`{with_}; {aurora_engines} {cluster}."


def help_message() -> Message:
    lines = [
        "*Request an AWS RDS database.* Each request becomes a reviewed Terraform pull request.",
        f"• `{COMMAND}`: open the request form",
        f"• `{COMMAND} <database_name> <{ENGINE_CHOICES}> <{environment_choices()}>`: request directly, "
        f"e.g. `{COMMAND} orders postgres dev`",
        f"• `{COMMAND} list`: your databases, with their size, cost and expiry",
        f"• `{COMMAND} resize <database_name> <{environment_choices()}>`: a form of the sizes its "
        "environment allows, each priced",
        f"• `{COMMAND} decommission <database_name> <{environment_choices()}>`: remove it (a final "
        "snapshot is kept), once you type its name again",
        f"• `{COMMAND} status <request_id>`: where one of your requests is",
        f"• `{COMMAND} help`: this message",
        "Database names: a lowercase letter, then lowercase letters, digits and single underscores "
        "(at most 50 characters), not a reserved word.",
        *(_gets(name, policy) for name, policy in environment_policies().items()),
    ]
    return message("\n".join(lines), [section("\n".join(lines))])


def status_message(record: RequestRecord) -> Message:
    lines = [
        f"*Request `{record.request_id}`*: {describe(record)}",
        status_line(record),
        f"Requested by {requester(record)} on {record.created_at:%Y-%m-%d %H:%M} UTC",
    ]
    if record.error:
        lines.append(f"*Reason:* {reason(record)}")
    return message("\n".join(lines), [section("\n".join(lines))])


def not_found(reason: str) -> Message:
    return message(
        f"Not submitted: {reason}",
        [section(f":grey_question: *Not submitted.* {escape_keeping_mentions(reason)}")],
    )


def request_not_visible(request_id: str) -> Message:
    """The same answer whether the request does not exist or is someone else's."""
    text = (
        f"No request `{escape(request_id)}` that you can see: a request shows to whoever asked for it, "
        "the platform admins and the approvers."
    )
    return message(text, [section(f":grey_question: {text}")])
