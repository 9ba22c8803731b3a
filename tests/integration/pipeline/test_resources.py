"""ensure_resources: the same resources as the SAM template, idempotently."""

from __future__ import annotations

import json

import boto3

from local.resources import AwsResources, ensure_resources
from tests.support.aws import REGION


def test_running_it_twice_converges_to_the_same_resources(aws_resources: AwsResources):
    again = ensure_resources(region=REGION, endpoint_url=None)

    assert again == aws_resources
    sns = boto3.client("sns", region_name=REGION)
    assert len(sns.list_subscriptions_by_topic(TopicArn=aws_resources.topic_arn)["Subscriptions"]) == 1


def test_names_match_the_deployed_stack(aws_resources: AwsResources):
    assert aws_resources.table_name == "rds-provisioner-requests"
    assert aws_resources.topic_arn.endswith(":rds-provisioner-requests")
    assert aws_resources.queue_arn.endswith(":rds-provisioner-requests")
    assert aws_resources.dlq_arn.endswith(":rds-provisioner-requests-dlq")


def test_table_has_the_key_index_ttl_and_billing_the_store_relies_on(aws_resources: AwsResources):
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = dynamodb.describe_table(TableName=aws_resources.table_name)["Table"]

    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert indexes["by_requester"]["KeySchema"] == [
        {"AttributeName": "requested_by", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]
    assert indexes["databases"]["KeySchema"] == [
        {"AttributeName": "db_environment", "KeyType": "HASH"},
        {"AttributeName": "db_database_name", "KeyType": "RANGE"},
    ]
    assert indexes["by_status"]["KeySchema"] == [
        {"AttributeName": "status", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]
    assert indexes["expiring"]["KeySchema"] == [
        {"AttributeName": "db_environment", "KeyType": "HASH"},
        {"AttributeName": "db_expires_on", "KeyType": "RANGE"},
    ]
    assert {index["Projection"]["ProjectionType"] for index in indexes.values()} == {"ALL"}
    ttl = dynamodb.describe_time_to_live(TableName=aws_resources.table_name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_queue_has_the_visibility_timeout_redrive_and_topic_only_policy(aws_resources: AwsResources):
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(QueueUrl=aws_resources.queue_url, AttributeNames=["All"])[
        "Attributes"
    ]

    assert attributes["VisibilityTimeout"] == "360"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == aws_resources.dlq_arn
    assert int(redrive["maxReceiveCount"]) == 5
    (statement,) = json.loads(attributes["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == aws_resources.queue_arn
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": aws_resources.topic_arn}}


def test_subscription_delivers_raw_messages_with_their_attributes(aws_resources: AwsResources):
    sns = boto3.client("sns", region_name=REGION)
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=aws_resources.topic_arn)["Subscriptions"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])[
        "Attributes"
    ]
    assert attributes["RawMessageDelivery"] == "true"

    sns.publish(
        TopicArn=aws_resources.topic_arn,
        Message='{"hello": "queue"}',
        MessageAttributes={"environment": {"DataType": "String", "StringValue": "dev"}},
    )
    sqs = boto3.client("sqs", region_name=REGION)
    (message,) = sqs.receive_message(QueueUrl=aws_resources.queue_url, MessageAttributeNames=["All"])[
        "Messages"
    ]
    assert message["Body"] == '{"hello": "queue"}'
    assert message["MessageAttributes"]["environment"]["StringValue"] == "dev"


def test_custom_limits_and_prefix(aws_resources: AwsResources):
    other = ensure_resources(
        region=REGION, endpoint_url=None, prefix="other", max_receive_count=2, visibility_timeout=30
    )

    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(QueueUrl=other.queue_url, AttributeNames=["All"])["Attributes"]
    assert other.table_name == "other-requests"
    assert attributes["VisibilityTimeout"] == "30"
    assert int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"]) == 2
