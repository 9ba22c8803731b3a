"""Block Kit builders: pure functions from domain values to Slack payloads (no I/O, no Slack SDK).

Every message builder returns ``{"text": ..., "blocks": [...]}`` so a listener can pass it to
``ack(**message)`` or ``client.chat_postMessage(channel=..., **message)`` alike; ``text`` is the
notification and screen-reader fallback Slack asks for whenever blocks are sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from backend.domain import Engine, Environment, FieldError, RequestRecord, RequestStatus, policy_for

Block = dict[str, Any]
Message = dict[str, Any]

COMMAND = "/provision-rds"
MODAL_CALLBACK_ID = "provision_rds"
OPEN_MODAL_ACTION_ID = "open_provision_modal"

# Input block ids double as the request's field names, so a FieldError lands on its own block.
DATABASE_NAME = "database_name"
DATABASE_ENGINE = "database_engine"
ENVIRONMENT = "environment"
OWNER = "owner"
PURPOSE = "purpose"
MODAL_BLOCK_IDS = (DATABASE_NAME, DATABASE_ENGINE, ENVIRONMENT, OWNER, PURPOSE)
INPUT_ACTION_ID = "value"

USAGE = (
    f"Usage: `{COMMAND} <database_name> <mysql|postgres> <dev|prod>`, "
    f"`{COMMAND}` alone for a form, `{COMMAND} status <request_id>`, `{COMMAND} help`."
)

_STATUS_EMOJI: Mapping[RequestStatus, str] = {
    RequestStatus.ACCEPTED: ":hourglass_flowing_sand:",
    RequestStatus.PR_OPENED: ":mag:",
    RequestStatus.MERGED: ":twisted_rightwards_arrows:",
    RequestStatus.APPLIED: ":white_check_mark:",
    RequestStatus.FAILED: ":x:",
    RequestStatus.REJECTED: ":no_entry:",
}
_STATUS_HINT: Mapping[RequestStatus, str] = {
    RequestStatus.ACCEPTED: "queued; the pull request is being prepared",
    RequestStatus.PR_OPENED: "pull request open, waiting for review",
    RequestStatus.MERGED: "merged; CircleCI is applying the Terraform",
    RequestStatus.APPLIED: "the database exists",
    RequestStatus.FAILED: "failed",
    RequestStatus.REJECTED: "rejected",
}
# Slack caps a section's text at 3000 characters and an input error at far less in practice.
_SECTION_TEXT_LIMIT = 3000
_ERROR_TEXT_LIMIT = 250


def escape(text: str) -> str:
    """Escape user-supplied text for mrkdwn: ``&``, ``<`` and ``>`` are control characters there."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _truncate(text, _SECTION_TEXT_LIMIT)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _truncate(text, _SECTION_TEXT_LIMIT)}]}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": _plain(label), "value": value}


def _message(text: str, blocks: list[Block]) -> Message:
    return {"text": text, "blocks": blocks}


def _describe(record: RequestRecord) -> str:
    return f"`{record.database_name}` ({record.database_engine.value}, {record.environment.value})"


def _status_line(record: RequestRecord) -> str:
    emoji = _STATUS_EMOJI[record.status]
    line = f"{emoji} *{record.status.value}*: {_STATUS_HINT[record.status]}"
    if record.pr_url:
        line += f" · <{record.pr_url}|pull request>"
    return line


# --- the modal ----------------------------------------------------------------------------------


