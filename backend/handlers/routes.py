"""Every HTTP route of the deployed REST API, once: its method, its API Gateway resource, the
Lambda function that serves it, and the body model and action of the ones that ask for something.

The API's Powertools routers register their routes from here (``Route.rule``) and re-word body
errors with ``Route.body``; the local gateway serves ``ROUTES`` as they are. Two copies cannot
import Python and are held equal to this table by tests: the SAM template's ``Api`` events
(tests/integration/deploy/test_template.py) and the OpenAPI document
(tests/integration/pipeline/test_api_contract.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from backend.domain import (
    Action,
    DecommissionRequest,
    ExtendRequest,
    ProvisionRequest,
    ResizeRequest,
)


class Function(StrEnum):
    """The Lambda functions behind the REST API, by the key the local stack names them with."""

    API = "api"
    SLACK = "slack"
    GITHUB_WEBHOOK = "github_webhook"

    @property
    def handler_module(self) -> str:
        """The module of its ``lambda_handler`` (the SAM template's ``Handler``, less the name)."""
        return _HANDLER_MODULES[self]


_HANDLER_MODULES = {
    Function.API: "backend.handlers.api",
    # Named, never imported: the backend does not import the Slack app.
    Function.SLACK: "bot.app",
    Function.GITHUB_WEBHOOK: "backend.handlers.github_webhook",
}


@dataclass(frozen=True)
class Route:
    method: str
    # API Gateway's resource, as the SAM template and the OpenAPI document spell it.
    path: str
    function: Function
    # What a POST's JSON body must be; its 400s name this model's fields.
    body: type[BaseModel] | None = None
    # The action the route asks for (None: it reads, or changes no database by a pull request).
    action: Action | None = None
    # In the OpenAPI document (the document's own route is not).
    documented: bool = True

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def rule(self) -> str:
        """The path in Powertools' and werkzeug's syntax: ``{name}`` -> ``<name>``."""
        return re.sub(r"{(\w+)}", r"<\1>", self.path)


_DATABASE = "/databases/{environment}/{database_name}"

SUBMIT = Route("POST", "/provision-rds", Function.API, body=ProvisionRequest, action=Action.CREATE)
LIST_REQUESTS = Route("GET", "/requests", Function.API)
GET_REQUEST = Route("GET", "/requests/{request_id}", Function.API)
OPENAPI = Route("GET", "/openapi.json", Function.API, documented=False)
DATABASES = Route("GET", "/databases", Function.API)
RESIZE = Route("POST", f"{_DATABASE}/resize", Function.API, body=ResizeRequest, action=Action.RESIZE)
DECOMMISSION = Route(
    "POST", f"{_DATABASE}/decommission", Function.API, body=DecommissionRequest, action=Action.DECOMMISSION
)
EXTEND = Route("POST", f"{_DATABASE}/extend", Function.API, body=ExtendRequest)
SLACK_EVENTS = Route("POST", "/slack/events", Function.SLACK)
GITHUB_WEBHOOK = Route("POST", "/github/webhook", Function.GITHUB_WEBHOOK)

ROUTES: tuple[Route, ...] = (
    SUBMIT,
    LIST_REQUESTS,
    GET_REQUEST,
    OPENAPI,
    DATABASES,
    RESIZE,
    DECOMMISSION,
    EXTEND,
    SLACK_EVENTS,
    GITHUB_WEBHOOK,
)

# The model each API route's body is re-validated with for field messages, by resource.
BODY_MODELS: dict[str, type[BaseModel]] = {r.path: r.body for r in ROUTES if r.body is not None}
