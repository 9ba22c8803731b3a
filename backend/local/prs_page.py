"""HTML pages for the local pull requests, so the PR link the worker posts opens in a browser.

Everything shown comes from user input one way or another (names, purposes, PR bodies, diffs),
so every value is HTML-escaped; the PR body is shown as its markdown text, which reads fine.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from typing import Any, Protocol, runtime_checkable

from backend.domain import PermanentError
from backend.local.gateway import Page

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
body { color: #1f2328; }
a { color: #0969da; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
code, pre { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { background: #f6f8fa; padding: 1rem; overflow-x: auto; border-radius: 6px; }
pre.body { white-space: pre-wrap; }
.add { color: #116329; background: #dafbe1; display: block; }
.del { color: #82071e; background: #ffebe9; display: block; }
.hunk { color: #6e7781; display: block; }
.meta { color: #57606a; }
.state { font-weight: 600; }
form.review { display: inline-block; margin-right: .5rem; }
form.review button { font: inherit; padding: .3rem .9rem; color: #fff; background: #1f883d; }
form.review button { border: 0; border-radius: 6px; cursor: pointer; }
form.review button.close { background: #6e7781; }
"""


class LocalPullRequests(Protocol):
    """What the pages need from the local git publisher."""

    def list_pull_requests(self) -> Sequence[Any]: ...

    def get_pull_request(self, number: int) -> Any: ...

    def diff(self, number: int) -> str: ...


@runtime_checkable
class ReviewablePullRequests(LocalPullRequests, Protocol):
    """A source the review actions can merge or close with (``LocalGitPublisher``)."""

    def merge_pull_request(self, number: int) -> Any: ...

    def close_pull_request(self, number: int) -> Any: ...


PublisherSource = Callable[[], LocalPullRequests | None]
# Called with the merged or closed pull request; returns what became of its request (for the JSON
# answer). It does what GitHub's pull_request "closed" webhook event does.
ReviewHook = Callable[[Any], Mapping[str, Any]]
# What a reviewer can do to an open pull request: the action's name -> the source's method.
REVIEW_ACTIONS: Mapping[str, Callable[[ReviewablePullRequests, int], Any]] = {
    "merge": lambda source, number: source.merge_pull_request(number),
    "close": lambda source, number: source.close_pull_request(number),
}


def _field(pr: Any, *names: str, default: Any = "") -> Any:
    for name in names:
        value = pr.get(name) if isinstance(pr, dict) else getattr(pr, name, None)
        if value is not None:
            return value
    return default


