"""Wiring only: builds the adapters and services once per process, lazily, from Settings.

Handlers ask the container for what they need; tests build a Container with their own settings
(or set its properties to their own fakes) instead of patching modules. Nothing here touches the
network until a property is first read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from backend.domain.policy import EnvironmentPolicy, configure_environments
from backend.settings import Settings, get_settings

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from backend.adapters.chat import ChatSender
    from backend.adapters.gitops.base import PullRequestPublisher
    from backend.adapters.queue import RequestTopic
    from backend.adapters.secrets import SecretsExtension
    from backend.adapters.store import RequestStore
    from backend.adapters.write_budget import WriteBudget
    from backend.domain.expiry import ExpiryPolicy
    from backend.services.approvals import ApprovalService
    from backend.services.expiry import ExpiryService
    from backend.services.intake import IntakeService
    from backend.services.inventory import InventoryService
    from backend.services.lifecycle import LifecycleService
    from backend.services.notifications import Notices, Notifier
    from backend.services.provisioner import Provisioner
    from backend.services.sweeper import Sweeper


def environments_of(settings: Settings) -> Mapping[str, EnvironmentPolicy]:
    """The environments file of ``settings``, read and validated (once per file)."""
    from backend.adapters.environments import load_environments

    return load_environments(settings.environments_file)


# Until a container is built, the process's environments are those of its settings.
configure_environments(source=lambda: environments_of(get_settings()))


@dataclass
class Container:
    settings: Settings
    # Where API requests are announced (the local stack's stand-in channel); None in AWS.
    api_channel: str | None = None
    # An environment's `terraform output` values, where this process knows them (the local CI).
    terraform_outputs: Callable[[str], Mapping[str, str]] | None = None

    def __post_init__(self) -> None:
        # The environments of these settings become the process's (read on first use).
        configure_environments(source=lambda: environments_of(self.settings))

    # --- AWS clients -------------------------------------------------------------------------
    @cached_property
    def _boto_session(self) -> Any:
        import boto3

        return boto3.session.Session(region_name=self.settings.aws_region)

    def _client(self, service: str) -> Any:
        return self._boto_session.client(service, endpoint_url=self.settings.aws_endpoint_url)

    @cached_property
    def sns(self) -> Any:
        return self._client("sns")

    @cached_property
    def sqs(self) -> Any:
        return self._client("sqs")

    @cached_property
    def secretsmanager(self) -> Any:
        return self._client("secretsmanager")

    @cached_property
    def dynamodb_table(self) -> Any:
        resource = self._boto_session.resource("dynamodb", endpoint_url=self.settings.aws_endpoint_url)
        return resource.Table(self.settings.requests_table_name)

    def secret(self, value: str | None, secret_id: str | None) -> str | None:
        from backend.adapters.secrets import resolve_secret

        if value or not secret_id:
            return resolve_secret(value, secret_id)
        if self.secrets_extension is not None:
            return resolve_secret(value, secret_id, source=self.secrets_extension)
        return resolve_secret(value, secret_id, self.secretsmanager)

    @cached_property
    def secrets_extension(self) -> SecretsExtension | None:
        """The Parameters and Secrets Lambda Extension, when SECRETS_EXTENSION_PORT names its port."""
        port = self.settings.secrets_extension_port
        if port is None:
            return None
        from backend.adapters.secrets import SecretsExtension

        return SecretsExtension(port, self.settings.aws_session_token)

    # --- adapters ----------------------------------------------------------------------------
    @cached_property
    def store(self) -> RequestStore:
        from backend.adapters.store import RequestStore

        return RequestStore(self.dynamodb_table, retention_days=self.settings.request_retention_days)

    @cached_property
    def publisher(self) -> PullRequestPublisher:
        if self.settings.gitops_backend == "github":
            from backend.adapters.gitops.github import GitHubPublisher

            return GitHubPublisher.from_settings(
                self.settings, secret=self.secret, write_budget=self.github_write_budget
            )
        from backend.adapters.gitops.local_git import LocalGitPublisher

        return LocalGitPublisher(
            self.settings.local_gitops_path,
            base_branch=self.settings.github_base_branch,
            pr_base_url=self.settings.local_pr_base_url,
        )

    @cached_property
    def github_write_budget(self) -> WriteBudget:
        """GITHUB_WRITES_PER_MINUTE shared by every worker (an item in the requests table)."""
        from backend.adapters.write_budget import WriteBudget

        return WriteBudget(self.dynamodb_table, writes_per_minute=self.settings.github_writes_per_minute)

    @cached_property
    def topic(self) -> RequestTopic:
        from backend.adapters.queue import RequestTopic

        return RequestTopic(self.sns, self.settings.requests_topic_arn)

    @cached_property
    def slack_bot_token(self) -> str | None:
        return self.secret(self.settings.slack_bot_token, self.settings.slack_bot_token_secret_id)

    @cached_property
    def slack_client(self) -> WebClient | None:
        token = self.slack_bot_token
        if not token:
            return None
        from backend.adapters.slack import build_web_client

        return build_web_client(token, base_url=self.settings.slack_api_url)

    @cached_property
    def chat(self) -> ChatSender:
        client = self.slack_client
        if client is None:
            from backend.adapters.chat import LoggingChat

            return LoggingChat()
        from backend.adapters.slack import SlackSender

        return SlackSender(client)

    # --- services ----------------------------------------------------------------------------
    @cached_property
    def intake(self) -> IntakeService:
        from backend.services.intake import IntakeService

        return IntakeService(
            self.store,
            self.topic,
            approvals=self.approvals,
            prod_allowed_slack_users=self.settings.prod_allowed_slack_users,
            platform_admins=self.settings.platform_admins,
            expiry=self.expiry_policy,
        )

    @cached_property
    def expiry_policy(self) -> ExpiryPolicy:
        from backend.domain.expiry import ExpiryPolicy

        return ExpiryPolicy(
            default_days=self.settings.dev_ttl_days,
            max_days=self.settings.max_dev_ttl_days,
            reminder_days=self.settings.reminder_days,
        )

    @cached_property
    def expiry(self) -> ExpiryService:
        from backend.services.expiry import ExpiryService

        return ExpiryService(
            self.store,
            self.intake,
            self.notices,
            self.lifecycle,
            policy=self.expiry_policy,
            platform_admins=self.settings.platform_admins,
        )

    @cached_property
    def sweeper(self) -> Sweeper:
        from datetime import timedelta

        from backend.services.sweeper import Sweeper

        return Sweeper(
            self.expiry,
            self.approvals,
            approval_timeout=timedelta(hours=self.settings.approval_timeout_hours),
        )

    @cached_property
    def approvals(self) -> ApprovalService:
        from backend.services.approvals import ApprovalService

        return ApprovalService(
            self.store,
            self.topic,
            self.notices,
            self.notifier,
            approvers=self.settings.prod_approvers,
            channel=self.settings.approvals_channel,
        )

    @cached_property
    def inventory(self) -> InventoryService:
        from backend.services.inventory import InventoryService

        return InventoryService(self.store)

    @cached_property
    def notices(self) -> Notices:
        from backend.adapters.slack_notices import SlackNotices

        return SlackNotices(self.chat, api_channel=self.api_channel)

    @cached_property
    def notifier(self) -> Notifier:
        from backend.services.notifications import RequesterNotifier

        return RequesterNotifier(self.notices, outputs=self.terraform_outputs)

    @cached_property
    def provisioner(self) -> Provisioner:
        from backend.services.provisioner import Provisioner

        return Provisioner(self.store, self.publisher, self.lifecycle, labels=self.settings.github_pr_labels)

    @cached_property
    def lifecycle(self) -> LifecycleService:
        from backend.services.lifecycle import LifecycleService

        return LifecycleService(self.store, self.notifier, self.topic, self.publisher)


_installed: Container | None = None


def set_container(container: Container | None) -> None:
    """Make ``container`` the one every handler in this process uses (the local stack); None resets."""
    global _installed  # noqa: PLW0603 - one container per process is the point
    _installed = container
    get_container.cache_clear()


@lru_cache(maxsize=1)
def get_container() -> Container:
    """This process's container (Lambda keeps it across warm invocations)."""
    return _installed if _installed is not None else Container(get_settings())
