"""bootstrap/ci-roles.yaml evaluated: what each CI role may do to which environment.

The apply roles share one tag-conditioned policy; these tests evaluate it (with IAM's rules, the
role's own Environment tag as ``aws:PrincipalTag/Environment``, and the permissions boundary) for
the calls Terraform makes on resources tagged by the provider's default tags.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from tests.integration.iam.deployment import BOOTSTRAP_PARAMETERS, NAME_PREFIX
from tests.integration.iam.policy import (
    ACCOUNT,
    REGION,
    Authorization,
    PolicySet,
    Stack,
    bootstrap_template,
    ci_role_policies,
    evaluate,
    parameter_defaults,
)

DB = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders-dev"
STATE = f"arn:aws:s3:::{NAME_PREFIX}-tfstate-{ACCOUNT}-{REGION}"
MONITORING_ROLE = f"arn:aws:iam::{ACCOUNT}:role/payments-prod-mon-2024"


@pytest.fixture(scope="module")
def stack() -> Stack:
    template = bootstrap_template()
    return Stack(
        template,
        parameter_defaults(template, **BOOTSTRAP_PARAMETERS),
        refs={"StateBucket": STATE.rsplit(":", 1)[-1]},
        attributes={("StateBucket", "Arn"): STATE, ("DeployExecutionRole", "Arn"): "execution-role"},
    )


def _tags(environment: str, *, kind: str) -> dict[str, str]:
    return {f"aws:{kind}/ManagedBy": "rds-provisioner", f"aws:{kind}/Environment": environment}


def allowed(role: PolicySet, action: str, resource: str, context: Mapping[str, str] | None = None) -> bool:
    return evaluate(role, Authorization(action, resource, role.context(context)))[0]


@pytest.mark.parametrize(("role", "environment"), [("ApplyDevRole", "dev"), ("ApplyProdRole", "prod")])
def test_an_apply_role_changes_only_its_own_environment(stack: Stack, role: str, environment: str):
    apply = ci_role_policies(stack, role)
    other = "prod" if environment == "dev" else "dev"
    for action in ("rds:ModifyDBInstance", "rds:DeleteDBInstance", "ec2:AuthorizeSecurityGroupIngress"):
        assert allowed(apply, action, DB, _tags(environment, kind="ResourceTag")), action
        assert not allowed(apply, action, DB, _tags(other, kind="ResourceTag")), action
        assert not allowed(apply, action, DB), action
    assert allowed(apply, "rds:CreateDBInstance", DB, _tags(environment, kind="RequestTag"))
    assert not allowed(apply, "rds:CreateDBInstance", DB, _tags(other, kind="RequestTag"))
    assert not allowed(apply, "rds:CreateDBInstance", DB)
    assert allowed(apply, "s3:PutObject", f"{STATE}/rds-provisioner/{environment}/terraform.tfstate")
    assert not allowed(apply, "s3:PutObject", f"{STATE}/rds-provisioner/{other}/terraform.tfstate")
    alias = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/{NAME_PREFIX}-{environment}"
    assert allowed(apply, "kms:CreateAlias", alias)
    assert not allowed(apply, "kms:CreateAlias", alias.replace(environment, other))


def test_roles_are_handed_only_to_the_service_they_are_for(stack: Stack):
    prod = ci_role_policies(stack, "ApplyProdRole")
    tagged = dict(_tags("prod", kind="ResourceTag"))
    to = "iam:PassedToService"
    assert allowed(prod, "iam:PassRole", MONITORING_ROLE, {**tagged, to: "monitoring.rds.amazonaws.com"})
    assert not allowed(prod, "iam:PassRole", MONITORING_ROLE, {**tagged, to: "ec2.amazonaws.com"})
    assert not allowed(prod, "iam:PassRole", MONITORING_ROLE, tagged)
    backup = f"arn:aws:iam::{ACCOUNT}:role/{NAME_PREFIX}-prod-backup-2024"
    assert allowed(prod, "iam:PassRole", backup, {to: "backup.amazonaws.com"})
    assert not allowed(prod, "iam:PassRole", backup, {to: "lambda.amazonaws.com"})
    deploy = ci_role_policies(stack, "DeployRole")
    assert allowed(deploy, "iam:PassRole", "execution-role", {to: "cloudformation.amazonaws.com"})
    assert not allowed(deploy, "iam:PassRole", "execution-role", {to: "lambda.amazonaws.com"})


@pytest.mark.parametrize(
    "role",
    ["PlanRole", "ApplyDevRole", "ApplyProdRole", "RecordAppliedRole", "DeployRole", "DeployExecutionRole"],
)
def test_every_ci_role_is_capped_by_the_boundary(stack: Stack, role: str):
    policies = ci_role_policies(stack, role)
    assert policies.boundary is not None
    # Even a grant of everything stays under the boundary's ceiling.
    everything = PolicySet(
        {"all": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}},
        boundary=policies.boundary,
    )
    assert not allowed(everything, "iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/intruder")
    assert not allowed(everything, "iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/intruder")
    assert not allowed(
        everything, "iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/{NAME_PREFIX}-ci-apply-prod"
    )
    assert not allowed(
        everything, "iam:PassRole", MONITORING_ROLE, {"iam:PassedToService": "ec2.amazonaws.com"}
    )
    assert not allowed(everything, "s3:PutBucketPolicy", STATE)
    assert allowed(everything, "rds:DescribeDBInstances", DB)


def test_the_plan_role_writes_nothing_but_state_lock_files(stack: Stack):
    plan = ci_role_policies(stack, "PlanRole")
    assert allowed(plan, "s3:PutObject", f"{STATE}/rds-provisioner/prod/terraform.tfstate.tflock")
    assert not allowed(plan, "s3:PutObject", f"{STATE}/rds-provisioner/prod/terraform.tfstate")
    for action in ("rds:ModifyDBInstance", "rds:CreateDBInstance", "ec2:AuthorizeSecurityGroupIngress"):
        assert not allowed(
            plan, action, DB, _tags("dev", kind="ResourceTag") | _tags("dev", kind="RequestTag")
        )
