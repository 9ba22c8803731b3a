"""The terraform harness's own logic (no terraform needed): mirror layouts and test output parsing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.terraform import (
    AWS_PROVIDER,
    cli_config_text,
    hermetic_environment,
    mirrored_aws_versions,
    parse_test_output,
    run_results,
)


def test_both_mirror_layouts_are_recognised(tmp_path: Path):
    unpacked = tmp_path / "unpacked"
    (unpacked / AWS_PROVIDER / "5.100.0" / "linux_amd64").mkdir(parents=True)
    packed = tmp_path / "packed" / AWS_PROVIDER
    packed.mkdir(parents=True)
    (packed / "terraform-provider-aws_6.2.0_linux_amd64.zip").write_bytes(b"")
    (packed / "index.json").write_text("{}")

    assert mirrored_aws_versions(unpacked) == ["5.100.0"]
    assert mirrored_aws_versions(tmp_path / "packed") == ["6.2.0"]
    assert mirrored_aws_versions(tmp_path / "nothing") == []


def test_the_cli_config_never_installs_from_the_internet(tmp_path: Path):
    text = cli_config_text(tmp_path / "mirror", tmp_path / "cache")
    assert f'path    = "{tmp_path / "mirror"}"' in text
    assert 'exclude = ["*/*/*"]' in text


def test_the_callers_terraform_and_aws_settings_do_not_leak(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", "/root/.terraformrc")
    monkeypatch.setenv("TF_VAR_vpc_id", "vpc-real")
    monkeypatch.setenv("AWS_PROFILE", "prod-admin")
    environment = hermetic_environment(tmp_path / "terraform.tfrc")
    assert environment["TF_CLI_CONFIG_FILE"] == str(tmp_path / "terraform.tfrc")
    assert "TF_VAR_vpc_id" not in environment
    assert not [name for name in environment if name.startswith("AWS_")]
    assert environment["CHECKPOINT_DISABLE"] == "1"


def test_test_output_is_split_by_run_with_plans_and_diagnostics():
    events = [
        {"type": "version", "terraform": "1.11.4"},
        {"type": "diagnostic", "diagnostic": {"severity": "error", "summary": "Bad file", "detail": "x"}},
        {"type": "test_run", "@testrun": "a", "test_run": {"run": "a", "progress": "starting"}},
        {
            "type": "test_run",
            "@testrun": "a",
            "test_run": {"run": "a", "progress": "complete", "status": "pass"},
        },
        {
            "type": "test_plan",
            "@testrun": "a",
            "test_plan": {
                "resource_changes": [{"address": "x.y", "type": "x"}],
                "provider_schemas": {"big": 1},
            },
        },
        {
            "type": "diagnostic",
            "@testrun": "b",
            "diagnostic": {
                "severity": "error",
                "summary": "Invalid count argument",
                "detail": "unknown",
                "range": {"filename": "main.tf", "start": {"line": 119}},
            },
        },
        {
            "type": "test_run",
            "@testrun": "b",
            "test_run": {"run": "b", "progress": "complete", "status": "error"},
        },
        {"type": "test_summary", "test_summary": {"status": "error", "passed": 1, "errored": 1}},
    ]
    parsed = parse_test_output("\n".join(json.dumps(event) for event in events) + "\nnot json\n")
    runs = run_results(parsed)

    assert runs["a"].status == "pass"
    assert runs["a"].changes() == {"x.y": {"address": "x.y", "type": "x"}}
    assert runs["b"].status == "error"
    assert runs["b"].diagnostics == ["error: Invalid count argument: unknown (main.tf:119)"]
    assert parsed["diagnostics"] == ["error: Bad file: x"]
    assert parsed["summary"]["errored"] == 1
    assert "provider_schemas" not in json.dumps(parsed)
