"""``rdsctl``: talk to the local stack the way users and Slack do, from a terminal.

    rdsctl submit orders postgres dev --owner payments
    rdsctl status <request_id>
    rdsctl list
    rdsctl prs
    rdsctl merge 1                  (or its branch: rdsctl merge rds/dev/orders)
    rdsctl close 1
    rdsctl applied dev terraform/envs/dev/rds_orders.tf
    rdsctl drift dev
    rdsctl slack "/provision-rds billing mysql dev"
    rdsctl slack-manifest --request-url https://.../v1/slack/events
    rdsctl new-environment staging  (its Terraform root and CI wiring, once deploy/environments.toml has it)

rdsctl finds the stack ``make run`` started from ``.local/stack.json`` (in the current directory,
else in this repository); ``RDSCTL_URL``, ``PORT`` or ``--url`` point it elsewhere.

Every command but ``slack-manifest`` and ``new-environment`` goes through the stack's HTTP
endpoints (standard library only); ``slack`` signs its request with the signing secret exactly as
Slack does, so the Slack path can be tried without a workspace. ``slack-manifest`` prints the Slack
app's manifest filled in, to paste into "Create an app -> From a manifest". ``new-environment``
writes an environment's Terraform root and CircleCI wiring from the shared ones (docs/environments.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from backend.domain.kinds import Engine
from backend.domain.policy import environment_policies
from backend.handlers.routes import ROUTES, Route
from backend.services.intake import CHANGES
from backend.settings import Settings
from local.stack import PACKAGE_ROOT, STACK_FILE

NOT_RUNNING = "the local stack is not running; start it with `make run`"
DEFAULT_USER_ID = "U0LOCALUSER"
DEFAULT_USER_NAME = "local.developer"
DEFAULT_CHANNEL_ID = "D0LOCALDM"


DEFAULT_URL = "http://127.0.0.1:3000"


def stack_url(settings: Settings, *, cwd: Path | None = None) -> str:
    """Where the local stack answers: ``RDSCTL_URL``, else ``PORT``'s port, else the URL the running
    stack wrote to ``.local/stack.json`` (here, else in this repository), else port 3000."""
    if settings.rdsctl_url:
        return settings.rdsctl_url
    if "local_port" in settings.model_fields_set:
        return f"http://127.0.0.1:{settings.local_port}"
    for state_dir in ((cwd or Path.cwd()) / ".local", PACKAGE_ROOT / ".local"):
        try:
            url = json.loads((state_dir / STACK_FILE).read_text())["url"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(url, str) and url:
            return url
    return DEFAULT_URL


class CliError(Exception):
    """Something to tell the user, then exit 1."""


class Client:
    def __init__(self, base_url: str, *, api_key: str, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(  # noqa: S310 - the URL is the user's own --url
            self.base_url + path, data=body, method=method, headers=dict(headers or {})
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers.items()), exc.read()
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError):
                raise CliError(f"{NOT_RUNNING} (nothing answers at {self.base_url})") from None
            raise CliError(f"could not reach {self.base_url}: {exc.reason}") from None
        except ConnectionRefusedError:
            raise CliError(f"{NOT_RUNNING} (nothing answers at {self.base_url})") from None

    def api(self, method: str, path: str, payload: Any = None, **headers: str) -> tuple[int, Any]:
        all_headers = {"X-Api-Key": self.api_key, "Accept": "application/json", **headers}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            all_headers["Content-Type"] = "application/json"
        status, _headers, raw = self.request(method, path, body=body, headers=all_headers)
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode("utf-8", errors="replace")


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False))


def _explain_error(status: int, data: Any) -> str:
    if isinstance(data, dict):
        lines = [f"HTTP {status}: {data.get('message', '')}".rstrip(": ")]
        if data.get("existing_request_id"):
            blocking = data["existing_request_id"]
            lines.append(f"  in the way: request {blocking} (rdsctl status {blocking})")
        for error in data.get("errors") or []:
            lines.append(f"  {error.get('field')}: {error.get('message')}")
        return "\n".join(lines)
    return f"HTTP {status}: {data}"


# --- commands --------------------------------------------------------------------------------------


def cmd_submit(client: Client, args: argparse.Namespace) -> int:
    payload: dict[str, Any] = {
        "database_name": args.database_name,
        "database_engine": args.engine,
        "environment": args.environment,
    }
    if args.owner:
        payload["owner"] = args.owner
    if args.purpose:
        payload["purpose"] = args.purpose
    if args.ttl_days is not None:
        payload["ttl_days"] = args.ttl_days
    headers = {"Idempotency-Key": args.idempotency_key} if args.idempotency_key else {}
    status, data = client.api("POST", "/provision-rds", payload, **headers)
    if status != 202:
        raise CliError(_explain_error(status, data))
    _print_json(data)
    if args.wait:
        return _wait_for(client, str(data["request_id"]), args.wait)
    return 0


def _wait_for(client: Client, request_id: str, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while True:
        status, data = client.api("GET", f"/requests/{request_id}")
        if status == 200 and data.get("status") == "awaiting_approval":
            _print_json(data)
            print(f"waiting for an approver: rdsctl approve {request_id} --as <a PROD_APPROVERS user>")
            return 0
        if status == 200 and data.get("status") != "accepted":
            _print_json(data)
            return 0 if data.get("status") == "pr_opened" else 1
        if time.monotonic() >= deadline:
            raise CliError(f"request {request_id} is still '{data.get('status')}' after {seconds:g} s")
        time.sleep(0.25)


def cmd_databases(client: Client, args: argparse.Namespace) -> int:
    query = f"?environment={args.environment}" if args.environment else ""
    status, data = client.api("GET", f"/databases{query}")
    if status != 200:
        raise CliError(_explain_error(status, data))
    rows = list(data.get("databases") or [])
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print("no databases yet; try: rdsctl submit orders postgres dev")
        return 0
    header = ["DATABASE", "ENGINE", "ENV", "CLASS", "GIB", "$/MONTH", "EXPIRES", "LAST REQUEST", "STATUS"]
    body = [
        [
            str(row["database_name"]),
            str(row["database_engine"]),
            str(row["environment"]),
            str(row["instance_class"]),
            str(row["allocated_storage"]),
            "-" if row.get("estimated_monthly_usd") is None else f"{row['estimated_monthly_usd']:,.2f}",
            row.get("expires_on") or "-",
            f"{last['action']} {last['request_id']}" if (last := row["last_request"]) else "-",
            str(last["status"]) if last else "applied, records aged out",
        ]
        for row in rows
    ]
    print(_table([header, *body]))
    return 0


# The changes of a database people ask for, each through its route: one command per action.
CHANGE_ROUTES: Mapping[str, Route] = {
    route.action.value: route for route in ROUTES if route.action is not None and route.action in CHANGES
}


def offered_choices() -> dict[str, tuple[str | int | float, ...]]:
    """Every value a resize may take in some environment, by field: what the environment policies
    offer (``resize_choices``) for any engine. The API refuses what this database's policy does not
    offer (400), naming what it does."""
    offered: dict[str, list[str | int | float]] = {}
    for policy in environment_policies().values():
        for engine in Engine:
            for field, values in policy.resize_choices(engine).items():
                known = offered.setdefault(field, [])
                known.extend(value for value in values if value not in known)
    return {field: tuple(values) for field, values in offered.items()}


def _number(text: str) -> int | float:
    """A number as typed (``4`` or ``0.5``)."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def _add_change_command(commands: Commands, action: str, route: Route) -> None:
    """``rdsctl <action> <database_name> <environment> --<field> ...``: the route's body fields as
    flags; a field the policies offer choices for takes only those."""
    assert route.body is not None
    summary = (route.body.__doc__ or action).strip().splitlines()[0]
    command = commands.add_parser(action, help=summary[0].lower() + summary[1:].rstrip("."))
    command.add_argument("database_name")
    command.add_argument("environment", help="dev or prod")
    choices = offered_choices()
    for field, info in route.body.model_fields.items():
        offered = choices.get(field)
        numeric = offered is not None and all(isinstance(value, int | float) for value in offered)
        command.add_argument(
            _flag(field),
            dest=field,
            required=info.is_required(),
            type=_number if numeric else str,
            choices=offered,
            metavar=field.upper(),
            help=info.description,
        )


