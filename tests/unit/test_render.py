"""Rendering: golden files, determinism, terraform fmt layout, and HCL escaping of hostile strings.

Regenerate the golden files after an intended change with
    .venv/bin/python -m pytest tests/unit/test_render.py --update-goldens -p no:cacheprovider
and review the diff like any other change.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import hcl2
import pytest

from backend.domain import (
    Engine,
    EngineFamily,
    Environment,
    ProvisionRequest,
    RequestRecord,
    RequestStatus,
    Source,
    environment_policies,
    parse_request,
    policy_for,
)
from backend.render import RenderedFile, pull_request_text, render_database
from backend.render.hcl import CheckovSkip, Expression, HclText, attributes, escape_string, literal
from backend.render.terraform import (
    DEV_ONLY_CHECKS,
    UNPROTECT_REASON,
    _environment,
    aws_tag_value,
    checkov_skips,
)

GOLDEN = Path(__file__).parent / "golden"


def create_record(
    request: ProvisionRequest, *, request_id: str, requested_by: str, source: Source, **changes: Any
) -> RequestRecord:
    """The stored create request the provisioner renders a pull request from."""
    moment = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    return RequestRecord(
        **request.model_dump(),
        request_id=request_id,
        status=RequestStatus.ACCEPTED,
        requested_by=requested_by,
        source=source,
        created_at=moment,
        updated_at=moment,
        **changes,
    )


REPO = Path(__file__).resolve().parents[2]

DEV_MYSQL = parse_request({"database_name": "orders", "database_engine": "mysql", "environment": "dev"})
PROD_POSTGRES = parse_request(
    {
        "database_name": "billing_ledger",
        "database_engine": "postgres",
        "environment": "prod",
        "owner": "payments-team",
        "purpose": "invoice ledger for the billing service",
    }
)
DEV_AURORA_MYSQL = parse_request(
    {"database_name": "carts", "database_engine": "aurora-mysql", "environment": "dev"}
)
PROD_AURORA_POSTGRESQL = parse_request(
    {
        "database_name": "analytics",
        "database_engine": "aurora-postgresql",
        "environment": "prod",
        "owner": "data-team",
        "purpose": "product analytics",
    }
)
GOLDEN_CASES = {
    "dev_mysql_orders.tf": (DEV_MYSQL, "0b7d5a52-1c1e-4c0c-9d2c-3f0f1f7a9e01", "U024BE7LH"),
    "prod_postgres_billing_ledger.tf": (
        PROD_POSTGRES,
        "6f1c2a9e-8d4b-4e55-a0f1-2b9c7d3e4f10",
        "api:ci-deployer",
    ),
    "dev_aurora_mysql_carts.tf": (DEV_AURORA_MYSQL, "3c1f7e2a-5b8d-4f0e-9a6c-1d2e3f4a5b60", "U024BE7LH"),
    "prod_aurora_postgresql_analytics.tf": (
        PROD_AURORA_POSTGRESQL,
        "9c0e2f4a-3b5d-4f7a-8c1e-2b3c4d5e6f70",
        "api:ci-deployer",
    ),
}
# The pull request bodies kept as golden files: (golden file, the rendered file's case, source).
GOLDEN_BODIES = {
    "prod_postgres_billing_ledger.md": ("prod_postgres_billing_ledger.tf", Source.API),
    "dev_aurora_mysql_carts.md": ("dev_aurora_mysql_carts.tf", Source.SLACK),
}

ALL_REQUESTS = [
    parse_request(
        {
            "database_name": "inventory_v2",
            "database_engine": engine.value,
            "environment": environment.value,
            **extra,
        }
    )
    for engine, environment, extra in itertools.product(
        Engine, environment_policies(), [{}, {"owner": "team-a", "purpose": "stock levels: warehouse/eu = 1"}]
    )
]


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string literals in their quotes: strip them (escapes stay as written)."""
    assert isinstance(value, str), value
    assert value.startswith('"'), value
    assert value.endswith('"'), value
    return value[1:-1]


