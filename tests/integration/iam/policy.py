"""The IAM policies the deployment gives each principal, resolved against moto's account and region.

- ``function_policies``: a Lambda function's role as the SAM transform writes it (samtranslator
  expands policy templates such as ``SNSPublishMessagePolicy`` into statements), every intrinsic
  (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::If`` on the template's conditions...) resolved.
- ``ci_role_policies``: a role of ``bootstrap/ci-roles.yaml`` (its inline and managed policies and
  its permissions boundary), resolved the same way.
- ``evaluate``: IAM's decision for one action on one resource under a set of policies (explicit
  deny wins, an allow must match action, resource and every condition; a permissions boundary must
  allow too), with the grants (statement, action pattern, resource pattern) that allowed it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from cfnlint.decode import cfn_yaml
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

REPO_ROOT = Path(__file__).resolve().parents[3]
SAM_TEMPLATE = REPO_ROOT / "sam" / "template.yaml"
BOOTSTRAP = REPO_ROOT / "bootstrap" / "ci-roles.yaml"
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
PARTITION = "aws"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": PARTITION,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "rds-provisioner",
}


class _NoValue:
    pass


NO_VALUE = _NoValue()


@dataclass
class Stack:
    """A template's parameters, conditions and the physical ids of its resources."""

    template: Mapping[str, Any]
    parameters: dict[str, Any]
    # Ref of a resource, and its attributes ("Arn", "TopicName", ...), as deployed.
    refs: dict[str, Any] = field(default_factory=dict)
    attributes: dict[tuple[str, str], Any] = field(default_factory=dict)

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [value for value in (self.resolve(item) for item in node) if value is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self._ref(value)
            if key == "Fn::GetAtt":
                resource, attribute = value.split(".", 1) if isinstance(value, str) else value
                return self.attributes[(resource, self.resolve(attribute))]
            if key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else value
                return self._sub(text, {name: self.resolve(v) for name, v in variables.items()})
            if key == "Fn::If":
                name, yes, no = value
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                left, right = self.resolve(value)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(value)[0]
            if key == "Fn::And":
                return all(self.resolve(value))
            if key == "Fn::Or":
                return any(self.resolve(value))
            if key == "Condition":
                return self.condition(value)
            if key == "Fn::Join":
                separator, items = value
                return separator.join(str(item) for item in self.resolve(items))
            if key == "Fn::Split":
                separator, text = value
                return str(self.resolve(text)).split(separator)
            if key == "Fn::Select":
                index, items = value
                return self.resolve(items)[int(self.resolve(index))]
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in node.items()) if v is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.refs[name]

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] not in self.parameters:
                resource, attribute = name.split(".", 1)
                return str(self.attributes[(resource, attribute)])
            return str(self._ref(name))

        # ${!Literal} is CloudFormation's escape for an IAM policy variable such as ${aws:...}.
        return re.sub(r"\$\{([A-Za-z0-9:._]+)\}", value, text).replace("${!", "${")


def parameter_defaults(template: Mapping[str, Any], **given: Any) -> dict[str, Any]:
    values = {name: spec.get("Default", "") for name, spec in template.get("Parameters", {}).items()}
    values.update(given)
    return values


# --- the SAM template ----------------------------------------------------------------------------
def translated_sam_template(**parameters: str) -> dict[str, Any]:
    """sam/template.yaml after the SAM transform, offline (CodeUri as sam deploy rewrites it)."""
    document: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(SAM_TEMPLATE))))
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/rds-provisioner.zip"
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=REGION))
    values = {"GitHubRepository": "acme/infrastructure", **parameters}
    result: dict[str, Any] = translator.translate(document, values, get_managed_policy_map=dict)
    return result


@dataclass(frozen=True)
class PolicySet:
    """What one principal holds: named identity policies, AWS managed policy ARNs, a boundary."""

    documents: Mapping[str, Mapping[str, Any]]
    managed_arns: tuple[str, ...] = ()
    boundary: Mapping[str, Any] | None = None
    # The role's tags: each is an ``aws:PrincipalTag/<key>`` of its sessions.
    tags: Mapping[str, str] = field(default_factory=dict)

    def context(self, request: Mapping[str, str] | None = None) -> tuple[tuple[str, str], ...]:
        """A request context of this principal's sessions: its tags, and the request's own keys."""
        values = {f"aws:PrincipalTag/{key}": value for key, value in self.tags.items()}
        values.update(request or {})
        return tuple(values.items())


def function_policies(stack: Stack, function: str) -> PolicySet:
    """The execution role SAM gives ``function``, resolved in ``stack``."""
    role = stack.template["Resources"][f"{function}Role"]["Properties"]
    # An entry may itself be an Fn::If (the worker's GitHub token or App key secret).
    documents = {
        policy["PolicyName"]: policy["PolicyDocument"] for policy in stack.resolve(role.get("Policies", []))
    }
    managed = tuple(stack.resolve(arn) for arn in role.get("ManagedPolicyArns", []))
    boundary = role.get("PermissionsBoundary")
    assert boundary is None, "a function role with a boundary: resolve it here"
    return PolicySet(documents, managed)


# --- the bootstrap stack -------------------------------------------------------------------------
def bootstrap_template() -> dict[str, Any]:
    loaded: dict[str, Any] = cfn_yaml.load(str(BOOTSTRAP))
    return loaded


