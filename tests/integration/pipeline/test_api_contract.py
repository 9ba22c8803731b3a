"""The HTTP API contract (docs/api.md), through the real handler, moto and the queue.

Every answer is also checked against the OpenAPI document the API serves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from backend.adapters.queue import ProvisionMessage
from backend.container import set_container
from backend.domain import IDEMPOTENCY_KEY_PATTERN
from backend.domain.naming import DATABASE_NAME_MAX_LENGTH, DATABASE_NAME_PATTERN
from backend.domain.requests import OWNER_MAX_LENGTH, PURPOSE_MAX_LENGTH, tag_value_pattern
from backend.domain.reserved import RESERVED_NAMES
from backend.handlers import api
from backend.handlers.openapi import EXAMPLE_REQUEST_ID
from backend.handlers.routes import ROUTES, Function, Route
from local.lambda_events import LambdaContext, apigw_proxy_event
from local.publish_openapi import PUBLISHED
from tests.integration.lifecycle.test_day2 import created, databases
from tests.support.aws import ApiAnswer, Pipeline, call_api, make_container

ORDERS = {"database_name": "orders", "database_engine": "postgres", "environment": "dev"}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(api.openapi_json())
    validate_spec(document)
    return document


def conforms(openapi: dict[str, Any], method: str, path: str, answer: ApiAnswer) -> None:
    """The answer's status is documented for the operation and its body matches that schema."""
    operation = openapi["paths"][path][method.lower()]
    documented = operation["responses"].get(str(answer.status))
    assert documented is not None, f"{method} {path} answered {answer.status}, which is not documented"
    assert answer.headers.get("Content-Type") == "application/json"
    schema = documented["content"]["application/json"]["schema"]
    # The OpenAPI 3.1 dialect of JSON Schema; the document's components resolve the $refs.
    validator = OAS31Validator({**schema, "components": openapi["components"]})
    errors = [e.message for e in validator.iter_errors(answer.json)]
    assert errors == [], f"{answer.status} body {answer.body} does not match its schema: {errors}"


def nothing_changed(pipeline: Pipeline) -> None:
    assert pipeline.item_count() == 0
    assert pipeline.receive() == []


# --- POST /provision-rds --------------------------------------------------------------------------
def test_accepted_request_is_recorded_and_queued(pipeline: Pipeline, openapi):
    answer = pipeline.post({**ORDERS, "owner": "payments", "purpose": "order history"})

    assert answer.status == 202
    conforms(openapi, "POST", "/provision-rds", answer)
    body = answer.json
    assert body["message"] == "Request accepted"
    assert body["status_url"] == f"/requests/{body['request_id']}"
    assert body["sns_message_id"]

    (queued,) = pipeline.receive()
    message = ProvisionMessage.from_sqs_body(queued.body)
    assert message.request_id == body["request_id"]
    assert message.requested_by == "api"
    assert message.request.owner == "payments"

    status = pipeline.get(body["request_id"])
    assert status.status == 200
    conforms(openapi, "GET", "/requests/{request_id}", status)
    assert status.json["status"] == "accepted"
    assert status.json["source"] == "api"
    assert status.json["pr_url"] is None


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({**ORDERS, "database_name": "Orders"}, ["database_name"]),
        ({**ORDERS, "database_engine": "oracle"}, ["database_engine"]),
        ({**ORDERS, "environment": "staging"}, ["environment"]),
        ({**ORDERS, "team": "x"}, ["team"]),
        ({"database_engine": "mysql"}, ["database_name", "environment"]),
        ({**ORDERS, "database_name": "select"}, ["database_name"]),
        ({**ORDERS, "database_name": 42}, ["database_name"]),
        ([ORDERS], ["body"]),
        ('{"database_name": ', ["body"]),
    ],
    ids=[
        "uppercase",
        "engine",
        "environment",
        "unknown-field",
        "missing",
        "reserved",
        "not-a-string",
        "array",
        "broken-json",
    ],
)
def test_invalid_input_is_a_400_with_field_errors_and_changes_nothing(
    pipeline: Pipeline, openapi, body, fields
):
    answer = pipeline.post(body)

    assert answer.status == 400
    conforms(openapi, "POST", "/provision-rds", answer)
    assert [e["field"] for e in answer.json["errors"]] == fields
    assert all(e["message"] for e in answer.json["errors"])
    nothing_changed(pipeline)


