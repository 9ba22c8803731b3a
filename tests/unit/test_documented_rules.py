"""The request's JSON Schema (what the OpenAPI document tells clients) accepts exactly what the
domain accepts: the input table of test_validation, every reserved word, every short name over an
alphabet of the characters that matter, the length limits with and without trimmed whitespace,
and generated text.

JSON Schema patterns are ECMA-262 regular expressions, whose ``$`` is the end of the string;
Python's ``$`` also matches before a final newline. The validator below reads them as ECMA does
(as schemathesis and generated clients in other languages do).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from backend.domain import (
    DecommissionRequest,
    ProvisionRequest,
    ResizeRequest,
    Sizing,
    ValidationFailed,
    environment_policies,
    parse_request,
)
from backend.domain.changes import resized
from backend.domain.kinds import Engine, EngineFamily
from backend.domain.naming import DATABASE_NAME_MAX_LENGTH, DATABASE_NAME_PATTERN, database_name_problem
from backend.domain.policy import EnvironmentPolicy
from backend.domain.requests import OWNER_MAX_LENGTH, PURPOSE_MAX_LENGTH
from backend.domain.reserved import RESERVED_NAMES
from tests.unit.test_validation import BASE, INVALID, VALID


def _ecma_ends(schema: Any) -> Any:
    """``schema`` with each pattern's closing ``$`` spelled ``\\Z``, ECMA's end of the string in Python."""
    if isinstance(schema, dict):
        return {
            key: value[:-1] + r"\Z" if key == "pattern" and value.endswith("$") else _ecma_ends(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_ecma_ends(item) for item in schema]
    return schema


SCHEMA = ProvisionRequest.model_json_schema()
Draft202012Validator.check_schema(SCHEMA)
VALIDATOR = Draft202012Validator(_ecma_ends(SCHEMA))


def schema_accepts(body: Any) -> bool:
    return bool(VALIDATOR.is_valid(body))


def domain_accepts(body: Any) -> bool:
    try:
        parse_request(body)
    except ValidationFailed:
        return False
    return True


def agree(body: Any) -> None:
    assert schema_accepts(body) == domain_accepts(body), (
        f"the schema {'accepts' if schema_accepts(body) else 'rejects'} {body!r}, the domain does not"
    )


TABLE = [(name, case) for name, case in VALID] + [(case[0], case[1]) for case in INVALID]


@pytest.mark.parametrize("body", [case for _, case in TABLE], ids=[name for name, _ in TABLE])
def test_the_schema_judges_the_validation_table_as_the_domain_does(body: Any) -> None:
    agree(body)


def test_the_table_has_both_answers() -> None:
    # Not vacuous: the schema really accepts the valid rows and rejects the invalid ones.
    assert all(schema_accepts(case) for _, case in VALID)
    assert not any(schema_accepts(case[1]) for case in INVALID)


# Every character class the name rule distinguishes, plus look-alikes and whitespace.
NAME_ALPHABET = "az09_A-. \n\u0430"


def _names() -> Iterator[str]:
    for length in range(5):
        for letters in itertools.product(NAME_ALPHABET, repeat=length):
            yield "".join(letters)
    for word in RESERVED_NAMES:
        yield from (word, word + "1", "x_" + word, word + "_", word.upper())
    for length in (DATABASE_NAME_MAX_LENGTH - 1, DATABASE_NAME_MAX_LENGTH, DATABASE_NAME_MAX_LENGTH + 1):
        yield from ("a" * length, "a_" * (length // 2) + "b" * (length % 2), "a" * (length - 1) + "_")


def test_the_name_pattern_is_the_name_rule_but_for_length_and_reserved_words() -> None:
    checked = 0
    for name in _names():
        by_pattern = (
            re.fullmatch(DATABASE_NAME_PATTERN, name) is not None
            and len(name) <= DATABASE_NAME_MAX_LENGTH
            and name not in RESERVED_NAMES
        )
        assert by_pattern == (database_name_problem(name) is None), name
        agree({**BASE, "database_name": name})
        checked += 1
    assert checked > 10_000


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.from_regex(DATABASE_NAME_PATTERN, fullmatch=True) | st.text(max_size=60))
def test_generated_names_are_judged_alike(name: str) -> None:
    agree({**BASE, "database_name": name})


# Tag characters, characters around them that are trimmed, and some that are neither.
TAG_ALPHABET = "a @-\t\n\r\x0b\xa0$\u3000"


@pytest.mark.parametrize(("field", "limit"), [("owner", OWNER_MAX_LENGTH), ("purpose", PURPOSE_MAX_LENGTH)])
def test_tag_values_are_judged_alike_at_the_length_limit_and_around_it(field: str, limit: int) -> None:
    for length in range(4):
        for letters in itertools.product(TAG_ALPHABET, repeat=length):
            agree({**BASE, field: "".join(letters)})
    for core in ("o" * (limit - 1), "o" * limit, "o" * (limit + 1), "o " * (limit // 2)):
        for before, after in itertools.product(["", " ", "\t\n", "\xa0", "\x0b"], repeat=2):
            agree({**BASE, field: before + core + after})


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.sampled_from(["owner", "purpose"]), st.text(alphabet=TAG_ALPHABET + "xyz", max_size=300))
def test_generated_tag_values_are_judged_alike(field: str, value: str) -> None:
    agree({**BASE, field: value})


def _branch(schema: dict[str, Any], field: str) -> dict[str, Any]:
    prop = schema["properties"][field]
    return next(b for b in prop.get("anyOf", [prop]) if b != {"type": "null"})


@pytest.mark.parametrize(
    ("field", "outside"),
    [
        ("instance_class", ["db.x2.huge", "DB.T3.MICRO", ""]),
        ("allocated_storage", [0, 7, 1000]),
        ("max_capacity", [0.5, 3, 16]),
    ],
)
def test_the_resize_enums_are_the_values_some_environment_allows(field: str, outside: list[Any]) -> None:
    enum = _branch(ResizeRequest.model_json_schema(), field)["enum"]

    # From nothing, any size the policy allows is a change (and storage only grows).
    def smallest(policy: EnvironmentPolicy, engine: Engine) -> Sizing:
        if engine.family is EngineFamily.INSTANCE:
            return Sizing("db.none", 0)
        if policy.aurora.serverless:
            return Sizing(policy.aurora.instance_class, max_capacity=0)
        return Sizing("db.none")

    def allowed_somewhere(value: Any) -> bool:
        for policy in environment_policies().values():
            for engine in Engine:
                try:
                    resized(
                        policy, engine, smallest(policy, engine), ResizeRequest.model_validate({field: value})
                    )
                except ValidationFailed:
                    continue
                return True
        return False

    assert {value for value in [*enum, *outside] if allowed_somewhere(value)} == set(enum)


def test_the_decommission_confirmation_is_documented_as_a_database_name() -> None:
    confirm = _branch(DecommissionRequest.model_json_schema(), "confirm")
    name = _branch(SCHEMA, "database_name")

    assert {k: confirm[k] for k in ("pattern", "maxLength", "not")} == {
        k: name[k] for k in ("pattern", "maxLength", "not")
    }
