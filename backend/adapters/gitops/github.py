"""Opens the Terraform pull request on GitHub (or GitHub Enterprise) through PyGithub.

A new request costs exactly four API calls: read the base branch, create the request's branch,
put the file on it, open the PR (plus one to label it when labels are configured, and one to ask
for reviewers when reviewers are configured). Every step is safe to repeat: SQS redelivers, so a
later attempt finds the branch, the file or the PR an earlier attempt made and carries on.

A pull request belongs to the request whose marker its body carries (``ChangeSet.owns``). A
database asked for again after its first PR was closed gets the same branch name: the branch
that request left behind is reset to the current base branch (its base would be stale, and its
plan would undo whatever was merged since) and a new PR is opened; the old, closed PR is never
returned. A branch is ours only when it holds exactly our file.

PyGithub never sleeps for long here: its rate-limit waiting (``GithubRetry``) and request
throttling are off, 5xx answers get at most two quick retries, and a time budget stops a
slow attempt before the worker Lambda's 60 s timeout. A rate limit becomes ``RateLimited``
carrying GitHub's ``Retry-After`` / ``X-RateLimit-Reset``: the worker puts the record back on the
queue delayed by that long, so SQS does the waiting.

Writes are paced: before each write the publisher takes a token from the budget every worker
shares (``backend.adapters.write_budget``), waiting for it only as long as the attempt's time
allows; a token further away is a ``RateLimited`` like GitHub's own.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger

from backend.adapters.gitops.base import ChangeSet, PullRequestRef, Withdrawn
from backend.domain import (
    DatabaseAlreadyExists,
    FileChange,
    PermanentError,
    ProvisionerError,
    RetryableError,
)
from backend.domain.errors import OutOfTime, RateLimited
from backend.domain.naming import request_id_of_pull_request

if TYPE_CHECKING:
    from github import Github
    from github.GitRef import GitRef
    from github.PullRequest import PullRequest
    from github.Repository import Repository
    from urllib3.util.retry import Retry

    from backend.settings import Settings

logger = Logger(child=True)

SecretResolver = Callable[[str | None, str | None], str | None]

# Wait GitHub asks for after a secondary rate limit that carries no Retry-After header.
SECONDARY_RATE_LIMIT_WAIT_SECONDS = 60
# The worker Lambda's timeout is 60 s; an attempt stops starting new calls once it could overrun this.
DEFAULT_TIME_BUDGET_SECONDS = 50.0
STATUS_RETRIES = 2
BACKOFF_FACTOR = 0.25
BACKOFF_MAX_SECONDS = 1.0
# Longest a worker sleeps for its turn to write; a later turn sends the record back to the queue.
PACING_WAIT_SECONDS = 20.0


class WritePacer(Protocol):
    """The shared budget of GitHub writes (``backend.adapters.write_budget.WriteBudget``)."""

    def take(self, *, max_wait: float) -> float:
        """Take one write's turn, sleeping at most ``max_wait`` s for it; RateLimited otherwise."""
        ...


def short_retry() -> Retry:
    """urllib3 retry policy: a couple of quick retries on 5xx and connect errors, never a long sleep.

    403 and 429 are not in the list and ``Retry-After`` is not honoured, so a rate limit is
    answered at once (and becomes a RetryableError). Read errors are not retried: a request
    that timed out may have been applied, and SQS redelivery (idempotent) is the safer retry.
    POST and PUT are retried on 5xx because every write here is idempotent through its 422.
    """
    from urllib3.util.retry import Retry

    return Retry(
        total=STATUS_RETRIES,
        connect=1,
        read=0,
        status=STATUS_RETRIES,
        backoff_factor=BACKOFF_FACTOR,
        backoff_max=BACKOFF_MAX_SECONDS,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"}),
        respect_retry_after_header=False,
        raise_on_status=False,
    )


@dataclass(frozen=True)
class _Budget:
    """The time one publish may take: no call starts that could run past ``finish_by``."""

    clock: Callable[[], float]
    started: float
    finish_by: float
    worst_call_seconds: float
    pacer: WritePacer | None = None

    def check(self) -> None:
        """Refuse to start a call that could run past the caller's deadline; SQS resumes the work."""
        now = self.clock()
        if now + self.worst_call_seconds > self.finish_by:
            raise OutOfTime(
                f"GitHub publishing stopped after {now - self.started:.0f} s: the next call might not "
                "finish before the worker's time runs out; resuming later"
            )

    def write(self) -> None:
        """Before a write: the time check, then this write's turn in the shared budget."""
        self.check()
        if self.pacer is not None:
            spare = self.finish_by - self.worst_call_seconds - self.clock()
            self.pacer.take(max_wait=max(0.0, min(PACING_WAIT_SECONDS, spare)))


