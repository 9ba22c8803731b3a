"""Configuration: the only module that reads environment variables.

Every other module receives a ``Settings`` instance (or the clients built from it), so tests
construct settings explicitly instead of patching the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

GitOpsBackend = Literal["local", "github"]

DEFAULT_TABLE_NAME = "rds-provisioner-requests"
DEFAULT_TOPIC_NAME = "rds-provisioner-requests"
DEFAULT_QUEUE_NAME = "rds-provisioner-requests"
DEFAULT_DLQ_NAME = "rds-provisioner-requests-dlq"
DEFAULT_GITHUB_TOKEN_SECRET = "github-token"  # noqa: S105 - a secret's name, not its value


def _split(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Everything the functions and the local stack can be configured with.

    Secret values come either directly (``*_token`` fields, for the local stack and tests) or
    by Secrets Manager name/ARN (``*_secret_id`` fields, for AWS); ``backend.adapters.secrets`` resolves
    them lazily so nothing is fetched at import time.
    """

    aws_region: str = "us-east-1"
    # Endpoint for every AWS client (the moto server locally); None means the real AWS endpoints.
    aws_endpoint_url: str | None = None

    requests_table_name: str = DEFAULT_TABLE_NAME
    requests_topic_arn: str = ""
    requests_queue_url: str = ""
    requests_dlq_url: str = ""
    # Days a finished request stays in the table before DynamoDB TTL removes it.
    request_retention_days: int = 90

    # HTTP API: when set, the handler itself checks X-Api-Key (the local gateway). In AWS,
    # API Gateway checks keys against the usage plan and this stays empty.
    api_key: str | None = None
    max_body_bytes: int = 16 * 1024

    gitops_backend: GitOpsBackend = "local"
    local_gitops_path: Path = Path(".local/gitops")
    # Base of the browsable PR links the local publisher hands out.
    local_pr_base_url: str = "http://127.0.0.1:3000/_local/prs"
    # Port of the local stack's gateway (`make run`, `rdsctl`).
    local_port: int = 3000
    github_repository: str = ""
    github_base_branch: str = "main"
    github_api_url: str = "https://api.github.com"
    github_token: str | None = None
    github_token_secret_id: str | None = None
    github_app_id: str | None = None
    github_app_installation_id: int | None = None
    github_app_private_key: str | None = None
    github_app_private_key_secret_id: str | None = None
    # Labels cost one API call more per PR (GitHub cannot label a PR as it opens it), so they
    # are opt-in: GITHUB_PR_LABELS=rds-provisioner,terraform.
    github_pr_labels: tuple[str, ...] = ()
    github_reviewers: tuple[str, ...] = ()
    # Seconds PyGithub may spend on one call (timeouts and retry waits); stays well under
    # the worker Lambda timeout so SQS, not the function, does the long-term retrying.
    github_timeout_seconds: int = 10
    # Secret of the repository's webhook (POST /github/webhook): X-Hub-Signature-256 is checked with it.
    github_webhook_secret: str | None = None
    github_webhook_secret_secret_id: str | None = None

    slack_bot_token: str | None = None
    slack_bot_token_secret_id: str | None = None
    slack_signing_secret: str | None = None
    slack_signing_secret_secret_id: str | None = None
    slack_app_token: str | None = None
    # The Slack Web API base URL; the local stack points it at its stand-in.
    slack_api_url: str = "https://slack.com/api/"
    # Bot identity given up front so Bolt never calls auth.test on a cold start.
    slack_bot_user_id: str | None = None
    slack_bot_id: str | None = None
    slack_team_id: str | None = None
    # Slack user ids allowed to request prod databases; empty means everyone may.
    prod_allowed_slack_users: tuple[str, ...] = ()

    environments: tuple[str, ...] = ("dev", "prod")
    service_name: str = "rds-provisioner"
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        defaults = cls()
        installation = env.get("GITHUB_APP_INSTALLATION_ID")
        return cls(
            aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or defaults.aws_region,
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            requests_table_name=env.get("REQUESTS_TABLE_NAME", defaults.requests_table_name),
            requests_topic_arn=env.get("REQUESTS_TOPIC_ARN", ""),
            requests_queue_url=env.get("REQUESTS_QUEUE_URL", ""),
            requests_dlq_url=env.get("REQUESTS_DLQ_URL", ""),
            request_retention_days=int(env.get("REQUEST_RETENTION_DAYS", defaults.request_retention_days)),
            api_key=env.get("API_KEY") or None,
            max_body_bytes=int(env.get("MAX_BODY_BYTES", defaults.max_body_bytes)),
            gitops_backend="github" if env.get("GITOPS_BACKEND", "local") == "github" else "local",
            local_gitops_path=Path(env.get("LOCAL_GITOPS_PATH", str(defaults.local_gitops_path))),
            local_pr_base_url=env.get("LOCAL_PR_BASE_URL", defaults.local_pr_base_url),
            local_port=int(env.get("PORT") or defaults.local_port),
            github_repository=env.get("GITHUB_REPOSITORY", ""),
            github_base_branch=env.get("GITHUB_BASE_BRANCH", defaults.github_base_branch),
            github_api_url=env.get("GITHUB_API_URL", defaults.github_api_url),
            github_token=env.get("GITHUB_TOKEN") or None,
            github_token_secret_id=env.get("GITHUB_TOKEN_SECRET_ID") or None,
            github_app_id=env.get("GITHUB_APP_ID") or None,
            github_app_installation_id=int(installation) if installation else None,
            github_app_private_key=env.get("GITHUB_APP_PRIVATE_KEY") or None,
            github_app_private_key_secret_id=env.get("GITHUB_APP_PRIVATE_KEY_SECRET_ID") or None,
            github_pr_labels=_split(env.get("GITHUB_PR_LABELS")),
            github_reviewers=_split(env.get("GITHUB_REVIEWERS")),
            github_timeout_seconds=int(env.get("GITHUB_TIMEOUT_SECONDS", defaults.github_timeout_seconds)),
            github_webhook_secret=env.get("GITHUB_WEBHOOK_SECRET") or None,
            github_webhook_secret_secret_id=env.get("GITHUB_WEBHOOK_SECRET_SECRET_ID") or None,
            slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
            slack_bot_token_secret_id=env.get("SLACK_BOT_TOKEN_SECRET_ID") or None,
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            slack_signing_secret_secret_id=env.get("SLACK_SIGNING_SECRET_SECRET_ID") or None,
            slack_app_token=env.get("SLACK_APP_TOKEN") or None,
            slack_api_url=env.get("SLACK_API_URL", defaults.slack_api_url),
            slack_bot_user_id=env.get("SLACK_BOT_USER_ID") or None,
            slack_bot_id=env.get("SLACK_BOT_ID") or None,
            slack_team_id=env.get("SLACK_TEAM_ID") or None,
            prod_allowed_slack_users=_split(env.get("PROD_ALLOWED_SLACK_USERS")),
            environments=_split(env.get("ENVIRONMENTS")) or defaults.environments,
            service_name=env.get("POWERTOOLS_SERVICE_NAME", defaults.service_name),
            log_level=env.get("POWERTOOLS_LOG_LEVEL", defaults.log_level),
        )

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