def test_the_400_messages_are_the_domains_friendly_ones(pipeline: Pipeline):
    answer = pipeline.post({**ORDERS, "database_engine": "oracle", "colour": "red"})

    messages = {e["field"]: e["message"] for e in answer.json["errors"]}
    assert (
        messages["database_engine"]
        == "database_engine must be one of mysql, postgres, aurora-mysql, aurora-postgresql (got 'oracle')"
    )
    assert messages["colour"].startswith("unknown field 'colour'; allowed fields are database_name")


@pytest.mark.parametrize(
    ("api_key", "status"), [(None, 401), ("wrong-key", 403)], ids=["missing-key", "wrong-key"]
)
def test_api_key_is_checked_before_anything_else(pipeline: Pipeline, openapi, api_key, status):
    # Even an invalid body gets the auth answer first.
    for body in (ORDERS, {"database_name": "Bad"}):
        answer = pipeline.post(body, api_key=api_key)
        assert answer.status == status
        conforms(openapi, "POST", "/provision-rds", answer)
    assert pipeline.get("anything", api_key=api_key).status == status
    nothing_changed(pipeline)


def test_without_a_configured_key_the_gateway_is_trusted(aws_resources, tmp_path, openapi):
    set_container(make_container(aws_resources, api_key=None, gitops_path=tmp_path / "gitops"))
    try:
        answer = call_api("POST", "/provision-rds", body=ORDERS, api_key=None)
    finally:
        set_container(None)
    assert answer.status == 202


def test_requested_by_is_the_api_gateway_key_id(pipeline: Pipeline):
    event = apigw_proxy_event(
        "POST",
        "/provision-rds",
        headers={"Content-Type": "application/json", "X-Api-Key": "test-api-key"},
        body=json.dumps(ORDERS),
    )
    event["requestContext"]["identity"]["apiKeyId"] = "key-automation-1"
    answer = api.lambda_handler(event, LambdaContext())

    assert answer["statusCode"] == 202
    request_id = json.loads(answer["body"])["request_id"]
    assert pipeline.get(request_id).json["requested_by"] == "key-automation-1"


def test_same_database_twice_is_a_409_naming_the_first_request(pipeline: Pipeline, openapi):
    first = pipeline.post(ORDERS).json["request_id"]

    answer = pipeline.post({**ORDERS, "database_engine": "mysql"})

    assert answer.status == 409
    conforms(openapi, "POST", "/provision-rds", answer)
    assert answer.json["existing_request_id"] == first
    assert len(pipeline.receive()) == 1


def test_a_body_over_the_limit_is_a_413(pipeline: Pipeline, openapi):
    answer = pipeline.post({**ORDERS, "purpose": "x" * (pipeline.container.settings.max_body_bytes + 1)})

    assert answer.status == 413
    conforms(openapi, "POST", "/provision-rds", answer)
    nothing_changed(pipeline)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", json.dumps(ORDERS)),
        ("application/x-www-form-urlencoded", "database_name=orders"),
        (None, json.dumps(ORDERS)),
    ],
    ids=["text", "form", "none"],
)
def test_a_body_that_is_not_json_is_a_415(pipeline: Pipeline, openapi, content_type, body):
    answer = pipeline.post(body, headers={"Content-Type": content_type})

    assert answer.status == 415
    conforms(openapi, "POST", "/provision-rds", answer)
    nothing_changed(pipeline)


