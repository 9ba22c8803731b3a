"""bootstrap/ci-roles.yaml: linted like the SAM template, and its trust policies evaluated.

The roles' trust policies are resolved with sample parameters and evaluated, with IAM's string
condition semantics, against the subjects CircleCI's V2 OIDC tokens carry: the plan role admits
any branch of the project, the apply role the main branch only, including against branch names
crafted to look like main inside the subject.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from tests.integration.deploy.conftest import REPO_ROOT, checkov_binary

BOOTSTRAP = REPO_ROOT / "bootstrap" / "ci-roles.yaml"
ORG = "c0ffee00-1111-4222-8333-444455556666"
PROJECT = "5eed0000-aaaa-4bbb-8ccc-ddddeeeeffff"
USER = "0ddba11a-0000-4000-8000-000000000001"
ORIGIN = "github.com/acme/infra"
PARAMETERS = {
    "CircleCIOrganizationId": ORG,
    "CircleCIProjectId": PROJECT,
    "VcsOrigin": ORIGIN,
    "MainBranch": "main",
    "ProviderArn": f"arn:aws:iam::111122223333:oidc-provider/oidc.circleci.com/org/{ORG}",
}
ISSUER = f"oidc.circleci.com/org/{ORG}"


def template() -> dict[str, Any]:
    loaded: dict[str, Any] = cfn_yaml.load(str(BOOTSTRAP))
    return loaded


def substitute(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{([A-Za-z0-9]+)\}", lambda match: values[match.group(1)], text)


def trust_policy(role: str) -> dict[str, Any]:
    document = template()["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]
    body, variables = document["Fn::Sub"]
    values = dict(PARAMETERS)
    values["Issuer"] = substitute(variables["Issuer"]["Fn::Sub"], values)
    policy: dict[str, Any] = json.loads(substitute(body, values))
    return policy


def _like(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _equals(pattern: str, value: str) -> bool:
    return pattern == value


def _not_like(pattern: str, value: str) -> bool:
    return not _like(pattern, value)


OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": _equals,
    "StringLike": _like,
    "StringNotLike": _not_like,
}


def may_assume(role: str, *, sub: str, aud: str = ORG) -> bool:
    """IAM's evaluation of the role's trust policy for a web identity token with these claims."""
    claims = {"sub": sub, "aud": aud}
    for statement in trust_policy(role)["Statement"]:
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"] == {"Federated": PARAMETERS["ProviderArn"]}
        matched = True
        for operator, conditions in statement["Condition"].items():
            for key, value in conditions.items():
                issuer, _, claim = key.rpartition(":")
                assert issuer == ISSUER, key
                patterns = value if isinstance(value, list) else [value]
                test = OPERATORS[operator]
                if operator == "StringNotLike":
                    matched &= all(test(pattern, claims[claim]) for pattern in patterns)
                else:
                    matched &= any(test(pattern, claims[claim]) for pattern in patterns)
        if matched:
            return True
    return False


def subject(ref: str, *, project: str = PROJECT, origin: str = ORIGIN) -> str:
    return f"org/{ORG}/project/{project}/user/{USER}/vcs-origin/{origin}/vcs-ref/{ref}"


MAIN = subject("refs/heads/main")
BRANCH = subject("refs/heads/rds/dev/orders")
# A branch named so that the subject ends like main's: the user wildcard could swallow the rest.
CRAFTED = subject(f"refs/heads/x/vcs-origin/{ORIGIN}/vcs-ref/refs/heads/main")
CRAFTED_USER = subject(f"refs/heads/x/user/{USER}/vcs-origin/{ORIGIN}/vcs-ref/refs/heads/main")
OTHER_PROJECT = subject("refs/heads/main", project="5eed0000-aaaa-4bbb-8ccc-000000000000")
OTHER_ORIGIN = subject("refs/heads/main", origin="github.com/acme/fork")
V1_TOKEN = f"org/{ORG}/project/{PROJECT}/user/{USER}"


@pytest.mark.parametrize(
    ("sub", "allowed"),
    [(MAIN, True), (BRANCH, True), (V1_TOKEN, True), (OTHER_PROJECT, False)],
    ids=["main", "branch", "v1-token", "other-project"],
)
def test_the_plan_role_admits_every_branch_of_the_project(sub: str, allowed: bool):
    assert may_assume("PlanRole", sub=sub) is allowed


@pytest.mark.parametrize(
    ("sub", "allowed"),
    [
        (MAIN, True),
        (BRANCH, False),
        (CRAFTED, False),
        (CRAFTED_USER, False),
        (OTHER_PROJECT, False),
        (OTHER_ORIGIN, False),
        (V1_TOKEN, False),
    ],
    ids=["main", "branch", "crafted-branch", "crafted-user", "other-project", "other-origin", "v1-token"],
)
@pytest.mark.parametrize("role", ["ApplyDevRole", "ApplyProdRole", "RecordAppliedRole", "DeployRole"])
def test_the_main_only_roles_admit_the_main_branch_only(role: str, sub: str, allowed: bool):
    assert may_assume(role, sub=sub) is allowed


@pytest.mark.parametrize(
    "role", ["PlanRole", "ApplyDevRole", "ApplyProdRole", "RecordAppliedRole", "DeployRole"]
)
def test_tokens_of_another_organization_are_refused(role: str):
    assert not may_assume(role, sub=MAIN, aud="another-org")


def _statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    properties = resource["Properties"]
    if "PolicyDocument" in properties:
        return list(properties["PolicyDocument"]["Statement"])
    return [s for policy in properties.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_the_plan_role_writes_nothing_but_state_lock_files():
    resources = template()["Resources"]
    plan = resources["PlanRole"]["Properties"]
    assert "Policies" not in plan
    assert plan["ManagedPolicyArns"] == [{"Ref": "ReadDatabasesPolicy"}]
    for statement in _statements(resources["ReadDatabasesPolicy"]):
        writes = [a for a in _actions(statement) if not re.match(r"[a-z0-9]+:(Describe|Get|List)", a)]
        if writes:
            assert set(writes) <= {"s3:PutObject", "s3:DeleteObject"}
            assert statement["Resource"]["Fn::Sub"].endswith("/terraform.tfstate.tflock")


def test_state_keys_match_the_backends():
    # The policies name the keys terraform/envs/*/backend.tf use.
    for backend in (REPO_ROOT / "terraform" / "envs").glob("*/backend.tf"):
        key = re.search(r'key\s*=\s*"([^"]+)"', backend.read_text()).group(1)  # type: ignore[union-attr]
        assert key.startswith("rds-provisioner/"), key
    text = BOOTSTRAP.read_text()
    assert "${StateBucket.Arn}/rds-provisioner/*" in text


def test_record_applied_has_its_own_role_and_the_apply_roles_no_request_rights():
    # What record-applied needs, exactly, is proven by running it (tests/integration/iam).
    resources = template()["Resources"]
    record = {a for s in _statements(resources["RecordAppliedRole"]) for a in _actions(s)}
    assert {action.split(":")[0] for action in record} == {"dynamodb", "sns", "secretsmanager"}
    assert not [a for a in record if "*" in a]
    for role in ("ApplyDatabasesPolicy", "DeployRole"):
        held = {a for s in _statements(resources[role]) for a in _actions(s)}
        assert not [a for a in held if a.startswith(("dynamodb:", "sns:", "secretsmanager:Get"))], role
        assert not [a for a in held if a.endswith(":*") or a == "*"], role


def test_cfn_lint_passes():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", str(BOOTSTRAP)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_checkov_finds_nothing_and_every_skip_has_a_reason(tmp_path: Path):
    result = subprocess.run(
        [
            checkov_binary(),
            *("--file", str(BOOTSTRAP), "--framework", "cloudformation"),
            *("--output", "json", "--skip-download", "--compact"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    report = json.loads(result.stdout)
    failed = [(check["check_id"], check["resource"]) for check in report["results"]["failed_checks"]]
    assert report["summary"]["failed"] == 0, failed
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] >= 20, "checkov scanned too little of the template"
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason) > 40, f"{check['check_id']} on {check['resource']} is skipped without a reason"


def test_the_deploy_page_names_every_role_and_where_it_goes():
    page = (REPO_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    resources = template()["Resources"]
    roles = [name for name, resource in resources.items() if resource["Type"] == "AWS::IAM::Role"]
    for role in roles:
        assert f"{role}Arn" in page, f"docs/deploy.md does not say who assumes {role}"
    for output in template()["Outputs"]:
        assert output in page or output in {"OidcProviderArn", "StateBucketName"}, output
