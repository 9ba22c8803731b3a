"""Slack as the product's chat (``ChatSender``): a WebClient that waits out short rate limits.

Used by the functions that tell requesters what happened (worker, webhook, dead letters) and by
the Bolt app for its DM confirmations. It needs ``slack_sdk`` only, not Bolt, so the functions
that only post messages do not carry the Slack app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse

from backend.adapters.chat import Posted
from backend.adapters.slack_blocks import Message
from backend.domain import RetryableError

logger = Logger(child=True)

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Retries a 429 after its Retry-After, but only when that wait fits the caller's budget.

    A longer wait would outlive the worker's Lambda timeout; declining lets the SQS redelivery
    do the waiting instead, which costs nothing while it waits.
    """

    def __init__(self, *, max_retry_count: int = 2, max_wait_seconds: float = 20.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_seconds = max_wait_seconds

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        wait = retry_after(response.headers) if response is not None else None
        return (wait or 0.0) <= self.max_wait_seconds


def retry_after(headers: Any) -> float | None:
    """Seconds in a ``Retry-After`` header (slack_sdk gives header values as lists or strings)."""
    for name, value in dict(headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                return None
    return None


def build_web_client(
    token: str | None,
    *,
    base_url: str = DEFAULT_SLACK_API_URL,
    timeout: int = 10,
    rate_limit_retries: int = 2,
    max_rate_limit_wait_seconds: float = 20.0,
) -> WebClient:
    """A WebClient for ``base_url`` (real Slack or the local stand-in) that retries 429s.

    ``rate_limit_retries=0`` is for the interactive ack path, where waiting out a rate limit
    would only miss Slack's three-second deadline.
    """
    client = WebClient(
        token=token, base_url=base_url if base_url.endswith("/") else base_url + "/", timeout=timeout
    )
    handlers: list[RetryHandler] = list(client.retry_handlers or [])
    if rate_limit_retries > 0:
        handlers.append(
            BoundedRateLimitRetryHandler(
                max_retry_count=rate_limit_retries, max_wait_seconds=max_rate_limit_wait_seconds
            )
        )
    client.retry_handlers = handlers
    return client


class SlackSender:
    """``ChatSender`` over the Slack Web API."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def post(self, channel: str, message: Message, *, thread_ts: str | None = None) -> Posted | None:
        arguments: dict[str, Any] = {"channel": channel, "unfurl_links": False, **message}
        if thread_ts:
            arguments["thread_ts"] = thread_ts
        response = self._call("chat.postMessage", lambda: self._client.chat_postMessage(**arguments), channel)
        if response is None:
            return None
        posted_channel, ts = response.get("channel"), response.get("ts")
        if isinstance(posted_channel, str) and isinstance(ts, str):
            return Posted(posted_channel, ts)
        return None

    def update(self, channel: str, ts: str, message: Message) -> None:
        self._call(
            "chat.update", lambda: self._client.chat_update(channel=channel, ts=ts, **message), channel
        )

    def _call(self, method: str, send: Callable[[], SlackResponse], channel: str) -> SlackResponse | None:
        """Run one Web API call: Slack's short outages become RetryableError, other refusals a log."""
        try:
            return send()
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error")
            if status == 429 or status >= 500:
                # Still rate limited after the retries we could afford, or Slack is down: let
                # SQS redeliver later rather than lose the message.
                raise RetryableError(
                    f"Slack answered {status} ({error}) to {method}",
                    retry_after_seconds=retry_after(exc.response.headers),
                ) from exc
            # channel_not_found, not_in_channel, invalid_auth, ...: retrying cannot help, and the
            # request itself succeeded; say so loudly instead of failing the request.
            logger.error(
                "Slack refused a call",
                extra={"method": method, "channel": channel, "slack_error": error, "status": status},
            )
            return None
        except OSError as exc:  # connection refused, timeout, DNS: transient by nature
            raise RetryableError(f"Slack unreachable: {exc}") from exc