def ci_role_policies(stack: Stack, role: str) -> PolicySet:
    """A role of the bootstrap stack: inline policies, its customer managed policies, boundary."""
    resources = stack.template["Resources"]
    properties = resources[role]["Properties"]
    documents: dict[str, Mapping[str, Any]] = {
        policy["PolicyName"]: policy["PolicyDocument"]
        for policy in stack.resolve(properties.get("Policies", []))
    }
    aws_managed: list[str] = []
    for arn in properties.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and "Ref" in arn and arn["Ref"] in resources:
            managed = resources[arn["Ref"]]["Properties"]
            documents[stack.resolve(managed["ManagedPolicyName"])] = stack.resolve(managed["PolicyDocument"])
        else:
            aws_managed.append(stack.resolve(arn))
    boundary = None
    if "PermissionsBoundary" in properties:
        reference = properties["PermissionsBoundary"]
        assert isinstance(reference, dict), reference
        assert "Ref" in reference, reference
        boundary = stack.resolve(resources[reference["Ref"]]["Properties"]["PolicyDocument"])
    tags = {tag["Key"]: stack.resolve(tag["Value"]) for tag in properties.get("Tags", [])}
    return PolicySet(documents, tuple(aws_managed), boundary, tags)


# --- evaluation ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grant:
    """One action pattern on one resource pattern of one Allow statement."""

    policy: str
    statement: str
    action: str
    resource: str

    def __str__(self) -> str:
        return f"{self.action} on {self.resource} ({self.policy}/{self.statement})"


@dataclass(frozen=True)
class Authorization:
    """One IAM authorization a call needs: an action on a resource, with its request context."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.action} on {self.resource}"


def _glob(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=0 if case_sensitive else re.IGNORECASE) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda pattern, value: pattern == value,
    "StringLike": lambda pattern, value: _glob(pattern, value, case_sensitive=True),
    "ArnEquals": lambda pattern, value: pattern == value,
    "ArnLike": lambda pattern, value: _glob(pattern, value, case_sensitive=True),
    "Bool": lambda pattern, value: str(pattern).lower() == value.lower(),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "ArnNotLike": "ArnLike"}


def _substitute(text: str, context: Mapping[str, str]) -> str:
    """IAM policy variables (``${aws:PrincipalTag/Environment}``) from the request context."""
    return re.sub(r"\$\{([^}]+)\}", lambda match: context.get(match.group(1), "\x00unset"), text)


def _conditions_hold(conditions: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    for operator, keys in conditions.items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        negated = base in _NEGATED
        test = _OPERATORS.get(_NEGATED.get(base, base))
        if test is None:
            raise NotImplementedError(f"condition operator {operator} is not modelled by the IAM tests")
        for key, patterns in keys.items():
            value = context.get(key)
            if value is None:
                if if_exists or negated:
                    continue
                return False
            matched = any(test(_substitute(str(pattern), context), value) for pattern in _as_list(patterns))
            if matched == negated:
                return False
    return True


def _statements(document: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [
        (str(statement.get("Sid") or index), statement)
        for index, statement in enumerate(_as_list(document["Statement"]))
    ]


def _statement_matches(statement: Mapping[str, Any], wanted: Authorization) -> bool:
    context = dict(wanted.context)

    def resource_matches(pattern: str) -> bool:
        return _glob(_substitute(pattern, context), wanted.resource, case_sensitive=True)

    if "NotAction" in statement:
        if any(_glob(a, wanted.action, case_sensitive=False) for a in _as_list(statement["NotAction"])):
            return False
    elif not any(_glob(a, wanted.action, case_sensitive=False) for a in _as_list(statement["Action"])):
        return False
    if "NotResource" in statement:
        if any(resource_matches(r) for r in _as_list(statement["NotResource"])):
            return False
    elif not any(resource_matches(r) for r in _as_list(statement["Resource"])):
        return False
    return _conditions_hold(statement.get("Condition", {}), context)


def grants_of(documents: Mapping[str, Mapping[str, Any]]) -> set[Grant]:
    """Every (action, resource) pair each Allow statement grants."""
    found: set[Grant] = set()
    for policy, document in documents.items():
        for sid, statement in _statements(document):
            if statement["Effect"] != "Allow":
                continue
            for action in _as_list(statement.get("Action", "NotAction")):
                for resource in _as_list(statement.get("Resource", "NotResource")):
                    found.add(Grant(policy, sid, action, resource))
    return found


def evaluate(policies: PolicySet, wanted: Authorization) -> tuple[bool, set[Grant]]:
    """Allowed or not, and the grants that allowed it."""
    used: set[Grant] = set()
    for policy, document in policies.documents.items():
        for sid, statement in _statements(document):
            if not _statement_matches(statement, wanted):
                continue
            if statement["Effect"] == "Deny":
                return False, set()
            for action in _as_list(statement.get("Action", [])):
                for resource in _as_list(statement.get("Resource", [])):
                    single = {**statement, "Action": action, "Resource": resource}
                    if _statement_matches(single, wanted):
                        used.add(Grant(policy, sid, action, resource))
    if not used:
        return False, set()
    if policies.boundary is not None:
        boundary_allows = False
        for _sid, statement in _statements(policies.boundary):
            if _statement_matches(statement, wanted):
                if statement["Effect"] == "Deny":
                    return False, set()
                boundary_allows = True
        if not boundary_allows:
            return False, set()
    return True, used


def describe(grants: Iterable[Grant]) -> list[str]:
    return sorted(str(grant) for grant in grants)
