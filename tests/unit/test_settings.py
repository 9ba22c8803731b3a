from pathlib import Path

import pytest

from backend.settings import Settings, SettingsError


def test_defaults_describe_the_local_stack() -> None:
    settings = Settings.from_env({})
    assert settings.gitops_backend == "local"
    assert settings.local_gitops_path == Path(".local/gitops")
    assert settings.github_api_url == "https://api.github.com"
    assert settings.api_key is None
    assert settings.prod_allowed_slack_users == ()
    assert settings.github_pr_labels == ()
    assert (settings.slack_team_id, settings.slack_enterprise_id) == (None, None)
    assert (settings.platform_admins, settings.prod_approvers) == ((), ())


def test_real_services_by_configuration_alone() -> None:
    settings = Settings.from_env(
        {
            "GITOPS_BACKEND": "github",
            "GITHUB_REPOSITORY": "acme/infra",
            "GITHUB_API_URL": "https://ghe.example.com/api/v3",
            "GITHUB_APP_INSTALLATION_ID": "42",
            "GITHUB_PR_LABELS": "rds, terraform ,",
            "PROD_ALLOWED_SLACK_USERS": "U1,U2",
            "PLATFORM_ADMINS": "U9ADMIN, U8ADMIN",
            "PROD_APPROVERS": "U7APPROVER",
            "SLACK_TEAM_ID": "T0ACME",
            "SLACK_ENTERPRISE_ID": "E0ACME",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )
    assert settings.gitops_backend == "github"
    assert settings.github_repository == "acme/infra"
    assert settings.github_api_url == "https://ghe.example.com/api/v3"
    assert settings.github_app_installation_id == 42
    assert settings.github_pr_labels == ("rds", "terraform")
    assert settings.prod_allowed_slack_users == ("U1", "U2")
    assert settings.platform_admins == ("U9ADMIN", "U8ADMIN")
    assert settings.prod_approvers == ("U7APPROVER",)
    assert (settings.slack_team_id, settings.slack_enterprise_id) == ("T0ACME", "E0ACME")
    assert settings.aws_region == "eu-west-1"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"GITOPS_BACKEND": "gitlab"}, "GITOPS_BACKEND='gitlab': Input should be 'local' or 'github'"),
        ({"PORT": "three thousand"}, "PORT='three thousand'"),
        ({"GITHUB_APP_INSTALLATION_ID": "12a"}, "GITHUB_APP_INSTALLATION_ID='12a'"),
        ({"REQUEST_RETENTION_DAYS": "0"}, "REQUEST_RETENTION_DAYS='0'"),
    ],
    ids=["unknown-backend", "port", "installation-id", "retention"],
)
def test_a_wrong_value_stops_the_process_naming_its_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(environ)
    assert named in str(refused.value)


def test_every_variable_read_is_named_once_and_empty_values_count_as_unset() -> None:
    variables = Settings.environment_variables()
    assert {
        "GITOPS_BACKEND",
        "PORT",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "POWERTOOLS_SERVICE_NAME",
    } <= variables
    assert "LOCAL_PORT" not in variables  # PORT, as every local tool names it
    assert Settings.from_env({"GITOPS_BACKEND": "", "API_KEY": ""}) == Settings()


def test_overrides_return_a_new_settings() -> None:
    base = Settings()
    changed = base.with_overrides(api_key="k")
    assert changed.api_key == "k"
    assert base.api_key is None
