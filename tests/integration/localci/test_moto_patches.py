"""The local AWS's patches of moto (local/moto_patches.py), each where Terraform needs it."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import moto_patches

BACKUP_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"


@pytest.fixture
def aws() -> Iterator[None]:
    moto_patches.apply()
    with mock_aws():
        yield


def _instance(rds: Any, identifier: str) -> dict[str, Any]:
    rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="app",
        MasterUserPassword="local-password",
    )
    described: dict[str, Any] = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    return described


@pytest.mark.usefixtures("aws")
def test_each_rds_instance_has_its_own_resource_id_and_is_found_by_it() -> None:
    rds = boto3.client("rds", region_name="us-east-1")
    first, second = _instance(rds, "orders-dev"), _instance(rds, "billing-dev")

    assert first["DbiResourceId"] != second["DbiResourceId"]
    for instance in (first, second):
        assert instance["DbiResourceId"].startswith("db-")
        # How the AWS provider reads an instance back after creating it.
        found = rds.describe_db_instances(
            Filters=[{"Name": "dbi-resource-id", "Values": [instance["DbiResourceId"]]}]
        )["DBInstances"]
        assert [match["DBInstanceIdentifier"] for match in found] == [instance["DBInstanceIdentifier"]]


@pytest.mark.usefixtures("aws")
def test_the_aws_backup_managed_policy_exists_and_can_be_attached() -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_role(
        RoleName="rds-provisioner-dev-backup",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"Service": "backup.amazonaws.com"},
                    }
                ],
            }
        ),
    )

    iam.attach_role_policy(RoleName="rds-provisioner-dev-backup", PolicyArn=BACKUP_POLICY_ARN)

    attached = iam.list_attached_role_policies(RoleName="rds-provisioner-dev-backup")["AttachedPolicies"]
    assert [policy["PolicyArn"] for policy in attached] == [BACKUP_POLICY_ARN]
    policy = iam.get_policy(PolicyArn=BACKUP_POLICY_ARN)["Policy"]
    assert policy["PolicyName"] == "AWSBackupServiceRolePolicyForBackup"


def test_new_resource_ids_follow_the_aws_format() -> None:
    ids = {moto_patches.new_dbi_resource_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(value) == 29 and value[3:].isalnum() and value[3:].isupper() for value in ids)


@pytest.mark.usefixtures("aws")
def test_an_rds_instance_has_a_network_type() -> None:
    rds = boto3.client("rds", region_name="us-east-1")
    assert _instance(rds, "orders-dev")["NetworkType"] == "IPV4"


@pytest.mark.usefixtures("aws")
def test_modified_parameters_are_the_users() -> None:
    rds = boto3.client("rds", region_name="us-east-1")
    rds.create_db_parameter_group(
        DBParameterGroupName="orders-dev", DBParameterGroupFamily="postgres16", Description="orders-dev"
    )
    rds.modify_db_parameter_group(
        DBParameterGroupName="orders-dev",
        Parameters=[{"ParameterName": "log_statement", "ParameterValue": "ddl", "ApplyMethod": "immediate"}],
    )
    # How the AWS provider reads a group's parameters back.
    parameters = rds.describe_db_parameters(DBParameterGroupName="orders-dev", Source="user")["Parameters"]
    assert [(p["ParameterName"], p["ParameterValue"], p.get("Source")) for p in parameters] == [
        ("log_statement", "ddl", "user")
    ]


def test_a_backup_vaults_tags_are_listed_at_the_path_the_aws_provider_asks() -> None:
    from urllib.parse import quote

    from moto.server import ThreadedMotoServer

    moto_patches.apply()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        backup = boto3.client("backup", region_name="us-east-1", endpoint_url=url)
        arn = backup.create_backup_vault(
            BackupVaultName="rds-provisioner-dev", BackupVaultTags={"ManagedBy": "rds"}
        )["BackupVaultArn"]
        # The provider's SDK sends GET /tags/<arn> without boto3's trailing slash.
        request = urllib.request.Request(
            f"{url}/tags/{quote(arn, safe=':')}",
            headers={
                "Authorization": "AWS4-HMAC-SHA256 Credential=local/20261202/us-east-1/backup/aws4_request"
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["Tags"] == {"ManagedBy": "rds"}
    finally:
        server.stop()


@pytest.mark.usefixtures("aws")
def test_every_managed_policy_our_terraform_attaches_is_there() -> None:
    terraform = Path(__file__).resolve().parents[3] / "terraform"
    attached = {
        match.group(1)
        for path in terraform.rglob("*.tf")
        for match in re.finditer(r'"arn:aws:iam::aws:policy/([^"]+)"', path.read_text(encoding="utf-8"))
    }
    assert "service-role/AWSBackupServiceRolePolicyForBackup" in attached
    iam = boto3.client("iam", region_name="us-east-1")
    for name in attached:
        policy = iam.get_policy(PolicyArn=f"arn:aws:iam::aws:policy/{name}")["Policy"]
        assert policy["PolicyName"] == name.rsplit("/", 1)[-1]


@pytest.mark.usefixtures("aws")
def test_an_rds_instance_keeps_its_performance_insights_settings() -> None:
    rds = boto3.client("rds", region_name="us-east-1")
    rds.create_db_instance(
        DBInstanceIdentifier="ledger-prod",
        DBInstanceClass="db.m7g.large",
        Engine="postgres",
        AllocatedStorage=100,
        MasterUsername="app",
        MasterUserPassword="local-password",
        EnablePerformanceInsights=True,
        PerformanceInsightsKMSKeyId="arn:aws:kms:us-east-1:123456789012:key/prod",
        PerformanceInsightsRetentionPeriod=7,
    )
    (instance,) = rds.describe_db_instances(DBInstanceIdentifier="ledger-prod")["DBInstances"]
    assert instance["PerformanceInsightsEnabled"] is True
    assert instance["PerformanceInsightsKMSKeyId"] == "arn:aws:kms:us-east-1:123456789012:key/prod"
    assert instance["PerformanceInsightsRetentionPeriod"] == 7

    rds.modify_db_instance(
        DBInstanceIdentifier="ledger-prod", EnablePerformanceInsights=False, ApplyImmediately=True
    )
    (modified,) = rds.describe_db_instances(DBInstanceIdentifier="ledger-prod")["DBInstances"]
    assert modified["PerformanceInsightsEnabled"] is False
