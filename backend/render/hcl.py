"""HCL literals and `terraform fmt` layout, for the templates' filters (pure).

Everything a template writes goes through here: strings become escaped, quoted HCL strings;
references (``var.vpc_id``) are ``Expression`` objects built by code, never from input; and
attribute runs are aligned the way ``terraform fmt`` aligns them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# An attribute or block-label-free identifier, as HCL defines it (ASCII subset we need).
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# A traversal such as var.vpc_id, module.rds_orders.db_instance_endpoint or aws_x.y[0].name.
_REFERENCE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[[0-9]+\])+")
_CHECK_ID = re.compile(r"CKV2?_AWS_[0-9]+")

_SIMPLE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class HclText(str):
    """Text that is already valid HCL: the only kind of value a template may output."""

    __slots__ = ()


@dataclass(frozen=True)
class Expression:
    """A Terraform reference written as is (``var.vpc_id``); only code builds these."""

    text: str

    def __post_init__(self) -> None:
        if not _REFERENCE.fullmatch(self.text):
            raise ValueError(f"not a plain Terraform reference: {self.text!r}")


@dataclass(frozen=True)
class CheckovSkip:
    """An inline checkov suppression; it must say why."""

    check_id: str
    reason: str

    def __post_init__(self) -> None:
        if not _CHECK_ID.fullmatch(self.check_id):
            raise ValueError(f"not a checkov check id: {self.check_id!r}")
        if not self.reason.strip() or not self.reason.isprintable():
            raise ValueError("a checkov skip needs a one-line, printable reason")


HclValue = str | int | float | bool | None | Expression | Sequence["HclValue"] | Mapping[str, "HclValue"]


def _escape_char(char: str) -> str:
    if char in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[char]
    code = ord(char)
    # C0 and C1 controls, DEL, and the Unicode line/paragraph separators: never raw in a file.
    if code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029):
        return f"\\u{code:04x}"
    return char


def escape_string(value: str) -> str:
    """The body of an HCL quoted string holding exactly ``value`` (without the quotes).

    Backslashes and double quotes are escaped, control characters become escape sequences, and
    the template introducers are doubled (``${`` -> ``$${``, ``%{`` -> ``%%{``) so nothing in
    the value can start an interpolation or a directive.
    """
    escaped = "".join(_escape_char(char) for char in value)
    return escaped.replace("${", "$${").replace("%{", "%%{")


def _key(name: str) -> str:
    return name if _IDENTIFIER.fullmatch(name) else f'"{escape_string(name)}"'


def _number(value: float) -> str:
    """A float as an HCL number literal: ``0.5``, ``2`` (not ``2.0``, as a person writes it)."""
    if not math.isfinite(value):
        raise ValueError(f"HCL has no literal for {value!r}")
    return str(int(value)) if value.is_integer() else repr(value)


def literal(value: HclValue) -> HclText:
    """``value`` as a single-line HCL expression (strings escaped and quoted)."""
    if isinstance(value, HclText):
        raise TypeError("value is already HCL; pass the original value instead")
    if isinstance(value, Expression):
        return HclText(value.text)
    if value is None:
        return HclText("null")
    if isinstance(value, bool):  # before int: bool is an int
        return HclText("true" if value else "false")
    if isinstance(value, int):
        return HclText(str(value))
    if isinstance(value, float):
        return HclText(_number(value))
    if isinstance(value, str):
        return HclText(f'"{escape_string(value)}"')
    if isinstance(value, Mapping):
        items = ", ".join(f"{_key(k)} = {literal(v)}" for k, v in value.items())
        return HclText(f"{{ {items} }}" if items else "{}")
    if isinstance(value, Sequence):
        return HclText("[" + ", ".join(literal(item) for item in value) + "]")
    raise TypeError(f"cannot write {type(value).__name__} as HCL")


def attributes(pairs: Sequence[tuple[str, HclValue]], indent: int = 1) -> HclText:
    """A run of ``name = value`` lines with the ``=`` aligned as ``terraform fmt`` does.

    fmt pads each name of consecutive single-line attributes to the longest one; the values
    written here are always single-line, so one run is one alignment group.
    """
    if not pairs:
        raise ValueError("an attribute run needs at least one attribute")
    for name, _ in pairs:
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"not an HCL attribute name: {name!r}")
    width = max(len(name) for name, _ in pairs)
    pad = "  " * indent
    return HclText("\n".join(f"{pad}{name.ljust(width)} = {literal(value)}" for name, value in pairs))


def checkov_skip(skip: CheckovSkip) -> HclText:
    return HclText(f"#checkov:skip={skip.check_id}:{skip.reason}")