def cmd_change(client: Client, args: argparse.Namespace) -> int:
    """A change of a database (``CHANGE_ROUTES``): POST its route with the flags given."""
    route = CHANGE_ROUTES[args.command_name]
    assert route.body is not None
    fields = list(route.body.model_fields)
    given = {field: getattr(args, field) for field in fields}
    payload: dict[str, Any] = {field: value for field, value in given.items() if value is not None}
    if not payload:
        raise CliError(
            f"say what to change: {' and/or '.join(map(_flag, fields))} (what the database's environment "
            "policy offers for its engine); `rdsctl databases` shows the current size"
        )
    path = route.path.format(environment=args.environment, database_name=args.database_name)
    status, data = client.api("POST", path, payload)
    if status != 202:
        raise CliError(_explain_error(status, data))
    _print_json(data)
    return 0


def cmd_extend(client: Client, args: argparse.Namespace) -> int:
    """POST /databases/{environment}/{database_name}/extend: a dev database kept longer (no PR)."""
    payload = {} if args.ttl_days is None else {"ttl_days": args.ttl_days}
    path = f"/databases/{args.environment}/{args.database_name}/extend"
    status, data = client.api("POST", path, payload)
    if status != 200:
        raise CliError(_explain_error(status, data))
    print(f"{args.environment}/{args.database_name} now expires on {data['expires_on']}")
    return 0