def decode_hcl_string(body: str) -> str:
    """The value of an HCL quoted string body, per the HCL native syntax spec.

    Refuses any unescaped ``${`` or ``%{``: in the generated files a string must never start an
    interpolation or a directive.
    """
    simple = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
    out: list[str] = []
    i = 0
    while i < len(body):
        if body.startswith("$${", i) or body.startswith("%%{", i):
            out.append(body[i + 1 : i + 3])
            i += 3
        elif body.startswith("${", i) or body.startswith("%{", i):
            raise AssertionError(f"unescaped template sequence at {i} in {body!r}")
        elif body[i] == "\\":
            kind = body[i + 1]
            if kind in simple:
                out.append(simple[kind])
                i += 2
            elif kind == "u":
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
            elif kind == "U":
                out.append(chr(int(body[i + 2 : i + 10], 16)))
                i += 10
            else:
                raise AssertionError(f"invalid escape \\{kind} in {body!r}")
        elif body[i] == '"' or (not body[i].isprintable() and body[i] != " "):
            raise AssertionError(f"raw {body[i]!r} inside an HCL string: {body!r}")
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def assert_terraform_fmt_layout(content: str) -> None:
    """The layout rules of terraform fmt that the renderer must follow."""
    assert content.endswith("}\n"), "ends with a newline"
    assert not content.endswith("\n\n"), "exactly one trailing newline"
    assert "\n\n\n" not in content, "at most one blank line in a row"
    assert "\t" not in content
    lines = content.split("\n")[:-1]
    depth = 0
    run: list[str] = []

    def close_run() -> None:
        if run:
            columns = {line.index(" = ") if " = " in line else -1 for line in run}
            assert len(columns) == 1, "= not aligned in run:\n" + "\n".join(run)
            longest = max(len(line.split("=")[0].rstrip()) for line in run)
            assert columns == {longest}, "exactly one space after the longest name:\n" + "\n".join(run)
            run.clear()

    for line in lines:
        assert line == line.rstrip(), f"trailing whitespace: {line!r}"
        stripped = line.strip()
        if stripped.startswith("}"):
            depth -= 1
        if stripped:
            indent = len(line) - len(line.lstrip(" "))
            assert indent == 2 * depth, f"indent {indent} at depth {depth}: {line!r}"
        single_line_attribute = re.match(r"^ *[A-Za-z_][\w-]* +=", line) and not line.endswith(("{", "["))
        if single_line_attribute:
            run.append(line)
        else:
            close_run()
        if stripped.endswith("{"):
            depth += 1
    close_run()
    assert depth == 0


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens", default=False))


# --- golden files -------------------------------------------------------------------------


@pytest.mark.parametrize("golden_name", sorted(GOLDEN_CASES))
def test_rendered_file_matches_golden(golden_name: str, update_goldens: bool) -> None:
    request, request_id, requested_by = GOLDEN_CASES[golden_name]
    rendered = render_database(request, request_id=request_id, requested_by=requested_by)
    golden = GOLDEN / golden_name

    if update_goldens:
        golden.write_text(rendered.content, encoding="utf-8")
    assert golden.exists(), f"missing {golden}; run with --update-goldens"
    assert rendered.content == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("golden_name", sorted(GOLDEN_BODIES))
def test_pull_request_body_matches_golden(golden_name: str, update_goldens: bool) -> None:
    case, source = GOLDEN_BODIES[golden_name]
    request, request_id, requested_by = GOLDEN_CASES[case]
    # As the intake records it: with the size the policy gives (so the body carries the estimate).
    sizing = policy_for(request.environment).new_sizing(request.database_engine)
    title, body = pull_request_text(
        create_record(
            request,
            request_id=request_id,
            requested_by=requested_by,
            source=source,
            **dataclasses.asdict(sizing),
        )
    )
    golden = GOLDEN / golden_name
    text = f"{title}\n\n{body}"

    if update_goldens:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


