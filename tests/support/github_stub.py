"""A stub GitHub REST server for the calls the GitHub publisher makes through PyGithub.

It keeps real state (commits, branches, files, pull requests, labels), answers with the JSON
shapes and error texts GitHub uses (422 ``Reference already exists``, 422 on a PUT of an existing
file without ``sha``, 422 ``A pull request already exists for owner:branch.``), checks the
``Authorization`` header, records every call and can inject failures (5xx, 403 primary rate
limit with ``X-RateLimit-Reset``, 403 secondary rate limit, 429 with ``Retry-After``).

It can also enforce a write budget as GitHub's secondary rate limit does (``limit_writes``):
at most n content-creating calls (POST, PUT, PATCH, DELETE) in any window of s seconds; a write
beyond it gets GitHub's 403 "secondary rate limit" answer with a ``Retry-After`` and changes
nothing.

    with GitHubStub(owner="acme", repo="infra") as github:
        github.seed_file("terraform/envs/dev/rds_orders.tf", "...")
        ... GitHubPublisher(..., base_url=github.base_url) ...
        assert github.calls == [("GET", "/repos/acme/infra/git/ref/heads/main"), ...]

Paths in ``calls`` have the API prefix (``/api/v3`` for GitHub Enterprise) and the query removed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DOCS = "https://docs.github.com/rest"
STUB_TOKEN = "ghp_stub_token"


def git_blob_sha(data: bytes) -> str:
    """The id git (and GitHub's ``content.sha``) gives a file's content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class RecordedCall:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str | None


@dataclass
class _Injected:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    method: str | None
    path_suffix: str | None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_suffix is None or path.endswith(self.path_suffix)
        )


@dataclass
class StubPull:
    number: int
    title: str
    body: str | None
    head: str
    base: str
    state: str = "open"
    merged: bool = False
    labels: list[str] = field(default_factory=list)
    requested_reviewers: list[str] = field(default_factory=list)
    created_at: str = ""


class _Route:
    def __init__(self, method: str, pattern: str, handler: Callable[..., tuple[int, Any]]) -> None:
        self.method = method
        self.pattern = re.compile(pattern)
        self.handler = handler