def _document(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def summaries(prs: Sequence[Any]) -> list[dict[str, Any]]:
    """The PR list as JSON-ready dicts (``rdsctl prs``), newest first."""
    return [
        {
            "number": int(_field(pr, "number")),
            "title": str(_field(pr, "title")),
            "branch": str(_field(pr, "branch", "head")),
            "file_path": str(_field(pr, "file_path", "path")),
            "state": str(_field(pr, "state", default="open")),
            "url": str(_field(pr, "url")),
        }
        for pr in sorted(prs, key=lambda pr: -int(_field(pr, "number", default=0)))
    ]


def index_page(links: Iterable[tuple[str, str]]) -> str:
    items = "\n".join(f'<li><a href="{escape(href)}">{escape(label)}</a></li>' for href, label in links)
    return _document(
        "rds-provisioner (local)",
        "<h1>rds-provisioner, running locally</h1>\n"
        "<p>Requests become Terraform pull requests in the local git repository.</p>\n"
        f"<ul>\n{items}\n</ul>",
    )


def list_page(prs: Sequence[Any]) -> str:
    rows = (
        "\n".join(
            "<tr>"
            f'<td><a href="/_local/prs/{pr["number"]}">#{pr["number"]}</a></td>'
            f'<td><a href="/_local/prs/{pr["number"]}">{escape(pr["title"])}</a></td>'
            f"<td><code>{escape(pr['branch'])}</code></td>"
            f"<td><code>{escape(pr['file_path'])}</code></td>"
            f"<td class=state>{escape(pr['state'])}</td>"
            "</tr>"
            for pr in summaries(prs)
        )
        or "<tr><td colspan=5 class=meta>No pull requests yet. Submit a request first.</td></tr>"
    )
    return _document(
        "Local pull requests",
        '<p><a href="/">home</a></p>\n<h1>Local pull requests</h1>\n'
        "<table><thead><tr><th>#</th><th>Title</th><th>Branch</th><th>File</th><th>State</th></tr></thead>\n"
        f"<tbody>\n{rows}\n</tbody></table>",
    )


def render_diff(diff: str) -> str:
    """A unified diff as escaped HTML lines, additions and deletions marked."""
    lines = []
    for line in diff.splitlines():
        text = escape(line)
        if line.startswith(("+++", "---", "diff ", "index ")):
            lines.append(f"<span class=hunk>{text}</span>")
        elif line.startswith("+"):
            lines.append(f"<span class=add>{text}</span>")
        elif line.startswith("-"):
            lines.append(f"<span class=del>{text}</span>")
        elif line.startswith("@@"):
            lines.append(f"<span class=hunk>{text}</span>")
        else:
            lines.append(text + "\n")
    return "".join(lines)


def detail_page(pr: Any, diff: str) -> str:
    number = int(_field(pr, "number"))
    title = str(_field(pr, "title"))
    branch = str(_field(pr, "branch", "head"))
    base = str(_field(pr, "base", "base_branch", default="main"))
    file_path = str(_field(pr, "file_path", "path"))
    state = str(_field(pr, "state", default="open"))
    body = str(_field(pr, "body"))
    review = (
        f'<form class=review method=post action="/_local/prs/{number}/merge">'
        "<button type=submit>Merge pull request</button></form>"
        f'<form class=review method=post action="/_local/prs/{number}/close">'
        "<button type=submit class=close>Close pull request</button></form>\n"
        if state == "open"
        else ""
    )
    return _document(
        f"#{number} {title}",
        '<p><a href="/_local/prs">all pull requests</a></p>\n'
        f"<h1>{escape(title)} <span class=meta>#{number}</span></h1>\n"
        f"<p><span class=state>{escape(state)}</span> · "
        f"<code>{escape(branch)}</code> into <code>{escape(base)}</code> · "
        f"<code>{escape(file_path)}</code></p>\n"
        f"{review}"
        f"<h2>Description</h2>\n<pre class=body>{escape(body)}</pre>\n"
        f"<h2>Changes</h2>\n<pre>{render_diff(diff)}</pre>",
    )


def pages(
    publisher: PublisherSource,
    *,
    index_links: Callable[[], Iterable[tuple[str, str]]],
    on_reviewed: ReviewHook | None = None,
) -> dict[str, Callable[..., Page]]:
    """The gateway's page renderers: ``index``, ``prs``, ``pr`` (by number), and ``review``, the
    action behind the Merge and Close buttons."""

    def unavailable() -> Page:
        return Page(
            503,
            _document(
                "Local pull requests",
                "<p>The local pull requests are not available: the stack is starting, or "
                "GITOPS_BACKEND is not <code>local</code> (then the PRs are on GitHub).</p>",
            ),
        )

    def index() -> Page:
        return Page(200, index_page(index_links()))

    def prs() -> Page:
        source = publisher()
        if source is None:
            return unavailable()
        return Page(200, list_page(source.list_pull_requests()))

    def pr(number: int) -> Page:
        source = publisher()
        if source is None:
            return unavailable()
        found = source.get_pull_request(number)
        if found is None:
            return Page(404, _document("Not found", f"<p>There is no local pull request #{number}.</p>"))
        return Page(200, detail_page(found, source.diff(number)))

    def prs_json() -> Page:
        source = publisher()
        if source is None:
            return Page(
                503,
                json.dumps({"message": "no local pull requests (GITOPS_BACKEND is not local)"}),
                "application/json",
            )
        return Page(200, json.dumps(summaries(source.list_pull_requests())), "application/json")

    def review(number: int, verb: str, wants_json: bool = False, **_: Any) -> Page:
        """Merge or close like a reviewer's click; the form is answered with the PR page, rdsctl with JSON."""
        source = publisher()
        if not isinstance(source, ReviewablePullRequests):
            return unavailable()
        if source.get_pull_request(number) is None:
            return Page(
                404,
                json.dumps({"message": f"no local pull request #{number}"}),
                "application/json",
            )
        try:
            reviewed = REVIEW_ACTIONS[verb](source, number)
        except PermanentError as error:
            return Page(409, json.dumps({"message": error.message}), "application/json")
        request = dict(on_reviewed(reviewed)) if on_reviewed is not None else {}
        if not wants_json:
            return Page(303, "", location=f"/_local/prs/{number}")
        (summary,) = summaries([reviewed])
        return Page(200, json.dumps({**summary, "request": request}), "application/json")

    return {"index": index, "prs": prs, "pr": pr, "prs_json": prs_json, "review": review}
