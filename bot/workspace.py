"""The app answers its own workspace only: ``SLACK_TEAM_ID`` (and ``SLACK_ENTERPRISE_ID``).

A Slack app can end up installed in more workspaces than the one it was made for (a second
workspace of an Enterprise Grid org, distribution turned on by mistake); every one of them signs
its requests with the same signing secret, so a valid signature says nothing about where a request
comes from. This middleware runs before ``authorize`` (Bolt's ``before_authorize``), so a refused
request never resolves the bot token, never reaches a listener and records nothing: no DynamoDB
write, no SNS publish, no Slack call.

The ids compared are the ones Bolt extracts for the installation a request belongs to
(``context.team_id``, ``context.enterprise_id``) and, where Bolt identifies someone acting from
another organization in a Slack Connect channel, the actor's (``actor_team_id``,
``actor_enterprise_id``). Interactions (``block_actions``, ``view_submission``...) also name the
acting user's own workspace (``user.team_id``), which Bolt does not extract: it is checked too.
An id that is configured must be present and equal; one that is not configured is not checked
(an org-wide Grid install sets ``SLACK_ENTERPRISE_ID`` alone).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltContext, BoltRequest, BoltResponse

# Slack shows a command's plain-text answer to the person who typed it; interactions and events
# get a 200 as well, because a non-2xx makes Slack retry an event and, if it keeps happening,
# turn the app's event subscriptions off for every workspace, ours included.
REFUSAL = "rds-provisioner does not serve this workspace."


@dataclass(frozen=True)
class Workspace:
    """Where the app belongs; ``None`` means "not checked"."""

    team_id: str | None = None
    enterprise_id: str | None = None

    @property
    def restricted(self) -> bool:
        return bool(self.team_id or self.enterprise_id)

    def admits(self, context: BoltContext, body: Mapping[str, Any]) -> bool:
        return (
            _matches(self.team_id, context.team_id, context.actor_team_id)
            and _matches(self.team_id, context.team_id, _user_team_id(body))
            and _matches(self.enterprise_id, context.enterprise_id, context.actor_enterprise_id)
        )


def _user_team_id(body: Mapping[str, Any]) -> str | None:
    """The acting user's workspace, as interactions carry it (``{"user": {"team_id": ...}}``)."""
    user = body.get("user")
    team_id = user.get("team_id") if isinstance(user, Mapping) else None
    return str(team_id) if team_id is not None else None


def _matches(expected: str | None, installation: str | None, actor: str | None) -> bool:
    if not expected:
        return True
    return installation == expected and actor in {None, expected}


def _is_url_verification(request: BoltRequest) -> bool:
    # Slack's request URL check carries no workspace: it must be answered for the URL to be saved.
    return request.body.get("type") == "url_verification"


def workspace_guard(
    workspace: Workspace,
) -> Callable[[BoltRequest, BoltContext, logging.Logger, Callable[[], BoltResponse]], BoltResponse]:
    """A Bolt middleware (``App(before_authorize=...)``) refusing every other workspace."""

    def guard(
        req: BoltRequest, context: BoltContext, logger: logging.Logger, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        if not workspace.restricted or _is_url_verification(req) or workspace.admits(context, req.body):
            return next()
        logger.warning(
            "refused a request from another workspace: team %s, enterprise %s (this app serves team %s, "
            "enterprise %s)",
            context.team_id,
            context.enterprise_id,
            workspace.team_id or "any",
            workspace.enterprise_id or "any",
        )
        return BoltResponse(status=200, body=REFUSAL)

    return guard
