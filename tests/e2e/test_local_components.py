"""The local stack's own pieces, in-process: gateway mapping, SQS poller semantics, rdsctl, pages."""

from __future__ import annotations

import base64
import io
import json
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier
from werkzeug.test import Client

from backend.settings import Settings
from local import cli, prs_page
from local.gateway import Function, LocalGateway, Page, proxy_response


def _recording_handler(calls: list[dict[str, Any]], result: dict[str, Any]):
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append({"event": event, "context": context})
        return result

    return handler


# --- gateway ---------------------------------------------------------------------------------------


def test_gateway_turns_a_request_into_the_proxy_event_api_gateway_would_send() -> None:
    calls: list[dict[str, Any]] = []
    api = _recording_handler(
        calls, {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}
    )
    gateway = LocalGateway(
        {"api": Function("api-fn", api), "slack": Function("slack-fn", api)}, access_log=False
    )

    response = Client(gateway).get("/requests/abc-123?verbose=1", headers={"X-Api-Key": "k"})

    assert response.status_code == 200
    event = calls[0]["event"]
    assert event["resource"] == "/requests/{request_id}"
    assert event["pathParameters"] == {"request_id": "abc-123"}
    assert event["httpMethod"] == "GET"
    assert event["queryStringParameters"] == {"verbose": "1"}
    assert event["headers"]["X-Api-Key"] == "k"
    assert calls[0]["context"].function_name == "api-fn"


