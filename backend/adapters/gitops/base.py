"""What every PR publisher (GitHub, the local git repository) offers the worker."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from backend.domain import FileChange
from backend.domain.naming import pull_request_marker, request_id_of_pull_request


@dataclass(frozen=True)
class ChangeSet:
    """One request's step: a single file added, updated or deleted on its own branch, proposed as
    a pull request."""

    request_id: str
    branch: str
    file_path: str
    # The file's new content; None when the step deletes it.
    content: str | None
    commit_message: str
    title: str
    body: str
    labels: tuple[str, ...] = ()
    change: FileChange = FileChange.ADD

    @property
    def pull_request_body(self) -> str:
        """The body as published: ``body`` plus the marker naming the request it belongs to."""
        return f"{self.body.rstrip()}\n\n{pull_request_marker(self.request_id)}\n"

    def owns(self, pull_request_body: str | None) -> bool:
        """True when a pull request with this body was opened for this change's request."""
        return request_id_of_pull_request(pull_request_body) == self.request_id


@dataclass(frozen=True)
class PullRequestRef:
    url: str
    number: int
    branch: str
    # False when an earlier delivery of the same request had already opened it.
    created: bool


class Withdrawn(StrEnum):
    """What became of a request's pull request the tool withdrew."""

    CLOSED = "closed"  # it was open and is closed now (or was closed already)
    MERGED = "merged"  # too late: it was merged
    NONE = "none"  # the request has no pull request on that branch


class PullRequestPublisher(Protocol):
    @property
    def worst_call_seconds(self) -> float:
        """The longest one step of publishing can take; the worker starts no record with less left."""
        ...

    def open_pull_request(
        self, change: ChangeSet, *, resume: bool = False, deadline: float | None = None
    ) -> PullRequestRef:
        """Open the PR for ``change``, or return the one an earlier attempt for the same request opened.

        ``resume=True`` says this is a redelivery (an earlier attempt may have got part way), so
        looking for the existing PR first is likely the cheapest path. ``deadline`` (a
        ``time.monotonic()`` value) is when the caller must be done: no step starts that could
        run past it (RetryableError instead, and SQS resumes the work).

        A pull request of another request (an earlier request for the same database, closed or
        merged) is never returned, and a branch such a request left behind is rebuilt from the
        current base branch.

        Raises DatabaseAlreadyExists if ``change`` adds a file that is already on the base branch,
        PermanentError if it updates or deletes one that is not there (or for anything else
        retrying cannot fix), and RetryableError for transient failures.
        """
        ...

    def withdraw(self, branch: str, request_id: str, reason: str) -> Withdrawn:
        """Close ``request_id``'s pull request on ``branch`` without merging, saying ``reason`` on it.

        Raises RetryableError for transient failures.
        """
        ...
