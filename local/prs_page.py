"""HTML pages for the local pull requests, so the PR link the worker posts opens in a browser.

Everything shown comes from user input one way or another (names, purposes, PR bodies, diffs),
so every value is HTML-escaped. The PR body is Markdown, rendered as GitHub would show its
tables, code and lists by markdown-it-py with raw HTML turned off (HTML in the body shows as
text), images off, and links only to http, https and mailto; the gateway's
Content-Security-Policy forbids scripts and styles from the page itself on top of that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from html import escape
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from backend.domain import PermanentError
from local.gateway import Page

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

SAFE_LINK_SCHEMES = ("http://", "https://", "mailto:")


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
# Called with a pull request: its request's ``request_id``, ``status`` and ``slack_url`` (or None).
RequestLookup = Callable[[Any], Mapping[str, Any] | None]


class Plan(Protocol):
    """A PR's Terraform plan as the local CI made it (``local.ci.PlanResult``)."""

    @property
    def status(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def text(self) -> str: ...

    def as_dict(self) -> dict[str, Any]: ...


# Called with a PR number: its plan, or None (no local CI, or not planned yet).
PlanLookup = Callable[[int], Plan | None]


@cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # "commonmark" plus GitHub's tables and strikethrough; html=False turns raw HTML into text.
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable("image")  # no request to another host, and nothing to track the reader with
    md.validateLink = _safe_link  # type: ignore[method-assign]
    return md


def _safe_link(url: str) -> bool:
    return url.strip().lower().startswith(SAFE_LINK_SCHEMES)


# GitHub shows no HTML comment of a description, such as the request marker every PR body ends with.
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def render_markdown(text: str) -> str:
    """``text`` (a PR body) as HTML: markdown structure only, every character of content escaped,
    and no HTML comment (GitHub hides them)."""
    html: str = _markdown().render(_HTML_COMMENT.sub("", text))
    return html


def _field(pr: Any, *names: str, default: Any = "") -> Any:
    for name in names:
        value = pr.get(name) if isinstance(pr, dict) else getattr(pr, name, None)
        if value is not None:
            return value
    return default


def _document(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f'<title>{escape(title)}</title><link rel=icon href="data:,">'
        '<link rel=stylesheet href="/_local/static/prs.css"></head>\n'
        f"<body>\n{body}\n</body></html>\n"
    )


def summaries(prs: Sequence[Any], plan_for: PlanLookup | None = None) -> list[dict[str, Any]]:
    """The PR list as JSON-ready dicts (``rdsctl prs``), newest first; ``plan`` is the local CI's
    plan of the PR (null when nothing plans here)."""

    def plan(number: int) -> dict[str, Any] | None:
        found = plan_for(number) if plan_for is not None else None
        return found.as_dict() if found is not None else None

    return [
        {
            "number": int(_field(pr, "number")),
            "title": str(_field(pr, "title")),
            "branch": str(_field(pr, "branch", "head")),
            "file_path": str(_field(pr, "file_path", "path")),
            "state": str(_field(pr, "state", default="open")),
            "url": str(_field(pr, "url")),
            "plan": plan(int(_field(pr, "number"))),
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


def request_line(request: Mapping[str, Any] | None) -> str:
    """The request behind a PR: its id, status, and where its Slack conversation is."""
    if not request:
        return "<p class=meta>No request is recorded for this pull request.</p>\n"
    slack_url = request.get("slack_url")
    slack = f' · <a class=slack-link href="{escape(str(slack_url))}">Slack thread</a>' if slack_url else ""
    return (
        f"<p class=request>Request <code>{escape(str(request['request_id']))}</code> · status "
        f"<span class=state data-status>{escape(str(request['status']))}</span>{slack}</p>\n"
    )


def plan_section(plan: Plan | None) -> str:
    """The local CI's plan of the PR: its summary line, then its text."""
    if plan is None:
        return ""
    if plan.status == "pending":
        return "<h2>Terraform plan</h2>\n<p class=plan data-plan=pending>Planning… (reload in a moment)</p>\n"
    return (
        "<h2>Terraform plan</h2>\n"
        f"<p class=plan data-plan={escape(plan.status)}>{escape(plan.summary)}</p>\n"
        f"<pre class=plan-text>{escape(plan.text)}</pre>\n"
    )


def detail_page(
    pr: Any, diff: str, request: Mapping[str, Any] | None = None, plan: Plan | None = None
) -> str:
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
        f"{request_line(request)}"
        f"{review}"
        f"<h2>Description</h2>\n<div class=markdown>{render_markdown(body)}</div>\n"
        f"{plan_section(plan)}"
        f"<h2>Changes</h2>\n<pre>{render_diff(diff)}</pre>",
    )


def pages(
    publisher: PublisherSource,
    *,
    index_links: Callable[[], Iterable[tuple[str, str]]],
    on_reviewed: ReviewHook | None = None,
    request_for: RequestLookup | None = None,
    plan_for: PlanLookup | None = None,
    ci_jobs: Callable[[], list[dict[str, Any]] | None] | None = None,
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
        request = request_for(found) if request_for is not None else None
        plan = plan_for(number) if plan_for is not None else None
        return Page(200, detail_page(found, source.diff(number), request, plan))

    def prs_json() -> Page:
        source = publisher()
        if source is None:
            return Page(
                503,
                json.dumps({"message": "no local pull requests (GITOPS_BACKEND is not local)"}),
                "application/json",
            )
        return Page(200, json.dumps(summaries(source.list_pull_requests(), plan_for)), "application/json")

    def ci_json() -> Page:
        """The local CI's recent jobs (plans, applies, drift checks), newest last."""
        jobs = ci_jobs() if ci_jobs is not None else None
        if jobs is None:
            return Page(
                404, json.dumps({"message": "the local CI does not run terraform here"}), "application/json"
            )
        return Page(200, json.dumps({"jobs": jobs}), "application/json")

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
        (summary,) = summaries([reviewed], plan_for)
        return Page(200, json.dumps({**summary, "request": request}), "application/json")

    return {
        "index": index,
        "prs": prs,
        "pr": pr,
        "prs_json": prs_json,
        "ci_json": ci_json,
        "review": review,
    }