def provision_modal() -> dict[str, Any]:
    """The request form; its input ``block_id``s are the request's field names."""
    engine_options = [_option(Engine.POSTGRES.value, "PostgreSQL"), _option(Engine.MYSQL.value, "MySQL")]
    environment_options = [
        _option(env.value, f"{env.value} ({policy_for(env).instance_class})") for env in Environment
    ]
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK_ID,
        "title": _plain("Request a database"),
        "submit": _plain("Request"),
        "close": _plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": DATABASE_NAME,
                "label": _plain("Database name"),
                "hint": _plain(
                    "A lowercase letter, then lowercase letters, digits and single underscores "
                    "(at most 50 characters)."
                ),
                "element": {
                    "type": "plain_text_input",
                    "action_id": INPUT_ACTION_ID,
                    "max_length": 50,
                    "placeholder": _plain("orders"),
                },
            },
            {
                "type": "input",
                "block_id": DATABASE_ENGINE,
                "label": _plain("Engine"),
                "element": {
                    "type": "static_select",
                    "action_id": INPUT_ACTION_ID,
                    "placeholder": _plain("Choose an engine"),
                    "options": engine_options,
                },
            },
            {
                "type": "input",
                "block_id": ENVIRONMENT,
                "label": _plain("Environment"),
                "element": {
                    "type": "static_select",
                    "action_id": INPUT_ACTION_ID,
                    "placeholder": _plain("Choose an environment"),
                    "options": environment_options,
                    "initial_option": environment_options[0],
                },
            },
            {
                "type": "input",
                "block_id": OWNER,
                "optional": True,
                "label": _plain("Owner (team or person)"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": INPUT_ACTION_ID,
                    "max_length": 64,
                    "placeholder": _plain("payments-team"),
                },
            },
            {
                "type": "input",
                "block_id": PURPOSE,
                "optional": True,
                "label": _plain("Purpose"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": INPUT_ACTION_ID,
                    "multiline": True,
                    "max_length": 256,
                    "placeholder": _plain("order history for the checkout service"),
                },
            },
        ],
    }


def modal_values(state_values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, str]:
    """The request fields a submitted modal carries (``view.state.values``); empty inputs are left out.

    Only the known block ids are read, so a tampered payload cannot smuggle extra fields in.
    """
    data: dict[str, str] = {}
    for block_id in MODAL_BLOCK_IDS:
        element = state_values.get(block_id, {}).get(INPUT_ACTION_ID)
        if not element:
            continue
        selected = element.get("selected_option")
        value = selected.get("value") if isinstance(selected, Mapping) else element.get("value")
        if isinstance(value, str) and value.strip():
            data[block_id] = value.strip()
    return data


def modal_errors(errors: Iterable[FieldError]) -> dict[str, str]:
    """``response_action: errors`` payload: each message on its own input block."""
    result: dict[str, str] = {}
    for error in errors:
        block_id = error.field if error.field in MODAL_BLOCK_IDS else DATABASE_NAME
        message = _truncate(error.message, _ERROR_TEXT_LIMIT)
        result[block_id] = f"{result[block_id]} {message}" if block_id in result else message
    return result


# --- answers to the slash command ---------------------------------------------------------------


def submitted(record: RequestRecord) -> Message:
    """The ephemeral answer to an accepted request."""
    text = (
        f"Request `{record.request_id}` accepted: {_describe(record)}. "
        "I'll send you the pull request link in a direct message."
    )
    return _message(
        text,
        [
            _section(f":white_check_mark: Request accepted for {_describe(record)}."),
            _context(
                f"Request id `{record.request_id}` · {_status_line(record)} · "
                f"check with `{COMMAND} status {record.request_id}`"
            ),
        ],
    )


def dm_confirmation(record: RequestRecord) -> Message:
    """The message in the requester's DM whose thread the worker answers in."""
    policy = policy_for(record.environment)
    text = f"Your request for {_describe(record)} is queued (request `{record.request_id}`)."
    details = [
        f"*Database:* `{record.database_name}`",
        f"*Engine:* {record.database_engine.value}",
        f"*Environment:* {record.environment.value} ({policy.instance_class})",
    ]
    if record.owner:
        details.append(f"*Owner:* {escape(record.owner)}")
    if record.purpose:
        details.append(f"*Purpose:* {escape(record.purpose)}")
    return _message(
        text,
        [
            _section(
                f":inbox_tray: Your request for {_describe(record)} is queued. "
                "I'll reply in this thread when the pull request is open."
            ),
            _section("\n".join(details)),
            _context(f"Request id `{record.request_id}`"),
        ],
    )