@pytest.mark.parametrize(
    ("api_key", "status"), [("test-api-key", 415), (None, 401)], ids=["with-key", "no-key"]
)
def test_multipart_without_a_boundary_is_refused_not_a_500(pipeline: Pipeline, openapi, api_key, status):
    # Powertools' body parsing raises ValueError on it before the route's own checks run.
    answer = pipeline.post(
        json.dumps(ORDERS), headers={"Content-Type": "multipart/form-data"}, api_key=api_key
    )

    assert answer.status == status
    conforms(openapi, "POST", "/provision-rds", answer)
    nothing_changed(pipeline)


def test_json_with_a_charset_is_json(pipeline: Pipeline):
    assert pipeline.post(ORDERS, headers={"Content-Type": "application/json; charset=utf-8"}).status == 202


def test_idempotency_key_replays_and_conflicts(pipeline: Pipeline, openapi):
    first = pipeline.post(ORDERS, idempotency_key="job-42")
    replay = pipeline.post(ORDERS, idempotency_key="job-42")
    conflict = pipeline.post({**ORDERS, "environment": "prod"}, idempotency_key="job-42")

    assert (first.status, replay.status, conflict.status) == (202, 202, 422)
    assert replay.json == first.json
    conforms(openapi, "POST", "/provision-rds", conflict)
    assert conflict.json["errors"][0]["field"] == "Idempotency-Key"
    assert len(pipeline.receive()) == 1


def test_an_unavailable_queue_is_a_503_and_nothing_is_recorded(aws_resources, tmp_path, openapi):
    missing_topic = aws_resources.topic_arn + "-missing"
    container = make_container(
        aws_resources, requests_topic_arn=missing_topic, gitops_path=tmp_path / "gitops"
    )
    set_container(container)
    try:
        answer = call_api("POST", "/provision-rds", body=ORDERS, headers={"Idempotency-Key": "k-1"})
    finally:
        set_container(None)

    assert answer.status == 503
    conforms(openapi, "POST", "/provision-rds", answer)
    assert answer.headers.get("Retry-After")
    assert int(container.dynamodb_table.scan(Select="COUNT")["Count"]) == 0


# --- GET ----------------------------------------------------------------------------------------
def test_unknown_request_is_a_json_404(pipeline: Pipeline, openapi):
    answer = pipeline.get("00000000-0000-0000-0000-000000000000")

    assert answer.status == 404
    conforms(openapi, "GET", "/requests/{request_id}", answer)


def test_listing_requests_newest_first_and_by_requester(pipeline: Pipeline, openapi):
    ids = [pipeline.post({**ORDERS, "database_name": name}).json["request_id"] for name in ("a1", "b2", "c3")]

    recent = call_api("GET", "/requests")
    mine = call_api("GET", "/requests", query_string="requested_by=api&limit=2")
    nobody = call_api("GET", "/requests", query_string="requested_by=someone-else")

    for answer in (recent, mine, nobody):
        assert answer.status == 200
        conforms(openapi, "GET", "/requests", answer)
    assert [r["request_id"] for r in recent.json["requests"]] == ids[::-1]
    assert [r["request_id"] for r in mine.json["requests"]] == ids[::-1][:2]
    assert nobody.json["requests"] == []


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=many"])
def test_a_bad_limit_is_a_400(pipeline: Pipeline, openapi, query):
    answer = call_api("GET", "/requests", query_string=query)

    assert answer.status == 400
    conforms(openapi, "GET", "/requests", answer)
    assert answer.json["errors"][0]["field"] == "limit"


def test_an_unknown_route_is_a_json_404(pipeline: Pipeline):
    answer = call_api("GET", "/nowhere")

    assert answer.status == 404
    assert answer.json["message"] == "No route GET /nowhere"


# --- the OpenAPI document -------------------------------------------------------------------------
def test_the_api_serves_its_openapi_document(pipeline: Pipeline, openapi):
    answer = call_api("GET", "/openapi.json", api_key=None)

    assert answer.status == 200
    served = answer.json
    validate_spec(served)
    assert served == openapi
    assert served["info"]["title"] == "rds-provisioner"
    scheme = served["components"]["securitySchemes"]["ApiKeyAuth"]
    assert {k: scheme[k] for k in ("type", "in", "name")} == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
    }
    assert "local-dev-key" in scheme["description"]


