"""The environments file: what it holds, and a wrong one stops the process naming what is wrong."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from backend.adapters.environments import EnvironmentsFileError, load_environments
from backend.domain import (
    Environment,
    configure_environments,
    environment_policies,
    parse_request,
    policy_for,
)
from backend.domain.errors import ValidationFailed
from backend.domain.expiry import ExpiryPolicy
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


def test_an_environment_may_set_its_own_expiry_days(tmp_path: Path) -> None:
    dev = SHIPPED[SHIPPED.index("[environments.dev]") : SHIPPED.index("[environments.prod]")]
    staging = dev.replace("[environments.dev", "[environments.staging").replace(
        "[environments.staging.expiry]", "[environments.staging.expiry]\ndefault_days = 7\nmax_days = 14"
    )
    configure_environments(load_environments(_file(tmp_path, SHIPPED + staging)))
    policy = ExpiryPolicy(default_days=30, max_days=90)
    today = date(2026, 12, 1)
    assert policy.expires_on(Environment("staging"), today, None) == date(2026, 12, 8)
    assert policy.expires_on(Environment("dev"), today, None) == date(2026, 12, 31)  # the settings' days
    with pytest.raises(ValidationFailed, match="between 1 and 14"):
        policy.expires_on(Environment("staging"), today, 30)
    assert policy.of("staging").extended(date(2026, 12, 8), today, 14) == date(2026, 12, 15)


def test_an_expiry_longer_by_default_than_at_most_is_refused(tmp_path: Path) -> None:
    text = SHIPPED.replace(
        "[environments.dev.expiry]", "[environments.dev.expiry]\ndefault_days = 30\nmax_days = 7"
    )
    with pytest.raises(
        EnvironmentsFileError, match=r"environments\.dev\.expiry.*default_days \(30\) must not exceed"
    ):
        load_environments(_file(tmp_path, text))
