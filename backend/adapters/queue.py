"""The one message contract between intake and worker (SNS -> SQS), validated on both sides, and
the topic it is published to."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from backend.domain import Action, QueueUnavailable, RequestRecord, Step
from backend.domain.kinds import Source
from backend.domain.requests import ProvisionRequest

# 2 added the action and step (day-2 changes); a version 1 message is a create.
SCHEMA_VERSION: Literal[2] = 2


class ProvisionMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    schema_version: Literal[1, 2] = SCHEMA_VERSION
    request_id: str
    request: ProvisionRequest
    action: Action = Action.CREATE
    step: Step = Step.CREATE
    requested_by: str
    source: Source
    submitted_at: datetime

    @classmethod
    def of(cls, record: RequestRecord, submitted_at: datetime) -> ProvisionMessage:
        return cls(
            request_id=record.request_id,
            request=record.request,
            action=record.action,
            step=record.step,
            requested_by=record.requested_by,
            source=record.source,
            submitted_at=submitted_at,
        )

    def to_json(self) -> str:
        # What the worker renders: how long a dev database lives is the store's business, not the
        # message's (so the contract stays what workers of this schema version accept).
        return self.model_dump_json(exclude={"request": {"ttl_days"}})

    def sns_attributes(self) -> dict[str, dict[str, str]]:
        """SNS message attributes, so subscriptions can filter by environment or engine."""
        return {
            "environment": {"DataType": "String", "StringValue": self.request.environment.value},
            "database_engine": {
                "DataType": "String",
                "StringValue": self.request.database_engine.value,
            },
            "action": {"DataType": "String", "StringValue": self.action.value},
            "schema_version": {"DataType": "Number", "StringValue": str(self.schema_version)},
        }

    @classmethod
    def from_sqs_body(cls, body: str) -> ProvisionMessage:
        """Parse an SQS body: raw SNS delivery (the deployed setup) or the SNS JSON envelope.

        Anything else raises ValueError (a JSONDecodeError) or ValidationError, never TypeError.
        """
        data: Any = json.loads(body)
        if isinstance(data, dict) and data.get("Type") == "Notification" and "Message" in data:
            if not isinstance(data["Message"], str):
                raise ValueError("the SNS envelope's Message is not a string")
            data = json.loads(data["Message"])
        return cls.model_validate(data)


class RequestTopic:
    """The SNS topic requests are queued through (its SQS subscription feeds the worker)."""

    def __init__(self, sns_client: Any, topic_arn: str) -> None:
        self._sns = sns_client
        self._topic_arn = topic_arn

    def publish(self, message: ProvisionMessage) -> str:
        """The SNS message id; QueueUnavailable when SNS cannot take it."""
        try:
            response = self._sns.publish(
                TopicArn=self._topic_arn,
                Message=message.to_json(),
                MessageAttributes=message.sns_attributes(),
            )
            return str(response["MessageId"])
        except (ClientError, BotoCoreError, KeyError) as error:
            raise QueueUnavailable(
                "The request queue is not available right now; nothing was recorded. Try again shortly."
            ) from error