def test_gateway_routes_slack_events_to_the_slack_function_with_the_raw_body() -> None:
    api_calls: list[dict[str, Any]] = []
    slack_calls: list[dict[str, Any]] = []
    gateway = LocalGateway(
        {
            "api": Function("api", _recording_handler(api_calls, {"statusCode": 200, "body": ""})),
            "slack": Function("slack", _recording_handler(slack_calls, {"statusCode": 200, "body": ""})),
        },
        access_log=False,
    )
    body = "command=%2Fprovision-rds&text=orders+postgres+dev"
    Client(gateway).post(
        "/slack/events", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert not api_calls
    event = slack_calls[0]["event"]
    assert event["resource"] == "/slack/events"
    assert event["body"] == body
    assert event["isBase64Encoded"] is False


def test_proxy_response_maps_status_headers_and_base64_bodies() -> None:
    response = proxy_response(
        {
            "statusCode": 409,
            "headers": {"Content-Type": "application/octet-stream"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": base64.b64encode(b"\x00\x01binary").decode(),
            "isBase64Encoded": True,
        }
    )
    assert response.status_code == 409
    assert response.get_data() == b"\x00\x01binary"
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["Content-Type"] == "application/octet-stream"


def test_a_failing_handler_is_a_502_like_api_gateway_and_unknown_paths_are_404() -> None:
    def broken(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    logged: list[str] = []
    gateway = LocalGateway(
        {"api": Function("api", broken), "slack": Function("slack", broken)},
        log=logged.append,
        access_log=False,
    )
    client = Client(gateway)
    assert client.post("/provision-rds", json={}).status_code == 502
    assert "boom" in logged[0]
    assert client.get("/nope").status_code == 404


def test_pages_are_served_and_their_failures_do_not_leak_a_traceback() -> None:
    def fine() -> Page:
        return Page(200, "<p>hi</p>")

    def broken(number: int) -> Page:
        raise RuntimeError("secret detail")

    gateway = LocalGateway({}, pages={"prs": fine, "pr": broken}, log=lambda _line: None, access_log=False)
    client = Client(gateway)
    assert client.get("/_local/prs").get_data(as_text=True) == "<p>hi</p>"
    failed = client.get("/_local/prs/3")
    assert failed.status_code == 500
    assert "secret detail" not in failed.get_data(as_text=True)


def test_local_actions_refuse_a_form_posted_from_another_site() -> None:
    merged: list[int] = []

    def review(number: int, verb: str, **_: object) -> Page:
        merged.append(number)
        return Page(303, "", location=f"/_local/prs/{number}")

    client = Client(LocalGateway({}, actions={"review": review}, access_log=False))
    refused = client.post("/_local/prs/1/merge", headers={"Origin": "https://evil.test"})
    same_site = client.post("/_local/prs/1/merge", headers={"Origin": "http://localhost"})
    without_origin = client.post("/_local/prs/2/merge")  # rdsctl, curl

    assert refused.status_code == 403
    assert (same_site.status_code, without_origin.status_code) == (303, 303)
    assert merged == [1, 2]


# --- PR pages --------------------------------------------------------------------------------------


class _FakePrs:
    def __init__(self) -> None:
        self.pr = {
            "number": 1,
            "title": "Add <script>alert(1)</script>",
            "branch": "rds/dev/orders",
            "file_path": "terraform/envs/dev/rds_orders.tf",
            "body": "**Requested by** <b>me</b>",
            "state": "open",
            "url": "http://127.0.0.1:3000/_local/prs/1",
        }

    def list_pull_requests(self) -> list[dict[str, Any]]:
        return [self.pr]

    def get_pull_request(self, number: int) -> dict[str, Any] | None:
        return self.pr if number == 1 else None

    def diff(self, number: int) -> str:
        return '+module "rds_orders" {\n+  name = "<img src=x>"\n'


def test_pr_pages_escape_everything_they_show() -> None:
    fake = _FakePrs()
    rendered = prs_page.pages(lambda: fake, index_links=lambda: [("/_local/prs", "PRs")])
    listing = rendered["prs"]().body
    detail = rendered["pr"](number=1).body
    for html in (listing, detail):
        assert "<script>" not in html
        assert "&lt;script&gt;" in html
    assert "<img" not in detail
    assert "rds/dev/orders" in detail
    assert "terraform/envs/dev/rds_orders.tf" in detail
    assert "<span class=add>" in detail
    assert rendered["pr"](number=2).status == 404
    assert json.loads(rendered["prs_json"]().body)[0]["branch"] == "rds/dev/orders"


def test_pr_pages_render_the_description_markdown_without_any_of_its_html() -> None:
    fake = _FakePrs()
    fake.pr["body"] = (
        "Adds `orders`.\n\n| Request | |\n|---|---|\n| Purpose | `<script>window.x=1</script>` |\n\n"
        "- one\n- [two](javascript:alert(1)) [three](https://example.test/x)\n\n"
        '```hcl\nmodule "rds_orders" {}\n```\n\n<img src=x onerror=alert(1)> ![t](https://e.test/t.png)\n'
        "\n<!-- rds-provisioner request_id=r-1 -->\n"
    )
    lookup = {"request_id": "r-1", "status": "pr_opened", "slack_url": "/_local/slack#user=U0A&thread=1.2"}
    rendered = prs_page.pages(lambda: fake, index_links=list, request_for=lambda _pr: lookup)
    html = str(rendered["pr"](number=1).body)

    assert "<table>" in html
    assert "<td><code>&lt;script&gt;window.x=1&lt;/script&gt;</code></td>" in html
    assert "<li>one</li>" in html
    assert '<a href="https://example.test/x">three</a>' in html
    assert "javascript:" not in html.replace("[two](javascript:alert(1))", "")
    assert '<pre><code class="language-hcl">module &quot;rds_orders&quot; {}' in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html  # images are off: no request leaves for another host
    # As on GitHub, the request marker (an HTML comment) is not shown.
    assert "rds-provisioner request_id" not in html
    # The CSP allows stylesheets from /_local/static only.
    assert "<style>" not in html
    assert "style=" not in html
    assert 'href="/_local/static/prs.css"' in html
    assert "r-1" in html
    assert "pr_opened" in html
    assert 'href="/_local/slack#user=U0A&amp;thread=1.2"' in html


# --- rdsctl ----------------------------------------------------------------------------------------


def test_rdsctl_signs_slash_commands_the_way_slack_does() -> None:
    body = b"command=%2Fprovision-rds&text=orders"
    headers = cli.signed_headers(body, "local-signing-secret")
    verifier = SignatureVerifier("local-signing-secret")
    assert verifier.is_valid(
        body=body, timestamp=headers["X-Slack-Request-Timestamp"], signature=headers["X-Slack-Signature"]
    )
    assert not SignatureVerifier("another-secret").is_valid(
        body=body, timestamp=headers["X-Slack-Request-Timestamp"], signature=headers["X-Slack-Signature"]
    )


def test_rdsctl_slash_command_form_carries_what_bolt_reads() -> None:
    form = cli.slash_command_form(
        "/provision-rds orders postgres dev", user_id="U1", user_name="me", channel_id="D1", team_id="T1"
    )
    assert form["command"] == "/provision-rds"
    assert form["text"] == "orders postgres dev"
    assert form["user_id"] == "U1"
    assert form["trigger_id"]


def test_rdsctl_says_how_to_start_the_stack_when_it_is_not_running(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on ``port`` any more: the connection is refused.
    assert cli.main(["--url", f"http://127.0.0.1:{port}", "list"]) == 1
    assert "the local stack is not running; start it with `make run`" in capsys.readouterr().err


def test_rdsctl_reports_field_errors_from_the_api(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def fake_urlopen(request: urllib.request.Request, timeout: float):
        raise urllib.error.HTTPError(
            request.full_url,
            400,
            "Bad Request",
            {},  # type: ignore[arg-type]
            io.BytesIO(
                b'{"message": "Invalid request", "errors": [{"field": "environment", "message": "bad"}]}'
            ),
        )

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    assert cli.main(["submit", "orders", "postgres", "qa"]) == 1
    err = capsys.readouterr().err
    assert "HTTP 400" in err
    assert "environment: bad" in err


# --- SQS poller ------------------------------------------------------------------------------------


@pytest.fixture
def queue():
    import boto3
    from moto import mock_aws

    from local.resources import ensure_resources

    with mock_aws():
        resources = ensure_resources(
            region="us-east-1", endpoint_url=None, max_receive_count=2, visibility_timeout=1
        )
        yield boto3.client("sqs", region_name="us-east-1"), resources


def _poller(sqs: Any, resources: Any, handler: Any) -> Any:
    from local.poller import QueuePoller

    return QueuePoller(
        sqs=sqs,
        queue_url=resources.queue_url,
        queue_arn=resources.queue_arn,
        handler=handler,
        wait_seconds=0,
        log=lambda _line: None,
    )


def _depth(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_poller_deletes_successes_and_leaves_reported_failures_for_redelivery(queue) -> None:
    sqs, resources = queue
    for body in ("ok-1", "flaky", "ok-2"):
        sqs.send_message(QueueUrl=resources.queue_url, MessageBody=body)
    seen: list[tuple[str, str]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            attempt = record["attributes"]["ApproximateReceiveCount"]
            seen.append((record["body"], attempt))
            assert record["eventSourceARN"] == resources.queue_arn
            if record["body"] == "flaky" and attempt == "1":
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    poller = _poller(sqs, resources, handler)
    result = poller.drain_and_stop(timeout=15)

    assert result.drained
    assert sorted(body for body, _ in seen) == ["flaky", "flaky", "ok-1", "ok-2"]
    assert ("flaky", "2") in seen
    assert _depth(sqs, resources.queue_url) == 0
    assert _depth(sqs, resources.dlq_url) == 0


def test_poller_lets_sqs_move_a_record_that_keeps_failing_to_the_dlq(queue) -> None:
    sqs, resources = queue
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody="poison")

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("the whole batch fails")

    poller = _poller(sqs, resources, handler)
    result = poller.drain_and_stop(timeout=15)

    assert result.drained
    assert poller.stats.handler_errors == 2  # maxReceiveCount
    dead = sqs.receive_message(QueueUrl=resources.dlq_url, WaitTimeSeconds=0)["Messages"]
    assert [m["Body"] for m in dead] == ["poison"]


def test_cutting_a_drain_short_leaves_the_message_visible_for_saving(queue) -> None:
    from local.poller import StopDraining

    sqs, resources = queue
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody="slow")

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise StopDraining  # what a second Ctrl-C does while the worker is busy

    result = _poller(sqs, resources, handler).drain_and_stop(timeout=15)

    assert not result.drained
    assert (result.visible, result.in_flight) == (1, 0)


def test_rdsctl_finds_the_stack_from_stack_json_unless_told_otherwise(tmp_path: Path) -> None:
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "stack.json").write_text(
        json.dumps(
            {"url": "http://127.0.0.1:43117", "aws_endpoint_url": "http://127.0.0.1:5", "region": "us-east-1"}
        )
    )
    assert cli.stack_url(Settings.from_env({}), cwd=tmp_path) == "http://127.0.0.1:43117"
    assert cli.stack_url(Settings.from_env({"PORT": "3001"}), cwd=tmp_path) == "http://127.0.0.1:3001"
    told = Settings.from_env({"PORT": "3001", "RDSCTL_URL": "http://127.0.0.1:9"})
    assert cli.stack_url(told, cwd=tmp_path) == "http://127.0.0.1:9"


def test_rdsctl_checks_what_it_can_before_asking_the_stack(capsys: pytest.CaptureFixture[str]) -> None:
    # Nothing listens at this URL: each refusal below is rdsctl's own, before any request.
    nowhere = ["--url", "http://127.0.0.1:9"]
    assert cli.main([*nowhere, "sweep", "--now", "tomorrow"]) == 1
    err = capsys.readouterr().err
    assert "--now 'tomorrow' is not a date or moment: give one like 2026-12-24" in err
    assert "send JSON" not in err

    assert cli.main([*nowhere, "resize", "orders2", "dev"]) == 1
    err = capsys.readouterr().err
    assert "--instance-class" in err
    assert "--allocated-storage" in err
    assert "--max-capacity" in err


def test_rdsctl_names_the_request_in_the_way_of_a_409() -> None:
    explained = cli._explain_error(
        409,
        {"message": "Another change of the dev database orders is in flight", "existing_request_id": "r-7"},
    )
    assert "in the way: request r-7 (rdsctl status r-7)" in explained


def test_a_drain_waits_for_a_record_sent_back_with_a_delay(queue) -> None:
    sqs, resources = queue
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody="rate-limited")
    seen: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            seen.append(record["body"])
            if record["body"] == "rate-limited":  # GitHub said wait: a fresh copy, delayed
                sqs.send_message(QueueUrl=resources.queue_url, MessageBody="waited", DelaySeconds=1)
        return {"batchItemFailures": []}

    result = _poller(sqs, resources, handler).drain_and_stop(timeout=15)

    assert result.drained
    assert seen == ["rate-limited", "waited"]
