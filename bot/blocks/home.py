"""App Home: the user's recent requests and a button that opens the request modal (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from backend.adapters.slack_blocks import (
    Block,
    context,
    describe,
    plain,
    reason,
    section,
    status_line,
)
from backend.domain import RequestRecord
from bot.blocks.change_forms import database_blocks
from bot.blocks.ids import OPEN_MODAL_ACTION_ID

if TYPE_CHECKING:  # only named in annotations: the inventory service loads when a list is asked for
    from backend.services.inventory import InventoryEntry


def home_view(records: Sequence[RequestRecord], databases: Sequence[InventoryEntry] = ()) -> dict[str, Any]:
    """App Home: the user's databases with Resize and Decommission buttons, then their requests."""
    blocks: list[Block] = [
        {"type": "header", "text": plain("Databases")},
        section("Request an AWS RDS database; it arrives as a reviewed Terraform pull request."),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": OPEN_MODAL_ACTION_ID,
                    "style": "primary",
                    "text": plain("Request a database"),
                }
            ],
        },
        {"type": "divider"},
        {"type": "header", "text": plain("Your databases")},
        *(database_blocks(databases, with_buttons=True) or [context("No databases yet.")]),
        {"type": "divider"},
        {"type": "header", "text": plain("Your recent requests")},
    ]
    if not records:
        blocks.append(context("No requests yet."))
    for record in records:
        lines = [f"*{describe(record)}* · {record.action.value}", status_line(record)]
        if record.error:
            lines.append(f"_{reason(record, 300)}_")
        blocks.append(section("\n".join(lines)))
        blocks.append(context(f"`{record.request_id}` · {record.created_at:%Y-%m-%d %H:%M} UTC"))
    return {"type": "home", "blocks": blocks}
