"""Day 2: ``GET /databases`` (the inventory), ``POST /databases/{environment}/{database_name}/resize``
and ``.../decommission``, through the same intake as a new database; ``.../extend`` (a dev
database's expiry, no pull request)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from backend.container import get_container
from backend.domain import DecommissionRequest, Environment, ExtendRequest, ResizeRequest, Source
from backend.domain.requests import ENVIRONMENT_DESCRIPTION
from backend.handlers import routes
from backend.handlers.http import caller, check_envelope
from backend.handlers.openapi import (
    DATABASES_RESPONSES,
    DECOMMISSION_RESPONSES,
    EXTEND_RESPONSES,
    RESIZE_RESPONSES,
    SECURITY,
    AcceptedResponse,
    DatabaseList,
    DatabaseView,
    ExpiryView,
)
from backend.handlers.request_routes import IdempotencyKey, accepted, require_json_object
from backend.handlers.routes import Route

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves it untyped

EnvironmentPath = Annotated[str, Path(description=ENVIRONMENT_DESCRIPTION, max_length=16)]
DatabaseNamePath = Annotated[str, Path(description="The database's name", max_length=64)]
JSON = content_types.APPLICATION_JSON


@router.get(
    routes.DATABASES.rule,
    summary="The databases",
    description=(
        "One item per database whose create reached its pull request, until it is decommissioned, "
        "with the newest request about it."
    ),
    responses=DATABASES_RESPONSES,
    security=SECURITY,
    tags=["databases"],
)
def list_databases(environment: Annotated[Environment | None, Query()] = None) -> Response[DatabaseList]:
    check_envelope(router.current_event, get_container().settings)
    entries = get_container().inventory.databases(environment)
    body = DatabaseList(databases=[DatabaseView.of(entry) for entry in entries])
    return Response(status_code=200, content_type=JSON, body=body)


def _change(
    route: Route,
    environment: str,
    database_name: str,
    body: ResizeRequest | DecommissionRequest,
    idempotency_key: str | None,
) -> Response[AcceptedResponse]:
    """A change of an existing database, the action of ``route``, through the intake: the 202."""
    assert route.action is not None
    check_envelope(router.current_event, get_container().settings)
    require_json_object()
    return accepted(
        get_container().intake.submit_change(
            route.action,
            environment,
            database_name,
            body,
            requested_by=caller(router.current_event, get_container().settings),
            source=Source.API,
            idempotency_key=idempotency_key,
        )
    )


@router.post(
    routes.RESIZE.rule,
    summary="Resize a database",
    description="A new instance class and/or more storage, from the environment policy's values.",
    responses=RESIZE_RESPONSES,
    security=SECURITY,
    tags=["databases"],
)
def resize_database(
    environment: EnvironmentPath,
    database_name: DatabaseNamePath,
    change: Annotated[ResizeRequest, Body(embed=False, media_type=JSON)],
    idempotency_key: IdempotencyKey = None,
) -> Response[AcceptedResponse]:
    return _change(routes.RESIZE, environment, database_name, change, idempotency_key)


@router.post(
    routes.DECOMMISSION.rule,
    summary="Decommission a database",
    description=(
        "Confirmed by the database's name typed again. Dev: one pull request deleting its file. "
        "Prod: a first one turns deletion protection off; once applied, the deleting one opens by "
        "itself. The module's final snapshot is kept."
    ),
    responses=DECOMMISSION_RESPONSES,
    security=SECURITY,
    tags=["databases"],
)
def decommission_database(
    environment: EnvironmentPath,
    database_name: DatabaseNamePath,
    confirmation: Annotated[DecommissionRequest, Body(embed=False, media_type=JSON)],
    idempotency_key: IdempotencyKey = None,
) -> Response[AcceptedResponse]:
    return _change(routes.DECOMMISSION, environment, database_name, confirmation, idempotency_key)


@router.post(
    routes.EXTEND.rule,
    summary="Keep a dev database longer",
    description=(
        "Moves its expiry to ttl_days from today (default DEV_TTL_DAYS). No pull request: the expiry "
        "lives in the request store. The reminder before the new date is sent again."
    ),
    responses=EXTEND_RESPONSES,
    security=SECURITY,
    tags=["databases"],
)
def extend_database(
    environment: EnvironmentPath,
    database_name: DatabaseNamePath,
    extension: Annotated[ExtendRequest, Body(embed=False, media_type=JSON)],
) -> Response[ExpiryView]:
    check_envelope(router.current_event, get_container().settings)
    require_json_object()
    database = get_container().expiry.extend(
        environment,
        database_name,
        requested_by=caller(router.current_event, get_container().settings),
        source=Source.API,
        data=extension,
    )
    assert database.expires_on is not None
    body = ExpiryView(
        database_name=database.database_name, environment=database.environment, expires_on=database.expires_on
    )
    return Response(status_code=200, content_type=JSON, body=body)
