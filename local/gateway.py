"""The local API Gateway: HTTP requests in, API Gateway proxy events to the real handlers, HTTP out.

It plays the part API Gateway plays in AWS (REST API, Lambda proxy integration), so the Lambda
handlers run unchanged. It also serves the local pages (pull requests, the local Slack) with
their static files and actions, which have no AWS counterpart. Those pages show what users
typed, so every one of them goes out with a strict Content-Security-Policy: scripts and styles
only from this origin, no inline code, no plugins, no framing.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from backend.handlers.routes import ROUTES
from local.lambda_events import LambdaContext, apigw_proxy_event

LambdaHandler = Callable[[dict[str, Any], Any], Any]
PageRenderer = Callable[..., "Page"]

# API Gateway's own payload limit; the handler enforces the (much smaller) API limit itself.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024

STATIC_DIR = Path(__file__).with_name("static")
_STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
_LOCAL_PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a form POST carries "Origin: null", and the
    # local actions could no longer tell their own page from another site.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Page:
    """A page the gateway serves itself (not through a Lambda handler)."""

    status: int
    body: str | bytes
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None


@dataclass(frozen=True)
class LocalRoute:
    """A local endpoint that reads its request: ``handler(request, **route_arguments) -> Page``.

    ``quiet`` keeps successful calls out of the access log (a page polling every second would
    drown the console).
    """

    path: str
    handler: Callable[..., Page]
    methods: tuple[str, ...] = ("GET",)
    quiet: bool = False


@dataclass(frozen=True)
class Function:
    """A Lambda function behind the gateway: its name (for the context) and its handler."""

    name: str
    handler: LambdaHandler
    timeout_seconds: float = 30.0


# (werkzeug rule, API Gateway resource, function key): the deployed API's routes.
LAMBDA_ROUTES: tuple[tuple[str, str, str], ...] = tuple(
    (route.rule, route.path, route.function.value) for route in ROUTES
)


class LocalGateway:
    """A WSGI application: the routes of the deployed REST API plus the local PR pages."""

    def __init__(
        self,
        functions: Mapping[str, Function],
        *,
        pages: Mapping[str, PageRenderer] | None = None,
        actions: Mapping[str, PageRenderer] | None = None,
        routes: Sequence[LocalRoute] = (),
        log: Callable[[str], None] | None = None,
        access_log: bool = True,
        static_dir: Path = STATIC_DIR,
    ) -> None:
        self._access_log = access_log
        self._functions = dict(functions)
        self._pages = dict(pages or {})
        self._routes = {route.path: route for route in routes}
        self._static_dir = static_dir
        # POST-only: called with the route's arguments plus ``wants_json`` (the Accept header) and
        # ``body`` (the request body, bytes).
        self._actions = dict(actions or {})
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        rules = [
            Rule(path, endpoint=("lambda", resource, key), strict_slashes=False)
            for path, resource, key in LAMBDA_ROUTES
        ]
        rules += [
            Rule("/", endpoint=("page", "index")),
            Rule("/_local", endpoint=("page", "index"), strict_slashes=False),
            Rule("/_local/prs.json", endpoint=("page", "prs_json")),
            Rule("/_local/prs", endpoint=("page", "prs"), strict_slashes=False),
            Rule("/_local/prs/<int:number>", endpoint=("page", "pr"), strict_slashes=False),
            Rule(
                "/_local/prs/<int:number>/<any(merge, close):verb>",
                endpoint=("action", "review"),
                methods=["POST"],
            ),
            Rule("/_local/ci/applied", endpoint=("action", "ci_applied"), methods=["POST"]),
            Rule("/_local/ci/drift", endpoint=("action", "ci_drift"), methods=["POST"]),
            Rule("/_local/ci.json", endpoint=("page", "ci_json")),
            Rule("/_local/sweep", endpoint=("action", "sweep"), methods=["POST"]),
            Rule("/_local/static/<name>", endpoint=("static", "static")),
        ]
        rules += [
            Rule(
                route.path, endpoint=("route", route.path), methods=list(route.methods), strict_slashes=False
            )
            for route in routes
        ]
        self._urls = Map(rules)
        self._in_flight = 0
        self._idle = threading.Condition()

    # --- WSGI ----------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._idle:
            self._in_flight += 1
        started = time.monotonic()
        request = Request(environ)
        try:
            response = self._respond(request)
            quiet = self._is_quiet(request) and response.status_code < 400
            if self._access_log and not quiet:
                elapsed_ms = (time.monotonic() - started) * 1000
                path = request.full_path.rstrip("?")
                self._log(f"{request.method} {path} -> {response.status_code} ({elapsed_ms:.0f} ms)")
            return response(environ, start_response)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being handled; False if some still are after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def _is_quiet(self, request: Request) -> bool:
        route = self._routes.get(request.path.rstrip("/"))
        return route is not None and route.quiet

    def _respond(self, request: Request) -> Response:
        adapter = self._urls.bind_to_environ(request.environ)
        try:
            (kind, name, *rest), arguments = adapter.match()
        except NotFound:
            return _json_response(404, {"message": "Not Found"})
        except HTTPException as exc:  # e.g. a redirect werkzeug decided on
            return exc.get_response()
        if kind == "lambda":
            return self._invoke(request, resource=name, function=self._functions[rest[0]], params=arguments)
        if kind == "static":
            return self._static(str(arguments["name"]))
        if kind == "route":
            route = self._routes[name]
            return self._render(lambda: route.handler(request, **arguments))
        if kind == "action":
            if _cross_site(request):
                # A page on another site could otherwise post a form here (merge a PR).
                return _harden(_json_response(403, {"message": "cross-origin requests are refused"}))
            renderer = self._actions.get(name)
            if renderer is None:
                return _json_response(404, {"message": "Not Found"})
            arguments = {
                **arguments,
                "wants_json": "application/json" in request.headers.get("Accept", ""),
                "body": request.get_data(cache=False),
            }
        else:
            renderer = self._pages.get(name)
            if renderer is None or request.method not in {"GET", "HEAD"}:
                return _json_response(404 if renderer is None else 405, {"message": "Not Found"})
        return self._render(lambda: renderer(**arguments))

    def _render(self, build: Callable[[], Page]) -> Response:
        try:
            page = build()
        except Exception:
            self._log(traceback.format_exc())
            return _harden(Response("internal error", status=500, content_type="text/plain; charset=utf-8"))
        response = Response(page.body, status=page.status, content_type=page.content_type)
        if page.location:
            response.headers["Location"] = page.location
        return _harden(response)

    def _static(self, name: str) -> Response:
        # Only files that sit directly in the static folder, with a known type: no path tricks.
        path = self._static_dir / name
        content_type = _STATIC_TYPES.get(path.suffix)
        if content_type is None or "/" in name or name.startswith(".") or not path.is_file():
            return _json_response(404, {"message": "Not Found"})
        return _harden(Response(path.read_bytes(), status=200, content_type=content_type))

    def _invoke(
        self, request: Request, *, resource: str, function: Function, params: Mapping[str, str]
    ) -> Response:
        if (request.content_length or 0) > MAX_PAYLOAD_BYTES:
            return _json_response(413, {"message": "Request Too Long"})
        body = request.get_data(cache=False)
        if len(body) > MAX_PAYLOAD_BYTES:
            return _json_response(413, {"message": "Request Too Long"})
        headers = {key: ", ".join(request.headers.getlist(key)) for key in request.headers.keys()}  # noqa: SIM118
        event = apigw_proxy_event(
            request.method,
            request.path,
            resource=resource,
            path_parameters=params or None,
            headers=headers,
            query_string=request.query_string.decode("latin-1"),
            body=body if body or request.method not in {"GET", "HEAD", "DELETE"} else None,
            source_ip=request.remote_addr or "127.0.0.1",
        )
        context = LambdaContext(function_name=function.name, timeout_seconds=function.timeout_seconds)
        try:
            result = function.handler(event, context)
        except Exception:
            # What API Gateway answers when the integration fails; the trace goes to the console.
            self._log(f"{function.name} raised:\n{traceback.format_exc()}")
            return _json_response(502, {"message": "Internal server error"})
        try:
            return proxy_response(result)
        except (TypeError, ValueError, KeyError) as exc:
            self._log(f"{function.name} returned a malformed proxy response: {exc!r}")
            return _json_response(502, {"message": "Internal server error"})


def proxy_response(result: Mapping[str, Any]) -> Response:
    """Turn a Lambda proxy integration result into the HTTP response API Gateway would send."""
    if not isinstance(result, Mapping):
        raise TypeError(f"expected a mapping, got {type(result).__name__}")
    status = int(result.get("statusCode", 200))
    raw_body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        body: bytes = base64.b64decode(raw_body)
    else:
        body = raw_body.encode() if isinstance(raw_body, str) else bytes(raw_body)
    response = Response(body, status=status)
    response.headers.clear()
    multi: Mapping[str, Iterable[str]] = result.get("multiValueHeaders") or {}
    for key, values in multi.items():
        for value in values:
            response.headers.add(key, str(value))
    for key, value in (result.get("headers") or {}).items():
        if key not in response.headers:
            response.headers[key] = str(value)
    if "Content-Type" not in response.headers:
        response.headers["Content-Type"] = "application/json"
    response.headers["Content-Length"] = str(len(body))
    return response


def _json_response(status: int, payload: Mapping[str, Any]) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


def _cross_site(request: Request) -> bool:
    """A browser request sent by a page of another origin (rdsctl and curl send no Origin)."""
    origin = request.headers.get("Origin")
    return origin is not None and urlsplit(origin).netloc != request.host


def _harden(response: Response) -> Response:
    """The local pages' security headers (the Lambda functions' responses are left as they are)."""
    for name, value in _LOCAL_PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class GatewayServer:
    """The gateway on a threaded werkzeug server: bound at construction, serving after ``start``."""

    def __init__(self, app: LocalGateway, *, host: str, port: int) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self, *, grace_seconds: float) -> bool:
        """Stop taking requests, then let the ones being handled finish (bounded)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        finished = self.app.wait_idle(grace_seconds)
        self._server.server_close()
        return finished