# Environment variables the deployed functions must be given (checked against the SAM template).
REQUIRED_IN_AWS: Mapping[str, tuple[str, ...]] = {
    "api": ("REQUESTS_TABLE_NAME", "REQUESTS_TOPIC_ARN"),
    "slack": (
        "REQUESTS_TABLE_NAME",
        "REQUESTS_TOPIC_ARN",
        "SLACK_BOT_TOKEN_SECRET_ID",
        "SLACK_SIGNING_SECRET_SECRET_ID",
    ),
    "worker": (
        "REQUESTS_TABLE_NAME",
        "GITOPS_BACKEND",
        "GITHUB_REPOSITORY",
        "GITHUB_BASE_BRANCH",
        "GITHUB_API_URL",
        "SLACK_BOT_TOKEN_SECRET_ID",
        "REQUESTS_QUEUE_URL",
    ),
    "github_webhook": (
        "REQUESTS_TABLE_NAME",
        "GITHUB_REPOSITORY",
        "GITHUB_BASE_BRANCH",
        "GITHUB_WEBHOOK_SECRET_SECRET_ID",
        "SLACK_BOT_TOKEN_SECRET_ID",
    ),
    "dead_letters": ("REQUESTS_TABLE_NAME", "SLACK_BOT_TOKEN_SECRET_ID"),
}


_installed: Settings | None = None


def set_settings(settings: Settings | None) -> None:
    """Make ``settings`` what ``get_settings()`` returns in this process (the local stack); None resets."""
    global _installed  # noqa: PLW0603 - one configuration per process is the point
    _installed = settings
    get_settings.cache_clear()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once (Lambda reuses them across warm invocations)."""
    return _installed if _installed is not None else Settings.from_env()