# --- what the file says ---------------------------------------------------------------------


@pytest.mark.parametrize("request_", ALL_REQUESTS, ids=lambda r: f"{r.database_engine}-{r.environment}")
def test_every_rendering_parses_and_carries_policy_and_names(request_: ProvisionRequest) -> None:
    rendered = render_database(request_, request_id="req-1", requested_by="U1")
    parsed = hcl2.loads(rendered.content)
    policy = policy_for(request_.environment)

    assert rendered.path == request_.file_path == f"terraform/envs/{request_.environment}/rds_inventory_v2.tf"
    assert [list(block) for block in parsed["module"]] == [[f'"{request_.module_name}"']]
    module = parsed["module"][0][f'"{request_.module_name}"']
    family = request_.database_engine.family
    assert (
        unquote(module["source"])
        == {
            EngineFamily.INSTANCE: "../../modules/rds",
            EngineFamily.AURORA: "../../modules/aurora",
        }[family]
    )
    assert unquote(module["identifier"]) == request_.rds_identifier
    assert unquote(module["db_name"]) == request_.database_name
    assert unquote(module["engine"]) == request_.database_engine.value
    assert module["deletion_protection"] is policy.deletion_protection
    assert module["backup_retention_period"] == policy.backup_retention_period
    assert module["monitoring_interval"] == policy.monitoring_interval
    assert module["vpc_id"] == "${var.vpc_id}"
    assert module["kms_key_id"] == "${local.database_kms_key_arn}"
    assert "password" not in rendered.content
    tags = {key: unquote(value) for key, value in module["tags"].items()}
    assert tags["RequestId"] == "req-1"
    assert tags["RequestedBy"] == "U1"
    assert tags.get("Owner") == request_.owner
    assert tags.get("Purpose") == request_.purpose
    outputs = {name for block in parsed["output"] for name in block}
    endpoints = {f'"{request_.module_name}_endpoint"', f'"{request_.module_name}_master_user_secret_arn"'}
    if family is EngineFamily.INSTANCE:
        assert unquote(module["instance_class"]) == policy.instance_class
        assert module["allocated_storage"] == policy.allocated_storage
        assert module["max_allocated_storage"] == policy.max_allocated_storage
        assert module["multi_az"] is policy.multi_az
        assert outputs == endpoints
    else:
        aurora = policy.aurora
        assert unquote(module["instance_class"]) == aurora.instance_class
        assert module["instance_count"] == aurora.instance_count
        assert "allocated_storage" not in module
        assert "multi_az" not in module
        capacity = module.get("serverlessv2_scaling_configuration")
        if aurora.serverless:
            assert capacity == {"min_capacity": aurora.min_capacity, "max_capacity": aurora.max_capacity}
        else:
            assert capacity is None
        backtrack = aurora.backtrack_window if request_.database_engine is Engine.AURORA_MYSQL else None
        assert module.get("backtrack_window") == backtrack
        assert module.get("aws_backup") == ("${local.database_aws_backup}" if aurora.aws_backup else None)
        assert module["availability_zones"] == "${local.database_availability_zones}"
        assert outputs == endpoints | {f'"{request_.module_name}_reader_endpoint"'}
    assert_terraform_fmt_layout(rendered.content)


@pytest.mark.parametrize("engine", list(Engine), ids=str)
def test_checkov_skips_only_in_dev_and_only_for_features_dev_turns_off(engine: Engine) -> None:
    def request(environment: Environment) -> ProvisionRequest:
        return parse_request(
            {"database_name": "orders", "database_engine": engine, "environment": environment}
        )

    dev = render_database(request(Environment("dev")), request_id="r", requested_by="u").content
    prod = render_database(request(Environment("prod")), request_id="r", requested_by="u").content

    dev_skips = dict(re.findall(r"#checkov:skip=(CKV2?_AWS_\d+):(.*)", dev))
    assert set(dev_skips) == {check.check_id for check in DEV_ONLY_CHECKS[engine.family]}
    assert all(reason.strip() for reason in dev_skips.values())
    assert "checkov:skip" not in prod


