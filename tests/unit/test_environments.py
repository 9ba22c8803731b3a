"""The environments file: what it holds, and a wrong one stops the process naming what is wrong."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from backend.adapters.environments import EnvironmentsFileError, load_environments
from backend.domain import configure_environments, environment_policies, parse_request, policy_for
from backend.domain.errors import ValidationFailed
from backend.domain.naming import ENVIRONMENT_NAME_PATTERN
from backend.settings import DEFAULT_ENVIRONMENTS_FILE, Settings

SHIPPED = DEFAULT_ENVIRONMENTS_FILE.read_text()


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "environments.toml"
    path.write_text(text)
    return path


def test_the_shipped_file_holds_dev_and_prod_with_their_policy() -> None:
    assert list(environment_policies()) == ["dev", "prod"]
    dev, prod = policy_for("dev"), policy_for("prod")
    assert (dev.expires, prod.expires) == (True, False)
    assert (dev.approvals.required, prod.approvals.required) == (False, True)
    assert (dev.restricted, prod.restricted) == (False, True)


def test_environments_file_names_another_file(tmp_path: Path) -> None:
    path = _file(tmp_path, SHIPPED.replace("[environments.dev", "[environments.staging"))
    settings = Settings.from_env({"ENVIRONMENTS_FILE": str(path)})
    assert settings.environments_file == path
    assert list(load_environments(path)) == ["staging", "prod"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            SHIPPED.replace("multi_az = false", "multi_az = false\nmulti_azz = true"),
            "environments.dev.multi_azz",
        ),
        (
            SHIPPED.replace("instance_count = 2", 'instance_count = "two"'),
            "environments.prod.aurora.instance_count",
        ),
        (SHIPPED.replace("[environments.dev", "[environments.Dev"), "environments.Dev"),
        ("environments = {}", "environments"),
        ("[environments.dev", "not TOML"),
    ],
    ids=["unknown key", "wrong type", "bad name", "none", "not toml"],
)
def test_a_wrong_file_is_refused_naming_the_file_and_the_value(tmp_path: Path, text: str, said: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(EnvironmentsFileError) as refused:
        load_environments(path)
    assert str(path) in str(refused.value)
    assert said in str(refused.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentsFileError, match="cannot be read"):
        load_environments(tmp_path / "nowhere.toml")


def test_an_unknown_environment_is_refused_naming_the_configured_ones(tmp_path: Path) -> None:
    request = {"database_name": "orders", "database_engine": "postgres", "environment": "staging"}
    with pytest.raises(ValidationFailed) as refused:
        parse_request(request)
    assert refused.value.errors[0].message == "environment must be one of dev, prod (got 'staging')"
    document = tomllib.loads(SHIPPED)
    assert set(document["environments"]) == {"dev", "prod"}
    configure_environments(
        load_environments(_file(tmp_path, SHIPPED.replace("[environments.dev", "[environments.staging")))
    )
    assert parse_request(request).environment == "staging"


def test_terraform_accepts_the_names_the_file_does() -> None:
    variables = (
        DEFAULT_ENVIRONMENTS_FILE.parents[1] / "terraform/modules/environment/variables.tf"
    ).read_text()
    assert f'can(regex("{ENVIRONMENT_NAME_PATTERN}", var.environment))' in variables
