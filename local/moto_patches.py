"""Two gaps of moto that stop Terraform's AWS provider from applying our configuration to it.

``apply()`` patches moto in this process (the local stack's moto server runs in it, and tests
call it before ``mock_aws``); it is idempotent. Each gap is one upstream moto issue to report
(docs/local-ci.md says what to report); drop the patch once moto fixes it.

- Every RDS instance gets the same ``DbiResourceId`` (a constant in moto's ``DBInstance``). The
  provider finds an instance by it after creating it, so with two instances it reads the wrong
  one and waits until its timeout. Here each instance gets its own, in AWS's format.
- The AWS managed policies are loaded only with ``MOTO_IAM_LOAD_MANAGED_POLICIES=true`` (all
  1,500 of them, for every account backend), so attaching ``AWSBackupServiceRolePolicyForBackup``
  (terraform/modules/environment) or ``AmazonRDSEnhancedMonitoringRole`` (prod's monitoring
  role) fails with NoSuchEntity. Here the few managed policies our
  Terraform attaches are always there, taken from moto's own copy of AWS's policy documents.

And four that make every plan after an apply show changes nobody made (false drift):

- An RDS instance has no ``NetworkType`` (AWS answers ``IPV4`` unless told otherwise).
- An RDS instance forgets its Performance Insights settings (enabled, KMS key, retention), which
  prod's instances turn on.
- ``DescribeDBParameters`` gives the parameters a group was modified with no ``Source``; the
  provider keeps only those whose source is ``user``, so it sees none and plans to add them again.
- AWS Backup's ``ListTags`` takes the resource ARN from the wrong part of ``/tags/<arn>`` (the
  part before it, when there is no trailing slash), so a backup vault seems to have no tags.
"""

from __future__ import annotations

import json
import secrets
import string
import threading
from functools import cache, wraps
from typing import Any

# The managed policies terraform/ attaches (aws_iam_role_policy_attachment).
MANAGED_POLICIES_USED = ("AWSBackupServiceRolePolicyForBackup", "AmazonRDSEnhancedMonitoringRole")

_DBI_ALPHABET = string.ascii_uppercase + string.digits
# What AWS keeps Performance Insights data for when not told (the free tier).
PERFORMANCE_INSIGHTS_DEFAULT_DAYS = 7
_lock = threading.Lock()
_applied: list[bool] = []


def new_dbi_resource_id() -> str:
    """A resource id in AWS's format: ``db-`` and 26 upper-case letters and digits."""
    return "db-" + "".join(secrets.choice(_DBI_ALPHABET) for _ in range(26))


@cache
def _managed_policy_data() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    every: dict[str, Any] = json.loads(aws_managed_policies_data)
    return {name: every[name] for name in MANAGED_POLICIES_USED}


def apply() -> None:
    """Patch moto's RDS and IAM models in this process (once; later calls do nothing)."""
    with _lock:
        if _applied:
            return
        _patch_db_instance()
        _patch_managed_policies()
        _patch_parameter_source()
        _patch_backup_list_tags()
        _applied.append(True)


def _patch_db_instance() -> None:
    from moto.rds.models import DBInstance

    original = DBInstance.__init__

    @wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.dbi_resource_id = new_dbi_resource_id()
        self.network_type = kwargs.get("network_type") or "IPV4"
        enabled = bool(kwargs.get("enable_performance_insights"))
        self.performance_insights_enabled = enabled
        self.performance_insights_kms_key_id = (
            kwargs.get("performance_insights_kms_key_id") if enabled else None
        )
        retention = kwargs.get("performance_insights_retention_period") or PERFORMANCE_INSIGHTS_DEFAULT_DAYS
        self.performance_insights_retention_period = retention if enabled else None

    original_update = DBInstance.update

    @wraps(original_update)
    def update(self: Any, *args: Any, **kwargs: Any) -> None:
        original_update(self, *args, **kwargs)
        if kwargs.get("enable_performance_insights") is not None:
            self.performance_insights_enabled = bool(kwargs["enable_performance_insights"])

    DBInstance.__init__ = __init__  # type: ignore[method-assign]
    DBInstance.update = update  # type: ignore[method-assign]


def _patch_managed_policies() -> None:
    from moto.iam.models import AWSManagedPolicy, IAMBackend

    original = IAMBackend._init_aws_policies

    @wraps(original)
    def _init_aws_policies(self: Any) -> list[Any]:
        policies: list[Any] = original(self)
        loaded = {policy.name for policy in policies}
        policies += [
            AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
            for name, data in _managed_policy_data().items()
            if name not in loaded
        ]
        return policies

    IAMBackend._init_aws_policies = _init_aws_policies  # type: ignore[method-assign]


def _patch_parameter_source() -> None:
    from moto.rds.models import DBParameterGroup

    original = DBParameterGroup.update_parameters

    @wraps(original)
    def update_parameters(self: Any, new_parameters: Any) -> None:
        new_parameters = list(new_parameters)
        original(self, new_parameters)
        for parameter in new_parameters:
            self.parameters[parameter["ParameterName"]].setdefault("Source", "user")

    DBParameterGroup.update_parameters = update_parameters  # type: ignore[method-assign]


def _patch_backup_list_tags() -> None:
    from urllib.parse import unquote

    from moto.backup.responses import BackupResponse

    def list_tags(self: Any) -> str:
        resource_arn = unquote(self.path.split("/tags/", 1)[1].rstrip("/"))
        return json.dumps({"Tags": self.backup_backend.list_tags(resource_arn=resource_arn)})

    BackupResponse.list_tags = list_tags  # type: ignore[method-assign]