def invalid_command(errors: Sequence[FieldError], *, text: str = "") -> Message:
    """The exact field errors, then the usage line."""
    lines = [f"• *{error.field}*: {escape(error.message)}" for error in errors]
    summary = "That request is not valid:\n" + "\n".join(lines)
    if text:
        summary = f"`{COMMAND} {escape(text)}` is not valid:\n" + "\n".join(lines)
    return _message(
        summary + "\n" + USAGE,
        [_section(":warning: " + summary), _context(USAGE)],
    )


def usage_error(problem: str) -> Message:
    return _message(f"{problem}\n{USAGE}", [_section(f":warning: {escape(problem)}"), _context(USAGE)])


def not_allowed(reason: str) -> Message:
    return _message(
        f"Not submitted: {reason}",
        [_section(f":no_entry: *Not submitted.* {escape(reason)}")],
    )


def already_requested(reason: str, existing_request_id: str | None) -> Message:
    hint = f" See `{COMMAND} status {existing_request_id}`." if existing_request_id else ""
    return _message(
        f"Not submitted: {reason}{hint}",
        [_section(f":information_source: *Not submitted.* {escape(reason)}{hint}")],
    )


def queue_unavailable() -> Message:
    reason = "The request queue is unavailable right now; nothing was recorded. Please try again in a minute."
    return _message(reason, [_section(f":warning: {reason}")])


def try_again_later() -> Message:
    reason = (
        "Something on our side is briefly unavailable, so the request was not accepted. "
        "Please try again in a minute."
    )
    return _message(reason, [_section(f":warning: {reason}")])


def modal_open_failed() -> Message:
    reason = (
        "I could not open the form. Try again, or pass the fields directly: "
        f"`{COMMAND} <database_name> <mysql|postgres> <dev|prod>`."
    )
    return _message(reason, [_section(f":warning: {reason}")])


def help_message() -> Message:
    dev, prod = policy_for(Environment.DEV), policy_for(Environment.PROD)
    lines = [
        "*Request an AWS RDS database.* Each request becomes a reviewed Terraform pull request.",
        f"• `{COMMAND}`: open the request form",
        f"• `{COMMAND} <database_name> <mysql|postgres> <dev|prod>`: request directly, "
        f"e.g. `{COMMAND} orders postgres dev`",
        f"• `{COMMAND} status <request_id>`: where a request is",
        f"• `{COMMAND} help`: this message",
        "Database names: a lowercase letter, then lowercase letters, digits and single underscores "
        "(at most 50 characters), not a reserved word.",
        f"dev gets `{dev.instance_class}`, prod gets `{prod.instance_class}` with Multi-AZ and "
        "deletion protection.",
    ]
    return _message("\n".join(lines), [_section("\n".join(lines))])


def status_message(record: RequestRecord) -> Message:
    lines = [
        f"*Request `{record.request_id}`*: {_describe(record)}",
        _status_line(record),
        f"Requested by <@{record.requested_by}> on {record.created_at:%Y-%m-%d %H:%M} UTC"
        if record.source.value == "slack"
        else f"Requested through the API on {record.created_at:%Y-%m-%d %H:%M} UTC",
    ]
    if record.error:
        lines.append(f"*Reason:* {escape(record.error)}")
    return _message("\n".join(lines), [_section("\n".join(lines))])


def request_not_found(request_id: str) -> Message:
    text = f"No request with id `{escape(request_id)}`."
    return _message(text, [_section(f":grey_question: {text}")])


# --- App Home -----------------------------------------------------------------------------------


def home_view(records: Sequence[RequestRecord]) -> dict[str, Any]:
    blocks: list[Block] = [
        {"type": "header", "text": _plain("Databases")},
        _section("Request an AWS RDS database; it arrives as a reviewed Terraform pull request."),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": OPEN_MODAL_ACTION_ID,
                    "style": "primary",
                    "text": _plain("Request a database"),
                }
            ],
        },
        {"type": "divider"},
        {"type": "header", "text": _plain("Your recent requests")},
    ]
    if not records:
        blocks.append(_context("No requests yet."))
    for record in records:
        lines = [f"*{_describe(record)}*", _status_line(record)]
        if record.error:
            lines.append(f"_{escape(_truncate(record.error, 300))}_")
        blocks.append(_section("\n".join(lines)))
        blocks.append(_context(f"`{record.request_id}` · {record.created_at:%Y-%m-%d %H:%M} UTC"))
    return {"type": "home", "blocks": blocks}


