"""Block Kit building blocks shared by the Slack app (``bot/``) and the notifications (pure).

Every message is ``{"text": ..., "blocks": [...]}``: ``text`` is the notification and screen-reader
fallback Slack asks for whenever blocks are sent, so a message can go to ``ack(**message)`` or
``chat.postMessage(channel=..., **message)`` alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from backend.domain import STATUSES, DatabaseRecord, ProvisionerError, RequestRecord, RequestStatus, Source

Block = dict[str, Any]
Message = dict[str, Any]

COMMAND = "/provision-rds"

# Each status's emoji, from the status table.
STATUS_EMOJI: Mapping[RequestStatus, str] = {status: f":{spec.emoji}:" for status, spec in STATUSES.items()}
# Slack caps a section's text at 3000 characters.
SECTION_TEXT_LIMIT = 3000


def escape(text: str) -> str:
    """Escape user-supplied text for mrkdwn: ``&``, ``<`` and ``>`` are control characters there."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# A user mention as the product writes it into its own messages (``<@U...>``, ``<@W...>`` on Grid).
_MENTION = re.compile(r"(<@[UW][A-Z0-9]{2,20}>)")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


def escape_keeping_mentions(text: str) -> str:
    """Escape a message of ours that may quote user-supplied text and mention people: everything is
    escaped (``<!channel>`` and links included) except well-formed user mentions, which render."""
    return "".join(part if _MENTION.fullmatch(part) else escape(part) for part in _MENTION.split(text))


def mention(person: str) -> str:
    """A person named by id, as Slack shows them: a mention when the id is a Slack user's."""
    return f"<@{person}>" if _USER_ID.fullmatch(person) else escape(person)


def mentioning(error: ProvisionerError) -> str:
    """An error's message with each person it names shown as a mention (the rest stays as is: the
    callers escape it for mrkdwn with ``escape_keeping_mentions``, or show it as plain text)."""
    text = error.message
    for person in error.people:
        if _USER_ID.fullmatch(person):
            text = re.sub(rf"(?<![\w@]){re.escape(person)}(?!\w)", f"<@{person}>", text)
    return text


def reason(record: RequestRecord, limit: int | None = None) -> str:
    """Why ``record`` ended (mrkdwn): its error as text (its first ``limit`` characters), after who
    denied it (a mention) if someone did."""
    said = record.error or "no reason was recorded"
    shown = escape(said if limit is None else truncate(said, limit))
    return f"denied by {mention(record.denied_by)}: {shown}" if record.denied_by else shown


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_LIMIT)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_LIMIT)}]}


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain(label), "value": value}


def message(text: str, blocks: list[Block]) -> Message:
    return {"text": text, "blocks": blocks}


def database_key(database: DatabaseRecord) -> str:
    """What a button or a modal carries to say which database: ``<environment>/<database_name>``."""
    return f"{database.environment.value}/{database.database_name}"


def parse_key(value: str) -> tuple[str, str]:
    environment, _, name = value.partition("/")
    return environment, name


def describe(record: RequestRecord | DatabaseRecord) -> str:
    return f"`{record.database_name}` ({record.database_engine.value}, {record.environment.value})"


def requester(record: RequestRecord) -> str:
    """Who asked, as Slack shows it: a Slack user's mention, an HTTP API client, or the expiry sweep."""
    if record.source is Source.SLACK:
        return f"<@{record.requested_by}>"
    if record.source is Source.API:
        who = "" if record.requested_by == "api" else f" `{escape(record.requested_by)}`"
        return f"an HTTP API client{who}"
    return "the expiry sweep"


def status_line(record: RequestRecord) -> str:
    line = f"{STATUS_EMOJI[record.status]} *{record.status.value}*: {record.status.spec.meaning}"
    if record.status is RequestStatus.ACCEPTED and record.last_error:
        # Why the last attempt did not finish, e.g. waiting for GitHub's rate limit until when.
        line += f" ({escape(truncate(record.last_error, 300))})"
    if record.pr_url:
        line += f" · <{record.pr_url}|pull request>"
    return line


def pull_request_link(record: RequestRecord) -> str:
    return f"<{record.pr_url}|pull request>" if record.pr_url else "pull request"
