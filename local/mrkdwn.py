"""Slack's ``mrkdwn`` parsed into a small tree the local Slack page turns into DOM nodes.

The page never inserts HTML: it builds elements from these nodes and sets their text, so
parsing here only decides *what* is bold, a link or a mention, never *how* it is written out.
Links keep only the schemes Slack itself makes clickable (http, https, mailto); anything else
(``javascript:``, ``data:``, a bare word) stays text.

A node is a dict with a type ``t``:

- ``text`` (``v``): plain text, entities (``&lt;`` ``&gt;`` ``&amp;``) already decoded;
- ``b``, ``i``, ``s`` (``c``: child nodes): bold, italic, strikethrough;
- ``code``, ``pre`` (``v``): inline code and code blocks (nothing is formatted inside);
- ``quote`` (``c``): lines that start with ``>``;
- ``link`` (``href``, ``c``): a link Slack would render; ``user`` (``id``, ``label``),
  ``channel`` (``id``, ``label``), ``special`` (``v``, e.g. ``@here``);
- ``emoji`` (``name``, ``char``): the emoji itself for the standard shortcodes the app uses
  (``EMOJI``), else ``char`` is None and the page shows ``:name:`` as text, as Slack does for a
  name it does not know.
"""

from __future__ import annotations

import re
from typing import Any

Node = dict[str, Any]

SAFE_SCHEMES = ("http://", "https://", "mailto:")

_CODE_BLOCK = re.compile(r"```(.*?)```", re.DOTALL)
# Slack's rules: a marker opens after a non-word character and before a non-space one, and
# closes after a non-space character and before a non-word one; none of them crosses a line.
_INLINE = re.compile(
    r"(?P<code>`[^`\n]+`)"
    r"|(?P<angle><[^<>\n]+>)"
    r"|(?P<b>(?<![\w*])\*(?=\S)[^*\n]+?(?<=\S)\*(?![\w*]))"
    r"|(?P<i>(?<!\w)_(?=\S)[^_\n]+?(?<=\S)_(?!\w))"
    r"|(?P<s>(?<![\w~])~(?=\S)[^~\n]+?(?<=\S)~(?![\w~]))"
)
# The standard shortcodes the app's messages use, as Slack shows them (a test keeps this complete).
EMOJI = {
    "grey_question": "\u2754",
    "hourglass": "\u231b",
    "hourglass_flowing_sand": "\u23f3",
    "inbox_tray": "\U0001f4e5",
    "information_source": "\u2139\ufe0f",
    "lock": "\U0001f512",
    "mag": "\U0001f50d",
    "no_entry": "\u26d4",
    "raised_hand": "\u270b",
    "twisted_rightwards_arrows": "\U0001f500",
    "unlock": "\U0001f513",
    "warning": "\u26a0\ufe0f",
    "wastebasket": "\U0001f5d1\ufe0f",
    "white_check_mark": "\u2705",
    "x": "\u274c",
}
_EMOJI = re.compile(r":([a-z0-9_+'-]*[a-z][a-z0-9_+'-]*):")
_QUOTE = re.compile(r"^(?:&gt;|>) ?")


def unescape(text: str) -> str:
    """Decode the three entities mrkdwn uses (``&amp;`` last, so ``&amp;lt;`` stays ``&lt;``)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def safe_href(url: str) -> str | None:
    """``url`` if Slack would make it a link (http, https, mailto), else None."""
    candidate = url.strip()
    if any(char.isspace() or ord(char) < 32 for char in candidate):
        return None
    return candidate if candidate.lower().startswith(SAFE_SCHEMES) else None


def parse(text: str) -> list[Node]:
    """``text`` (mrkdwn) as a list of nodes."""
    nodes: list[Node] = []
    position = 0
    for match in _CODE_BLOCK.finditer(text):
        nodes += _blocks(text[position : match.start()])
        nodes.append({"t": "pre", "v": unescape(match.group(1).strip("\n"))})
        position = match.end()
    nodes += _blocks(text[position:])
    return nodes


def _blocks(text: str) -> list[Node]:
    """Quoted lines become quote nodes; everything else is inline text."""
    nodes: list[Node] = []
    plain: list[str] = []
    quoted: list[str] = []

    def flush_plain() -> None:
        if plain:
            nodes.extend(_inline("\n".join(plain)))
            plain.clear()

    def flush_quote() -> None:
        if quoted:
            nodes.append({"t": "quote", "c": _inline("\n".join(quoted))})
            quoted.clear()

    for line in text.split("\n"):
        match = _QUOTE.match(line)
        if match:
            flush_plain()
            quoted.append(line[match.end() :])
        else:
            flush_quote()
            plain.append(line)
    flush_plain()
    flush_quote()
    # Splitting on lines dropped the newline between a plain run and a quote; Slack shows the
    # quote on its own line anyway, so nothing is lost.
    return nodes


def _inline(text: str) -> list[Node]:
    nodes: list[Node] = []
    position = 0
    for match in _INLINE.finditer(text):
        nodes += _text(text[position : match.start()])
        kind = match.lastgroup
        token = match.group()
        if kind == "code":
            nodes.append({"t": "code", "v": unescape(token[1:-1])})
        elif kind == "angle":
            nodes.append(_angle(token[1:-1]))
        else:
            nodes.append({"t": kind, "c": _inline(token[1:-1])})
        position = match.end()
    nodes += _text(text[position:])
    return nodes


def _text(text: str) -> list[Node]:
    nodes: list[Node] = []
    position = 0
    for match in _EMOJI.finditer(text):
        if match.start() > position:
            nodes.append({"t": "text", "v": unescape(text[position : match.start()])})
        name = match.group(1)
        nodes.append({"t": "emoji", "name": name, "char": EMOJI.get(name)})
        position = match.end()
    if position < len(text):
        nodes.append({"t": "text", "v": unescape(text[position:])})
    return nodes


def _angle(inside: str) -> Node:
    """What Slack makes of ``<...>``: a link, a mention, a special word, or just the text."""
    target, _, label = inside.partition("|")
    if target.startswith("@"):
        return {"t": "user", "id": target[1:], "label": unescape(label) or None}
    if target.startswith("#"):
        return {"t": "channel", "id": target[1:], "label": unescape(label) or None}
    if target.startswith("!"):
        word = target[1:].split("^", 1)[0]
        if word in {"here", "channel", "everyone"}:
            return {"t": "special", "v": "@" + word}
        # <!subteam^ID|@team>, <!date^...|fallback>: Slack shows the label.
        return {"t": "text", "v": unescape(label or target)}
    href = safe_href(unescape(target))
    if href is None:
        # Not something Slack links: its label, or the text as it was written.
        return {"t": "text", "v": unescape(label) if label else unescape(f"<{inside}>")}
    return {"t": "link", "href": href, "c": _inline(label) if label else [{"t": "text", "v": href}]}


def annotate(value: Any) -> Any:
    """A copy of Block Kit JSON in which every mrkdwn text object also carries its ``nodes``."""
    if isinstance(value, list):
        return [annotate(item) for item in value]
    if isinstance(value, dict):
        copied = {key: annotate(item) for key, item in value.items()}
        if copied.get("type") == "mrkdwn" and isinstance(copied.get("text"), str):
            copied["nodes"] = parse(copied["text"])
        return copied
    return value
