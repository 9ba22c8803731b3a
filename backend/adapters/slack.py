"""Posts a request's progress back to its requester in Slack (used by the worker and the lifecycle).

The message goes to ``record.slack_channel`` (the DM the confirmation was posted in) or, when
no confirmation was recorded, to the requester's user id, which Slack turns into the DM with
the app. Only Slack-sourced requests have a Slack user to tell; API requests are skipped.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from backend.domain import RequestRecord, RetryableError, Source
from bot import blocks

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
        return _retry_after(response) <= self.max_wait_seconds


def _retry_after(response: HttpResponse | None) -> float:
    if response is None:
        return 0.0
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return float(values[0])
            except ValueError:
                return 0.0
    return 0.0


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


class SlackNotifier:
    """``backend.services.notifications.Notifier`` over the Slack Web API."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def pr_opened(self, record: RequestRecord) -> None:
        self._post(record, blocks.pr_opened(record))

    def request_failed(self, record: RequestRecord) -> None:
        self._post(record, blocks.request_failed(record))

    def pr_merged(self, record: RequestRecord) -> None:
        self._post(record, blocks.pr_merged(record))

    def database_applied(self, record: RequestRecord) -> None:
        self._post(record, blocks.database_applied(record))

    def _post(self, record: RequestRecord, message: dict[str, Any]) -> None:
        if record.source is not Source.SLACK:
            logger.debug(
                "not a Slack request; nobody to tell in Slack", extra={"request_id": record.request_id}
            )
            return
        arguments: dict[str, Any] = {
            "channel": record.slack_channel or record.requested_by,
            "unfurl_links": False,
            **message,
        }
        if record.slack_thread_ts:
            arguments["thread_ts"] = record.slack_thread_ts
        try:
            self._client.chat_postMessage(**arguments)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error")
            if status == 429 or status >= 500:
                # Still rate limited after the retries we could afford, or Slack is down: let
                # SQS redeliver later rather than lose the message.
                raise RetryableError(
                    f"Slack answered {status} ({error}) to chat.postMessage",
                    retry_after_seconds=_retry_after_of(exc.response.headers),
                ) from exc
            # channel_not_found, not_in_channel, invalid_auth, ...: retrying cannot help, and the
            # request itself succeeded; say so loudly instead of failing the request.
            logger.error(
                "could not tell the requester in Slack",
                extra={"request_id": record.request_id, "slack_error": error, "status": status},
            )
        except OSError as exc:  # connection refused, timeout, DNS: transient by nature
            raise RetryableError(f"Slack unreachable: {exc}") from exc


def _retry_after_of(headers: Any) -> float | None:
    for name, value in dict(headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                return None
    return None
