"""The one message contract between intake and worker (SNS -> SQS), validated on both sides."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from backend.domain.requests import ProvisionRequest, Source

SCHEMA_VERSION: Literal[1] = 1


class ProvisionMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    request_id: str
    request: ProvisionRequest
    requested_by: str
    source: Source
    submitted_at: datetime

    def to_json(self) -> str:
        return self.model_dump_json()

    def sns_attributes(self) -> dict[str, dict[str, str]]:
        """SNS message attributes, so subscriptions can filter by environment or engine."""
        return {
            "environment": {"DataType": "String", "StringValue": self.request.environment.value},
            "database_engine": {
                "DataType": "String",
                "StringValue": self.request.database_engine.value,
            },
            "schema_version": {"DataType": "Number", "StringValue": str(self.schema_version)},
        }

    @classmethod
    def from_sqs_body(cls, body: str) -> ProvisionMessage:
        """Parse an SQS body: raw SNS delivery (the deployed setup) or the SNS JSON envelope."""
        data: Any = json.loads(body)
        if isinstance(data, dict) and data.get("Type") == "Notification" and "Message" in data:
            data = json.loads(data["Message"])
        return cls.model_validate(data)
