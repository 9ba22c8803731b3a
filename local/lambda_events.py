"""Lambda event and context builders shared by the local gateway, the SQS poller and the tests.

They produce the shapes AWS sends (API Gateway REST proxy events, SQS batches), so the real
handlers run unchanged on one machine.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

LOCAL_ACCOUNT_ID = "123456789012"


@dataclass
class LambdaContext:
    """The attributes Powertools and Bolt read from a Lambda context object."""

    function_name: str = "local-function"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_seconds: float = 60.0
    function_version: str = "$LATEST"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


def apigw_proxy_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    query_string: str = "",
    body: bytes | str | None = None,
    source_ip: str = "127.0.0.1",
    stage: str = "local",
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event, as API Gateway hands it to a Lambda proxy integration."""
    header_map = dict(headers or {})
    raw = body.encode() if isinstance(body, str) else body
    is_text = raw is None or _is_text(header_map)
    event_body: str | None
    if raw is None:
        event_body = None
    elif is_text:
        event_body = raw.decode("utf-8", errors="replace")
    else:
        event_body = base64.b64encode(raw).decode()
    query_pairs = parse_qsl(query_string, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for key, value in query_pairs:
        multi_query.setdefault(key, []).append(value)
    multi_headers: dict[str, list[str]] = {k: [v] for k, v in header_map.items()}
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": header_map or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": method.upper(),
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": header_map.get("User-Agent", "")},
        },
        "body": event_body,
        "isBase64Encoded": not is_text,
    }


def _is_text(headers: Mapping[str, str]) -> bool:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return not content_type or content_type.startswith(
        ("text/", "application/json", "application/x-www-form-urlencoded")
    )


@dataclass(frozen=True)
class QueueMessage:
    """One received SQS message, as the poller or a test got it from ReceiveMessage."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int = 1
    sent_timestamp_ms: int = 0


def sqs_event(
    messages: Iterable[QueueMessage], *, queue_arn: str, region: str = "us-east-1"
) -> dict[str, Any]:
    """An SQS event batch, as Lambda's event source mapping hands it to a function."""
    return {
        "Records": [
            {
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": {
                    "ApproximateReceiveCount": str(m.receive_count),
                    "SentTimestamp": str(m.sent_timestamp_ms or int(time.time() * 1000)),
                    "SenderId": LOCAL_ACCOUNT_ID,
                    "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m.body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def queue_messages(receive_response: Mapping[str, Any]) -> list[QueueMessage]:
    """Turn a boto3 ``receive_message`` response into QueueMessages."""
    return [
        QueueMessage(
            message_id=m["MessageId"],
            receipt_handle=m["ReceiptHandle"],
            body=m["Body"],
            receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
            sent_timestamp_ms=int(m.get("Attributes", {}).get("SentTimestamp", "0")),
        )
        for m in receive_response.get("Messages", [])
    ]
