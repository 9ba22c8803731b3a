from datetime import UTC, datetime

import pytest

from backend.domain import (
    Engine,
    Environment,
    NotAllowed,
    RequestRecord,
    RequestStatus,
    Source,
    can_transition,
    check_prod_access,
    may_see,
    parse_request,
    policy_for,
)
from backend.domain.naming import rds_identifier

RDS_IDENTIFIER_MAX = 63


def _request(environment: str):
    return parse_request({"database_name": "orders", "database_engine": "mysql", "environment": environment})


def test_prod_guard_blocks_slack_users_off_the_allowlist() -> None:
    with pytest.raises(NotAllowed, match="prod"):
        check_prod_access(_request("prod"), "U2", Source.SLACK, ("U1",))


@pytest.mark.parametrize(
    ("environment", "user", "source", "allowlist"),
    [
        ("prod", "U1", Source.SLACK, ("U1",)),
        ("dev", "U2", Source.SLACK, ("U1",)),
        ("prod", "U2", Source.SLACK, ()),
        ("prod", "key-1", Source.API, ("U1",)),
    ],
    ids=["on-list", "dev-is-open", "guard-off", "api-uses-keys"],
)
def test_prod_guard_lets_the_rest_through(environment, user, source, allowlist) -> None:
    check_prod_access(_request(environment), user, source, allowlist)


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [("U0REQUESTER", True), ("U0ADMIN", True), ("U0APPROVER", True), ("U0STRANGER", False)],
)
def test_a_request_shows_to_its_requester_platform_admins_and_approvers(viewer: str, sees: bool) -> None:
    now = datetime(2026, 11, 24, tzinfo=UTC)
    record = RequestRecord(
        request_id="r-1",
        status=RequestStatus.PR_OPENED,
        database_name="orders",
        database_engine=Engine.MYSQL,
        environment=Environment.PROD,
        requested_by="U0REQUESTER",
        source=Source.SLACK,
        created_at=now,
        updated_at=now,
    )
    assert may_see(record, viewer, platform_admins={"U0ADMIN"}, approvers={"U0APPROVER"}) is sees
    assert may_see(record, viewer) is (viewer == "U0REQUESTER")


def test_status_machine() -> None:
    assert can_transition(RequestStatus.ACCEPTED, RequestStatus.PR_OPENED)
    assert can_transition(RequestStatus.PR_OPENED, RequestStatus.PR_OPENED)
    assert can_transition(RequestStatus.PR_OPENED, RequestStatus.MERGED)
    assert can_transition(RequestStatus.MERGED, RequestStatus.APPLIED)
    assert not can_transition(RequestStatus.PR_OPENED, RequestStatus.ACCEPTED)
    assert not can_transition(RequestStatus.FAILED, RequestStatus.PR_OPENED)
    assert not can_transition(RequestStatus.ACCEPTED, RequestStatus.APPLIED)
    assert RequestStatus.REJECTED.is_final
    assert not RequestStatus.PR_OPENED.is_final


def test_longest_name_gives_a_valid_rds_identifier() -> None:
    identifier = rds_identifier("a" * 25 + "_" + "b" * 24, "prod")
    assert len(identifier) <= RDS_IDENTIFIER_MAX
    assert "--" not in identifier
    assert identifier[0].isalpha()
    assert not identifier.endswith("-")


def test_policy_matches_the_seed_readme() -> None:
    assert policy_for(Environment.DEV).instance_class == "db.t3.micro"
    assert policy_for(Environment.PROD).instance_class == "db.t3.medium"
    assert policy_for(Environment.PROD).multi_az
    assert policy_for(Environment.PROD).deletion_protection
    assert not policy_for(Environment.DEV).deletion_protection
