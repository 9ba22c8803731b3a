"""Creates the AWS resources the pipeline needs, idempotently, wherever boto3 points.

The same function serves the tests (inside moto's ``mock_aws``, ``endpoint_url=None``) and the
local stack (a moto server endpoint). The names and settings mirror the SAM template, so code that
works here works against the deployed stack. Running it twice converges instead of failing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backend.adapters.dynamodb import PURGE_AT
from backend.adapters.store import DATABASES_INDEX, EXPIRY_INDEX, REQUESTER_INDEX, STATUS_INDEX
from backend.settings import Settings

# Fourteen days: the longest SQS keeps a message, so nothing in the DLQ expires before someone looks.
DLQ_RETENTION_SECONDS = 14 * 24 * 60 * 60
# The table's indexes (as sam/template.yaml declares them): partition and sort key, all strings.
INDEXES: dict[str, tuple[str, str]] = {
    REQUESTER_INDEX: ("requested_by", "created_at"),
    STATUS_INDEX: ("status", "created_at"),
    DATABASES_INDEX: ("db_environment", "db_database_name"),
    EXPIRY_INDEX: ("db_environment", "db_expires_on"),
}


@dataclass(frozen=True)
class AwsResources:
    table_name: str
    topic_arn: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str

    def configure(self, settings: Settings) -> Settings:
        """``settings`` pointed at these resources."""
        return settings.with_overrides(
            requests_table_name=self.table_name,
            requests_topic_arn=self.topic_arn,
            requests_queue_url=self.queue_url,
            requests_dlq_url=self.dlq_url,
        )


def ensure_resources(
    *,
    region: str,
    endpoint_url: str | None,
    prefix: str = "rds-provisioner",
    max_receive_count: int = 5,
    visibility_timeout: int = 360,
) -> AwsResources:
    import boto3

    session = boto3.session.Session(region_name=region)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    sns = session.client("sns", endpoint_url=endpoint_url)
    sqs = session.client("sqs", endpoint_url=endpoint_url)

    base = f"{prefix}-requests"
    table_name = _ensure_table(dynamodb, base)
    topic_arn: str = sns.create_topic(Name=base)["TopicArn"]  # returns the existing topic if any
    dlq_url, dlq_arn = _ensure_queue(
        sqs, f"{base}-dlq", lambda _arn: {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}
    )
    queue_url, queue_arn = _ensure_queue(
        sqs,
        base,
        lambda arn: {
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
            ),
            "Policy": _queue_policy(queue_arn=arn, topic_arn=topic_arn),
        },
    )
    _ensure_subscription(sns, topic_arn, queue_arn)
    return AwsResources(
        table_name=table_name,
        topic_arn=topic_arn,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_url=dlq_url,
        dlq_arn=dlq_arn,
    )


def _ensure_table(dynamodb: Any, name: str) -> str:
    # Already there: fine, the rest converges.
    with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": attribute, "AttributeType": "S"}
                for attribute in dict.fromkeys(["pk", *(key for keys in INDEXES.values() for key in keys)])
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": index,
                    "KeySchema": [
                        {"AttributeName": partition, "KeyType": "HASH"},
                        {"AttributeName": sort, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index, (partition, sort) in INDEXES.items()
            ],
        )
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in {"ENABLED", "ENABLING"}:
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": PURGE_AT},
        )
    return name


def _ensure_queue(sqs: Any, name: str, attributes: Callable[[str], dict[str, str]]) -> tuple[str, str]:
    # Created bare, then configured: CreateQueue with attributes fails when they differ from an
    # existing queue's, SetQueueAttributes converges instead.
    url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes(arn))
    return url, arn


def _queue_policy(*, queue_arn: str, topic_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OnlyTheRequestsTopic",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        }
    )


def _ensure_subscription(sns: Any, topic_arn: str, queue_arn: str) -> str:
    existing = None
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for subscription in page.get("Subscriptions", []):
            if subscription.get("Protocol") == "sqs" and subscription.get("Endpoint") == queue_arn:
                existing = subscription["SubscriptionArn"]
    arn: str = (
        existing
        or sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
    )
    # Raw delivery: the queue body is the message itself, exactly what the worker validates.
    sns.set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="true"
    )
    return arn
