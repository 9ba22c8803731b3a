"""The naming contract: what a database may be called and the names derived from it."""

from __future__ import annotations

import re

from backend.domain.reserved import RESERVED_NAMES

DATABASE_NAME_MAX_LENGTH = 50
# The name rule as one regular expression, but for the length and the reserved words: a lowercase
# letter, then lowercase letters, digits and single underscores, never last. It means the same in
# Python and in ECMA-262 (the dialect of JSON Schema's "pattern"), so the OpenAPI document states it.
DATABASE_NAME_PATTERN = r"^[a-z](?:_?[a-z0-9])*$"
# An environment's name (a directory, a branch, a suffix of RDS identifiers): a lowercase letter,
# then at most 15 lowercase letters and digits.
ENVIRONMENT_NAME_PATTERN = r"^[a-z][a-z0-9]{0,15}$"
_ALLOWED_CHARS = re.compile(r"[a-z0-9_]*")
_VALID_NAME = re.compile(DATABASE_NAME_PATTERN)
# The line every pull request body of ours ends with: which request the PR belongs to. Webhook
# events and publishers read it, so a PR is never mistaken for another request's PR on a branch
# of the same name (a database asked for again after its first PR was closed).
_PULL_REQUEST_MARKER = "<!-- rds-provisioner request_id={} -->"
_MARKER_PATTERN = re.compile(r"<!-- rds-provisioner request_id=([A-Za-z0-9-]{1,64}) -->")


def database_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid database name, as a sentence a person can act on; None if valid.

    The checks run from the most basic to the most specific so the first message names the
    thing to fix first.
    """
    if name == "":
        return "database_name must not be empty"
    if len(name) > DATABASE_NAME_MAX_LENGTH:
        return f"database_name must be at most {DATABASE_NAME_MAX_LENGTH} characters (got {len(name)})"
    if not ("a" <= name[0] <= "z"):
        return "database_name must start with a lowercase letter (a-z)"
    bad = sorted({ch for ch in name if not _ALLOWED_CHARS.fullmatch(ch)})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad[:5])
        return (
            "database_name may contain only lowercase letters (a-z), digits and single underscores; "
            f"not {shown}"
        )
    if "__" in name:
        return "database_name must not contain two underscores in a row"
    if name.endswith("_"):
        return "database_name must not end with an underscore"
    if name in RESERVED_NAMES:
        return f"database_name '{name}' is a reserved word in MySQL or PostgreSQL; choose another name"
    if not _VALID_NAME.fullmatch(name):  # pragma: no cover - the checks above are exhaustive
        return "database_name is not valid"
    return None


def rds_identifier(database_name: str, environment: str) -> str:
    """The RDS DB instance identifier: ``orders_db`` in prod is ``orders-db-prod``."""
    return f"{database_name.replace('_', '-')}-{environment}"


def branch_name(environment: str, database_name: str, *, step: str = "create", request_id: str = "") -> str:
    """A step's branch: ``rds/<env>/<name>`` for the create, ``rds-<step>/<env>/<name>/<id8>`` for
    the changes after it (git cannot hold ``rds/dev/orders/...`` beside ``rds/dev/orders``)."""
    if step == "create":
        return f"rds/{environment}/{database_name}"
    return f"rds-{step}/{environment}/{database_name}/{request_id[:8]}"


def terraform_file_path(environment: str, database_name: str) -> str:
    return f"terraform/envs/{environment}/rds_{database_name}.tf"


def module_name(database_name: str) -> str:
    return f"rds_{database_name}"


def pull_request_marker(request_id: str) -> str:
    """The hidden line that ties a pull request body to ``request_id``."""
    return _PULL_REQUEST_MARKER.format(request_id)


def request_id_of_pull_request(body: str | None) -> str | None:
    """The request id a pull request body carries (the last marker wins); None if none."""
    found = _MARKER_PATTERN.findall(body or "")
    return found[-1] if found else None
