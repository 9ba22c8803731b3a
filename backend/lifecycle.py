"""After the pull request: record ``merged``, ``applied`` or ``failed`` and tell the requester once.

Who calls it:
- the GitHub webhook (``backend.handlers.github_webhook``) when a request's PR is closed, merged
  or not (the PR body's marker names the request);
- the dead-letter handler (``backend.handlers.dead_letters``) when the queue gave up on a
  request's message;
- the local stack's "Merge" button and ``rdsctl merge`` (the same service, so the status has one
  code path);
- CircleCI after a successful ``terraform apply``, through this module's CLI::

      python -m backend.lifecycle applied --environment dev --files terraform/envs/dev/rds_orders.tf

Every event is safe to repeat (GitHub redelivers, CI jobs get re-run): the request is found by
its id (or, for CI, by its name claim), the status change is the store's conditional
``transition`` (re-recording the current status changes nothing) and the message goes out
through ``notify_once``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

from aws_lambda_powertools import Logger

from backend.domain import RequestRecord, RequestStatus
from backend.domain.naming import database_name_problem
from backend.notify import Notifier, notify_once
from backend.store import RequestStore, StatusConflict

logger = Logger(child=True)

CLOSED_WITHOUT_MERGE = "the pull request was closed without merging"
GAVE_UP = "the pull request could not be opened after repeated attempts"
_RDS_FILE = re.compile(r"rds_(?P<name>.+)\.tf")


class Outcome(StrEnum):
    RECORDED = "recorded"  # this call changed the status
    UNCHANGED = "unchanged"  # the request already had that status (a redelivery)
    UNKNOWN = "unknown"  # no request holds this database name (not ours, or already released)
    OTHER_PULL_REQUEST = "other_pull_request"  # the request's PR is another one than this event's
    CONFLICT = "conflict"  # the request is in a status the event may not follow


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    record: RequestRecord | None = None
    # True when this call sent the notification.
    notified: bool = False
    detail: str = ""


class LifecycleService:
    def __init__(self, store: RequestStore, notifier: Notifier) -> None:
        self._store = store
        self._notifier = notifier

    def pull_request_closed(
        self,
        request_id: str,
        *,
        pr_number: int,
        pr_url: str | None = None,
        merged: bool,
        actor: str | None = None,
    ) -> Result:
        """The request's PR was closed: merged -> ``merged`` ("CircleCI is applying it"); not
        merged -> ``failed``, which releases the name for a new request.

        Only the request's own PR counts: an event about another PR (an earlier request's, on a
        branch of the same name) changes nothing. A PR closed before the worker recorded it (a
        fast reviewer) is recorded first, from the event.
        """
        record = self._store.get(request_id)
        where = {"request_id": request_id, "pr_number": pr_number, "merged": merged}
        if record is None:
            logger.info("no such request; nothing to record", extra=where)
            return Result(Outcome.UNKNOWN, detail=f"no request {request_id}")
        if record.pr_number is None and record.status is RequestStatus.ACCEPTED and pr_url:
            record = self._store.transition(
                request_id, RequestStatus.PR_OPENED, pr_url=pr_url, pr_number=pr_number
            ).record
            notify_once(self._store, self._notifier, record)
        if record.pr_number != pr_number:
            logger.warning("event is about another pull request; ignored", extra=where)
            return Result(
                Outcome.OTHER_PULL_REQUEST,
                record,
                detail=f"request {request_id} belongs to PR #{record.pr_number}, not #{pr_number}",
            )
        if merged:
            return self._record(record, RequestStatus.MERGED, actor=actor)
        return self._record(record, RequestStatus.FAILED, actor=actor, error=CLOSED_WITHOUT_MERGE)

    def applied(self, environment: str, database_name: str) -> Result:
        """CI applied the Terraform: ``applied`` (after ``merged``), and "your database is ready".

        A request still ``pr_opened`` is recorded ``merged`` on the way, silently: a file that is
        applied was merged, even if the merge event never arrived (no webhook configured).
        """
        record = self._store.find_by_database(environment, database_name)
        if record is None:
            where = {"environment": environment, "database_name": database_name}
            logger.info("no request holds this database; nothing to record", extra=where)
            return Result(Outcome.UNKNOWN, detail=f"no request for {environment}/{database_name}")
        if record.status is RequestStatus.PR_OPENED:
            record = self._store.transition(record.request_id, RequestStatus.MERGED).record
        return self._record(record, RequestStatus.APPLIED)

    def gave_up(self, request_id: str) -> Result:
        """The queue gave up on the request's message (its retries ran out): ``failed``, told, freed.

        Only a request still ``accepted`` ends here: one that got further (its PR is open and only
        the notification kept failing) keeps its status.
        """
        record = self._store.get(request_id)
        if record is None:
            return Result(Outcome.UNKNOWN, detail=f"no request {request_id}")
        if record.status is not RequestStatus.ACCEPTED:
            return Result(Outcome.UNCHANGED, record, detail=f"request {request_id} is {record.status.value}")
        cause = record.last_error or "it did not finish in time"
        reason = f"{GAVE_UP} (the last attempt: {cause}). Nothing was created; please ask again."
        return self._record(record, RequestStatus.FAILED, error=reason)

    def _record(
        self,
        record: RequestRecord,
        status: RequestStatus,
        *,
        actor: str | None = None,
        error: str | None = None,
    ) -> Result:
        where = {"request_id": record.request_id, "status": status, "by": actor}
        try:
            transition = self._store.transition(record.request_id, status, error=error)
        except StatusConflict as conflict:
            logger.warning("status change not allowed", extra={**where, "current": conflict.current})
            return Result(Outcome.CONFLICT, record, detail=str(conflict))
        logger.info("request status recorded", extra={**where, "changed": transition.changed})
        notified = notify_once(self._store, self._notifier, transition.record)
        outcome = Outcome.RECORDED if transition.changed else Outcome.UNCHANGED
        return Result(outcome, transition.record, notified)


# --- CLI (CircleCI's apply job) ----------------------------------------------------------------


def database_names(paths: Sequence[str], environment: str) -> list[str]:
    """The database names of the ``terraform/envs/<environment>/rds_<name>.tf`` files among ``paths``.

    Other files (versions.tf, another environment's files, names that are not valid database
    names) are left out; duplicates count once.
    """
    names: list[str] = []
    for raw in paths:
        path = PurePosixPath(raw.strip())
        match = _RDS_FILE.fullmatch(path.name)
        if match is None or path.parent.name != environment or path.parent.parent.name != "envs":
            continue
        name = match.group("name")
        if database_name_problem(name) is None and name not in names:
            names.append(name)
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m backend.lifecycle", description="Record lifecycle events of requests."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    applied = commands.add_parser(
        "applied", help="record that terraform apply created the databases of these files"
    )
    applied.add_argument("--environment", required=True, help="dev or prod")
    applied.add_argument(
        "--files",
        nargs="*",
        default=[],
        metavar="PATH",
        help="changed files; only terraform/envs/<environment>/rds_<name>.tf count",
    )
    return parser


def record_applied(service: LifecycleService, environment: str, paths: Sequence[str]) -> list[str]:
    """What CircleCI's record-applied job does after a successful apply: one line per database.

    ``paths`` are files on the applied branch; those that are not ``rds_<name>.tf`` files of
    ``environment`` are left out.
    """
    names = database_names(paths, environment)
    if not names:
        return [f"no rds_*.tf files of {environment} among the files; nothing to record"]
    lines = []
    for name in names:
        result = service.applied(environment, name)
        request = f" (request {result.record.request_id})" if result.record else ""
        suffix = f": {result.detail}" if result.detail else ""
        lines.append(f"{environment}/{name}: {result.outcome.value}{request}{suffix}")
    return lines


def main(argv: Sequence[str] | None = None, *, service: LifecycleService | None = None) -> int:
    args = build_parser().parse_args(argv)
    if service is None:
        from backend.container import get_container

        service = get_container().lifecycle
    for line in record_applied(service, args.environment, args.files):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