# --- results the worker posts --------------------------------------------------------------------


def pr_opened(record: RequestRecord) -> Message:
    policy = policy_for(record.environment)
    link = f"<{record.pr_url}|pull request>" if record.pr_url else "pull request"
    text = f"Pull request opened for {_describe(record)}"
    if record.pr_url:
        text += f": {record.pr_url}"
    details = "\n".join(
        [
            f"*Database:* `{record.database_name}`",
            f"*Engine:* {record.database_engine.value}",
            f"*Environment:* {record.environment.value}",
            f"*Instance class:* `{policy.instance_class}`",
        ]
    )
    return _message(
        text,
        [
            _section(f":mag: The {link} for {_describe(record)} is open."),
            _section(details),
            _context(f"Request `{record.request_id}` · once it is reviewed and merged, CircleCI applies it."),
        ],
    )


def request_failed(record: RequestRecord) -> Message:
    verb = "was rejected" if record.status is RequestStatus.REJECTED else "failed"
    reason = escape(record.error or "no reason was recorded")
    if record.status is RequestStatus.REJECTED:
        next_step = (
            f"Nothing was changed. Fix the request and send it again with `{COMMAND}`, "
            "or pick another name if this database already exists."
        )
    else:
        next_step = (
            f"Nothing was merged. Try again with `{COMMAND}`; if it keeps failing, ask the platform "
            f"team and quote request `{record.request_id}`."
        )
    text = f"Your request for {_describe(record)} {verb}: {record.error or 'no reason was recorded'}"
    return _message(
        text,
        [
            _section(f"{_STATUS_EMOJI[record.status]} Your request for {_describe(record)} {verb}."),
            _section(f"*Reason:* {reason}"),
            _context(f"{next_step} · request `{record.request_id}`"),
        ],
    )


def pr_merged(record: RequestRecord) -> Message:
    link = f"<{record.pr_url}|pull request>" if record.pr_url else "pull request"
    text = f"The pull request for {_describe(record)} was merged; CircleCI is applying it."
    return _message(
        text,
        [
            _section(
                f"{_STATUS_EMOJI[RequestStatus.MERGED]} The {link} for {_describe(record)} was merged; "
                "CircleCI is applying it."
            ),
            _context(f"Request `{record.request_id}` · I'll tell you here when the database is ready."),
        ],
    )


def database_applied(record: RequestRecord) -> Message:
    """Where to find the new database; names of outputs and secrets only, never a secret value."""
    request = record.request
    env_dir = f"terraform/envs/{record.environment.value}"
    module = request.module_name
    text = (
        f"Your database is ready: {_describe(record)}, RDS instance `{request.rds_identifier}`. "
        f"Endpoint: `terraform output {module}_endpoint` in {env_dir}; the master password lives "
        f"in Secrets Manager (`terraform output {module}_master_user_secret_arn`)."
    )
    where = "\n".join(
        [
            f"*RDS instance:* `{request.rds_identifier}`",
            f"*Endpoint:* `terraform output {module}_endpoint` in `{env_dir}` "
            f"(or the RDS console, instance `{request.rds_identifier}`)",
            "*Master password:* in AWS Secrets Manager, managed by RDS; the secret's ARN is "
            f"`terraform output {module}_master_user_secret_arn` (the module output "
            "`master_user_secret_arn`). Prefer IAM database authentication for applications.",
        ]
    )
    return _message(
        text,
        [
            _section(f"{_STATUS_EMOJI[RequestStatus.APPLIED]} Your database is ready: {_describe(record)}."),
            _section(where),
            _context(f"Request `{record.request_id}` · applied by CircleCI"),
        ],
    )
