"""moto with IAM enforcement on, deciding each call the way IAM does for the principal making it.

moto's access-control mode (``moto.core.enable_iam_authentication``) checks every request's
signature, finds its principal (here an assumed role, as a Lambda function or a CircleCI job
holds) and asks ``IAMRequestBase.check_action_permitted`` for a decision. moto's own decision
knows actions only: it resolves no resource for DynamoDB, SNS or Secrets Manager, and takes a
DynamoDB transaction for one action (``dynamodb:TransactWriteItems``) where IAM authorizes each
item (``dynamodb:UpdateItem`` on its table...). ``Enforcer`` replaces that one decision: it
expands the request into the authorizations IAM makes for it (``authorizations``), evaluates each
against the role's policies as moto holds them (and its permissions boundary), refuses the call
with moto's own AccessDenied when one is not allowed, and records which grants were used.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from moto.core.exceptions import AccessDeniedError
from moto.iam.access_control import AssumedRoleAccessKey, IAMRequestBase
from moto.iam.models import iam_backends
from moto.secretsmanager.models import secretsmanager_backends

from tests.integration.iam.policy import ACCOUNT, PARTITION, REGION, Authorization, Grant, PolicySet, evaluate

# What each DynamoDB transaction item is authorized as (IAM has no Transact* actions).
_TRANSACT_WRITE = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def _params(data: Any, body: bytes | str | None) -> dict[str, Any]:
    raw = body.decode() if isinstance(body, bytes) else (body or "")
    if raw.strip().startswith("{"):
        loaded: dict[str, Any] = json.loads(raw)
        return loaded
    # Query protocol (SNS): moto parsed the form into lists.
    return {
        key: value[0] if isinstance(value, list) and len(value) == 1 else value for key, value in data.items()
    }


def _table(name: str) -> str:
    return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _secret(secret_id: str) -> str:
    secret = secretsmanager_backends[ACCOUNT][REGION].secrets.get(secret_id)
    return (
        secret.arn
        if secret is not None
        else f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret_id}"
    )


def authorizations(action: str, params: Mapping[str, Any]) -> list[Authorization]:
    """The IAM authorizations one API call needs (``action`` as ``service:Operation``)."""
    service, _, operation = action.partition(":")
    secure = (("aws:SecureTransport", "true"),)
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            return [
                Authorization(_TRANSACT_WRITE[kind], _table(item["TableName"]), secure)
                for entry in params["TransactItems"]
                for kind, item in entry.items()
            ]
        if operation == "TransactGetItems":
            return [
                Authorization("dynamodb:GetItem", _table(entry["Get"]["TableName"]), secure)
                for entry in params["TransactItems"]
            ]
        if operation in {"BatchGetItem", "BatchWriteItem"}:
            return [Authorization(action, _table(name), secure) for name in params["RequestItems"]]
        resource = _table(params["TableName"])
        if operation in {"Query", "Scan"} and params.get("IndexName"):
            resource += f"/index/{params['IndexName']}"
        return [Authorization(action, resource, secure)]
    if service == "sns":
        topic = params.get("TopicArn") or params.get("TargetArn") or "*"
        return [Authorization(action, topic, secure)]
    if service == "sqs":
        url = params.get("QueueUrl")
        name = urlsplit(url).path.rsplit("/", 1)[-1] if url else None
        resource = f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}" if name else "*"
        return [Authorization(action, resource, secure)]
    if service == "secretsmanager" and "SecretId" in params:
        return [Authorization(action, _secret(params["SecretId"]), secure)]
    return [Authorization(action, "*", secure)]


@dataclass
class Enforcer:
    """The decision for every call moto authenticates, and what each role used or was refused."""

    used: dict[str, set[Grant]] = field(default_factory=lambda: defaultdict(set))
    denied: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    calls: dict[str, list[Authorization]] = field(default_factory=lambda: defaultdict(list))
    # Role name -> the policies the template or bootstrap stack gives it (what the tests expect).
    held: dict[str, PolicySet] = field(default_factory=dict)

    def policies_of(self, role_name: str) -> PolicySet:
        """The role's policies as moto holds them: inline, attached, and its permissions boundary."""
        backend = iam_backends[ACCOUNT][PARTITION]
        documents: dict[str, Mapping[str, Any]] = {}
        for name in backend.list_role_policies(role_name):
            _, document = backend.get_role_policy(role_name, name)
            documents[name] = json.loads(document) if isinstance(document, str) else document
        attached, _ = backend.list_attached_role_policies(role_name)
        for policy in attached:
            documents[policy.name] = _default_document(policy)
        boundary = None
        boundary_arn = backend.get_role(role_name).permissions_boundary_arn
        if boundary_arn:
            boundary = _default_document(backend.get_policy(boundary_arn))
        return PolicySet(documents, boundary=boundary)

    def check(self, request: IAMRequestBase) -> None:
        """Replaces ``IAMRequestBase.check_action_permitted`` (moto's per-call decision)."""
        action = request._action
        if action == "sts:GetCallerIdentity":
            return
        key = request._access_key
        if not isinstance(key, AssumedRoleAccessKey):
            raise AccessDeniedError(user_arn=key.arn, action=action)
        role = key._owner_role_name
        policies = self.policies_of(role)
        for wanted in authorizations(action, _params(request._data, request._body)):
            self.calls[role].append(wanted)
            allowed, grants = evaluate(policies, wanted)
            if not allowed:
                self.denied[role].append(str(wanted))
                raise AccessDeniedError(user_arn=key.arn, action=f"{wanted.action} on {wanted.resource}")
            self.used[role] |= grants


def _default_document(policy: Any) -> Mapping[str, Any]:
    version = next(version for version in policy.versions if version.is_default)
    document = version.document
    loaded: Mapping[str, Any] = json.loads(document) if isinstance(document, str) else document
    return loaded


def install(enforcer: Enforcer, monkeypatch: Any) -> None:
    """Route moto's decision through ``enforcer`` for the rest of the test."""
    monkeypatch.setattr(
        IAMRequestBase, "check_action_permitted", lambda request, _resource: enforcer.check(request)
    )
