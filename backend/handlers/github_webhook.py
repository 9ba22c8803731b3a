"""GitHub webhook Lambda (API Gateway REST proxy): POST /github/webhook -> the request lifecycle.

Thin: check the signature, pick out the one event that matters (``pull_request`` ``closed`` of a
PR rds-provisioner opened, whose body names its request, from a branch of the configured
repository into its base branch), and hand it to ``LifecycleService``. The HMAC signature is
the authentication (GitHub cannot send an API key): ``X-Hub-Signature-256`` must be the
HMAC-SHA256 of the raw body with the webhook secret, or the answer is 401 and nothing else
happens.

Answers: 200 with a note for events that change nothing (other events, other repositories or
branches, redeliveries), 400 for a signed body that is not a pull_request event, 409 when the
request's status does not allow the change, 503 when the store or Slack is briefly unavailable
(redeliver it from the webhook's "Recent Deliveries"), 500 if the secret is not configured.
"""

from __future__ import annotations

import hashlib
import hmac
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel, ConfigDict, ValidationError

from backend.adapters.secrets import SecretMisconfigured
from backend.container import get_container
from backend.domain import RetryableError
from backend.domain.naming import request_id_of_pull_request
from backend.handlers import http
from backend.runtime import freeze_heap, frozen_after_first_invocation
from backend.services.lifecycle import LifecycleOutcome
from backend.settings import get_settings

logger = Logger()
# A wrong configuration stops the cold start, naming the variable (no network here).
get_settings()

SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"


class _Repository(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    full_name: str


class _Account(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    login: str


class _Ref(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    ref: str
    # None when the fork a PR came from was deleted.
    repo: _Repository | None = None


class _PullRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    number: int
    html_url: str | None = None
    body: str | None = None
    merged: bool = False
    head: _Ref
    base: _Ref
    merged_by: _Account | None = None


class PullRequestEvent(BaseModel):
    """The fields of GitHub's ``pull_request`` webhook payload this handler reads."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    action: str
    number: int
    pull_request: _PullRequest
    repository: _Repository
    sender: _Account | None = None


def _answer(code: HTTPStatus, message: str, **extra: Any) -> dict[str, Any]:
    return http.proxy_answer(code, {"message": message, **{k: v for k, v in extra.items() if v is not None}})


def signature_of(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends with ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _signed(event: APIGatewayProxyEvent, body: bytes, secret: str) -> bool:
    given = http.header(event, SIGNATURE_HEADER) or ""
    return hmac.compare_digest(given.encode(), signature_of(body, secret).encode())


def _same(left: str, right: str) -> bool:
    # GitHub owner and repository names are case-insensitive.
    return left.casefold() == right.casefold()


def _handle(event: APIGatewayProxyEvent) -> dict[str, Any]:
    container = get_container()
    settings = container.settings
    try:
        secret = container.secret(settings.github_webhook_secret, settings.github_webhook_secret_secret_id)
    except SecretMisconfigured as error:
        logger.error(error.message)
        return _answer(HTTPStatus.INTERNAL_SERVER_ERROR, "The webhook secret is misconfigured; see the log")
    if not secret:
        logger.error("no webhook secret configured (GITHUB_WEBHOOK_SECRET[_SECRET_ID]); refusing")
        return _answer(HTTPStatus.INTERNAL_SERVER_ERROR, "The webhook secret is not configured")
    body = http.raw_body(event)
    if not _signed(event, body, secret):
        logger.warning("bad or missing webhook signature")
        return _answer(HTTPStatus.UNAUTHORIZED, f"Missing or wrong {SIGNATURE_HEADER}")

    kind = http.header(event, EVENT_HEADER) or ""
    if kind == "ping":
        return _answer(HTTPStatus.OK, "pong")
    if kind != "pull_request":
        return _answer(HTTPStatus.OK, f"ignored: {kind or 'unnamed'} events are not used")
    try:
        payload = PullRequestEvent.model_validate_json(body)
    except ValidationError as error:
        return _answer(HTTPStatus.BAD_REQUEST, "Not a pull_request event payload", error=str(error)[:500])
    if payload.action != "closed":
        return _answer(HTTPStatus.OK, f"ignored: pull_request {payload.action}")

    pull = payload.pull_request
    repository = settings.github_repository
    head_repository = pull.head.repo.full_name if pull.head.repo else ""
    if not repository or not _same(payload.repository.full_name, repository):
        return _answer(HTTPStatus.OK, f"ignored: not {repository or 'the configured repository'}")
    if not _same(head_repository, repository):
        return _answer(HTTPStatus.OK, "ignored: the branch is not in the repository (a fork)")
    if pull.base.ref != settings.github_base_branch:
        return _answer(HTTPStatus.OK, f"ignored: the pull request targets {pull.base.ref}")
    request_id = request_id_of_pull_request(pull.body)
    if request_id is None:
        return _answer(HTTPStatus.OK, f"ignored: #{pull.number} was not opened by rds-provisioner")

    actor = pull.merged_by if pull.merged else payload.sender
    result = container.lifecycle.pull_request_closed(
        request_id,
        pr_number=pull.number,
        pr_url=pull.html_url,
        branch=pull.head.ref,
        merged=pull.merged,
        actor=actor.login if actor else None,
    )
    code = HTTPStatus.CONFLICT if result.outcome is LifecycleOutcome.CONFLICT else HTTPStatus.OK
    return _answer(
        code,
        result.detail or result.outcome.value,
        outcome=result.outcome.value,
        request_id=result.record.request_id if result.record else None,
        status=result.record.status.value if result.record else None,
        notified=result.notified,
    )


@frozen_after_first_invocation
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    proxy = APIGatewayProxyEvent(event)
    delivery = http.header(proxy, DELIVERY_HEADER)
    logger.append_keys(github_delivery=delivery or None)
    try:
        return _handle(proxy)
    except RetryableError as error:
        logger.warning("briefly unavailable; redeliver the webhook", extra={"error": error.message})
        return _answer(HTTPStatus.SERVICE_UNAVAILABLE, error.message)
    except Exception:
        logger.exception("unexpected error")
        return _answer(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal error; it has been logged")


# The end of the cold start's import: what it built stays out of the collector's way.
freeze_heap()
