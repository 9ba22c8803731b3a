"""Dev databases expire: extending one, and what a sweep does on a given day (remind, decommission).

Every step is a conditional write on the database's record, keyed by its current expiry, so two
sweeps (a retry, a concurrent run) remind once and ask for one decommission; an extension moves
the expiry and so starts both over.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger

from backend.domain import (
    Action,
    AlreadyRequested,
    DatabaseRecord,
    DecommissionRequest,
    ExtendRequest,
    FieldError,
    NotFound,
    ProvisionerError,
    RequestRecord,
    RetryableError,
    Source,
    ValidationFailed,
    environment_policies,
    parse_as,
)
from backend.domain.access import check_may_change
from backend.domain.conversation import Conversation
from backend.domain.expiry import EXPIRY_REQUESTER, ExpiryDue, ExpiryPolicy
from backend.domain.notices import Happening, Notice, Offer, requester_of
from backend.services.intake import IntakeService
from backend.services.lifecycle import LifecycleService
from backend.services.notifications import Notices
from backend.services.ports import Store

logger = Logger(child=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _key(database: DatabaseRecord) -> str:
    return f"{database.environment.value}/{database.database_name}"


class Outcome(StrEnum):
    """What a sweep did about one database."""

    REMINDED = "reminded"
    DECOMMISSION_REQUESTED = "decommission_requested"
    # Someone (an earlier or concurrent sweep) already did it for this expiry.
    ALREADY_DONE = "already_done"
    # Not now (a change in flight, its create not merged yet); the next sweep tries again.
    DEFERRED = "deferred"
    FAILED = "failed"


@dataclass(frozen=True)
class ExpiryResult:
    database: str  # <environment>/<database_name>
    expires_on: date
    outcome: Outcome
    detail: str = ""


class ExpiryService:
    def __init__(
        self,
        store: Store,
        intake: IntakeService,
        notices: Notices,
        lifecycle: LifecycleService,
        *,
        policy: ExpiryPolicy,
        platform_admins: Collection[str] = (),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._store = store
        self._intake = intake
        self._notices = notices
        self._lifecycle = lifecycle
        self.policy = policy
        self._platform_admins = tuple(platform_admins)
        self._clock = clock

    # --- extending -----------------------------------------------------------------------------
    def extend(
        self,
        environment: str,
        database_name: str,
        *,
        requested_by: str,
        source: Source,
        data: Mapping[str, Any] | ExtendRequest | None = None,
    ) -> DatabaseRecord:
        """Move a dev database's expiry to ``ttl_days`` (default the policy's) from today; no PR.

        Raises NotFound, NotAllowed (Slack: only its requester or a platform admin), ValidationFailed
        (it does not expire, or the days are out of range) or AlreadyRequested (extended meanwhile).
        """
        wanted = data if isinstance(data, ExtendRequest) else parse_as(ExtendRequest, data or {})
        database = self._store.get_database(environment, database_name)
        if database is None:
            raise NotFound(f"There is no {environment} database {database_name}")
        check_may_change(database, requested_by, source, self._platform_admins)
        if database.expires_on is None:
            raise ValidationFailed(
                [FieldError("ttl_days", f"{database_name} is a {environment} database: it does not expire")]
            )
        doomed = self._decommission_in_flight(database)
        policy = self.policy.of(database.environment)
        new = policy.extended(database.expires_on, self._clock().date(), wanted.ttl_days)
        if doomed is not None:
            # Kept longer, so not deleted: the decommission its expiry asked for is cancelled.
            self._lifecycle.cancel(
                doomed, f"kept by {requested_by} until {new.isoformat()}", actor=requested_by
            )
        updated = self._store.extend_expiry(database, new)
        logger.info(
            "expiry extended",
            extra={"database": _key(database), "expires_on": new.isoformat(), "by": requested_by},
        )
        return updated

    def _decommission_in_flight(self, database: DatabaseRecord) -> RequestRecord | None:
        """The decommission its expiry asked for, still cancellable (None: there is none).

        AlreadyRequested (409) when a decommission can no longer be stopped by keeping the
        database: its pull request is merged, or its requester asked for it themselves.
        """
        change = self._store.get(database.change_request_id) if database.change_request_id else None
        if change is None or change.action is not Action.DECOMMISSION:
            return None
        if change.requested_by != EXPIRY_REQUESTER or change.status.merged:
            where = f"the {database.environment.value} database {database.database_name}"
            raise AlreadyRequested(
                f"A decommission of {where} is {change.status.value} (request {change.request_id}); "
                "it can no longer be kept",
                existing_request_id=change.request_id,
            )
        return change

    # --- sweeping ------------------------------------------------------------------------------
    def sweep(self, today: date) -> list[ExpiryResult]:
        """Remind and decommission what is due on ``today``; one result per database looked at."""
        results = []
        expiring = [name for name, policy in environment_policies().items() if policy.expires]
        for database in (
            found
            for environment in expiring
            for found in self._store.list_expiring(environment, on_or_before=self.policy.horizon(today))
        ):
            assert database.expires_on is not None
            due = self.policy.due(database.expires_on, today)
            if due is None:  # pragma: no cover - the query's horizon is the reminder's
                continue
            act = self._remind if due is ExpiryDue.REMIND else self._decommission
            try:
                outcome, detail = act(database, today)
            except Exception as error:  # one database's trouble must not stop the sweep of the rest
                logger.exception("expiry step failed", extra={"database": _key(database)})
                outcome, detail = Outcome.FAILED, str(error) or type(error).__name__
            results.append(ExpiryResult(_key(database), database.expires_on, outcome, detail))
        return results

    def _remind(self, database: DatabaseRecord, today: date) -> tuple[Outcome, str]:
        if database.expiry_request_id is not None:
            # Its decommission is already asked for (a sweep "as of" a later day ran first).
            return Outcome.ALREADY_DONE, f"request {database.expiry_request_id}"
        if not self._store.claim_reminder(database):
            return Outcome.ALREADY_DONE, "reminded before"
        try:
            self._tell(
                database,
                Happening.EXPIRES_SOON,
                offers=(Offer.EXTEND, Offer.DECOMMISSION_NOW),
                today=today,
            )
        except Exception:
            self._store.release_reminder(database)
            raise
        return Outcome.REMINDED, database.requested_by

    def _decommission(self, database: DatabaseRecord, _today: date) -> tuple[Outcome, str]:
        if database.expiry_request_id is not None:
            return Outcome.ALREADY_DONE, f"request {database.expiry_request_id}"
        try:
            submission = self._intake.submit_decommission(
                database.environment.value,
                database.database_name,
                DecommissionRequest(confirm=database.database_name),
                requested_by=EXPIRY_REQUESTER,
                source=Source.SCHEDULE,
            )
        except ProvisionerError as why_not:
            # A change in flight (a concurrent sweep's decommission among them) or its create not
            # merged yet: nothing was recorded; the next sweep asks again.
            return Outcome.DEFERRED, why_not.message
        request_id = submission.request_id
        self._store.record_expiry_request(database, request_id)
        try:
            posted = self._tell(database, Happening.EXPIRED, request=submission.record)
        except RetryableError:
            # The request stands; its PR's message still reaches the requester (or the log).
            logger.warning("could not tell the requester", extra={"request_id": request_id})
            return Outcome.DECOMMISSION_REQUESTED, request_id
        if posted is not None:
            # The decommission's own messages (PR opened, done) follow in this conversation.
            self._store.set_conversation(request_id, posted)
        return Outcome.DECOMMISSION_REQUESTED, request_id

    def _tell(
        self,
        database: DatabaseRecord,
        happening: Happening,
        *,
        request: RequestRecord | None = None,
        offers: tuple[Offer, ...] = (),
        today: date | None = None,
    ) -> Conversation | None:
        """Tell the database's requester ``happening``; the conversation it began (None: none)."""
        return self._notices.send(
            Notice(
                happening,
                to=requester_of(database.source, database.requested_by),
                request=request,
                database=database,
                offers=offers,
                today=today,
                expiry=self.policy.of(database.environment),
            )
        )
