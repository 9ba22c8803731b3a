"""A real git repository on disk as the pull-request target of the local stack.

Same layout as on GitHub: branch ``main`` seeded from the project's ``terraform/`` directory,
one branch per request holding one new file. Publishing never touches a working tree or the
repository's index (several worker threads publish at once): blobs, trees and commits are
written with git plumbing through a private index file, and a branch is created with
``update-ref <branch> <commit> <zero-oid>``, which fails if the branch appeared meanwhile, so
a duplicate delivery loses cleanly and re-reads what the winner wrote.

"Pull requests" are JSON records under ``.git/rds-provisioner/pulls/``, one per number, created
atomically under a lock so a redelivered request finds its PR instead of opening a second one.
Each names the request it belongs to: a database asked for again after its PR was closed gets a
new PR on its branch, rebuilt from the current ``main``, and the closed one is never reused.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger

from backend.adapters.gitops.base import ChangeSet, PullRequestRef, Withdrawn
from backend.domain import DatabaseAlreadyExists, FileChange, NotFound, PermanentError, RetryableError

logger = Logger(child=True)

ZERO_OID = "0" * 40
IDENTITY_NAME = "rds-provisioner"
IDENTITY_EMAIL = "rds-provisioner@localhost"
# Paths in terraform/ that are local caches or state, never part of the GitOps repository.
_SEED_SKIP_PREFIXES = (".terraform",)
_SEED_SKIP_SUFFIXES = (".tfstate", ".tfstate.backup", ".tfplan")
_BRANCH_ATTEMPTS = 5


class GitCommandFailed(RetryableError):
    """A git command failed unexpectedly (disk full, a stale lock): worth another delivery."""


@dataclass(frozen=True)
class LocalPullRequest:
    number: int
    url: str
    branch: str
    base: str
    title: str
    body: str
    file_path: str
    labels: tuple[str, ...]
    state: str  # "open", "merged" or "closed" (without merging)
    created_at: str
    base_sha: str
    head_sha: str
    request_id: str = ""
    merged_at: str | None = None
    merge_commit_sha: str | None = None
    closed_at: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LocalPullRequest:
        data: dict[str, Any] = json.loads(text)
        data["labels"] = tuple(data.get("labels") or ())
        return cls(**data)


class LocalGitPublisher:
    def __init__(
        self,
        repo_path: Path,
        *,
        base_branch: str,
        pr_base_url: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        git = shutil.which("git")
        if git is None:
            raise PermanentError("the local GitOps backend needs the git command line tool")
        self.repo_path = Path(repo_path).absolute()
        self.git_dir = self.repo_path / ".git"
        self.base_branch = base_branch
        self.pr_base_url = pr_base_url.rstrip("/")
        self._git_executable = git
        self._clock = clock
        self._state_dir = self.git_dir / "rds-provisioner"
        self._pulls_dir = self._state_dir / "pulls"
        # Explicit environment: no user or system git config (signing, hooks paths), no
        # inherited GIT_DIR, and the same identity on every commit.
        self._env: Mapping[str, str] = {
            "GIT_AUTHOR_NAME": IDENTITY_NAME,
            "GIT_AUTHOR_EMAIL": IDENTITY_EMAIL,
            "GIT_COMMITTER_NAME": IDENTITY_NAME,
            "GIT_COMMITTER_EMAIL": IDENTITY_EMAIL,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        }

    # --- setup -----------------------------------------------------------------------------------
    def ensure_repository(self, seed_dir: Path) -> bool:
        """Create the repository with ``main`` holding ``seed_dir`` under ``terraform/``.

        Idempotent and safe to race: returns True only for the call that made the initial commit.
        """
        self.repo_path.mkdir(parents=True, exist_ok=True)
        if not (self.git_dir / "HEAD").exists():
            self._run(
                ["init", "--quiet", f"--initial-branch={self.base_branch}", str(self.repo_path)],
                in_repo=False,
            )
        with self._locked():
            if self._resolve(self._branch_ref(self.base_branch)) is not None:
                return False
            entries = []
            files = sorted(_seed_files(Path(seed_dir)))
            if files:
                paths = "".join(f"{path}\n" for path, _ in files).encode()
                shas = self._git("hash-object", "-w", "--stdin-paths", input=paths).split()
                for (path, relative), sha in zip(files, shas, strict=True):
                    mode = "100755" if os.access(path, os.X_OK) else "100644"
                    entries.append(f"{mode} {sha}\tterraform/{relative}\n")
            with self._private_index() as index:
                if entries:
                    self._git(
                        "update-index", "--add", "--index-info", input="".join(entries).encode(), index=index
                    )
                tree = self._git("write-tree", index=index)
            message = f"Seed the GitOps repository from {Path(seed_dir).name}/\n"
            commit = self._git("commit-tree", tree, input=message.encode())
            self._git("update-ref", self._branch_ref(self.base_branch), commit, ZERO_OID)
            # A browsable checkout for people; publishing itself never uses it.
            self._git("read-tree", "-u", "--reset", commit)
            return True

    # --- the protocol ----------------------------------------------------------------------------
    worst_call_seconds = 5.0  # one git command on a local disk

    def open_pull_request(
        self, change: ChangeSet, *, resume: bool = False, deadline: float | None = None
    ) -> PullRequestRef:
        """Open the PR for ``change`` or return the one an earlier delivery of its request opened.

        ``resume`` and ``deadline`` are accepted for parity with GitHubPublisher: looking for the
        existing PR first is free here, so every call does it, and no step outlasts a deadline.
        """
        base_sha = self._resolve(self._branch_ref(self.base_branch))
        if base_sha is None:
            raise PermanentError(
                f"the local GitOps repository {self.repo_path} has no branch {self.base_branch}; "
                "run ensure_repository() first"
            )
        existing = self._pull_of(change)
        if existing is not None:
            return self._ref(existing, created=False)
        on_base = self._blob_at(base_sha, change.file_path) is not None
        if change.change is FileChange.ADD and on_base:
            raise DatabaseAlreadyExists(
                f"{change.file_path} already exists on {self.base_branch}: this database is already defined"
            )
        if change.change is not FileChange.ADD and not on_base:
            raise PermanentError(
                f"{change.file_path} is not on {self.base_branch}: there is no such database to change"
            )
        blob = (
            None
            if change.content is None
            else self._git("hash-object", "-w", "--stdin", input=change.content.encode())
        )
        head_sha = self._ensure_branch(change, base_sha, blob)
        pull, created = self._record_pull(change, base_sha, head_sha)
        return self._ref(pull, created=created)

    # --- the local PR page and demos -------------------------------------------------------------
    def list_pull_requests(self) -> list[LocalPullRequest]:
        if not self._pulls_dir.is_dir():
            return []
        pulls = [LocalPullRequest.from_json(path.read_text()) for path in self._pulls_dir.glob("*.json")]
        return sorted(pulls, key=lambda pull: pull.number)

    def get_pull_request(self, number: int) -> LocalPullRequest | None:
        return next((pull for pull in self.list_pull_requests() if pull.number == number), None)

    def file_on_base(self, path: str) -> str | None:
        """``path``'s content on the base branch (None when it is not there)."""
        base = self._resolve(self._branch_ref(self.base_branch))
        if base is None or self._blob_at(base, path) is None:
            return None
        return self._git("show", f"{base}:{path}", strip=False)

    def diff(self, number: int) -> str:
        """What the PR changes: ``git diff base...branch`` (the recorded range once merged)."""
        pull = self._require_pull(number)
        if pull.state == "merged":
            return self._git("diff", pull.base_sha, pull.head_sha, strip=False)
        return self._git(
            "diff", f"{self._branch_ref(pull.base)}...{self._branch_ref(pull.branch)}", strip=False
        )

    def close_pull_request(self, number: int) -> LocalPullRequest:
        """Close the PR without merging (what a reviewer's "Close" does); the branch stays."""
        with self._locked():
            pull = self._require_pull(number)
            if pull.state != "open":
                return pull
            closed = replace(pull, state="closed", closed_at=self._clock().isoformat())
            self._write_atomically(self._pull_path(number), closed.to_json(), replace_existing=True)
            return closed

    def withdraw(self, branch: str, request_id: str, reason: str) -> Withdrawn:
        """Close ``request_id``'s pull request on ``branch`` (the protocol's; ``reason`` is logged)."""
        mine = [p for p in self.list_pull_requests() if p.branch == branch and p.request_id == request_id]
        if not mine:
            return Withdrawn.NONE
        pull = max(mine, key=lambda p: p.number)
        if pull.state == "merged":
            return Withdrawn.MERGED
        self.close_pull_request(pull.number)
        logger.info("pull request withdrawn", extra={"pr_number": pull.number, "reason": reason})
        return Withdrawn.CLOSED

    def merge_pull_request(self, number: int) -> LocalPullRequest:
        """Merge the PR into the base branch with a merge commit (what a reviewer's click does)."""
        with self._locked():
            pull = self._require_pull(number)
            if pull.state == "merged":
                return pull
            if pull.state == "closed":
                raise PermanentError(f"#{number} is closed; a closed pull request cannot be merged")
            base_ref = self._branch_ref(pull.base)
            base_tip = self._resolve(base_ref)
            head_tip = self._resolve(self._branch_ref(pull.branch))
            if base_tip is None or head_tip is None:
                raise PermanentError(f"cannot merge #{number}: {pull.base} or {pull.branch} is missing")
            merged = self._run(["merge-tree", "--write-tree", base_tip, head_tip], check=False)
            if merged.returncode != 0:
                raise PermanentError(f"#{number} does not merge cleanly into {pull.base}")
            tree = merged.stdout.decode().split("\n", 1)[0].strip()
            message = f"Merge pull request #{number} from {pull.branch}\n\n{pull.title}\n"
            commit = self._git("commit-tree", tree, "-p", base_tip, "-p", head_tip, input=message.encode())
            self._git("update-ref", base_ref, commit, base_tip)
            merged_pull = replace(
                pull,
                state="merged",
                head_sha=head_tip,
                merged_at=self._clock().isoformat(),
                merge_commit_sha=commit,
            )
            self._write_atomically(self._pull_path(number), merged_pull.to_json(), replace_existing=True)
            # Move the browsable checkout along; a checkout someone edited is left alone.
            self._run(["read-tree", "-u", "-m", base_tip, commit], check=False)
            return merged_pull

    # --- publishing steps ------------------------------------------------------------------------
    def _ensure_branch(self, change: ChangeSet, base_sha: str, blob: str | None) -> str:
        """The branch's tip holding our file (``blob``; None: deleted) on the current base,
        creating or rebuilding the branch.

        A tip that does not hold exactly our change was left by an earlier request for the same
        database (each publish writes branch and file in one commit): it is replaced by a commit
        on the current base, never built upon.
        """
        ref = self._branch_ref(change.branch)
        for _ in range(_BRANCH_ATTEMPTS):
            tip = self._resolve(ref)
            if tip is not None and tip != base_sha and self._blob_at(tip, change.file_path) == blob:
                return tip  # an earlier or concurrent delivery already wrote exactly this
            commit = self._commit_with_file(base_sha, change.file_path, blob, change.commit_message)
            # Compare-and-swap: create only if absent, or move only from the tip we looked at.
            updated = self._run(["update-ref", ref, commit, tip or ZERO_OID], check=False)
            if updated.returncode == 0:
                return commit
        raise RetryableError(f"branch {change.branch} kept changing while publishing")

    def _commit_with_file(self, parent: str, path: str, blob: str | None, message: str) -> str:
        """A commit on ``parent`` with ``path`` set to ``blob``, or removed when ``blob`` is None."""
        with self._private_index() as index:
            self._git("read-tree", parent, index=index)
            if blob is None:
                self._git("update-index", "--force-remove", path, index=index)
            else:
                self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", index=index)
            tree = self._git("write-tree", index=index)
        return self._git("commit-tree", tree, "-p", parent, input=_with_newline(message).encode())

    def _record_pull(self, change: ChangeSet, base_sha: str, head_sha: str) -> tuple[LocalPullRequest, bool]:
        with self._locked():
            existing = self._pull_of(change)
            if existing is not None:
                return existing, False
            orphan = next(
                (p for p in self.list_pull_requests() if p.branch == change.branch and p.state == "open"),
                None,
            )
            if orphan is not None:
                # An open PR whose request ended before recording it: the branch now holds our
                # file, so the PR becomes ours (as GitHub keeps one open PR per branch).
                adopted = replace(
                    orphan,
                    title=change.title,
                    body=change.pull_request_body,
                    request_id=change.request_id,
                    base_sha=base_sha,
                    head_sha=head_sha,
                )
                self._write_atomically(
                    self._pull_path(orphan.number), adopted.to_json(), replace_existing=True
                )
                return adopted, False
            number = max((pull.number for pull in self.list_pull_requests()), default=0) + 1
            pull = LocalPullRequest(
                number=number,
                url=f"{self.pr_base_url}/{number}",
                branch=change.branch,
                base=self.base_branch,
                title=change.title,
                body=change.pull_request_body,
                file_path=change.file_path,
                labels=tuple(change.labels),
                state="open",
                created_at=self._clock().isoformat(),
                base_sha=base_sha,
                head_sha=head_sha,
                request_id=change.request_id,
            )
            self._write_atomically(self._pull_path(number), pull.to_json(), replace_existing=False)
            return pull, True

    # --- records ---------------------------------------------------------------------------------
    def _pull_path(self, number: int) -> Path:
        return self._pulls_dir / f"{number:06d}.json"

    def _pull_of(self, change: ChangeSet) -> LocalPullRequest | None:
        """The PR of ``change``'s request on its branch (a step of its own), in any state; PRs of other
        requests never count."""
        mine = [
            pull
            for pull in self.list_pull_requests()
            if pull.request_id == change.request_id and pull.branch == change.branch
        ]
        return mine[-1] if mine else None

    def _require_pull(self, number: int) -> LocalPullRequest:
        pull = self.get_pull_request(number)
        if pull is None:
            raise NotFound(f"no local pull request #{number}")
        return pull

    def _write_atomically(self, path: Path, text: str, *, replace_existing: bool) -> None:
        """Readers see the whole record or none; without ``replace_existing`` an existing one wins."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".pull-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            if replace_existing:
                Path(temporary).replace(path)
            else:
                os.link(temporary, path)  # fails with FileExistsError like O_EXCL, but never half-written
        finally:
            Path(temporary).unlink(missing_ok=True)

    def _ref(self, pull: LocalPullRequest, *, created: bool) -> PullRequestRef:
        return PullRequestRef(url=pull.url, number=pull.number, branch=pull.branch, created=created)

    # --- git -------------------------------------------------------------------------------------
    @staticmethod
    def _branch_ref(branch: str) -> str:
        return f"refs/heads/{branch}"

    def _resolve(self, ref: str) -> str | None:
        result = self._run(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], check=False)
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def _blob_at(self, commit: str, path: str) -> str | None:
        result = self._run(["rev-parse", "--verify", "--quiet", f"{commit}:{path}"], check=False)
        return result.stdout.decode().strip() if result.returncode == 0 else None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer of records and base-branch merges at a time, across threads and processes."""
        self._state_dir.mkdir(parents=True, exist_ok=True)
        with (self._state_dir / "lock").open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @contextmanager
    def _private_index(self) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="rds-provisioner-index-") as directory:
            yield Path(directory) / "index"

    def _git(
        self, *args: str, input: bytes | None = None, index: Path | None = None, strip: bool = True
    ) -> str:
        result = self._run(list(args), input=input, index=index)
        output = result.stdout.decode()
        return output.strip() if strip else output

    def _run(
        self,
        args: list[str],
        *,
        input: bytes | None = None,
        index: Path | None = None,
        check: bool = True,
        in_repo: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        # --git-dir/--work-tree always: without them git would search upwards and could find
        # the project's own repository when .local/gitops is not initialised yet.
        location = [] if not in_repo else [f"--git-dir={self.git_dir}", f"--work-tree={self.repo_path}"]
        env = dict(self._env)
        if index is not None:
            env["GIT_INDEX_FILE"] = str(index)
        result = subprocess.run(  # noqa: S603 - fixed executable, arguments from our own code
            [self._git_executable, *location, *args],
            input=input,
            capture_output=True,
            env=env,
            check=False,
        )
        if check and result.returncode != 0:
            stderr = result.stderr.decode(errors="replace").strip()
            raise GitCommandFailed(f"git {args[0]} failed ({result.returncode}): {stderr}")
        return result


def _seed_files(seed_dir: Path) -> Iterator[tuple[Path, str]]:
    if not seed_dir.is_dir():
        return
    for path in seed_dir.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        relative = path.relative_to(seed_dir).as_posix()
        if any(part.startswith(_SEED_SKIP_PREFIXES) for part in relative.split("/")):
            continue
        if relative.endswith(_SEED_SKIP_SUFFIXES):
            continue
        yield path.absolute(), relative


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"
