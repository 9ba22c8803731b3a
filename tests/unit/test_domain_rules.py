from datetime import UTC, datetime

import pytest

from backend.domain import (
    Engine,
    EngineFamily,
    Environment,
    NotAllowed,
    RequestRecord,
    RequestStatus,
    ResizeRequest,
    Sizing,
    Source,
    ValidationFailed,
    can_transition,
    check_prod_access,
    environment_policies,
    may_see,
    parse_as,
    parse_request,
    policy_for,
)
from backend.domain.changes import resized
from backend.domain.naming import rds_identifier
from backend.domain.reserved import RESERVED_BY_ENGINE

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
        environment=Environment("prod"),
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
    assert policy_for(Environment("dev")).instance_class == "db.t3.micro"
    assert policy_for(Environment("prod")).instance_class == "db.t3.medium"
    assert policy_for(Environment("prod")).multi_az
    assert policy_for(Environment("prod")).deletion_protection
    assert not policy_for(Environment("dev")).deletion_protection


# --- Aurora -------------------------------------------------------------------------------------

AURORA_IDENTIFIER_MAX = 60  # modules/aurora: instances are <identifier>-<n>, at most 63


def test_longest_name_gives_a_valid_aurora_cluster_identifier() -> None:
    assert len(rds_identifier("a" * 50, "prod")) <= AURORA_IDENTIFIER_MAX


def test_aurora_engines_reserve_the_words_of_the_engine_they_speak() -> None:
    assert RESERVED_BY_ENGINE[Engine.AURORA_MYSQL] == RESERVED_BY_ENGINE[Engine.MYSQL]
    assert RESERVED_BY_ENGINE[Engine.AURORA_POSTGRESQL] == RESERVED_BY_ENGINE[Engine.POSTGRES]
    assert set(RESERVED_BY_ENGINE) == set(Engine)
    assert {"accessible", "mysql"} <= RESERVED_BY_ENGINE[Engine.AURORA_MYSQL]
    assert {"variadic", "template0"} <= RESERVED_BY_ENGINE[Engine.AURORA_POSTGRESQL]


def test_aurora_policy_is_what_each_environment_gives() -> None:
    dev, prod = policy_for(Environment("dev")).aurora, policy_for(Environment("prod")).aurora
    # dev: Serverless v2, one db.serverless instance, a low minimum, a ceiling from a list.
    assert dev.serverless
    assert dev.instance_count == 1
    assert dev.min_capacity is not None
    assert dev.min_capacity <= 1
    assert dev.max_capacity in dev.max_capacities
    assert all(dev.min_capacity < ceiling for ceiling in dev.max_capacities)
    assert dev.instance_classes == ()
    # prod: a writer and a reader of a provisioned class, in AWS Backup.
    assert not prod.serverless
    assert prod.instance_count == 2
    assert prod.instance_class in prod.instance_classes
    assert (prod.min_capacity, prod.max_capacity, prod.max_capacities) == (None, None, ())
    assert prod.aws_backup
    assert not dev.aws_backup
    assert policy_for(Environment("prod")).performance_insights_enabled


@pytest.mark.parametrize("environment", list(environment_policies()), ids=str)
@pytest.mark.parametrize("engine", list(Engine), ids=str)
def test_a_new_database_gets_its_kinds_sizing(engine: Engine, environment: Environment) -> None:
    policy = policy_for(environment)
    sizing = policy.new_sizing(engine)
    choices = policy.resize_choices(engine)
    if engine.family is EngineFamily.INSTANCE:
        assert sizing == Sizing(policy.instance_class, allocated_storage=policy.allocated_storage)
    else:
        assert sizing.allocated_storage is None  # Aurora storage grows by itself
        assert sizing.instance_class == policy.aurora.instance_class
        assert sizing.max_capacity == policy.aurora.max_capacity
    # What a resize may choose always includes what a create gets.
    for field, allowed in choices.items():
        assert getattr(sizing, field) in allowed, field


