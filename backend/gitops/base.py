"""What every PR publisher (GitHub, the local git repository) offers the worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ChangeSet:
    """One database's change: a single new file on its own branch, proposed as a pull request."""

    branch: str
    file_path: str
    content: str
    commit_message: str
    title: str
    body: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class PullRequestRef:
    url: str
    number: int
    branch: str
    # False when an earlier delivery of the same request had already opened it.
    created: bool


class PullRequestPublisher(Protocol):
    def open_pull_request(self, change: ChangeSet, *, resume: bool = False) -> PullRequestRef:
        """Open the PR for ``change``, or return the one an earlier attempt opened.

        ``resume=True`` says this is a redelivery (an earlier attempt may have got part way), so
        looking for the existing PR first is likely the cheapest path.

        Raises DatabaseAlreadyExists if ``change.file_path`` is already on the base branch,
        RetryableError for transient failures and PermanentError for anything retrying cannot fix.
        """
        ...