def cmd_sweep(client: Client, args: argparse.Namespace) -> int:
    """What the daily schedule has the sweeper do, at ``--now`` or ``--in-days`` (default: now)."""
    status, data = client.api(
        "POST", "/_local/sweep", {"now": _sweep_moment(args)} if args.now or args.in_days else {}
    )
    if status != 200 or not isinstance(data, dict):
        raise CliError(_explain_error(status, data))
    if args.json:
        _print_json(data)
        return 0
    print(f"swept at {data['now']}")
    for result in data["expiries"]:
        detail = f" ({result['detail']})" if result["detail"] else ""
        print(f"  {result['database']} expires {result['expires_on']}: {result['outcome']}{detail}")
    for request_id in data["approvals_timed_out"]:
        print(f"  request {request_id}: rejected, no approver decided in time")
    if not data["expiries"] and not data["approvals_timed_out"]:
        print("  nothing due")
    return 1 if data["failed"] else 0


def _sweep_moment(args: argparse.Namespace) -> str:
    """``--now`` (a date or an ISO 8601 moment, UTC unless it says) or ``--in-days`` from now, as ISO 8601."""
    if args.in_days is not None:
        return (datetime.now(UTC) + timedelta(days=args.in_days)).isoformat()
    try:
        moment = datetime.fromisoformat(args.now)
    except ValueError:
        raise CliError(
            f"--now {args.now!r} is not a date or moment: give one like 2026-12-24 or 2026-12-24T07:00Z "
            "(or --in-days 2)"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def cmd_status(client: Client, args: argparse.Namespace) -> int:
    status, data = client.api("GET", f"/requests/{args.request_id}")
    if status != 200:
        raise CliError(_explain_error(status, data))
    _print_json(data)
    return 0


def _rows(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("requests", "items"):
            if isinstance(data.get(key), list):
                return list(data[key])
    return []


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)


def cmd_list(client: Client, args: argparse.Namespace) -> int:
    status, data = client.api("GET", "/requests")
    if status != 200:
        raise CliError(_explain_error(status, data))
    rows = _rows(data)
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print("no requests yet; try: rdsctl submit orders postgres dev")
        return 0
    header = ["REQUEST ID", "STATUS", "DATABASE", "ENGINE", "ENV", "BY", "PR"]
    body = [
        [
            str(row.get("request_id", "")),
            str(row.get("status", "")),
            str(row.get("database_name", "")),
            str(row.get("database_engine", "")),
            str(row.get("environment", "")),
            str(row.get("requested_by", "")),
            str(row.get("pr_url") or row.get("error") or ""),
        ]
        for row in rows
    ]
    print(_table([header, *body]))
    return 0


def cmd_prs(client: Client, args: argparse.Namespace) -> int:
    status, _headers, raw = client.request("GET", "/_local/prs.json", headers={"Accept": "application/json"})
    if status != 200:
        raise CliError(f"HTTP {status}: the local pull requests are not available (GITOPS_BACKEND=github?)")
    prs = json.loads(raw)
    if args.json:
        _print_json(prs)
        return 0
    if not prs:
        print("no pull requests yet")
        return 0
    rows = [[f"#{pr['number']}", pr["state"], pr["branch"], pr["file_path"], pr["title"]] for pr in prs]
    print(_table([["#", "STATE", "BRANCH", "FILE", "TITLE"], *rows]))
    print(f"\nread one, with its diff: {client.base_url}/_local/prs/<number>")
    return 0


def _open_pull_request_on(client: Client, branch: str) -> str:
    """The number of the open local pull request on ``branch`` (``rds/dev/orders``)."""
    status, _headers, raw = client.request("GET", "/_local/prs.json", headers={"Accept": "application/json"})
    if status != 200:
        raise CliError("the local pull requests are not available (GITOPS_BACKEND=github?)")
    numbers = [
        str(pr["number"]) for pr in json.loads(raw) if pr["branch"] == branch and pr["state"] == "open"
    ]
    if not numbers:
        raise CliError(f"no open pull request on {branch}; `rdsctl prs` lists them")
    return numbers[-1]


def cmd_review(client: Client, args: argparse.Namespace) -> int:
    """``merge`` or ``close``: what a reviewer does to a local PR (and GitHub's webhook then tells us)."""
    verb = args.command_name
    number = (
        args.pull_request if args.pull_request.isdigit() else _open_pull_request_on(client, args.pull_request)
    )
    status, _headers, raw = client.request(
        "POST", f"/_local/prs/{number}/{verb}", headers={"Accept": "application/json"}
    )
    if status == 503:
        raise CliError("the local pull requests are not available (GITOPS_BACKEND=github?)")
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = raw.decode("utf-8", errors="replace")
    if status != 200 or not isinstance(data, dict):
        raise CliError(_explain_error(status, data))
    if args.json:
        _print_json(data)
        return 0
    request = data.get("request") or {}
    where = f"{data['branch']} into main" if data["state"] == "merged" else data["branch"]
    print(f"#{data['number']} {data['state']}: {where} ({data['file_path']})")
    if request.get("request_id"):
        print(f"request {request['request_id']}: {request.get('status')} ({request.get('outcome')})")
    else:
        print(f"no request recorded ({request.get('outcome', 'unknown')})")
    if data["state"] == "merged" and data.get("plan") is not None:
        print("the local CI applies it now (about 3 minutes against the local AWS), then records it applied")
    elif data["state"] == "merged":
        print(
            "locally nothing applies Terraform (LOCAL_CI=manual), so the request stays 'merged'; "
            f"`rdsctl applied dev {data['file_path']}` stands in for CircleCI's apply"
        )
    return 0


def cmd_applied(client: Client, args: argparse.Namespace) -> int:
    """What CircleCI's record-applied job runs after a successful ``terraform apply`` (a stand-in)."""
    status, data = client.api(
        "POST", "/_local/ci/applied", {"environment": args.environment, "files": args.files}
    )
    if status != 200 or not isinstance(data, dict):
        raise CliError(_explain_error(status, data))
    if args.json:
        _print_json(data)
        return 0
    lines = [str(line) for line in data["results"]]
    print("\n".join(lines))
    named = {
        f"{args.environment}/{Path(file).name[4:-3]}"
        for file in args.files
        if Path(file).name.startswith("rds_")
    }
    known = [line for line in lines if line.split(": ", 1)[0] in named and ": unknown" not in line]
    if not known:
        print(
            f"rdsctl: no request knows any of these files in {args.environment} "
            f"(see `rdsctl databases`; the files are terraform/envs/{args.environment}/rds_<name>.tf)",
            file=sys.stderr,
        )
        return 1
    return 0


# A drift check plans main (init and plan: tens of seconds, longer while an apply holds the lock).
DRIFT_TIMEOUT_SECONDS = 900.0


def cmd_drift(client: Client, args: argparse.Namespace) -> int:
    """What the nightly drift pipeline runs: plan main and name what changed outside Terraform."""
    client.timeout = max(client.timeout, DRIFT_TIMEOUT_SECONDS)
    status, data = client.api("POST", "/_local/ci/drift", {"environment": args.environment})
    if status != 200 or not isinstance(data, dict):
        raise CliError(_explain_error(status, data))
    if args.json:
        _print_json(data)
        return 0
    drifted = data["drifted"]
    if not drifted:
        print(f"no drift in {data['environment']}: the local AWS matches main")
    for drift in drifted:
        name = drift["database_name"] or "(shared resources)"
        print(f"{data['environment']}/{name}: {', '.join(drift['attributes'])}")
    return 0


def slash_command_form(
    text: str, *, user_id: str, user_name: str, channel_id: str, team_id: str
) -> dict[str, str]:
    """The form fields Slack posts for a slash command (the ones Bolt reads)."""
    command, _, rest = text.strip().partition(" ")
    if not command.startswith("/"):
        command, rest = "/provision-rds", text.strip()
    return {
        "token": "local-verification-token",
        "team_id": team_id,
        "team_domain": "local",
        "channel_id": channel_id,
        "channel_name": "directmessage",
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": rest.strip(),
        "api_app_id": "A0LOCAL",
        "is_enterprise_install": "false",
        "response_url": "https://hooks.slack.com/commands/T0LOCAL/local/local",
        "trigger_id": f"{int(time.time())}.local.{uuid.uuid4().hex[:16]}",
    }


def signed_headers(body: bytes, signing_secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with a request: its timestamp and v0 signature."""
    from slack_sdk.signature import SignatureVerifier

    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature or "",
    }


def _blocks_text(blocks: Any) -> list[str]:
    lines: list[str] = []
    for block in blocks or []:
        if not isinstance(block, dict):
            continue
        text = block.get("text")
        if isinstance(text, dict) and text.get("text"):
            lines.append(str(text["text"]))
        for element in block.get("elements") or []:
            if isinstance(element, dict) and isinstance(element.get("text"), str):
                lines.append(element["text"])
        for field in block.get("fields") or []:
            if isinstance(field, dict) and field.get("text"):
                lines.append(str(field["text"]))
    return lines


def _to_slack_endpoint(client: Client, settings: Settings, form: Mapping[str, str]) -> bytes:
    """POST ``form`` to ``/slack/events`` signed as Slack signs it; the answer's body."""
    body = urlencode(form).encode()
    secret = settings.slack_signing_secret or "local-signing-secret"
    status, _headers, raw = client.request(
        "POST", "/slack/events", body=body, headers=signed_headers(body, secret)
    )
    if status != 200:
        text = raw.decode("utf-8", errors="replace")
        hint = " (is SLACK_SIGNING_SECRET the same here and for make run?)" if status == 401 else ""
        raise CliError(f"Slack endpoint answered HTTP {status}{hint}: {text}")
    return raw


def _interaction(user: str, settings: Settings, fields: Mapping[str, Any]) -> dict[str, str]:
    """The form Slack posts for an interaction (a button press, a modal submission)."""
    team = settings.slack_team_id or "T0LOCAL"
    payload = {
        "team": {"id": team, "domain": "local"},
        "user": {"id": user, "username": user, "team_id": team},
        "api_app_id": "A0LOCAL",
        "token": "local-verification-token",
        "trigger_id": f"{int(time.time())}.local.{uuid.uuid4().hex[:16]}",
        "is_enterprise_install": False,
        **fields,
    }
    return {"payload": json.dumps(payload)}


def cmd_approve(client: Client, args: argparse.Namespace, settings: Settings) -> int:
    """What an approver's click on Approve (or Deny and its form) sends to the Slack endpoint."""
    channel = settings.approvals_channel or "C0APPROVALS"
    if args.command_name == "approve":
        fields: dict[str, Any] = {
            "type": "block_actions",
            "container": {"type": "message", "channel_id": channel, "message_ts": "0.0"},
            "channel": {"id": channel, "name": "approvals"},
            "actions": [{"action_id": "approve_request", "block_id": "approval", "value": args.request_id}],
        }
    else:
        fields = {
            "type": "view_submission",
            "view": {
                "type": "modal",
                "callback_id": "deny_request",
                "private_metadata": args.request_id,
                "state": {
                    "values": {"reason": {"value": {"type": "plain_text_input", "value": args.reason}}}
                },
            },
        }
    raw = _to_slack_endpoint(client, settings, _interaction(args.as_user, settings, fields))
    if raw:
        answer = json.loads(raw)
        raise CliError("; ".join(f"{name}: {text}" for name, text in answer.get("errors", {}).items()))
    status, data = client.api("GET", f"/requests/{args.request_id}")
    if status != 200:
        raise CliError(_explain_error(status, data))
    decided = data.get("approved_by") or data.get("denied_by")
    print(f"request {args.request_id}: {data['status']}" + (f" (by {decided})" if decided else ""))
    if data["status"] == "awaiting_approval":
        print("not decided: only PROD_APPROVERS other than its requester may (see the stack's console)")
        return 1
    return 0


def cmd_slack(client: Client, args: argparse.Namespace, settings: Settings) -> int:
    form = slash_command_form(
        args.command,
        user_id=args.user,
        user_name=args.user_name,
        channel_id=args.channel,
        team_id=settings.slack_team_id or "T0LOCAL",
    )
    raw = _to_slack_endpoint(client, settings, form)
    if not raw:
        print("(acknowledged with an empty response; see the stack's console for messages it posted)")
        return 0
    try:
        answer = json.loads(raw)
    except ValueError:
        print(raw.decode("utf-8", errors="replace"))
        return 0
    if args.json:
        _print_json(answer)
        return 0
    lines = _blocks_text(answer.get("blocks")) or [str(answer.get("text", ""))]
    print("\n".join(line for line in lines if line))
    return 0


def cmd_slack_manifest(args: argparse.Namespace) -> int:
    from bot import manifest

    try:
        if args.socket_mode:
            built = manifest.for_socket_mode(name=args.name)
        else:
            built = manifest.for_request_url(args.request_url, name=args.name)
    except manifest.ManifestError as exc:
        raise CliError(str(exc)) from None
    _print_json(built)
    return 0


# --- entry point -----------------------------------------------------------------------------------


Commands = Any  # argparse's _SubParsersAction, which it does not export


def _requests_commands(commands: Commands) -> None:
    submit = commands.add_parser("submit", help="request a database through the HTTP API")
    submit.add_argument("database_name")
    submit.add_argument("engine", help=", ".join(engine.value for engine in Engine))
    submit.add_argument("environment", help="dev or prod")
    submit.add_argument("--owner")
    submit.add_argument("--purpose")
    submit.add_argument("--idempotency-key")
    submit.add_argument("--ttl-days", type=int, metavar="DAYS", help="dev: days until it expires")
    submit.add_argument(
        "--wait", type=float, default=0, metavar="SECONDS", help="wait up to SECONDS for the pull request"
    )
    status = commands.add_parser("status", help="show one request")
    status.add_argument("request_id")
    listing = commands.add_parser("list", help="recent requests")
    listing.add_argument("--json", action="store_true")


def _database_commands(commands: Commands) -> None:
    databases = commands.add_parser("databases", help="the databases (GET /databases)")
    databases.add_argument("--environment", help="only dev or prod")
    databases.add_argument("--json", action="store_true")
    for action, route in CHANGE_ROUTES.items():
        _add_change_command(commands, action, route)
    extend = commands.add_parser("extend", help="keep a dev database longer (its expiry moves; no PR)")
    extend.add_argument("database_name")
    extend.add_argument("environment", help="dev (prod databases do not expire)")
    extend.add_argument("--ttl-days", type=int, metavar="DAYS", help="days from today (default DEV_TTL_DAYS)")
    sweep = commands.add_parser(
        "sweep",
        help="run the daily sweep now (or as at --now, --in-days): expiry reminders and decommissions, "
        "approval timeouts",
    )
    moment = sweep.add_mutually_exclusive_group()
    moment.add_argument(
        "--now", metavar="ISO8601", help="the moment to sweep as, e.g. 2026-12-24 or 2026-12-24T07:00Z"
    )
    moment.add_argument("--in-days", type=int, metavar="DAYS", help="sweep as DAYS days from now")
    sweep.add_argument("--json", action="store_true")


def _review_commands(commands: Commands) -> None:
    prs = commands.add_parser("prs", help="local pull requests with branch and file")
    prs.add_argument("--json", action="store_true")
    for verb, help_text in (
        ("merge", "merge a local pull request (as a reviewer would); its request becomes 'merged'"),
        ("close", "close a local pull request without merging; its request ends 'failed', the name is free"),
    ):
        review = commands.add_parser(verb, help=help_text)
        review.add_argument(
            "pull_request",
            metavar="PR",
            help="its number or its branch, e.g. 2 or rds/dev/orders (`rdsctl prs`)",
        )
        review.add_argument("--json", action="store_true")
    applied = commands.add_parser(
        "applied",
        help="stand in for CircleCI after a successful terraform apply: record these files' requests applied",
    )
    applied.add_argument("environment", help="dev or prod")
    applied.add_argument("files", nargs="+", help="terraform/envs/<environment>/rds_<name>.tf files")
    applied.add_argument("--json", action="store_true")
    drift = commands.add_parser(
        "drift", help="plan main against the local AWS and name what changed outside Terraform"
    )
    drift.add_argument("environment", nargs="?", default="dev", help="dev (default) or prod")
    drift.add_argument("--json", action="store_true")


def _slack_commands(commands: Commands) -> None:
    slack = commands.add_parser(
        "slack", help='send a signed slash command, e.g. "/provision-rds orders postgres dev"'
    )
    slack.add_argument("command", help="the slash command as typed in Slack")
    slack.add_argument("--user", default=DEFAULT_USER_ID, help="Slack user id (default %(default)s)")
    slack.add_argument("--user-name", default=DEFAULT_USER_NAME)
    slack.add_argument("--channel", default=DEFAULT_CHANNEL_ID)
    slack.add_argument("--json", action="store_true", help="print Slack's raw answer")
    for verb, help_text in (
        ("approve", "approve a prod request as approver --as (a signed click on Approve)"),
        ("deny", "deny a prod request as approver --as, with --reason (a signed Deny and its form)"),
    ):
        decide = commands.add_parser(verb, help=help_text)
        decide.add_argument("request_id")
        decide.add_argument("--as", dest="as_user", required=True, metavar="USER_ID", help="the approver")
        if verb == "deny":
            decide.add_argument("--reason", required=True, help="what the requester is told")
    slack_manifest = commands.add_parser(
        "slack-manifest",
        help='print the Slack app manifest for "Create an app -> From a manifest", filled in',
    )
    delivery = slack_manifest.add_mutually_exclusive_group(required=True)
    delivery.add_argument(
        "--request-url",
        metavar="URL",
        help="where Slack sends commands, interactions and events: the stack's SlackRequestUrl output",
    )
    delivery.add_argument(
        "--socket-mode",
        action="store_true",
        help="no URLs: Slack delivers over Socket Mode (a second app, for SLACK_APP_TOKEN)",
    )
    slack_manifest.add_argument("--name", help="the app's name in Slack (default rds-provisioner)")


def cmd_new_environment(args: argparse.Namespace, settings: Settings) -> int:
    from local.environments import TERRAFORM_DIR, NewEnvironmentRefused, write_environment

    terraform_dir = args.terraform_dir or TERRAFORM_DIR
    try:
        written = write_environment(
            args.environment,
            settings,
            terraform_dir=terraform_dir,
            circleci_dir=args.circleci_dir,
            force=args.force,
        )
    except NewEnvironmentRefused as exc:
        raise CliError(str(exc)) from None
    for path in written:
        print(f"wrote {path}")
    return 0


def _environment_commands(commands: Commands) -> None:
    new = commands.add_parser(
        "new-environment",
        help="write terraform/envs/<name> from the shared root terraform/root, for an environment of "
        "the environments file (ENVIRONMENTS_FILE, default deploy/environments.toml), and the CircleCI "
        "wiring of every environment with a root from .circleci/templates",
    )
    new.add_argument("environment")
    new.add_argument(
        "--terraform-dir", type=Path, metavar="DIR", help="default: this repository's terraform/"
    )
    new.add_argument(
        "--circleci-dir", type=Path, metavar="DIR", help="default: the .circleci/ beside the terraform dir"
    )
    new.add_argument("--force", action="store_true", help="rewrite the shared files of an existing one")


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rdsctl", description="Drive the local rds-provisioner stack.")
    parser.add_argument(
        "--url",
        default=stack_url(settings),
        help="the local stack (default %(default)s: $RDSCTL_URL, $PORT, or .local/stack.json)",
    )
    parser.add_argument(
        "--api-key",
        default=settings.api_key or "local-dev-key",
        help="X-Api-Key (default: $API_KEY or local-dev-key)",
    )
    commands = parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND")
    for add in (
        _requests_commands,
        _database_commands,
        _review_commands,
        _slack_commands,
        _environment_commands,
    ):
        add(commands)
    return parser


Handler = Callable[[Client, argparse.Namespace, Settings], int]
# Each command's function, by name.
HANDLERS: dict[str, Handler] = {
    "submit": lambda client, args, _settings: cmd_submit(client, args),
    "status": lambda client, args, _settings: cmd_status(client, args),
    "list": lambda client, args, _settings: cmd_list(client, args),
    "databases": lambda client, args, _settings: cmd_databases(client, args),
    **{action: lambda client, args, _settings: cmd_change(client, args) for action in CHANGE_ROUTES},
    "extend": lambda client, args, _settings: cmd_extend(client, args),
    "sweep": lambda client, args, _settings: cmd_sweep(client, args),
    "prs": lambda client, args, _settings: cmd_prs(client, args),
    "merge": lambda client, args, _settings: cmd_review(client, args),
    "close": lambda client, args, _settings: cmd_review(client, args),
    "applied": lambda client, args, _settings: cmd_applied(client, args),
    "drift": lambda client, args, _settings: cmd_drift(client, args),
    "slack": cmd_slack,
    "approve": cmd_approve,
    "deny": cmd_approve,
    "slack-manifest": lambda _client, args, _settings: cmd_slack_manifest(args),
    "new-environment": lambda _client, args, settings: cmd_new_environment(args, settings),
}


def main(argv: list[str] | None = None) -> int:
    settings = Settings.from_env()
    args = build_parser(settings).parse_args(argv)
    client = Client(args.url, api_key=args.api_key)
    try:
        return HANDLERS[args.command_name](client, args, settings)
    except CliError as exc:
        print(f"rdsctl: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `rdsctl prs | head`: the reader has what it wanted; the command itself did its work.
        sys.stdout = None  # Python would report the closed pipe again at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
