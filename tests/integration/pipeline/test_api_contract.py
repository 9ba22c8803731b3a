"""The HTTP API contract of DESIGN.md section 3, through the real handler, moto and the queue.

Every answer is also checked against the OpenAPI document the API serves.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from backend.adapters.queue import ProvisionMessage
from backend.container import set_container
from backend.handlers import api
from backend.local.events import LambdaContext, apigw_proxy_event
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
    assert served["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
    }


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


def test_the_document_offers_every_engine_and_the_aurora_resize_fields(openapi):
    """The engine enum comes from backend.domain.Engine; a resize takes max_capacity (Aurora dev)."""
    schemas = openapi["components"]["schemas"]
    text = json.dumps(schemas)
    for engine in ("mysql", "postgres", "aurora-mysql", "aurora-postgresql"):
        assert f'"{engine}"' in text
    resize = schemas["ResizeRequest"]["properties"]
    assert set(resize) == {"instance_class", "allocated_storage", "max_capacity"}
    assert {"type": "number"} in resize["max_capacity"]["anyOf"]
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