def test_the_published_document_is_the_one_the_api_serves(pipeline: Pipeline):
    served = call_api("GET", "/openapi.json", api_key=None)

    assert served.status == 200
    assert PUBLISHED.read_text() == served.body + "\n", (
        f"{PUBLISHED.relative_to(PUBLISHED.parents[1])} differs from the served document: run make openapi"
    )


def test_the_document_describes_every_answer_the_contract_names(openapi):
    post = openapi["paths"]["/provision-rds"]["post"]
    assert set(post["responses"]) == {"202", "400", "401", "403", "409", "413", "415", "422", "503"}
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ProvisionRequest"
    }
    assert openapi["components"]["schemas"]["ProvisionRequest"]["additionalProperties"] is False
    assert post["security"] == [{"ApiKeyAuth": []}]
    assert {p["name"].lower() for p in post["parameters"]} == {"idempotency-key"}
    assert set(openapi["paths"]["/requests/{request_id}"]["get"]["responses"]) >= {"200", "404"}
    view = openapi["components"]["schemas"]["RequestView"]
    assert {
        "request_id",
        "status",
        "pr_url",
        "database_name",
        "database_engine",
        "environment",
        "requested_by",
        "source",
        "created_at",
        "updated_at",
        "error",
    } <= set(view["properties"])
    # Validation errors are answered 400 in this API's format, so no Powertools 422 remains.
    assert "HTTPValidationError" not in openapi["components"]["schemas"]


def test_the_request_schema_states_the_rules_the_api_enforces(openapi):
    request = openapi["components"]["schemas"]["ProvisionRequest"]
    name = request["properties"]["database_name"]
    assert name["pattern"] == DATABASE_NAME_PATTERN
    assert name["maxLength"] == DATABASE_NAME_MAX_LENGTH
    assert set(name["not"]["enum"]) == RESERVED_NAMES
    assert "MySQL or PostgreSQL reserves" in name["description"]
    for field, limit in (("owner", OWNER_MAX_LENGTH), ("purpose", PURPOSE_MAX_LENGTH)):
        (text,) = [b for b in request["properties"][field]["anyOf"] if b.get("type") == "string"]
        assert text["pattern"] == tag_value_pattern(limit)
    for field in ("database_engine", "environment"):
        ref = request["properties"][field]["$ref"].rsplit("/", 1)[-1]
        assert openapi["components"]["schemas"][ref]["enum"]
    (key,) = openapi["paths"]["/provision-rds"]["post"]["parameters"]
    assert key["schema"]["pattern"] == IDEMPOTENCY_KEY_PATTERN
    # Answers show what was accepted then: a word reserved later must not make them invalid.
    assert "not" not in openapi["components"]["schemas"]["RequestView"]["properties"]["database_name"]


