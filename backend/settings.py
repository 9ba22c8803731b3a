"""Configuration: the only module that reads environment variables.

Every other module receives a ``Settings`` instance (or the clients built from it), so tests
construct settings explicitly instead of patching the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AliasChoices,
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

GitOpsBackend = Literal["local", "github"]
# What applies the local GitOps repository's Terraform under `make run` (local/ci.py).
LocalCiMode = Literal["terraform", "manual"]

DEFAULT_TABLE_NAME = "rds-provisioner-requests"
# Every environment and its policy (a deployment package carries it at the same place).
DEFAULT_ENVIRONMENTS_FILE = Path(__file__).resolve().parents[1] / "deploy" / "environments.toml"


def _comma_separated(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


# One API_CLIENTS entry: an API Gateway key id, the client's name, optionally its owner (U.../W...).
_API_CLIENT = re.compile(r"[A-Za-z0-9]+=[a-z0-9][a-z0-9_.-]*(:[UW][A-Z0-9]+)?")


# A list given as ``A,B,C`` in the environment (spaces and empty entries ignored).
CommaSeparated = Annotated[tuple[str, ...], BeforeValidator(_comma_separated)]


def _env(default: Any, *names: str) -> Any:
    """A field read from these environment variables, in order of preference (not its own name's)."""
    return Field(default=default, validation_alias=AliasChoices(*names))


def _upper(name: str) -> AliasChoices:
    return AliasChoices(name.upper(), name)


class SettingsError(ValueError):
    """The environment does not describe a valid configuration; names each variable at fault."""


class Settings(BaseModel):
    """Everything the functions and the local stack can be configured with.

    Each field is read from the environment variable of its name in capitals (``gitops_backend``
    from ``GITOPS_BACKEND``) unless it names its own. Values are validated when the process
    starts: a wrong one (an unknown ``GITOPS_BACKEND``, a port that is not a number) stops it
    with the variable's name instead of surfacing as a puzzling error later.

    Secret values come either directly (``*_token`` fields, for the local stack and tests) or
    by Secrets Manager name/ARN (``*_secret_id`` fields, for AWS); ``backend.adapters.secrets``
    resolves them lazily so nothing is fetched at import time.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        populate_by_name=True,
        alias_generator=AliasGenerator(validation_alias=_upper),
    )

    aws_region: str = _env("us-east-1", "AWS_REGION", "AWS_DEFAULT_REGION", "aws_region")
    # Endpoint for every AWS client (the moto server locally); None means the real AWS endpoints.
    aws_endpoint_url: str | None = None
    # Port of the AWS Parameters and Secrets Lambda Extension (its layer; 2773 unless its
    # PARAMETERS_SECRETS_EXTENSION_HTTP_PORT says otherwise): when set, the *_secret_id secrets are
    # read through it, with no boto3; unset, through a boto3 Secrets Manager client.
    secrets_extension_port: int | None = Field(default=None, ge=1, le=65535)
    # The function's session token (Lambda sets it): the extension accepts only requests carrying it.
    aws_session_token: str | None = Field(default=None, repr=False)

    # The environments databases can be asked for and each one's policy (a TOML file,
    # backend.adapters.environments reads it); deploy/environments.toml unless set.
    environments_file: Path = DEFAULT_ENVIRONMENTS_FILE

    requests_table_name: str = DEFAULT_TABLE_NAME
    requests_topic_arn: str = ""
    requests_queue_url: str = ""
    requests_dlq_url: str = ""
    # Days a finished request stays in the table before DynamoDB TTL removes it.
    request_retention_days: int = Field(default=90, ge=1)

    # HTTP API: when set, the handler itself checks X-Api-Key (the local gateway). In AWS,
    # API Gateway checks keys against the usage plan and this stays empty.
    api_key: str | None = None
    # The HTTP API's automation clients, one API Gateway API key each: "<key id>=<client>" or
    # "<key id>=<client>:<owner's Slack user id>". A request made with an owner's key is the
    # owner's (who therefore cannot approve it); one made with an ownerless key is "api:<client>".
    api_clients: CommaSeparated = ()
    max_body_bytes: int = Field(default=16 * 1024, ge=1)

    gitops_backend: GitOpsBackend = "local"
    local_gitops_path: Path = Path(".local/gitops")
    # Where rdsctl finds the local stack; unset, it reads `.local/stack.json` (written by `make run`).
    rdsctl_url: str | None = None
    # Base of the browsable PR links the local publisher hands out.
    local_pr_base_url: str = "http://127.0.0.1:3000/_local/prs"
    # Port of the local stack's gateway (`make run`, `rdsctl`).
    local_port: int = Field(default=3000, ge=0, le=65535, validation_alias=AliasChoices("PORT", "local_port"))
    # `make run`: "terraform" plans every PR and applies every merge against the local AWS;
    # "manual" leaves it to `rdsctl applied`. Unset: terraform when it is on PATH.
    local_ci: LocalCiMode | None = None
    # Filesystem mirror of the hashicorp/aws provider the local CI installs from (never the internet).
    tf_provider_mirror: Path = Path("/opt/tf-plugins")
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
    github_pr_labels: CommaSeparated = ()
    github_reviewers: CommaSeparated = ()
    # Seconds PyGithub may spend on one call (timeouts and retry waits); stays well under
    # the worker Lambda timeout so SQS, not the function, does the long-term retrying.
    github_timeout_seconds: int = Field(default=10, ge=1)
    # GitHub's budget for content-creating calls (about 80 a minute), shared by every concurrent
    # worker: writes are paced to it (a token bucket in the requests table).
    github_writes_per_minute: int = Field(default=80, ge=1)
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
    # The workspace (T...) the app serves, and on Enterprise Grid its organization (E...): when
    # set, commands, interactions and events of any other workspace or organization are refused.
    slack_team_id: str | None = None
    slack_enterprise_id: str | None = None
    # Slack user ids allowed to request prod databases; empty means everyone may.
    prod_allowed_slack_users: CommaSeparated = ()
    # Slack user ids of the platform team: they see every request (`/provision-rds status`) and may
    # change any database from Slack (a requester may change their own).
    platform_admins: CommaSeparated = ()
    # Slack user ids who approve prod requests; they see every request too. With the approvals
    # channel set, every prod request waits for one of them (not its requester) to approve.
    prod_approvers: CommaSeparated = ()
    # Where Terraform drift (a database changed outside Terraform) is reported; unset: the
    # channel API requests are announced in.
    drift_channel: str | None = None
    # The channel id the approval requests are posted to (the bot must be a member).
    approvals_channel: str | None = None
    # A request no approver decided on within this many hours ends rejected (the sweeper).
    approval_timeout_hours: int = Field(default=72, ge=1)
    # Dev databases expire (the sweeper decommissions them): after this many days unless the
    # request says otherwise (``ttl_days``, at most the maximum); the requester is reminded this
    # many days before.
    dev_ttl_days: int = Field(default=30, ge=1)
    max_dev_ttl_days: int = Field(default=90, ge=1)
    reminder_days: int = Field(default=3, ge=0)

    service_name: str = _env("rds-provisioner", "POWERTOOLS_SERVICE_NAME", "service_name")
    log_level: str = _env("INFO", "POWERTOOLS_LOG_LEVEL", "log_level")

    @model_validator(mode="after")
    def _api_clients_well_formed(self) -> Self:
        for entry in self.api_clients:
            if not _API_CLIENT.fullmatch(entry):
                raise ValueError(
                    f"API_CLIENTS entry {entry!r} is not <api key id>=<client name>[:<owner Slack user id>]"
                )
        return self

    @model_validator(mode="after")
    def _ttl_within_maximum(self) -> Self:
        if self.dev_ttl_days > self.max_dev_ttl_days:
            raise ValueError(
                f"DEV_TTL_DAYS ({self.dev_ttl_days}) must not exceed "
                f"MAX_DEV_TTL_DAYS ({self.max_dev_ttl_days})"
            )
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Settings from ``environ`` (default: this process's environment); empty values count as unset.

        Raises SettingsError naming every variable whose value is not valid.
        """
        env = os.environ if environ is None else environ
        values = {name: value for name, value in env.items() if value != "" and name in _ENV_NAMES}
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in problem['loc'])}={problem.get('input')!r}: {problem['msg']}"
                for problem in error.errors()
            )
            raise SettingsError(f"invalid configuration in the environment: {problems}") from None

    def with_overrides(self, **changes: object) -> Settings:
        return self.model_copy(update=changes)

    @classmethod
    def environment_variables(cls) -> frozenset[str]:
        """Every environment variable a setting is read from."""
        return _ENV_NAMES


def _variables_of(model: type[BaseModel]) -> frozenset[str]:
    names: set[str] = set()
    for name, field in model.model_fields.items():
        alias = field.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [name.upper()]
        names.update(str(choice) for choice in choices if str(choice) != name)
    return frozenset(names)


# Environment variables the deployed functions must be given (checked against the SAM template).
REQUIRED_IN_AWS: Mapping[str, tuple[str, ...]] = {
    "api": ("REQUESTS_TABLE_NAME", "REQUESTS_TOPIC_ARN", "SLACK_BOT_TOKEN_SECRET_ID"),
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
    "sweeper": ("REQUESTS_TABLE_NAME", "REQUESTS_TOPIC_ARN", "SLACK_BOT_TOKEN_SECRET_ID"),
}


_ENV_NAMES = _variables_of(Settings)


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