DEV_CLUSTER = Sizing("db.serverless", max_capacity=2)
PROD_CLUSTER = Sizing("db.r6g.large")


def _resize(engine: Engine, environment: Environment, current: Sizing, **wanted: object) -> Sizing:
    return resized(policy_for(environment), engine, current, parse_as(ResizeRequest, wanted))


def _refusal(engine: Engine, environment: Environment, current: Sizing, **wanted: object) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as raised:
        _resize(engine, environment, current, **wanted)
    return {error.field: error.message for error in raised.value.errors}


def test_aurora_dev_resizes_its_capacity_maximum_up_and_down() -> None:
    bigger = _resize(Engine.AURORA_MYSQL, Environment("dev"), DEV_CLUSTER, max_capacity=8)
    assert bigger == Sizing("db.serverless", max_capacity=8)
    assert _resize(Engine.AURORA_POSTGRESQL, Environment("dev"), bigger, max_capacity=4).max_capacity == 4


def test_aurora_prod_resizes_the_class_of_its_instances() -> None:
    assert _resize(
        Engine.AURORA_POSTGRESQL, Environment("prod"), PROD_CLUSTER, instance_class="db.r6g.xlarge"
    ) == (Sizing("db.r6g.xlarge"))


def test_aurora_refuses_what_does_not_apply_to_it_saying_why() -> None:
    storage = _refusal(Engine.AURORA_MYSQL, Environment("prod"), PROD_CLUSTER, allocated_storage=100)
    assert storage == {
        "allocated_storage": "allocated_storage does not apply to an aurora-mysql database here: Aurora "
        "storage grows by itself (what can change: instance_class)"
    }
    dev = _refusal(Engine.AURORA_POSTGRESQL, Environment("dev"), DEV_CLUSTER, instance_class="db.r6g.large")
    assert "runs on db.serverless" in dev["instance_class"]
    assert "what can change: max_capacity" in dev["instance_class"]
    prod = _refusal(Engine.AURORA_POSTGRESQL, Environment("prod"), PROD_CLUSTER, max_capacity=4)
    assert "only Aurora Serverless v2 databases" in prod["max_capacity"]
    instance = _refusal(Engine.MYSQL, Environment("dev"), Sizing("db.t3.micro", 20), max_capacity=4)
    assert "what can change: instance_class, allocated_storage" in instance["max_capacity"]


def test_aurora_resize_stays_within_the_policy() -> None:
    outside = _refusal(Engine.AURORA_MYSQL, Environment("dev"), DEV_CLUSTER, max_capacity=3)
    assert outside == {"max_capacity": "max_capacity must be one of 2, 4, 8 (ACU) in this environment"}
    assert (
        "must be one of db.r6g.large"
        in _refusal(Engine.AURORA_MYSQL, Environment("prod"), PROD_CLUSTER, instance_class="db.t3.micro")[
            "instance_class"
        ]
    )
    same = _refusal(Engine.AURORA_MYSQL, Environment("dev"), DEV_CLUSTER, max_capacity=2.0)
    assert same == {"body": "nothing to change: it is already db.serverless up to 2 ACU"}
    assert _refusal(Engine.AURORA_MYSQL, Environment("dev"), DEV_CLUSTER, max_capacity="4") == {
        "max_capacity": "max_capacity must be a number"
    }


@pytest.mark.parametrize("environment", list(environment_policies()), ids=str)
def test_every_storage_size_leaves_autoscaling_room_to_grow(environment: Environment) -> None:
    """modules/rds refuses max_allocated_storage <= allocated_storage, so the largest size a resize
    offers must stay below the ceiling (the day-2 plans found 100 GiB = 100 GiB in dev)."""
    policy = policy_for(environment)
    assert all(size < policy.max_allocated_storage for size in policy.storage_sizes)
    assert policy.allocated_storage in policy.storage_sizes