class GitHubStub:
    """One repository on a local HTTP server that answers like api.github.com (or GHE)."""

    def __init__(
        self,
        *,
        owner: str = "acme",
        repo: str = "infra",
        default_branch: str = "main",
        prefix: str = "",
        tokens: tuple[str, ...] = (STUB_TOKEN,),
        app_id: str | None = None,
        installation_id: int | None = None,
    ) -> None:
        self.owner = owner
        self.repo = repo
        self.full_name = f"{owner}/{repo}"
        self.default_branch = default_branch
        self.prefix = prefix.rstrip("/")
        self.app_id = app_id
        self.installation_id = installation_id
        self._tokens = set(tokens)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._commits: dict[str, dict[str, bytes]] = {}
        self._parents: dict[str, tuple[str, ...]] = {}
        self._branches: dict[str, str] = {}
        self.pulls: dict[int, StubPull] = {}
        self.recorded: list[RecordedCall] = []
        self.issued_installation_tokens: list[str] = []
        self._injected: deque[_Injected] = deque()
        # The enforced write budget (limit_writes): n writes per window of s seconds.
        self._write_limit: tuple[int, float] | None = None
        self._admitted_writes: deque[float] = deque()
        self.writes_admitted = 0
        self.secondary_limit_answers = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._branches[default_branch] = self._new_commit({})
        repo_path = rf"/repos/{re.escape(owner)}/{re.escape(repo)}"
        self._routes = [
            _Route("GET", repo_path + r"$", self._get_repo),
            _Route("GET", repo_path + r"/git/refs?/heads/(?P<branch>.+)$", self._get_ref),
            _Route("POST", repo_path + r"/git/refs$", self._create_ref),
            _Route("DELETE", repo_path + r"/git/refs/heads/(?P<branch>.+)$", self._delete_ref),
            _Route("PATCH", repo_path + r"/git/refs/heads/(?P<branch>.+)$", self._update_ref),
            _Route("GET", repo_path + r"/contents/(?P<path>.+)$", self._get_contents),
            _Route("PUT", repo_path + r"/contents/(?P<path>.+)$", self._put_contents),
            _Route("DELETE", repo_path + r"/contents/(?P<path>.+)$", self._delete_contents),
            _Route("POST", repo_path + r"/pulls$", self._create_pull),
            _Route("GET", repo_path + r"/pulls$", self._list_pulls),
            _Route("GET", repo_path + r"/pulls/(?P<number>\d+)$", self._get_pull),
            _Route("PATCH", repo_path + r"/pulls/(?P<number>\d+)$", self._edit_pull),
            _Route(
                "POST", repo_path + r"/pulls/(?P<number>\d+)/requested_reviewers$", self._request_reviewers
            ),
            _Route("POST", repo_path + r"/issues/(?P<number>\d+)/labels$", self._add_labels),
            _Route("POST", r"/app/installations/(?P<installation>\d+)/access_tokens$", self._access_token),
        ]

    # --- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> GitHubStub:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        stub = self

        class Handler(_Handler):
            github = stub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            # A short poll keeps stop() (and so every test's teardown) fast.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="github-stub",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    @property
    def origin(self) -> str:
        assert self._server is not None, "start the stub first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """What to give PyGithub as ``base_url`` (includes ``/api/v3`` for an Enterprise stub)."""
        return self.origin + self.prefix

    @property
    def environment(self) -> dict[str, str]:
        """The environment that points a process (the local stack) at this stub with its token."""
        return {
            "GITOPS_BACKEND": "github",
            "GITHUB_REPOSITORY": self.full_name,
            "GITHUB_API_URL": self.base_url,
            "GITHUB_TOKEN": STUB_TOKEN,
        }

    # --- what tests look at ----------------------------------------------------------------------
    @property
    def calls(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(call.method, call.path) for call in self.recorded]

    def reset_calls(self) -> None:
        with self._lock:
            self.recorded.clear()

    def branches(self) -> list[str]:
        with self._lock:
            return sorted(self._branches)

    def tip(self, branch: str) -> str:
        with self._lock:
            return self._branches[branch]

    def files(self, branch: str | None = None) -> dict[str, str]:
        with self._lock:
            sha = self._branches[branch or self.default_branch]
            return {path: data.decode() for path, data in self._commits[sha].items()}

    def seed_file(self, path: str, content: str, *, branch: str | None = None) -> None:
        """Commit ``path`` on ``branch`` (default: the base branch) without recording a call."""
        with self._lock:
            name = branch or self.default_branch
            files = dict(self._commits[self._branches[name]])
            files[path] = content.encode()
            self._branches[name] = self._new_commit(files, (self._branches[name],))

    def create_branch(self, branch: str, *, from_branch: str | None = None) -> None:
        """Create ``branch`` at the tip of ``from_branch`` without recording a call."""
        with self._lock:
            self._branches[branch] = self._branches[from_branch or self.default_branch]

    def merge_pull(self, number: int) -> None:
        """Merge a PR as a reviewer would: the head's files land on the base branch."""
        with self._lock:
            pull = self.pulls[number]
            files = dict(self._commits[self._branches[pull.base]])
            head = self._commits[self._branches[pull.head]]
            # The head's changes since it left the base, deletions included (a decommission PR).
            fork = self._commits[self._merge_base(self._branches[pull.base], self._branches[pull.head])]
            for path in set(fork) | set(head):
                if path not in head:
                    files.pop(path, None)
                elif head[path] != fork.get(path):
                    files[path] = head[path]
            parents = (self._branches[pull.base], self._branches[pull.head])
            self._branches[pull.base] = self._new_commit(files, parents)
            pull.state, pull.merged = "closed", True

    def recover(self) -> None:
        """Drop every injected failure still waiting: GitHub is back."""
        with self._lock:
            self._injected.clear()

    def pull_payload(self, number: int) -> dict[str, Any]:
        """The PR as GitHub's API (and its webhook payloads) show it."""
        with self._lock:
            return self._pull_json(self.pulls[number])

    def close_pull(self, number: int) -> None:
        """Close a PR without merging, as a reviewer would; its branch stays."""
        with self._lock:
            self.pulls[number].state = "closed"

    def advance_base(self, path: str, content: str) -> str:
        """Something else merged to the base branch meanwhile (a new commit); returns its sha."""
        self.seed_file(path, content)
        return self.tip(self.default_branch)

    # --- an enforced write budget ----------------------------------------------------------------
    def limit_writes(self, writes: int, *, per_seconds: float) -> None:
        """Admit at most ``writes`` writes in any ``per_seconds`` window (a sliding window of the
        writes admitted; refused ones do not count), like GitHub's secondary rate limit."""
        with self._lock:
            self._write_limit = (writes, per_seconds)
            self._admitted_writes.clear()

    def _over_write_limit(self) -> int | None:
        """With the lock held, for a write: None if admitted, else the seconds to wait."""
        if self._write_limit is None:
            return None
        writes, window = self._write_limit
        now = time.monotonic()
        while self._admitted_writes and self._admitted_writes[0] <= now - window:
            self._admitted_writes.popleft()
        if len(self._admitted_writes) >= writes:
            return max(1, math.ceil(self._admitted_writes[0] + window - now))
        self._admitted_writes.append(now)
        return None

    # --- failure injection -----------------------------------------------------------------------
    # Each injected answer replaces the next call (or the next call with that method and a path
    # ending in ``path``), which is still recorded in ``calls``.
    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 502,
        retry_after: int | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        message = {500: "Server Error", 502: "Server Error", 503: "Service Unavailable"}.get(status, "Error")
        self._inject(count, status, {"message": message}, headers, method, path)

    def rate_limit_next(
        self, count: int = 1, *, reset_in: int = 1800, method: str | None = None, path: str | None = None
    ) -> None:
        """403 primary rate limit: ``X-RateLimit-Remaining: 0`` and a reset ``reset_in`` s ahead."""
        headers = {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Used": "5000",
            "X-RateLimit-Reset": str(int(time.time()) + reset_in),
            "X-RateLimit-Resource": "core",
        }
        body = {
            "message": "API rate limit exceeded for installation ID 1.",
            "documentation_url": DOCS + "/overview/rate-limits-for-the-rest-api",
        }
        self._inject(count, 403, body, headers, method, path)

    def secondary_rate_limit_next(
        self,
        count: int = 1,
        *,
        status: int = 403,
        retry_after: int | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """A secondary (abuse) rate limit; GitHub sends ``Retry-After`` on some of them."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self._inject(count, status, _secondary_limit_body(), headers, method, path)

    def too_many_requests_next(
        self, count: int = 1, *, retry_after: int = 30, method: str | None = None, path: str | None = None
    ) -> None:
        """429 with ``Retry-After`` (what GitHub answers when requests come too fast)."""
        body = {"message": "Too Many Requests", "documentation_url": DOCS}
        self._inject(count, 429, body, {"Retry-After": str(retry_after)}, method, path)

    def _inject(
        self,
        count: int,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str],
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        with self._lock:
            for _ in range(count):
                self._injected.append(_Injected(status, body, headers, method, path))

    # --- the HTTP side ---------------------------------------------------------------------------
    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query)
        path = unquote(parts.path)
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                return 400, _error(400, "Problems parsing JSON"), {}
        authorization = headers.get("authorization")
        with self._lock:
            if self.prefix and path.startswith(self.prefix + "/"):
                path = path[len(self.prefix) :]
            elif self.prefix:
                self.recorded.append(RecordedCall(method, path, query, body, authorization))
                return 404, _error(404, "Not Found"), {}
            self.recorded.append(RecordedCall(method, path, query, body, authorization))
            injected = next((item for item in self._injected if item.matches(method, path)), None)
            if injected is not None:
                self._injected.remove(injected)
                payload = {**injected.body, "status": str(injected.status)}
                return injected.status, payload, injected.headers
            for route in self._routes:
                match = route.pattern.match(path)
                if match is None:
                    continue
                if route.method != method:
                    continue
                app_route = route.handler == self._access_token
                problem = self._check_auth(authorization, app=app_route)
                if problem is not None:
                    return 401, _error(401, problem), {}
                if method != "GET" and not app_route:
                    wait = self._over_write_limit()
                    if wait is not None:
                        self.secondary_limit_answers += 1
                        return 403, {**_secondary_limit_body(), "status": "403"}, {"Retry-After": str(wait)}
                    self.writes_admitted += 1
                status, payload = route.handler(body=body, query=query, **match.groupdict())
                return status, payload, _rate_headers()
            return 404, _error(404, "Not Found"), {}

    def _check_auth(self, authorization: str | None, *, app: bool) -> str | None:
        if not authorization:
            return "Requires authentication"
        scheme, _, credential = authorization.partition(" ")
        if app:
            if scheme.lower() != "bearer" or credential.count(".") != 2:
                return "A JSON web token could not be decoded"
            claims = _jwt_claims(credential)
            if claims is None or (self.app_id is not None and str(claims.get("iss")) != self.app_id):
                return "'Issuer' claim ('iss') must be an Integer"
            return None
        if scheme.lower() not in {"token", "bearer"} or credential not in self._tokens:
            return "Bad credentials"
        return None

    # --- state helpers (called with the lock held) -----------------------------------------------
    def _new_commit(self, files: dict[str, bytes], parents: tuple[str, ...] = ()) -> str:
        sha = hashlib.sha1(f"commit {next(self._ids)}".encode(), usedforsecurity=False).hexdigest()
        self._commits[sha] = files
        self._parents[sha] = parents
        return sha

    @property
    def _api(self) -> str:
        return f"{self.origin}{self.prefix}/repos/{self.full_name}"

    def _repo_json(self) -> dict[str, Any]:
        return {
            "id": 4242,
            "node_id": "R_stub",
            "name": self.repo,
            "full_name": self.full_name,
            "private": True,
            "owner": {"login": self.owner, "id": 7, "type": "Organization"},
            "html_url": f"{self.origin}/{self.full_name}",
            "url": self._api,
            "default_branch": self.default_branch,
        }

    def _ref_json(self, branch: str) -> dict[str, Any]:
        sha = self._branches[branch]
        return {
            "ref": f"refs/heads/{branch}",
            "node_id": f"REF_{branch}",
            "url": f"{self._api}/git/refs/heads/{branch}",
            "object": {"sha": sha, "type": "commit", "url": f"{self._api}/git/commits/{sha}"},
        }

    def _content_json(self, path: str, data: bytes, ref: str) -> dict[str, Any]:
        sha = git_blob_sha(data)
        return {
            "type": "file",
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "size": len(data),
            "url": f"{self._api}/contents/{path}?ref={ref}",
            "html_url": f"{self.origin}/{self.full_name}/blob/{ref}/{path}",
            "git_url": f"{self._api}/git/blobs/{sha}",
            "download_url": f"{self.origin}/raw/{self.full_name}/{ref}/{path}",
        }

    def _pull_json(self, pull: StubPull) -> dict[str, Any]:
        head_sha = self._branches.get(pull.head, "0" * 40)
        return {
            "url": f"{self._api}/pulls/{pull.number}",
            "id": 100000 + pull.number,
            "node_id": f"PR_{pull.number}",
            "html_url": f"{self.origin}/{self.full_name}/pull/{pull.number}",
            "diff_url": f"{self.origin}/{self.full_name}/pull/{pull.number}.diff",
            "issue_url": f"{self._api}/issues/{pull.number}",
            "number": pull.number,
            "state": pull.state,
            "locked": False,
            "title": pull.title,
            "body": pull.body,
            "user": {"login": "rds-provisioner[bot]", "id": 99, "type": "Bot"},
            "labels": [_label_json(name) for name in pull.labels],
            "requested_reviewers": [{"login": login, "id": 1} for login in pull.requested_reviewers],
            "created_at": pull.created_at,
            "updated_at": pull.created_at,
            "merged": pull.merged,
            "draft": False,
            "head": {
                "label": f"{self.owner}:{pull.head}",
                "ref": pull.head,
                "sha": head_sha,
                "repo": self._repo_json(),
            },
            "base": {
                "label": f"{self.owner}:{pull.base}",
                "ref": pull.base,
                "sha": self._branches[pull.base],
                "repo": self._repo_json(),
            },
        }

    # --- routes (called with the lock held) ------------------------------------------------------
    def _get_repo(self, **_: Any) -> tuple[int, Any]:
        return 200, self._repo_json()

    def _get_ref(self, *, branch: str, **_: Any) -> tuple[int, Any]:
        if branch not in self._branches:
            return 404, _error(404, "Not Found")
        return 200, self._ref_json(branch)

    def _create_ref(self, *, body: Any, **_: Any) -> tuple[int, Any]:
        ref = str((body or {}).get("ref", ""))
        sha = str((body or {}).get("sha", ""))
        if not ref.startswith("refs/") or ref.count("/") < 2:
            return 422, _error(422, "Reference name must start with 'refs/' and have at least two slashes.")
        branch = ref.removeprefix("refs/heads/")
        if branch in self._branches:
            return 422, _error(422, "Reference already exists")
        if sha not in self._commits:
            return 422, _error(422, "Object does not exist")
        self._branches[branch] = sha
        return 201, self._ref_json(branch)

    def _update_ref(self, *, branch: str, body: Any, **_: Any) -> tuple[int, Any]:
        sha = str((body or {}).get("sha", ""))
        if branch not in self._branches:
            return 422, _error(422, "Reference does not exist")
        if sha not in self._commits:
            return 422, _error(422, "Object does not exist")
        if not (body or {}).get("force") and not self._is_ancestor(self._branches[branch], sha):
            return 422, _error(422, "Update is not a fast forward")
        self._branches[branch] = sha
        return 200, self._ref_json(branch)

    def _merge_base(self, left: str, right: str) -> str:
        """The newest commit both histories share (breadth first from ``left``)."""
        todo, seen = deque([left]), set()
        while todo:
            sha = todo.popleft()
            if sha in seen:
                continue
            seen.add(sha)
            if self._is_ancestor(sha, right):
                return sha
            todo.extend(self._parents.get(sha, ()))
        return left

    def _is_ancestor(self, ancestor: str, descendant: str) -> bool:
        seen, todo = set(), [descendant]
        while todo:
            sha = todo.pop()
            if sha == ancestor:
                return True
            if sha not in seen:
                seen.add(sha)
                todo.extend(self._parents.get(sha, ()))
        return False

    def _delete_ref(self, *, branch: str, **_: Any) -> tuple[int, Any]:
        if self._branches.pop(branch, None) is None:
            return 422, _error(422, "Reference does not exist")
        return 204, None

    def _get_contents(self, *, path: str, query: dict[str, list[str]], **_: Any) -> tuple[int, Any]:
        ref = query.get("ref", [self.default_branch])[0]
        sha = self._branches.get(ref, ref)
        files = self._commits.get(sha)
        if files is None:
            return 404, _error(404, f"No commit found for the ref {ref}")
        if path not in files:
            return 404, _error(404, "Not Found")
        data = files[path]
        payload = self._content_json(path, data, ref)
        payload.update(encoding="base64", content=base64.encodebytes(data).decode())
        return 200, payload

    def _put_contents(self, *, path: str, body: Any, **_: Any) -> tuple[int, Any]:
        body = body or {}
        branch = str(body.get("branch") or self.default_branch)
        if "message" not in body or "content" not in body:
            return 422, _error(422, 'Invalid request.\n\n"message" and "content" are required.')
        if branch not in self._branches:
            return 404, _error(404, f"Branch {branch} not found")
        try:
            data = base64.b64decode(str(body["content"]), validate=True)
        except (binascii.Error, ValueError):
            return 422, _error(422, "content is not valid Base64")
        parent = self._branches[branch]
        files = dict(self._commits[parent])
        existing = files.get(path)
        given_sha = body.get("sha")
        if existing is not None and not given_sha:
            return 422, _error(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if existing is not None and given_sha != git_blob_sha(existing):
            return 409, _error(409, f"{path} does not match {given_sha}")
        if existing is None and given_sha:
            return 422, _error(422, "sha does not match: the file does not exist")
        files[path] = data
        commit = self._new_commit(files, (parent,))
        self._branches[branch] = commit
        person = {"name": "rds-provisioner", "email": "bot@example.com", "date": _now()}
        return (200 if existing is not None else 201), {
            "content": self._content_json(path, data, branch),
            "commit": {
                "sha": commit,
                "node_id": f"C_{commit[:8]}",
                "url": f"{self._api}/git/commits/{commit}",
                "html_url": f"{self.origin}/{self.full_name}/commit/{commit}",
                "author": person,
                "committer": person,
                "message": body["message"],
                "tree": {"sha": commit[::-1], "url": f"{self._api}/git/trees/{commit[::-1]}"},
                "parents": [{"sha": parent, "url": f"{self._api}/git/commits/{parent}"}],
            },
        }

    def _delete_contents(self, *, path: str, body: Any, **_: Any) -> tuple[int, Any]:
        body = body or {}
        branch = str(body.get("branch") or self.default_branch)
        if "message" not in body or "sha" not in body:
            return 422, _error(422, 'Invalid request.\n\n"message" and "sha" are required.')
        if branch not in self._branches:
            return 404, _error(404, f"Branch {branch} not found")
        parent = self._branches[branch]
        files = dict(self._commits[parent])
        existing = files.get(path)
        if existing is None:
            return 404, _error(404, "Not Found")
        if body["sha"] != git_blob_sha(existing):
            return 409, _error(409, f"{path} does not match {body['sha']}")
        del files[path]
        commit = self._new_commit(files, (parent,))
        self._branches[branch] = commit
        person = {"name": "rds-provisioner", "email": "bot@example.com", "date": _now()}
        return 200, {
            "content": None,
            "commit": {
                "sha": commit,
                "node_id": f"C_{commit[:8]}",
                "url": f"{self._api}/git/commits/{commit}",
                "html_url": f"{self.origin}/{self.full_name}/commit/{commit}",
                "author": person,
                "committer": person,
                "message": body["message"],
                "tree": {"sha": commit[::-1], "url": f"{self._api}/git/trees/{commit[::-1]}"},
                "parents": [{"sha": parent, "url": f"{self._api}/git/commits/{parent}"}],
            },
        }

    def _create_pull(self, *, body: Any, **_: Any) -> tuple[int, Any]:
        body = body or {}
        head = str(body.get("head", "")).removeprefix(f"{self.owner}:")
        base = str(body.get("base", ""))
        if head not in self._branches or base not in self._branches:
            field_name = "head" if head not in self._branches else "base"
            return 422, _validation_failed(
                {"resource": "PullRequest", "field": field_name, "code": "invalid"}
            )
        for pull in self.pulls.values():
            if pull.head == head and pull.base == base and pull.state == "open":
                message = f"A pull request already exists for {self.owner}:{head}."
                return 422, _validation_failed(
                    {"resource": "PullRequest", "code": "custom", "message": message}
                )
        if self._commits[self._branches[head]] == self._commits[self._branches[base]]:
            message = f"No commits between {base} and {head}"
            return 422, _validation_failed({"resource": "PullRequest", "code": "custom", "message": message})
        number = len(self.pulls) + 1
        pull = StubPull(number, str(body.get("title", "")), body.get("body"), head, base, created_at=_now())
        self.pulls[number] = pull
        return 201, self._pull_json(pull)

    def _list_pulls(self, *, query: dict[str, list[str]], **_: Any) -> tuple[int, Any]:
        state = query.get("state", ["open"])[0]
        head = query.get("head", [None])[0]
        base = query.get("base", [None])[0]
        found = []
        for pull in sorted(self.pulls.values(), key=lambda p: -p.number):
            if state != "all" and pull.state != state:
                continue
            if head is not None and f"{self.owner}:{pull.head}" != head:
                continue
            if base is not None and pull.base != base:
                continue
            found.append(self._pull_json(pull))
        return 200, found

    def _get_pull(self, *, number: str, **_: Any) -> tuple[int, Any]:
        pull = self.pulls.get(int(number))
        return (200, self._pull_json(pull)) if pull else (404, _error(404, "Not Found"))

    def _edit_pull(self, *, number: str, body: Any, **_: Any) -> tuple[int, Any]:
        pull = self.pulls.get(int(number))
        if pull is None:
            return 404, _error(404, "Not Found")
        body = body or {}
        pull.title = str(body.get("title", pull.title))
        pull.body = body.get("body", pull.body)
        if body.get("state") in {"open", "closed"} and not pull.merged:
            pull.state = str(body["state"])
        return 200, self._pull_json(pull)

    def _request_reviewers(self, *, number: str, body: Any, **_: Any) -> tuple[int, Any]:
        pull = self.pulls.get(int(number))
        if pull is None:
            return 404, _error(404, "Not Found")
        pull.requested_reviewers.extend(str(login) for login in (body or {}).get("reviewers", []))
        return 201, self._pull_json(pull)

    def _add_labels(self, *, number: str, body: Any, **_: Any) -> tuple[int, Any]:
        pull = self.pulls.get(int(number))
        if pull is None:
            return 404, _error(404, "Not Found")
        names = body.get("labels", []) if isinstance(body, dict) else (body or [])
        for name in names:
            if name not in pull.labels:
                pull.labels.append(str(name))
        return 200, [_label_json(name) for name in pull.labels]

    def _access_token(self, *, installation: str, **_: Any) -> tuple[int, Any]:
        if self.installation_id is not None and int(installation) != self.installation_id:
            return 404, _error(404, "Not Found")
        token = f"ghs_stub_installation_{next(self._ids)}"
        self._tokens.add(token)
        self.issued_installation_tokens.append(token)
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        return 201, {
            "token": token,
            "expires_at": expires,
            "permissions": {"contents": "write", "pull_requests": "write"},
            "repository_selection": "selected",
        }


class _Handler(BaseHTTPRequestHandler):
    github: GitHubStub
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive clients wait ~40 ms each.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        status, payload, extra_headers = self.github.handle(self.command, self.path, headers, raw_body)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in extra_headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the recorded calls are the log."""


def _error(status: int, message: str) -> dict[str, Any]:
    return {"message": message, "documentation_url": DOCS, "status": str(status)}


def _validation_failed(error: dict[str, Any]) -> dict[str, Any]:
    return {"message": "Validation Failed", "errors": [error], "documentation_url": DOCS, "status": "422"}


def _secondary_limit_body() -> dict[str, Any]:
    return {
        "message": (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
            "If you reach out to GitHub Support for help, please include the request ID."
        ),
        "documentation_url": DOCS + "/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
    }


def _label_json(name: str) -> dict[str, Any]:
    return {
        "id": abs(hash(name)) % 10**8,
        "node_id": f"LA_{name}",
        "url": f"/labels/{name}",
        "name": name,
        "color": "ededed",
        "default": False,
        "description": None,
    }


def _rate_headers() -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "4999",
        "X-RateLimit-Reset": str(int(time.time()) + 3600),
        "X-RateLimit-Resource": "core",
    }


def _jwt_claims(token: str) -> dict[str, Any] | None:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, IndexError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
