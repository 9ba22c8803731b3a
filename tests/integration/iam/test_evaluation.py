"""The IAM evaluation the least-privilege tests rely on: it must refuse what IAM refuses."""

from __future__ import annotations

from collections.abc import Mapping

from tests.integration.iam.enforcement import authorizations
from tests.integration.iam.policy import Authorization, PolicySet, evaluate

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/requests"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-token"


def _policy(*statements: dict[str, object], boundary: Mapping[str, object] | None = None) -> PolicySet:
    return PolicySet({"p": {"Version": "2012-10-17", "Statement": list(statements)}}, boundary=boundary)


def _allow(action: str | list[str], resource: str | list[str], **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_a_transaction_needs_each_items_own_action():
    wanted = authorizations(
        "dynamodb:TransactWriteItems",
        {"TransactItems": [{"Put": {"TableName": "requests"}}, {"Delete": {"TableName": "requests"}}]},
    )
    assert [(w.action, w.resource) for w in wanted] == [
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:DeleteItem", TABLE),
    ]
    only_put = _policy(_allow("dynamodb:PutItem", TABLE))
    assert [evaluate(only_put, w)[0] for w in wanted] == [True, False]


def test_an_index_query_needs_the_index():
    (wanted,) = authorizations("dynamodb:Query", {"TableName": "requests", "IndexName": "databases"})
    assert wanted.resource == f"{TABLE}/index/databases"
    assert not evaluate(_policy(_allow("dynamodb:Query", TABLE)), wanted)[0]
    assert evaluate(_policy(_allow("dynamodb:Query", f"{TABLE}/index/*")), wanted)[0]


def test_a_question_mark_is_one_character():
    policy = _policy(_allow("secretsmanager:GetSecretValue", f"{SECRET}-??????"))
    assert evaluate(policy, Authorization("secretsmanager:GetSecretValue", f"{SECRET}-AbCdEf"))[0]
    assert not evaluate(policy, Authorization("secretsmanager:GetSecretValue", f"{SECRET}-AbCdE"))[0]
    assert not evaluate(policy, Authorization("secretsmanager:GetSecretValue", f"{SECRET}-other-AbCdEf"))[0]


def test_deny_wins_and_a_boundary_must_allow_too():
    wanted = Authorization("dynamodb:GetItem", TABLE)
    assert not evaluate(
        _policy(_allow("dynamodb:*", "*"), {"Effect": "Deny", "Action": "dynamodb:GetItem", "Resource": "*"}),
        wanted,
    )[0]
    boundary = {"Statement": [_allow("sns:*", "*")]}
    assert not evaluate(_policy(_allow("dynamodb:GetItem", TABLE), boundary=boundary), wanted)[0]


def test_conditions_are_checked_against_the_request():
    policy = _policy(
        _allow("iam:PassRole", "*", Condition={"StringEquals": {"iam:PassedToService": "rds.amazonaws.com"}})
    )
    to_rds = Authorization("iam:PassRole", "*", (("iam:PassedToService", "rds.amazonaws.com"),))
    to_ec2 = Authorization("iam:PassRole", "*", (("iam:PassedToService", "ec2.amazonaws.com"),))
    assert evaluate(policy, to_rds)[0]
    assert not evaluate(policy, to_ec2)[0]
    assert not evaluate(policy, Authorization("iam:PassRole", "*"))[0]