def git_blob_sha(data: bytes) -> str:
    """The id GitHub reports as a file's ``sha``: lets us recognise our own file without reading it."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class GitHubPublisher:
    def __init__(
        self,
        client: Github,
        repository: str,
        *,
        base_branch: str = "main",
        reviewers: tuple[str, ...] = (),
        call_timeout_seconds: float = 10,
        time_budget_seconds: float = DEFAULT_TIME_BUDGET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        write_budget: WritePacer | None = None,
    ) -> None:
        owner, _, name = repository.partition("/")
        if not owner or not name or "/" in name:
            raise PermanentError(f"GITHUB_REPOSITORY must look like owner/name (got {repository!r})")
        self._client = client
        self._repository = repository
        self._owner = owner
        self._base_branch = base_branch
        self._reviewers = reviewers
        # Longest one call can take: every attempt timing out, plus the retry backoffs.
        self._worst_call_seconds = (STATUS_RETRIES + 1) * call_timeout_seconds + 2 * BACKOFF_MAX_SECONDS
        if self._worst_call_seconds > time_budget_seconds:
            longest = (time_budget_seconds - 2 * BACKOFF_MAX_SECONDS) / (STATUS_RETRIES + 1)
            raise PermanentError(
                f"GITHUB_TIMEOUT_SECONDS={call_timeout_seconds} lets one GitHub call outlast the "
                f"{time_budget_seconds:.0f} s budget of the worker; use at most {longest:.0f}"
            )
        self._time_budget_seconds = time_budget_seconds
        self._clock = clock
        self._wall_clock = wall_clock
        self._write_budget = write_budget
        self._repo: Repository | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, secret: SecretResolver, write_budget: WritePacer | None = None
    ) -> GitHubPublisher:
        from github import Auth, Github

        auth: Auth.Auth
        if settings.github_app_id:
            private_key = secret(settings.github_app_private_key, settings.github_app_private_key_secret_id)
            if not private_key or settings.github_app_installation_id is None:
                raise PermanentError(
                    "GitHub App auth needs GITHUB_APP_PRIVATE_KEY(_SECRET_ID) and GITHUB_APP_INSTALLATION_ID"
                )
            if "\\n" in private_key and "\n" not in private_key:
                # A PEM pasted into a one-line secret or variable keeps its newlines escaped.
                private_key = private_key.replace("\\n", "\n")
            auth = Auth.AppAuth(settings.github_app_id, private_key).get_installation_auth(
                settings.github_app_installation_id
            )
        else:
            token = secret(settings.github_token, settings.github_token_secret_id)
            if not token:
                raise PermanentError("no GitHub credentials: set GITHUB_TOKEN(_SECRET_ID) or a GitHub App")
            auth = Auth.Token(token)
        client = Github(
            auth=auth,
            base_url=settings.github_api_url.rstrip("/"),
            timeout=settings.github_timeout_seconds,
            user_agent="rds-provisioner",
            retry=short_retry(),
            # PyGithub's defaults pause 0.25 s before every request and 1 s before every write.
            seconds_between_requests=None,
            seconds_between_writes=None,
            # Objects are built from URLs without fetching them: no GET /repos/{owner}/{repo}.
            lazy=True,
        )
        return cls(
            client,
            settings.github_repository,
            base_branch=settings.github_base_branch,
            reviewers=settings.github_reviewers,
            call_timeout_seconds=settings.github_timeout_seconds,
            write_budget=write_budget,
        )

    # --- the protocol ----------------------------------------------------------------------------
    @property
    def worst_call_seconds(self) -> float:
        return self._worst_call_seconds

    def open_pull_request(
        self, change: ChangeSet, *, resume: bool = False, deadline: float | None = None
    ) -> PullRequestRef:
        """Open the PR for ``change`` or return the one an earlier attempt for its request opened.

        ``resume=True`` (the caller knows this is a redelivery) looks for the PR first: one call
        when an earlier attempt got that far. The default path is the cheapest for new requests.
        """
        from github import GithubException
        from requests import exceptions as http

        started = self._clock()
        own_end = started + self._time_budget_seconds
        budget = _Budget(
            self._clock,
            started=started,
            finish_by=own_end if deadline is None else min(own_end, deadline),
            worst_call_seconds=self._worst_call_seconds,
            pacer=self._write_budget,
        )
        try:
            if resume:
                budget.check()
                existing = self._find_pull(change)
                if existing is not None:
                    return self._reuse(existing, change, budget)
            return self._publish(change, budget)
        except GithubException as exc:
            raise self._classify(exc) from exc
        except (http.Timeout, http.ConnectionError, http.RetryError) as exc:
            raise RetryableError(f"GitHub did not answer in time: {type(exc).__name__}") from exc
        except http.RequestException as exc:  # an invalid URL and the like: configuration
            raise PermanentError(f"cannot reach GitHub: {type(exc).__name__}: {exc}") from exc

    def withdraw(self, branch: str, request_id: str, reason: str) -> Withdrawn:
        """Close ``request_id``'s pull request on ``branch`` with a comment saying why."""
        from github import GithubException
        from requests import exceptions as http

        try:
            pulls = self._pulls_of_branch(branch, state="all")
            mine = [pull for pull in pulls if request_id_of_pull_request(pull.body) == request_id]
            if not mine:
                return Withdrawn.NONE
            pull = max(mine, key=lambda pull: pull.number)
            if pull.merged:
                return Withdrawn.MERGED
            if pull.state == "open":
                pull.create_issue_comment(f"Closed by rds-provisioner: {reason}")
                pull.edit(state="closed")
            return Withdrawn.CLOSED
        except GithubException as exc:
            raise self._classify(exc) from exc
        except http.RequestException as exc:
            raise RetryableError(f"GitHub did not answer: {type(exc).__name__}") from exc

    # --- steps -----------------------------------------------------------------------------------
    def _publish(self, change: ChangeSet, budget: _Budget) -> PullRequestRef:
        repo = self._repo_handle()
        budget.check()
        base_sha = repo.get_git_ref(f"heads/{self._base_branch}").object.sha
        budget.write()
        created_ref = self._create_branch(repo, change.branch, base_sha)
        budget.check()
        if change.change is FileChange.ADD:
            self._put_file(repo, change, base_sha, created_ref, budget)
        else:
            self._edit_file(repo, change, created_ref, budget)
        budget.write()
        pull, created = self._open_or_find_pull(repo, change, budget)
        if created:
            self._decorate_new(pull, change, budget)
        else:
            self._add_missing_labels(pull, change, budget)
        return PullRequestRef(url=pull.html_url, number=pull.number, branch=change.branch, created=created)

    def _create_branch(self, repo: Repository, branch: str, base_sha: str) -> GitRef | None:
        """Create the branch; None if an earlier attempt (or a concurrent duplicate) already did."""
        from github import GithubException

        try:
            return repo.create_git_ref(ref=f"refs/heads/{branch}", sha=base_sha)
        except GithubException as exc:
            if exc.status == 422 and "already exists" in _message(exc).lower():
                logger.info("branch exists from an earlier attempt", extra={"branch": branch})
                return None
            raise

    def _put_file(
        self,
        repo: Repository,
        change: ChangeSet,
        base_sha: str,
        created_ref: GitRef | None,
        budget: _Budget,
    ) -> None:
        """Put our file on the branch, which must end up as the current base plus that file."""
        from github import GithubException
        from github.Commit import Commit

        budget.write()
        try:
            written = repo.create_file(
                change.file_path, change.commit_message, _content(change), branch=change.branch
            )
        except GithubException as exc:
            if exc.status != 422:
                raise
        else:
            parent = written["commit"].parents[0].sha if isinstance(written["commit"], Commit) else base_sha
            if created_ref is None and parent != base_sha:
                # The branch existed without our file, on an older base: an earlier request for this
                # database made it and stopped there. Built on, its plan would undo newer merges.
                self._rebuild_branch(repo, change, base_sha, budget)
            return
        # 422 on a PUT without sha: the file is already on the branch. Either we put it (an
        # earlier attempt, a concurrent duplicate), it came with the base branch, or an earlier
        # request for the same database left its branch behind.
        budget.check()
        on_branch = self._file_sha(repo, change.file_path, change.branch)
        if on_branch == _blob_sha(change):
            return
        budget.check()
        on_base = self._file_sha(repo, change.file_path, self._base_branch)
        if on_base is not None:
            if created_ref is not None:
                # The branch we just made holds nothing of ours; do not leave it behind.
                created_ref.delete()
            raise DatabaseAlreadyExists(
                f"{change.file_path} already exists on {self._base_branch}: this database is already defined"
            )
        if on_branch is None:  # gone between the two calls: let the redelivery start afresh
            raise RetryableError(f"{change.file_path} changed on {change.branch} while publishing")
        self._rebuild_branch(repo, change, base_sha, budget)

    def _edit_file(
        self, repo: Repository, change: ChangeSet, created_ref: GitRef | None, budget: _Budget
    ) -> None:
        """Update or delete the database's file on the branch (it must be on the base branch).

        One read for the file's sha, then the write; a redelivery finds its own write done. The
        branch's name holds the request id, so no other request left it behind.
        """
        budget.check()
        on_branch = self._file_sha(repo, change.file_path, change.branch)
        if change.change is FileChange.UPDATE and on_branch == _blob_sha(change):
            return  # an earlier attempt wrote exactly this
        if on_branch is None:
            if change.change is FileChange.DELETE and created_ref is None:
                return  # the branch is this request's, and an earlier attempt deleted the file
            if created_ref is not None:
                created_ref.delete()
            raise PermanentError(
                f"{change.file_path} is not on {self._base_branch}: there is no such database to change"
            )
        budget.write()
        if change.change is FileChange.DELETE:
            repo.delete_file(change.file_path, change.commit_message, on_branch, branch=change.branch)
        else:
            repo.update_file(
                change.file_path, change.commit_message, _content(change), on_branch, branch=change.branch
            )

    def _rebuild_branch(self, repo: Repository, change: ChangeSet, base_sha: str, budget: _Budget) -> None:
        """Point the branch at the current base (a forced update, as ``git push -f``) and add our file."""
        from urllib.parse import quote

        logger.info("rebuilding a branch an earlier request left behind", extra={"branch": change.branch})
        budget.write()
        # PATCH /git/refs/{ref}; PyGithub's lazy GitRef would address /git/ref/{ref}, which
        # GitHub serves for GET only.
        repo.requester.requestJsonAndCheck(
            "PATCH",
            f"{repo.url}/git/refs/heads/{quote(change.branch)}",
            input={"sha": base_sha, "force": True},
        )
        budget.write()
        repo.create_file(change.file_path, change.commit_message, _content(change), branch=change.branch)

    def _open_or_find_pull(
        self, repo: Repository, change: ChangeSet, budget: _Budget
    ) -> tuple[PullRequest, bool]:
        from github import GithubException

        try:
            pull = repo.create_pull(
                base=self._base_branch,
                head=change.branch,
                title=change.title,
                body=change.pull_request_body,
            )
            return pull, True
        except GithubException as exc:
            # "A pull request already exists for owner:branch." (open) or "No commits between
            # main and branch" (ours was merged already): an earlier attempt opened it.
            if exc.status != 422:
                raise
            budget.check()
            existing = self._find_pull(change)
            if existing is not None:
                return existing, False
            budget.check()
            orphan = self._open_pull_of_branch(change.branch)
            if orphan is None:
                if "no commits between" in _message(exc).lower():
                    # The branch holds nothing new (yet): a concurrent attempt is rebuilding it.
                    raise RetryableError(f"{change.branch} has no commits to propose yet") from exc
                raise
        # An open PR of an earlier request whose request has ended (it was opened, but the
        # request gave up before recording it): the branch now holds our file, so it becomes ours.
        budget.write()
        orphan.edit(title=change.title, body=change.pull_request_body)
        logger.warning(
            "took over an open pull request an ended request left behind",
            extra={"pr_number": orphan.number, "branch": change.branch},
        )
        return orphan, False

    def _find_pull(self, change: ChangeSet) -> PullRequest | None:
        """The PR of ``change``'s request on its branch, in any state (one call: page one is enough).

        PRs of other requests on a branch of the same name (closed or merged) are never ours.
        """
        pulls = self._pulls_of_branch(change.branch, state="all")
        mine = [pull for pull in pulls if change.owns(pull.body)]
        return max(mine, key=lambda pull: pull.number) if mine else None

    def _open_pull_of_branch(self, branch: str) -> PullRequest | None:
        pulls = self._pulls_of_branch(branch, state="open")
        return pulls[0] if pulls else None

    def _pulls_of_branch(self, branch: str, *, state: str) -> list[PullRequest]:
        repo = self._repo_handle()
        return list(repo.get_pulls(state=state, head=f"{self._owner}:{branch}", base=self._base_branch))

    def _reuse(self, pull: PullRequest, change: ChangeSet, budget: _Budget) -> PullRequestRef:
        self._add_missing_labels(pull, change, budget)
        return PullRequestRef(url=pull.html_url, number=pull.number, branch=change.branch, created=False)

    def _decorate_new(self, pull: PullRequest, change: ChangeSet, budget: _Budget) -> None:
        from github import GithubException

        if change.labels:
            budget.write()
            pull.add_to_labels(*change.labels)
        if self._reviewers:
            users = [name for name in self._reviewers if "/" not in name]
            teams = [name.split("/", 1)[1] for name in self._reviewers if "/" in name]
            budget.write()
            try:
                pull.create_review_request(reviewers=users, team_reviewers=teams)
            except GithubException as exc:
                # A reviewer who cannot review (the PR author, not a collaborator) must not fail
                # the request: the PR is open, which is what the requester is waiting for.
                if exc.status != 422:
                    raise
                logger.warning("could not request reviewers", extra={"error": _message(exc)})

    def _add_missing_labels(self, pull: PullRequest, change: ChangeSet, budget: _Budget) -> None:
        # A list or create answer carries the labels, so a PR labelled earlier costs nothing more;
        # one an attempt left unlabelled (it stopped after opening the PR) gets them now.
        present = {label.name for label in pull.labels}
        missing = [label for label in change.labels if label not in present]
        if missing:
            budget.write()
            pull.add_to_labels(*missing)

    # --- helpers ---------------------------------------------------------------------------------
    def _repo_handle(self) -> Repository:
        if self._repo is None:
            self._repo = self._client.get_repo(self._repository)
        return self._repo

    def _file_sha(self, repo: Repository, path: str, ref: str) -> str | None:
        from github import UnknownObjectException

        try:
            content = repo.get_contents(path, ref=ref)
        except UnknownObjectException:
            return None
        if isinstance(content, list):  # a directory with that name: not our file either
            return ""
        return str(content.sha)

    def _classify(self, exc: Any) -> ProvisionerError:
        """Map a GitHub error answer to retryable or permanent.

        - 5xx, 408 and 409 (a concurrent update of the same ref or file): retryable.
        - 403 or 429 that is a rate limit (``Retry-After``, ``X-RateLimit-Remaining: 0`` or a
          rate-limit message): ``RateLimited``, to wait the time GitHub gives (not a failure).
        - 401: the token or app key is wrong, expired or revoked. Retrying the same credentials
          cannot fix that, so permanent; the reason names the credentials so operators act.
        - 404: the repository or base branch does not exist, or (GitHub hides private repos)
          the credentials cannot see it: configuration, permanent.
        - 422 that the steps above did not resolve (invalid branch name, validation): permanent.
        - Any other 403 ("Resource not accessible by integration"): missing permission, permanent.
        """
        status = int(exc.status or 0)
        headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
        message = _message(exc)
        if status in (403, 429) and _is_rate_limit(status, headers, message):
            wait = self._retry_after(headers)
            kind = "secondary rate limit" if "secondary" in message.lower() else "rate limit"
            return RateLimited(f"GitHub {kind} ({status}): retry in {wait} s", retry_after_seconds=wait)
        if status >= 500 or status in (408, 409):
            retry_after = headers.get("retry-after", "")
            after = int(retry_after) if retry_after.isdigit() else None
            return RetryableError(f"GitHub answered {status}: {message}", retry_after_seconds=after)
        if status == 401:
            return PermanentError(
                f"GitHub rejected the credentials (401 {message}); check the token or app key"
            )
        if status == 404:
            return PermanentError(
                f"GitHub repository {self._repository} or branch {self._base_branch} not found or not "
                "visible to these credentials (404)"
            )
        return PermanentError(f"GitHub refused the change ({status}): {message}")

    def _retry_after(self, headers: dict[str, str]) -> int:
        retry_after = headers.get("retry-after", "")
        if retry_after.isdigit():
            return max(1, int(retry_after))
        reset = headers.get("x-ratelimit-reset", "")
        if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
            return max(1, math.ceil(int(reset) - self._wall_clock()))
        return SECONDARY_RATE_LIMIT_WAIT_SECONDS


def _content(change: ChangeSet) -> str:
    if change.content is None:  # pragma: no cover - only a delete has none, and it writes none
        raise ValueError(f"{change.change} of {change.file_path} has no content")
    return change.content


def _blob_sha(change: ChangeSet) -> str:
    return git_blob_sha(_content(change).encode())


def _message(exc: Any) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    parts = [str(data.get("message") or exc.message or "")]
    for error in data.get("errors") or []:
        if isinstance(error, dict) and error.get("message"):
            parts.append(str(error["message"]))
    return ": ".join(part for part in parts if part)


def _is_rate_limit(status: int, headers: dict[str, str], message: str) -> bool:
    if status == 429 or "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0":
        return True
    lowered = message.lower()
    return "rate limit" in lowered or "try again later" in lowered or "wait a few minutes" in lowered
