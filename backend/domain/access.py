"""Who may ask for what, and who may see a request."""

from __future__ import annotations

from collections.abc import Collection

from backend.domain.errors import NotAllowed
from backend.domain.kinds import Source
from backend.domain.policy import policy_for
from backend.domain.requests import DatabaseRecord, ProvisionRequest, RequestRecord


def check_prod_access(
    request: ProvisionRequest, requested_by: str, source: Source, prod_allowed_slack_users: Collection[str]
) -> None:
    """Raise NotAllowed when a Slack user off the prod allowlist asks for a database of a restricted
    environment (prod).

    An empty allowlist means the guard is off. API callers are authorised by their API key.
    """
    if (
        policy_for(request.environment).restricted
        and source is Source.SLACK
        and prod_allowed_slack_users
        and requested_by not in prod_allowed_slack_users
    ):
        raise NotAllowed(
            "You are not on the list of people who may request prod databases. "
            "Ask the platform team to add you, or request a dev database."
        )


def check_may_change(
    database: DatabaseRecord, requested_by: str, source: Source, platform_admins: Collection[str]
) -> None:
    """Raise NotAllowed when a Slack user who neither asked for the database nor is a platform
    admin tries to change it. API clients are authorised by their API key for any database."""
    if (
        source is Source.SLACK
        and requested_by != database.requested_by
        and requested_by not in platform_admins
    ):
        raise NotAllowed(
            f"Only {database.requested_by}, who asked for {database.database_name}, or a platform admin "
            "may change it.",
            people=(database.requested_by,),
        )


def may_see(
    record: RequestRecord,
    user_id: str,
    *,
    platform_admins: Collection[str] = (),
    approvers: Collection[str] = (),
) -> bool:
    """Whether the Slack user ``user_id`` may see ``record``: its requester, a platform admin or an
    approver (who must be able to look at any request they may be asked to approve)."""
    return user_id == record.requested_by or user_id in platform_admins or user_id in approvers
