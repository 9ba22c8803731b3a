"""API Gateway proxy events to Bolt and back, through Bolt's public ``BoltRequest``/``BoltResponse``.

Bolt's own adapter (``slack_bolt.adapter.aws_lambda``) imports boto3 when it is imported, for a
lazy-listener runner that re-invokes the function through the Lambda API. This app has no lazy
listeners (every listener finishes before the response, ``process_before_response``) and no
OAuth flow, so it needs only the conversion, done here: the Slack function's cold start does not
pay for boto3 before its first request needs it. What Bolt's adapter does for a ``POST`` is done
the same way (base64 bodies, cookies, the Lambda context keys Bolt puts on ``context``); any
other method is a 404, as there.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

NOT_FOUND: dict[str, Any] = {"statusCode": 404, "body": "Not Found", "headers": {}}


def method_of(event: Mapping[str, Any]) -> str | None:
    """The HTTP method of a REST (v1) or HTTP API (v2) proxy event."""
    request_context = event.get("requestContext") or {}
    method = (request_context.get("http") or {}).get("method") or request_context.get("httpMethod")
    return str(method) if method else None


def to_bolt_request(event: Mapping[str, Any]) -> BoltRequest:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    cookies = event.get("cookies") or []
    if not cookies:  # the v1 format has them among the headers
        multi_value = event.get("multiValueHeaders") or {}
        cookies = multi_value.get("cookie") or multi_value.get("Cookie") or []
    headers: dict[str, Any] = {**(event.get("headers") or {}), "cookie": cookies}
    return BoltRequest(body=body, query=event.get("queryStringParameters") or {}, headers=headers)


def to_proxy_response(response: BoltResponse) -> dict[str, Any]:
    return {"statusCode": response.status, "body": response.body, "headers": response.first_headers()}


class LambdaRequestHandler:
    """``handle(event, context)``: one API Gateway proxy event through the Bolt ``app``."""

    def __init__(self, app: App) -> None:
        self.app = app

    def handle(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        if method_of(event) != "POST":
            return dict(NOT_FOUND)
        request = to_bolt_request(event)
        request.context["aws_lambda_function_name"] = getattr(context, "function_name", None)
        request.context["aws_lambda_invoked_function_arn"] = getattr(context, "invoked_function_arn", None)
        request.context["lambda_request"] = event
        return to_proxy_response(self.app.dispatch(request))