@pytest.mark.parametrize(
    ("engine", "check_id"),
    [
        (Engine.MYSQL, "CKV_AWS_293"),
        (Engine.POSTGRES, "CKV_AWS_293"),
        (Engine.AURORA_MYSQL, "CKV_AWS_139"),
        (Engine.AURORA_POSTGRESQL, "CKV_AWS_139"),
    ],
    ids=str,
)
def test_unprotect_step_turns_deletion_protection_off_and_skips_that_engines_check(
    engine: Engine, check_id: str
) -> None:
    """checkov's deletion protection check is CKV_AWS_293 for an instance, CKV_AWS_139 for a cluster."""
    request = parse_request({"database_name": "orders", "database_engine": engine, "environment": "prod"})
    content = render_database(request, request_id="r", requested_by="u", unprotecting=True).content
    module = hcl2.loads(content)["module"][0]['"rds_orders"']

    assert module["deletion_protection"] is False
    assert re.findall(r"#checkov:skip=(CKV2?_AWS_\d+):", content) == [check_id]
    assert [skip.check_id for skip in checkov_skips(request, unprotecting=True)] == [check_id]
    # Everything else is what the protected file says.
    protected = render_database(request, request_id="r", requested_by="u").content
    diff = list(difflib.ndiff(protected.splitlines(), content.splitlines()))
    removed = [line[2:].strip() for line in diff if line.startswith("- ")]
    added = [line[2:].strip() for line in diff if line.startswith("+ ")]
    assert [re.sub(r"\s+", " ", line) for line in removed] == ["deletion_protection = true"]
    assert [re.sub(r"\s+", " ", line) for line in added] == [
        f"#checkov:skip={check_id}:{UNPROTECT_REASON}",
        "deletion_protection = false",
    ]


# --- determinism --------------------------------------------------------------------------


def test_same_input_gives_the_same_bytes_even_in_another_process() -> None:
    request, request_id, requested_by = GOLDEN_CASES["prod_postgres_billing_ledger.tf"]
    here = render_database(request, request_id=request_id, requested_by=requested_by).content
    script = (
        "import sys\n"
        "import backend.container\n"
        "from backend.domain import parse_request\n"
        "from backend.render import render_database\n"
        f"request = parse_request({request.model_dump(mode='json')!r})\n"
        f"sys.stdout.write(render_database(request, request_id={request_id!r}, "
        f"requested_by={requested_by!r}).content)\n"
    )
    there = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert here == render_database(request, request_id=request_id, requested_by=requested_by).content
    assert there == here


# --- the hcl filter -----------------------------------------------------------------------

HOSTILE = [
    "plain",
    "",
    'quote " inside',
    "back\\slash",
    "trailing backslash\\",
    "${var.secret}",
    '${file("/etc/passwd")}',
    "%{if true}x%{endif}",
    "a${b}c%{d}e",
    "$${already escaped}",
    "%%{already escaped}",
    "lone $ and % and { }",
    "line\nbreak",
    "carriage\rreturn\r\n",
    "tab\there",
    "nul\x00byte",
    "bell\x07 escape\x1b[31m del\x7f",
    "c1 control\x85 next line",
    "unicode line sep\u2028 para sep\u2029",
    'x"\n}\nresource "aws_iam_user" "evil" {\n  name = "evil',
    "h\u00e9llo w\u00f6rld \u00df \u0131 \u0430 \uff4f\uff52\uff44 \U0001f680",
    "\\${not an escape}",
    "\\\\${x}",
]
# python-hcl2's grammar rejects these valid HCL strings (an escaped `$${` or `%%{` with no `}`
# after it); the reference decoder still checks them, and a strict xfail tells us when
# python-hcl2 learns to parse them.
PYHCL2_GRAMMAR_GAPS = {"${", "%{", "$${", "%%{x", "unclosed ${"}


