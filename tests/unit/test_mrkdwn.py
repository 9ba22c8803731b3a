"""mrkdwn as the local Slack page shows it: formatting as Slack applies it, and only safe links."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from local.mrkdwn import EMOJI, annotate, parse, safe_href

REPO_ROOT = Path(__file__).resolve().parents[2]


def text(value: str) -> dict[str, str]:
    return {"t": "text", "v": value}


def test_bold_italic_strike_and_code_follow_slacks_word_boundaries() -> None:
    assert parse("*bold* and _it_ ~gone~ `co*de*`") == [
        {"t": "b", "c": [text("bold")]},
        text(" and "),
        {"t": "i", "c": [text("it")]},
        text(" "),
        {"t": "s", "c": [text("gone")]},
        text(" "),
        {"t": "code", "v": "co*de*"},
    ]
    # Underscores inside names and stars inside words are not formatting.
    assert parse("rds_orders_dev and 2*3*4") == [text("rds_orders_dev and 2*3*4")]
    # Markers do not span lines.
    assert parse("*not\nbold*") == [text("*not\nbold*")]


def test_nested_formatting_and_links_with_formatted_labels() -> None:
    assert parse("*The <https://x.test/a_b?c=1&amp;d=2|pull request> is open*") == [
        {
            "t": "b",
            "c": [
                text("The "),
                {"t": "link", "href": "https://x.test/a_b?c=1&d=2", "c": [text("pull request")]},
                text(" is open"),
            ],
        }
    ]


def test_code_blocks_and_quotes() -> None:
    assert parse("&gt; quoted *b*\nplain\n```\n<b>raw</b> *no*\n```") == [
        {"t": "quote", "c": [text("quoted "), {"t": "b", "c": [text("b")]}]},
        text("plain\n"),
        {"t": "pre", "v": "<b>raw</b> *no*"},
    ]


def test_mentions_specials_and_emoji_names() -> None:
    assert parse("<@U123> <#C9|general> <!here> <!subteam^S1|@dbas> :white_check_mark: at 12:30:45") == [
        {"t": "user", "id": "U123", "label": None},
        text(" "),
        {"t": "channel", "id": "C9", "label": "general"},
        text(" "),
        {"t": "special", "v": "@here"},
        text(" "),
        text("@dbas"),
        text(" "),
        {"t": "emoji", "name": "white_check_mark", "char": "\u2705"},
        text(" at 12:30:45"),
    ]


@pytest.mark.parametrize(
    "written",
    [
        "<javascript:alert(1)|click me>",
        "<JavaScript:alert(1)>",
        "<data:text/html,<script>alert(1)</script>|x>",
        "<vbscript:msgbox(1)|x>",
        "<//evil.test/x|x>",
        "<https://ok.test/ with space|x>",
    ],
)
def test_only_http_https_and_mailto_become_links(written: str) -> None:
    nodes = parse(written)
    assert all(node["t"] != "link" for node in nodes), nodes


def test_entities_are_decoded_into_text_never_markup() -> None:
    # The page sets this as textContent: the browser shows the characters, it parses nothing.
    assert parse("&lt;script&gt;alert(1)&lt;/script&gt; &amp;lt;") == [text("<script>alert(1)</script> &lt;")]
    assert parse("<img src=x onerror=alert(1)>") == [text("<img src=x onerror=alert(1)>")]


def test_safe_href() -> None:
    assert safe_href("https://x.test/p") == "https://x.test/p"
    assert safe_href("mailto:a@b.test") == "mailto:a@b.test"
    assert safe_href("javascript:alert(1)") is None
    assert safe_href("java\tscript:alert(1)") is None
    assert safe_href("/relative") is None


def test_annotate_adds_nodes_to_every_mrkdwn_text_object_and_copies() -> None:
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*hi*"},
            "fields": [{"type": "plain_text", "text": "*x*"}],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "`c`"}]},
    ]
    annotated = annotate(blocks)
    assert annotated[0]["text"]["nodes"] == [{"t": "b", "c": [text("hi")]}]
    assert "nodes" not in annotated[0]["fields"][0]  # plain_text is shown as it is
    assert annotated[1]["elements"][0]["nodes"] == [{"t": "code", "v": "c"}]
    assert "nodes" not in blocks[0]["text"]


def test_every_shortcode_the_app_writes_is_shown_as_its_emoji() -> None:
    sources = [*(REPO_ROOT / "bot").rglob("*.py"), *(REPO_ROOT / "backend").rglob("*.py")]
    written = {
        name
        for path in sources
        if "local" not in path.relative_to(REPO_ROOT).parts
        for name in re.findall(r"[\"' ]:([a-z_]+):[ \"']", path.read_text())
    }
    assert {"inbox_tray", "white_check_mark", "warning"} <= written
    assert written <= set(EMOJI), written - set(EMOJI)
    assert parse(":inbox_tray: queued") == [
        {"t": "emoji", "name": "inbox_tray", "char": "\U0001f4e5"},
        text(" queued"),
    ]
    # A name Slack's app does not use stays its text.
    assert parse(":party_parrot:") == [{"t": "emoji", "name": "party_parrot", "char": None}]
