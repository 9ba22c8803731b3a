"""The input table: what parse_request accepts, and for everything else which field is blamed and why.

Every rejected input must name the field a person has to fix and say something they can act
on; injection attempts (HCL interpolation, path traversal, look-alike letters) must never get
through to rendering.
"""

from __future__ import annotations

from typing import Any

import pytest

from backend.domain import Engine, Environment, ValidationFailed, parse_request

BASE: dict[str, Any] = {"database_name": "orders", "database_engine": "postgres", "environment": "dev"}

NAME_CHARS = "may contain only lowercase letters"
START = "must start with a lowercase letter"
RESERVED = "is a reserved word"
NOT_STRING = "must be a string"
TAG_CHARS = "may contain only letters, digits, spaces"


def with_(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


def without(field: str) -> dict[str, Any]:
    return {key: value for key, value in BASE.items() if key != field}


VALID: list[tuple[str, dict[str, Any]]] = [
    ("simple", BASE),
    ("single letter", with_(database_name="a")),
    ("digits after letter", with_(database_name="orders2")),
    ("single underscores", with_(database_name="order_history_v2")),
    ("50 characters", with_(database_name="a" * 50)),
    ("50 characters with underscores", with_(database_name="a_" * 24 + "ab")),
    ("mysql dev", with_(database_engine="mysql")),
    ("postgres prod", with_(environment="prod")),
    ("mysql prod", with_(database_engine="mysql", environment="prod")),
    ("aurora-mysql dev", with_(database_engine="aurora-mysql")),
    ("aurora-mysql prod", with_(database_engine="aurora-mysql", environment="prod")),
    ("aurora-postgresql dev", with_(database_engine="aurora-postgresql")),
    ("aurora-postgresql prod", with_(database_engine="aurora-postgresql", environment="prod")),
    (
        "aurora-mysql longest name",
        with_(database_engine="aurora-mysql", environment="prod", database_name="a" * 50),
    ),
    ("engine name as a database name", with_(database_engine="aurora-mysql", database_name="aurora_mysql")),
    ("owner and purpose", with_(owner="payments-team", purpose="order history for checkout")),
    ("owner with email", with_(owner="jane.doe@example.com")),
    ("purpose with tag punctuation", with_(purpose="ticket: PLAT-123 / a=b + c_d")),
    ("owner at 64 characters", with_(owner="o" * 64)),
    ("purpose at 256 characters", with_(purpose="p" * 256)),
    ("explicit null owner", with_(owner=None, purpose=None)),
    ("reserved word as a prefix", with_(database_name="select_orders")),
    ("system name as a suffix", with_(database_name="orders_mysql")),
]


@pytest.mark.parametrize(("data"), [case for _, case in VALID], ids=[name for name, _ in VALID])
def test_valid_inputs_are_accepted_unchanged(data: dict[str, Any]) -> None:
    request = parse_request(data)

    assert request.database_name == data["database_name"]
    assert request.database_engine is Engine(data["database_engine"])
    assert request.environment == Environment(data["environment"])
    assert request.owner == data.get("owner")
    assert request.purpose == data.get("purpose")


# (id, input, field blamed, fragment of the message)
INVALID: list[tuple[str, Any, str, str]] = [
    # --- database_name: shape ---
    ("uppercase", with_(database_name="Orders"), "database_name", START),
    ("uppercase inside", with_(database_name="orDers"), "database_name", NAME_CHARS),
    ("leading digit", with_(database_name="1orders"), "database_name", START),
    ("leading underscore", with_(database_name="_orders"), "database_name", START),
    (
        "trailing underscore",
        with_(database_name="orders_"),
        "database_name",
        "must not end with an underscore",
    ),
    ("double underscore", with_(database_name="order__history"), "database_name", "two underscores in a row"),
    ("hyphen", with_(database_name="order-history"), "database_name", NAME_CHARS),
    ("space", with_(database_name="order history"), "database_name", NAME_CHARS),
    ("leading space", with_(database_name=" orders"), "database_name", START),
    ("dot", with_(database_name="orders.db"), "database_name", NAME_CHARS),
    ("empty", with_(database_name=""), "database_name", "must not be empty"),
    ("51 characters", with_(database_name="a" * 51), "database_name", "at most 50 characters (got 51)"),
    ("very long", with_(database_name="a" * 5000), "database_name", "at most 50 characters"),
    # --- database_name: injection and paths ---
    ("parent directory", with_(database_name="../orders"), "database_name", START),
    ("path inside", with_(database_name="orders/../../etc"), "database_name", NAME_CHARS),
    ("slash", with_(database_name="a/b"), "database_name", NAME_CHARS),
    ("backslash", with_(database_name="a\\b"), "database_name", NAME_CHARS),
    ("double quote", with_(database_name='a"b'), "database_name", NAME_CHARS),
    ("single quote", with_(database_name="a'b"), "database_name", NAME_CHARS),
    ("hcl interpolation", with_(database_name="a${var.x}"), "database_name", NAME_CHARS),
    ("hcl interpolation first", with_(database_name='${file("/etc/passwd")}'), "database_name", START),
    ("hcl directive", with_(database_name="a%{if true}x%{endif}"), "database_name", NAME_CHARS),
    ("newline", with_(database_name="orders\nresource"), "database_name", NAME_CHARS),
    ("trailing newline", with_(database_name="orders\n"), "database_name", "'\\n'"),
    ("carriage return", with_(database_name="orders\r"), "database_name", NAME_CHARS),
    ("tab", with_(database_name="ord\ters"), "database_name", NAME_CHARS),
    ("NUL", with_(database_name="orders\x00"), "database_name", "'\\x00'"),
    ("HCL block injection", with_(database_name='x"\n}\nresource "x" "y" {'), "database_name", NAME_CHARS),
    ("shell substitution", with_(database_name="a$(id)"), "database_name", NAME_CHARS),
    # --- database_name: unicode look-alikes ---
    ("cyrillic a", with_(database_name="\u0430orders"), "database_name", START),
    ("cyrillic a inside", with_(database_name="ord\u0430rs"), "database_name", NAME_CHARS),
    (
        "fullwidth letters",
        with_(database_name="\uff4f\uff52\uff44\uff45\uff52\uff53"),
        "database_name",
        START,
    ),
    ("sharp s", with_(database_name="stra\u00dfe"), "database_name", NAME_CHARS),
    ("turkish dotless i", with_(database_name="\u0131nvoices"), "database_name", START),
    ("accented letter", with_(database_name="caf\u00e9"), "database_name", NAME_CHARS),
    ("zero width space", with_(database_name="ord\u200bers"), "database_name", NAME_CHARS),
    ("emoji", with_(database_name="orders\U0001f680"), "database_name", NAME_CHARS),
    ("superscript digit", with_(database_name="orders\u00b2"), "database_name", NAME_CHARS),
    # --- database_name: reserved words and system databases ---
    ("mysql system db", with_(database_name="mysql"), "database_name", RESERVED),
    ("postgres system db", with_(database_name="postgres"), "database_name", RESERVED),
    ("template0", with_(database_name="template0"), "database_name", RESERVED),
    ("template1", with_(database_name="template1"), "database_name", RESERVED),
    ("information_schema", with_(database_name="information_schema"), "database_name", RESERVED),
    ("performance_schema", with_(database_name="performance_schema"), "database_name", RESERVED),
    ("sys", with_(database_name="sys"), "database_name", RESERVED),
    ("rdsadmin", with_(database_name="rdsadmin"), "database_name", RESERVED),
    ("select", with_(database_name="select"), "database_name", RESERVED),
    ("user (postgres)", with_(database_name="user"), "database_name", RESERVED),
    ("order", with_(database_name="order"), "database_name", RESERVED),
    ("table", with_(database_name="table"), "database_name", RESERVED),
    ("database (mysql)", with_(database_name="database"), "database_name", RESERVED),
    ("analyse (postgres)", with_(database_name="analyse"), "database_name", RESERVED),
    (
        "reserved on mysql only, asked for postgres",
        with_(database_name="accessible"),
        "database_name",
        RESERVED,
    ),
    (
        "reserved on postgres only, asked for mysql",
        with_(database_name="variadic", database_engine="mysql"),
        "database_name",
        RESERVED,
    ),
    # Aurora MySQL's words are MySQL's, Aurora PostgreSQL's are PostgreSQL's; a name must suit them all.
    (
        "mysql system db on aurora-mysql",
        with_(database_name="mysql", database_engine="aurora-mysql"),
        "database_name",
        RESERVED,
    ),
    (
        "mysql word on aurora-mysql",
        with_(database_name="accessible", database_engine="aurora-mysql"),
        "database_name",
        RESERVED,
    ),
    (
        "postgres word on aurora-postgresql",
        with_(database_name="variadic", database_engine="aurora-postgresql"),
        "database_name",
        RESERVED,
    ),
    (
        "template1 on aurora-postgresql",
        with_(database_name="template1", database_engine="aurora-postgresql"),
        "database_name",
        RESERVED,
    ),
    (
        "mysql word on aurora-postgresql",
        with_(database_name="accessible", database_engine="aurora-postgresql"),
        "database_name",
        RESERVED,
    ),
    # --- database_name: wrong types ---
    ("name is int", with_(database_name=5), "database_name", NOT_STRING),
    ("name is float", with_(database_name=1.5), "database_name", NOT_STRING),
    ("name is list", with_(database_name=["orders"]), "database_name", NOT_STRING),
    ("name is object", with_(database_name={"name": "orders"}), "database_name", NOT_STRING),
    ("name is null", with_(database_name=None), "database_name", NOT_STRING),
    ("name is bool", with_(database_name=True), "database_name", NOT_STRING),
    ("name is bytes", with_(database_name=b"orders"), "database_name", NOT_STRING),
    # --- engine and environment ---
    ("engine uppercase", with_(database_engine="MySQL"), "database_engine", "must be one of mysql, postgres"),
    ("engine all caps", with_(database_engine="POSTGRES"), "database_engine", "(got 'POSTGRES')"),
    (
        "engine alias",
        with_(database_engine="postgresql"),
        "database_engine",
        "must be one of mysql, postgres",
    ),
    ("engine unsupported", with_(database_engine="mariadb"), "database_engine", "must be one of"),
    (
        "every engine is named",
        with_(database_engine="aurora"),
        "database_engine",
        "must be one of mysql, postgres, aurora-mysql, aurora-postgresql (got 'aurora')",
    ),
    ("aurora alias", with_(database_engine="aurora-postgres"), "database_engine", "(got 'aurora-postgres')"),
    ("aurora underscore", with_(database_engine="aurora_mysql"), "database_engine", "must be one of"),
    ("aurora uppercase", with_(database_engine="Aurora-MySQL"), "database_engine", "must be one of"),
    ("engine padded", with_(database_engine=" mysql"), "database_engine", "must be one of"),
    ("engine empty", with_(database_engine=""), "database_engine", "must be one of"),
    ("engine null", with_(database_engine=None), "database_engine", "must be one of mysql, postgres"),
    ("engine int", with_(database_engine=1), "database_engine", "must be one of"),
    ("engine list", with_(database_engine=["mysql"]), "database_engine", "must be one of"),
    ("environment capitalised", with_(environment="Prod"), "environment", "must be one of dev, prod"),
    ("environment long form", with_(environment="production"), "environment", "(got 'production')"),
    ("environment staging", with_(environment="staging"), "environment", "must be one of dev, prod"),
    ("environment null", with_(environment=None), "environment", "must be one of dev, prod"),
    ("environment bool", with_(environment=True), "environment", "must be one of dev, prod"),
    ("environment path", with_(environment="../prod"), "environment", "must be one of dev, prod"),
    # --- missing and unknown fields, wrong body ---
    ("missing name", without("database_name"), "database_name", "database_name is required"),
    ("missing engine", without("database_engine"), "database_engine", "database_engine is required"),
    ("missing environment", without("environment"), "environment", "environment is required"),
    ("empty body", {}, "database_name", "is required"),
    (
        "unknown field",
        with_(instance_class="db.r6g.16xlarge"),
        "instance_class",
        "unknown field 'instance_class'",
    ),
    ("unknown field lists allowed", with_(team="x"), "team", "allowed fields are database_name"),
    ("field name in other case", with_(Database_Name="orders"), "Database_Name", "unknown field"),
    ("body is a list", [BASE], "body", "must be a JSON object"),
    ("body is a string", "orders", "body", "must be a JSON object"),
    ("body is null", None, "body", "must be a JSON object"),
    # --- owner and purpose (they become tags and PR text) ---
    ("owner with quote", with_(owner='team"; }'), "owner", TAG_CHARS),
    ("owner interpolation", with_(owner="${aws_iam_role.admin.arn}"), "owner", TAG_CHARS),
    ("owner directive", with_(owner="%{for x in y}"), "owner", TAG_CHARS),
    ("owner newline", with_(owner="team\nEvil = 1"), "owner", TAG_CHARS),
    ("owner markdown link", with_(owner="[click](http://x)"), "owner", TAG_CHARS),
    ("owner too long", with_(owner="o" * 65), "owner", "at most 64 characters (got 65)"),
    ("owner padded with a no-break space", with_(owner="\xa0payments"), "owner", TAG_CHARS),
    ("owner int", with_(owner=42), "owner", NOT_STRING),
    ("purpose interpolation", with_(purpose="cache ${var.x}"), "purpose", TAG_CHARS),
    ("purpose backslash", with_(purpose="a\\b"), "purpose", TAG_CHARS),
    ("purpose html", with_(purpose="<script>alert(1)</script>"), "purpose", TAG_CHARS),
    ("purpose backtick", with_(purpose="`rm -rf`"), "purpose", TAG_CHARS),
    ("purpose NUL", with_(purpose="x\x00"), "purpose", TAG_CHARS),
    ("purpose too long", with_(purpose="p" * 257), "purpose", "at most 256 characters"),
    ("purpose list", with_(purpose=["a"]), "purpose", NOT_STRING),
]


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_inputs_name_the_field_and_say_why(data: Any, field: str, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_request(data)

    messages = {error.field: error.message for error in caught.value.errors}
    assert field in messages, f"expected an error on {field!r}, got {messages}"
    assert fragment in messages[field]


def test_the_table_is_big_enough_and_has_no_duplicate_ids() -> None:
    ids = [name for name, _ in VALID] + [case[0] for case in INVALID]
    assert len(ids) >= 60
    assert len(ids) == len(set(ids))


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_request({"database_name": "Bad", "database_engine": "oracle", "environment": "qa", "x": 1})

    assert {error.field for error in caught.value.errors} == {
        "database_name",
        "database_engine",
        "environment",
        "x",
    }


def test_owner_and_purpose_are_trimmed_and_blank_means_absent() -> None:
    request = parse_request(with_(owner="  payments  ", purpose=" \t\r\n"))
    pasted = parse_request(with_(owner="\tpayments\r\n", purpose=" " + "p" * 256 + "\n"))

    assert request.owner == "payments"
    assert request.purpose is None
    assert pasted.owner == "payments"
    assert pasted.purpose == "p" * 256