@pytest.mark.parametrize("value", HOSTILE + sorted(PYHCL2_GRAMMAR_GAPS))
def test_escaped_string_decodes_to_the_original_and_cannot_interpolate(value: str) -> None:
    escaped = escape_string(value)

    assert decode_hcl_string(escaped) == value
    assert "\n" not in escaped
    assert "\r" not in escaped
    assert all(char.isprintable() for char in escaped)


@pytest.mark.parametrize("value", HOSTILE)
def test_escaped_string_round_trips_through_python_hcl2(value: str) -> None:
    if value in PYHCL2_GRAMMAR_GAPS:
        pytest.skip("python-hcl2 grammar gap")
    parsed = hcl2.loads(f"value = {literal(value)}\n")

    assert decode_hcl_string(unquote(parsed["value"])) == value


@pytest.mark.parametrize("value", sorted(PYHCL2_GRAMMAR_GAPS))
@pytest.mark.xfail(strict=True, reason="python-hcl2 cannot parse this valid HCL string")
def test_python_hcl2_grammar_gaps_are_still_gaps(value: str) -> None:
    parsed = hcl2.loads(f"value = {literal(value)}\n")
    assert decode_hcl_string(unquote(parsed["value"])) == value


def test_hostile_request_id_and_requester_cannot_break_out_of_the_file() -> None:
    hostile = 'x"\n}\nresource "aws_iam_user" "evil" { name = "${var.x}%{y}" }\n#'
    rendered = render_database(PROD_POSTGRES, request_id=hostile, requested_by=hostile)
    parsed = hcl2.loads(rendered.content)

    assert set(parsed) - {"__comments__"} == {"module", "output"}
    assert "evil" not in str(parsed.get("resource"))
    tags = parsed["module"][0]['"rds_billing_ledger"']["tags"]
    assert decode_hcl_string(unquote(tags["RequestedBy"])) == aws_tag_value(hostile)
    assert_terraform_fmt_layout(rendered.content)


def test_aws_tag_value_keeps_allowed_characters_and_length() -> None:
    assert aws_tag_value("U024BE7LH") == "U024BE7LH"
    assert aws_tag_value("api:ci-bot@x.y/z=1+2 _") == "api:ci-bot@x.y/z=1+2 _"
    assert aws_tag_value('a"b\n${c}') == "a_b___c_"
    assert len(aws_tag_value("x" * 300)) == 256


