"""One source of truth: deploy/settings.env decides the region and the requests table name.

CI exports it with .circleci/scripts/settings.sh; SAM (template parameters, samconfig.toml),
Terraform's provider (aws_region), the bootstrap stack and record-applied (backend.settings) must
all agree with it. Changing a value in one place only fails here.
"""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from backend.settings import Settings
from tests.integration.deploy.conftest import REPO_ROOT, load_template

SETTINGS_FILE = REPO_ROOT / "deploy" / "settings.env"
SETTINGS_SCRIPT = REPO_ROOT / ".circleci" / "scripts" / "settings.sh"
CONTINUE_CONFIG = REPO_ROOT / ".circleci" / "continue_config.yml"


def exported(settings_file: Path = SETTINGS_FILE) -> dict[str, str]:
    """What a CI step sees after settings.sh >> $BASH_ENV: the script's output, sourced by bash."""
    script = f'eval "$({SETTINGS_SCRIPT} {settings_file})" && env -0'
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"}
    )
    pairs = (entry.split("=", 1) for entry in result.stdout.split("\0") if "=" in entry)
    return {name: value for name, value in pairs if name not in {"PWD", "SHLVL", "_", "PATH", "OLDPWD"}}


@pytest.fixture(scope="module")
def settings() -> dict[str, str]:
    return exported()


def test_the_file_names_the_region_and_the_table(settings: dict[str, str]):
    assert {"AWS_REGION", "NAME_PREFIX", "REQUESTS_TABLE_NAME"} <= set(settings)
    # What settings.sh derives for the SDKs and for Terraform's provider.
    assert settings["AWS_DEFAULT_REGION"] == settings["TF_VAR_aws_region"] == settings["AWS_REGION"]


def test_record_applied_reads_them_under_these_names(settings: dict[str, str]):
    parsed = Settings.from_env(settings)
    assert parsed.aws_region == settings["AWS_REGION"]
    assert parsed.requests_table_name == settings["REQUESTS_TABLE_NAME"]


def test_the_code_defaults_are_the_same(settings: dict[str, str]):
    # What the local stack and an unconfigured CLI use.
    defaults = Settings.from_env({})
    assert (defaults.aws_region, defaults.requests_table_name) == (
        settings["AWS_REGION"],
        settings["REQUESTS_TABLE_NAME"],
    )


def test_sam_names_the_table_from_the_same_prefix(settings: dict[str, str]):
    template = load_template()
    assert template["Parameters"]["NamePrefix"]["Default"] == settings["NAME_PREFIX"]
    table_name = template["Resources"]["RequestsTable"]["Properties"]["TableName"]
    assert table_name == {"Fn::Sub": "${NamePrefix}-requests"}
    assert f"{settings['NAME_PREFIX']}-requests" == settings["REQUESTS_TABLE_NAME"]


def test_samconfig_deploys_to_the_region(settings: dict[str, str]):
    config = tomllib.loads((REPO_ROOT / "sam" / "samconfig.toml").read_text(encoding="utf-8"))
    regions = {
        name: environment["global"]["parameters"].get("region")
        for name, environment in config.items()
        if isinstance(environment, dict)
    }
    assert set(regions) == {"default", "ci"}
    assert regions == dict.fromkeys(regions, settings["AWS_REGION"])


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_terraform_provider_defaults_to_the_region(settings: dict[str, str], environment: str):
    variables = hcl2.loads((REPO_ROOT / "terraform" / "envs" / environment / "variables.tf").read_text())
    # python-hcl2 keeps block labels in their quotes.
    (region,) = [block['"aws_region"'] for block in variables["variable"] if '"aws_region"' in block]
    assert region["default"] == f'"{settings["AWS_REGION"]}"'


def test_bootstrap_grants_the_same_table(settings: dict[str, str]):
    from cfnlint.decode import cfn_yaml

    parameters = cfn_yaml.load(str(REPO_ROOT / "bootstrap" / "ci-roles.yaml"))["Parameters"]
    assert parameters["RequestsTableName"]["Default"] == settings["REQUESTS_TABLE_NAME"]
    assert parameters["NamePrefix"]["Default"] == settings["NAME_PREFIX"]


def test_every_ci_job_that_reaches_aws_loads_the_settings_first():
    config: dict[str, Any] = yaml.safe_load(CONTINUE_CONFIG.read_text(encoding="utf-8"))
    commands = config["commands"]

    def flat(steps: list[Any]) -> list[str]:
        names: list[str] = []
        for step in steps:
            name = step if isinstance(step, str) else next(iter(step))
            if name in commands:
                names += flat(commands[name]["steps"])
            names.append(name)
        return names

    for job_name, job in config["jobs"].items():
        steps = flat(job["steps"])
        reaching_aws = [i for i, name in enumerate(steps) if name in {"assume-role", "aws-cli/setup"}]
        if reaching_aws:
            before = steps[: reaching_aws[0]]
            assert "load-settings" in before, f"{job_name} reaches AWS before loading settings"


def _sam_deploy_arguments(settings: dict[str, str], tmp_path: Path, **context: str) -> list[str]:
    """What sam-deploy.sh hands `sam deploy`, given the CircleCI context's variables."""
    sam = tmp_path / ".tools" / "sam" / "bin" / "sam"
    sam.parent.mkdir(parents=True)
    sam.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/sam-args"\n', encoding="utf-8")
    sam.chmod(0o755)
    environment = {**settings, "PATH": "/usr/bin:/bin", "GITOPS_REPOSITORY": "acme/infra", **context}
    subprocess.run(
        ["bash", str(REPO_ROOT / ".circleci" / "scripts" / "sam-deploy.sh")],
        cwd=tmp_path,
        env=environment,
        check=True,
        capture_output=True,
    )
    return (tmp_path / "sam-args").read_text(encoding="utf-8").splitlines()


def test_sam_deploy_passes_the_region_and_prefix(settings: dict[str, str], tmp_path: Path):
    args = _sam_deploy_arguments(settings, tmp_path)
    assert args[args.index("--region") + 1] == settings["AWS_REGION"]
    assert f"NamePrefix={settings['NAME_PREFIX']}" in args
    assert not [arg for arg in args if arg.startswith(("SlackTeamId=", "PlatformAdmins="))]


def test_sam_deploy_passes_the_slack_workspace_and_who_sees_every_request(
    settings: dict[str, str], tmp_path: Path
):
    args = _sam_deploy_arguments(
        settings,
        tmp_path,
        SLACK_TEAM_ID="T0ACME",
        SLACK_ENTERPRISE_ID="E0ACME",
        PLATFORM_ADMINS="U1,U2",
        PROD_APPROVERS="U3",
    )
    assert {
        "SlackTeamId=T0ACME",
        "SlackEnterpriseId=E0ACME",
        "PlatformAdmins=U1,U2",
        "ProdApprovers=U3",
    } <= set(args)


@pytest.mark.parametrize(
    "line", ["AWS_REGION=us east 1", "AWS_REGION='us-east-1'", "export AWS_REGION=x", "lower=x"]
)
def test_settings_sh_refuses_what_a_shell_would_read_differently(tmp_path: Path, line: str):
    bad = tmp_path / "settings.env"
    bad.write_text(f"# comment\n{line}\n", encoding="utf-8")
    result = subprocess.run([str(SETTINGS_SCRIPT), str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "not a plain KEY=value line" in result.stderr