def _resolve(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _inputs(openapi: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every input of every operation: parameters, and the properties of JSON bodies."""
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                yield f"{where} {parameter['in']} {parameter['name']}", parameter["schema"]
            for media in operation.get("requestBody", {}).get("content", {}).values():
                body = _resolve(openapi, media["schema"])
                assert body.get("additionalProperties") is False, f"{where}: unknown body fields are rejected"
                for name, schema in body.get("properties", {}).items():
                    yield f"{where} body {name}", schema


def _unbounded(openapi: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    schema = _resolve(openapi, schema)
    if "anyOf" in schema:
        outer = {key: value for key, value in schema.items() if key != "anyOf"}
        return [found for branch in schema["anyOf"] for found in _unbounded(openapi, {**outer, **branch})]
    if "enum" in schema or "const" in schema:
        return []
    kind = schema.get("type")
    if kind == "string" and not {"pattern", "maxLength", "format"} & set(schema):
        return ["a string without pattern, maxLength or format"]
    if kind in {"integer", "number"} and not {"minimum", "maximum"} <= set(schema):
        return ["a number without minimum and maximum"]
    if kind == "array" and "maxItems" not in schema:
        return ["an array without maxItems"]
    return []


def test_every_input_the_document_lists_is_bounded(openapi):
    # What the API enforces is in the document: an input with no bound there is either unchecked
    # by the API or a rule the document does not tell (routes and fields added later included).
    inputs = dict(_inputs(openapi))
    assert len(inputs) >= 9
    problems = {where: found for where, schema in inputs.items() if (found := _unbounded(openapi, schema))}
    assert problems == {}


# --- the documented examples are what the API answers -------------------------------------------
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _ids_masked(value: Any) -> Any:
    """``value`` with its ids and dates (an expiry is today's date plus days) masked."""
    return json.loads(_DATE.sub("<date>", _UUID.sub("<id>", json.dumps(value))))


# Inputs of a call each operation would accept (a database that may not exist aside).
PATH_VALUES = {"request_id": EXAMPLE_REQUEST_ID, "environment": "dev", "database_name": "orders"}
BODIES: dict[str, Any] = {
    "POST /provision-rds": ORDERS,
    "POST /databases/{environment}/{database_name}/resize": {"allocated_storage": 50},
    "POST /databases/{environment}/{database_name}/decommission": {"confirm": "orders"},
    "POST /databases/{environment}/{database_name}/extend": {"ttl_days": 60},
}


def call(
    operation: str, *, body: Any = None, path_values: dict[str, str] | None = None, **kwargs: Any
) -> ApiAnswer:
    """``operation`` ("METHOD /template") called with its path's values filled in."""
    method, template = operation.split(" ", 1)
    values = {**PATH_VALUES, **(path_values or {})}
    names = re.findall(r"{(\w+)}", template)
    return call_api(
        method,
        template.format(**values),
        body=body if body is not None else BODIES.get(operation),
        resource=template,
        path_parameters={name: values[name] for name in names} or None,
        **kwargs,
    )


def _valid_call(operation: str, _pipeline: Pipeline | None = None, **kwargs: Any) -> ApiAnswer:
    """A call of ``operation`` the API would accept (but for what ``kwargs`` change)."""
    return call(operation, **kwargs)


SUBMIT = "POST /provision-rds"
GET = "GET /requests/{request_id}"
LIST = "GET /requests"
DATABASES = "GET /databases"
RESIZE = "POST /databases/{environment}/{database_name}/resize"
DECOMMISSION = "POST /databases/{environment}/{database_name}/decommission"
EXTEND = "POST /databases/{environment}/{database_name}/extend"
Example = Callable[[Pipeline], ApiAnswer]


def _after(first: Callable[[Pipeline], object], then: Example) -> Example:
    def both(pipeline: Pipeline) -> ApiAnswer:
        first(pipeline)
        return then(pipeline)

    return both


def _queue_down(then: Example) -> Example:
    def down(pipeline: Pipeline) -> ApiAnswer:
        missing_topic = pipeline.resources.topic_arn + "-missing"
        set_container(make_container(pipeline.resources, requests_topic_arn=missing_topic))
        try:
            return then(pipeline)
        finally:
            set_container(pipeline.container)

    return down


def _created(pipeline: Pipeline) -> None:
    """The dev database orders, created, merged and applied."""
    created(pipeline)


def _key_used(pipeline: Pipeline) -> None:
    """The dev database orders created, and the key job-42 used for another request."""
    created(pipeline)
    assert pipeline.post({**ORDERS, "database_name": "billing"}, idempotency_key="job-42").status == 202


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
EXAMPLE_REQUESTS: dict[tuple[str, str, str], Example] = {
    (SUBMIT, "202", "accepted"): lambda p: p.post(ORDERS),
    (SUBMIT, "400", "reserved_word"): lambda p: p.post({**ORDERS, "database_name": "select"}),
    (SUBMIT, "400", "several_fields"): lambda p: p.post(
        {**ORDERS, "database_name": "Orders", "database_engine": "oracle"}
    ),
    (SUBMIT, "400", "idempotency_key"): lambda p: p.post(ORDERS, idempotency_key="job 42"),
    (SUBMIT, "409", "already_requested"): _after(lambda p: p.post(ORDERS), lambda p: p.post(ORDERS)),
    (SUBMIT, "413", "too_large"): lambda p: p.post({**ORDERS, "purpose": "p" * 16_384}),
    (SUBMIT, "415", "not_json"): lambda p: p.post("database_name=orders", headers=FORM),
    (SUBMIT, "422", "key_reused"): _after(
        lambda p: p.post(ORDERS, idempotency_key="job-42"),
        lambda p: p.post({**ORDERS, "environment": "prod"}, idempotency_key="job-42"),
    ),
    (SUBMIT, "503", "queue_unavailable"): _queue_down(lambda p: p.post(ORDERS)),
    (GET, "400", "too_long"): lambda p: p.get("r" * 65),
    (GET, "404", "unknown"): lambda p: p.get(EXAMPLE_REQUEST_ID),
    (LIST, "400", "limit"): lambda p: call(LIST, query_string="limit=0"),
    (DATABASES, "400", "environment"): lambda p: call(DATABASES, query_string="environment=staging"),
    (RESIZE, "400", "outside_policy"): _after(
        _created, lambda p: call(RESIZE, body={"instance_class": "db.r5.large"})
    ),
    (DECOMMISSION, "400", "wrong_confirmation"): _after(
        _created, lambda p: call(DECOMMISSION, body={"confirm": "order"})
    ),
    **{
        (operation, status, name): partial(_valid_call, operation, api_key=key)
        for operation in (SUBMIT, GET, LIST, DATABASES, RESIZE, DECOMMISSION, EXTEND)
        for status, name, key in (("401", "missing_key", None), ("403", "wrong_key", "wrong-key"))
    },
    **{
        (operation, status, name): example
        for operation in (RESIZE, DECOMMISSION)
        for status, name, example in (
            ("202", "accepted", _after(_created, partial(_valid_call, operation))),
            ("404", "no_such_database", partial(_valid_call, operation)),
            ("409", "not_created_yet", _after(lambda p: p.post(ORDERS), partial(_valid_call, operation))),
            ("413", "too_large", partial(_valid_call, operation, body={"padding": "p" * 16_384})),
            ("415", "not_json", partial(_valid_call, operation, body="confirm=orders", headers=FORM)),
            (
                "422",
                "key_reused",
                _after(_key_used, partial(_valid_call, operation, headers={"Idempotency-Key": "job-42"})),
            ),
            ("503", "queue_unavailable", _after(_created, _queue_down(partial(_valid_call, operation)))),
        )
    },
    (EXTEND, "404", "no_such_database"): partial(_valid_call, EXTEND),
    (EXTEND, "413", "too_large"): partial(_valid_call, EXTEND, body={"padding": "p" * 16_384}),
    (EXTEND, "415", "not_json"): partial(_valid_call, EXTEND, body="ttl_days=60", headers=FORM),
}


def _documented_examples(openapi: dict[str, Any]) -> dict[tuple[str, str, str], Any]:
    return {
        (f"{method.upper()} {path}", status, name): example["value"]
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
        for status, answer in operation["responses"].items()
        for media in answer.get("content", {}).values()
        for name, example in media.get("examples", {}).items()
    }


def test_every_documented_example_has_a_request_here(openapi):
    assert set(_documented_examples(openapi)) == set(EXAMPLE_REQUESTS)


@pytest.mark.parametrize(
    ("operation", "status", "name"), list(EXAMPLE_REQUESTS), ids=[" ".join(key) for key in EXAMPLE_REQUESTS]
)
def test_each_documented_example_is_what_the_api_answers(
    pipeline: Pipeline, openapi, operation, status, name
):
    documented = _documented_examples(openapi)[(operation, status, name)]
    method, path = operation.split(" ", 1)

    answer = EXAMPLE_REQUESTS[(operation, status, name)](pipeline)

    assert answer.status == int(status)
    conforms(openapi, method, path, answer)
    assert _ids_masked(answer.json) == _ids_masked(documented)


def test_the_document_offers_every_engine_and_the_aurora_resize_fields(openapi):
    """The engine enum comes from backend.domain.Engine; a resize takes max_capacity (Aurora dev)."""
    schemas = openapi["components"]["schemas"]
    text = json.dumps(schemas)
    for engine in ("mysql", "postgres", "aurora-mysql", "aurora-postgresql"):
        assert f'"{engine}"' in text
    resize = schemas["ResizeRequest"]["properties"]
    assert set(resize) == {"instance_class", "allocated_storage", "max_capacity"}
    (capacity,) = [b for b in resize["max_capacity"]["anyOf"] if b.get("type") == "number"]
    assert capacity["enum"] == [2, 4, 8]
    database = schemas["DatabaseView"]["properties"]
    assert {"allocated_storage", "max_capacity"} <= set(database)


def test_an_aurora_request_is_accepted_and_conforms(pipeline: Pipeline, openapi):
    for engine in ("aurora-mysql", "aurora-postgresql"):
        answer = pipeline.post(
            {"database_name": f"c_{engine[7:]}", "database_engine": engine, "environment": "dev"}
        )
        assert answer.status == 202, answer.body
        conforms(openapi, "POST", "/provision-rds", answer)
        record = pipeline.container.store.get(answer.json["request_id"])
        assert record is not None
        assert (record.instance_class, record.allocated_storage, record.max_capacity) == (
            "db.serverless",
            None,
            2,
        )


def test_the_document_is_the_route_table(openapi):
    # Each operation of the document, with its body's model, is a documented route of the table.
    documented = {
        (method.upper(), path, _body_model_of(operation))
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
    }
    table = {
        (route.method, route.path, route.body.__name__ if route.body else None)
        for route in ROUTES
        if route.function is Function.API and route.documented
    }
    assert len(table) >= 7
    assert documented == table


def _body_model_of(operation: dict[str, Any]) -> str | None:
    if "requestBody" not in operation:
        return None
    reference: str = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return reference.rsplit("/", 1)[-1]


@pytest.mark.parametrize("route", [r for r in ROUTES if r.function is Function.API], ids=str)
def test_every_api_route_of_the_table_is_served(pipeline: Pipeline, route: Route):
    answer = call(f"{route.method} {route.path}")

    assert not answer.json.get("message", "").startswith("No route"), answer.body
    assert answer.status in {200, 202, 404}, answer.body  # 404: no such request or database here


@pytest.mark.parametrize("route", [r for r in ROUTES if r.body is not None], ids=str)
def test_each_route_with_a_body_lists_its_own_models_fields_in_its_400(pipeline: Pipeline, route: Route):
    assert route.body is not None
    answer = call(f"{route.method} {route.path}", body={"no_such_field": 1})

    assert answer.status == 400, answer.body
    (unknown,) = [error for error in answer.json["errors"] if error["field"] == "no_such_field"]
    assert unknown["message"].endswith("allowed fields are " + ", ".join(route.body.model_fields))
    assert pipeline.receive() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ttl_days": "soon"}, "ttl_days"),
        ({"ttl_days": 10, "database_engine": "postgres"}, "database_engine"),
        ([], "body"),
    ],
)
def test_the_extend_routes_400_names_only_its_own_field(pipeline: Pipeline, openapi, body: Any, field: str):
    created(pipeline, "orders")
    before = databases(pipeline, "dev")

    answer = call_api(
        "POST",
        "/databases/dev/orders/extend",
        body=body,
        resource="/databases/{environment}/{database_name}/extend",
        path_parameters={"environment": "dev", "database_name": "orders"},
    )

    assert answer.status == 400, answer.body
    (error,) = answer.json["errors"]
    assert error["field"] == field
    if field == "database_engine":  # the one field it takes is what an unknown one is told
        assert error["message"].endswith("allowed fields are ttl_days")
    assert databases(pipeline, "dev") == before
