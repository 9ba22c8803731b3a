"""What the listeners need from the backend, resolved lazily so building the app costs no I/O."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from slack_bolt import BoltContext

from backend.container import Container, get_container
from backend.domain import DatabaseRecord, Source
from backend.domain.access import check_may_change
from backend.settings import Settings

if TYPE_CHECKING:
    from backend.adapters.store import RequestStore
    from backend.services.approvals import ApprovalService
    from backend.services.expiry import ExpiryService
    from backend.services.intake import IntakeService
    from backend.services.inventory import InventoryService
    from backend.services.lookup import RequestLookup


class BackendAccess:
    """The intake, store and lookup the listeners call, plus the Slack secrets.

    Anything not handed in comes from the process container (``get_container()``) when it was
    built from the same settings, else from a container of these settings; either way only on
    first use, so an interaction that needs no DynamoDB (``help``) never builds a client.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        intake: IntakeService | None = None,
        store: RequestStore | None = None,
        container: Container | None = None,
    ) -> None:
        self.settings = settings
        self._intake = intake
        self._store = store
        self._container = container

    @cached_property
    def container(self) -> Container:
        if self._container is not None:
            return self._container
        shared = get_container()
        return shared if shared.settings == self.settings else Container(self.settings)

    @property
    def intake(self) -> IntakeService:
        return self._intake if self._intake is not None else self.container.intake

    @property
    def approvals(self) -> ApprovalService:
        return self.container.approvals

    @property
    def expiry(self) -> ExpiryService:
        return self.container.expiry

    @property
    def inventory(self) -> InventoryService:
        return self.container.inventory

    @property
    def store(self) -> RequestStore:
        return self._store if self._store is not None else self.container.store

    @cached_property
    def lookup(self) -> RequestLookup:
        """Requests as the asking user may see them: theirs, or any for admins and approvers."""
        from backend.services.lookup import RequestLookup

        return RequestLookup(
            self.store,
            platform_admins=self.settings.platform_admins,
            approvers=self.container.approvals.everyone,
        )

    def changeable(self, environment: str, database_name: str, user_id: str) -> DatabaseRecord | None:
        """The database, if there is one, for ``user_id`` to change (its size and cost are shown to
        whoever may change it only); NotAllowed for anyone else."""
        database = self.store.get_database(environment, database_name)
        if database is not None:
            check_may_change(database, user_id, Source.SLACK, self.settings.platform_admins)
        return database

    def signing_secret(self) -> str | None:
        return self.container.secret(
            self.settings.slack_signing_secret, self.settings.slack_signing_secret_secret_id
        )

    def bot_token(self) -> str | None:
        return self.container.slack_bot_token


# The key under which ``register_listeners`` puts the backend access into every request's Bolt context.
CONTEXT_KEY = "rds_provisioner_backend"


def backend_of(context: BoltContext) -> BackendAccess:
    """The backend access of the app handling this request (listeners get it through ``context``)."""
    backend = context[CONTEXT_KEY]
    assert isinstance(backend, BackendAccess)
    return backend