def test_literal_renders_every_supported_type() -> None:
    assert literal(True) == "true"
    assert literal(False) == "false"
    assert literal(0) == "0"
    assert literal(None) == "null"
    assert literal(["a", 1, Expression("var.x")]) == '["a", 1, var.x]'
    assert literal({"Name": "x", "with space": "y"}) == '{ Name = "x", "with space" = "y" }'
    assert literal({}) == "{}"
    assert literal(0.5) == "0.5"
    assert literal(2.0) == "2"
    assert literal({"min_capacity": 0.5, "max_capacity": 8.0}) == "{ min_capacity = 0.5, max_capacity = 8 }"
    with pytest.raises(ValueError, match="no literal"):
        literal(float("inf"))
    with pytest.raises(ValueError, match="no literal"):
        literal(float("nan"))
    with pytest.raises(TypeError):
        literal(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        literal(HclText('"already"'))


@pytest.mark.parametrize("text", ['var.x"', "var", "${var.x}", "var.x\nresource", "module.a b"])
def test_expressions_are_plain_references_only(text: str) -> None:
    with pytest.raises(ValueError, match="not a plain Terraform reference"):
        Expression(text)


def test_checkov_skips_need_a_real_id_and_a_one_line_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        CheckovSkip("CKV_AWS_157", " ")
    with pytest.raises(ValueError, match="reason"):
        CheckovSkip("CKV_AWS_157", "ok\nresource")
    with pytest.raises(ValueError, match="check id"):
        CheckovSkip("CKV_AWS_157:x", "reason")


def test_attributes_align_like_terraform_fmt() -> None:
    text = attributes([("a", 1), ("longer_name", "x"), ("mid", True)])

    assert text == '  a           = 1\n  longer_name = "x"\n  mid         = true'
    with pytest.raises(ValueError, match="attribute name"):
        attributes([('bad"name', 1)])


def test_templates_cannot_write_a_value_without_an_hcl_filter() -> None:
    template = _environment().from_string('name = "{{ name }}"\n')

    with pytest.raises(TypeError, match="without an hcl filter"):
        template.render(name='x" }')
    assert _environment().from_string("name = {{ name | hcl }}\n").render(name='x"') == 'name = "x\\""\n'


def test_missing_template_variables_fail_loudly() -> None:
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        _environment().from_string("{{ missing | hcl }}").render()


# --- pull request text --------------------------------------------------------------------


def test_pull_request_title_and_body_summarise_the_request() -> None:
    title, body = pull_request_text(
        create_record(DEV_MYSQL, request_id="req-9", requested_by="U024BE7LH", source=Source.SLACK)
    )

    assert title == "Provision RDS mysql database orders (dev)"
    assert "`terraform/envs/dev/rds_orders.tf`" in body
    assert "`db.t3.micro`" in body
    assert "Multi-AZ | off" in body
    assert "7 days" in body
    assert "Secrets Manager" in body
    assert "No password" in body
    assert "`U024BE7LH` via Slack" in body
    assert "CircleCI" in body
    for check in DEV_ONLY_CHECKS[EngineFamily.INSTANCE]:
        assert check.check_id in body


def test_a_dev_create_says_when_it_expires_and_every_source_is_named() -> None:
    _, dev = pull_request_text(
        create_record(
            DEV_MYSQL,
            request_id="req-9",
            requested_by="U1",
            source=Source.SLACK,
            expires_on=date(2026, 12, 24),
        )
    )
    assert "| Expires | 2026-12-24 (dev: the daily sweep decommissions it then unless extended) |" in dev
    for source in Source:
        _, body = pull_request_text(
            create_record(PROD_POSTGRES, request_id="r", requested_by="u", source=source)
        )
        assert "| Requested by | `u` via " in body
        assert "| Expires |" not in body


def test_pull_request_body_neutralises_hostile_requester() -> None:
    _, body = pull_request_text(
        create_record(
            PROD_POSTGRES,
            request_id="r`\n# x",
            requested_by="@org/admins `[x](http://evil)`\n",
            source=Source.API,
        )
    )

    line = next(line for line in body.splitlines() if line.startswith("| Requested by"))
    assert line == "| Requested by | `@org/admins '[x](http://evil)' ` via the HTTP API |"
    assert "\n# x" not in body


def test_render_returns_the_file_the_naming_contract_expects() -> None:
    rendered = render_database(DEV_MYSQL, request_id="r", requested_by="u")

    assert isinstance(rendered, RenderedFile)
    assert rendered.path == DEV_MYSQL.file_path == "terraform/envs/dev/rds_orders.tf"


@pytest.mark.parametrize(
    "bad",
    [
        'module "m" {\n  a = 1\n  bb = 2\n}\n',  # not aligned
        'module "m" {\n  a   = 1\n  bb  = 2\n}\n',  # padded past the longest name
        'module "m" {\n   a = 1\n}\n',  # three-space indent
        'module "m" {\n  a = 1\n}\n\n',  # two trailing newlines
        'module "m" {\n  a = 1\n\n\n  b = 2\n}\n',  # two blank lines
    ],
)
def test_layout_checker_rejects_what_terraform_fmt_would_change(bad: str) -> None:
    with pytest.raises(AssertionError):
        assert_terraform_fmt_layout(bad)
