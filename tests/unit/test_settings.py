from pathlib import Path

from backend.settings import Settings


def test_defaults_describe_the_local_stack() -> None:
    settings = Settings.from_env({})
    assert settings.gitops_backend == "local"
    assert settings.local_gitops_path == Path(".local/gitops")
    assert settings.github_api_url == "https://api.github.com"
    assert settings.api_key is None
    assert settings.prod_allowed_slack_users == ()
    assert settings.github_pr_labels == ()


def test_real_services_by_configuration_alone() -> None:
    settings = Settings.from_env(
        {
            "GITOPS_BACKEND": "github",
            "GITHUB_REPOSITORY": "acme/infra",
            "GITHUB_API_URL": "https://ghe.example.com/api/v3",
            "GITHUB_APP_INSTALLATION_ID": "42",
            "GITHUB_PR_LABELS": "rds, terraform ,",
            "PROD_ALLOWED_SLACK_USERS": "U1,U2",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )
    assert settings.gitops_backend == "github"
    assert settings.github_repository == "acme/infra"
    assert settings.github_api_url == "https://ghe.example.com/api/v3"
    assert settings.github_app_installation_id == 42
    assert settings.github_pr_labels == ("rds", "terraform")
    assert settings.prod_allowed_slack_users == ("U1", "U2")
    assert settings.aws_region == "eu-west-1"


def test_unknown_backend_falls_back_to_local_rather_than_guessing() -> None:
    assert Settings.from_env({"GITOPS_BACKEND": "gitlab"}).gitops_backend == "local"


def test_overrides_return_a_new_settings() -> None:
    base = Settings()
    changed = base.with_overrides(api_key="k")
    assert changed.api_key == "k"
    assert base.api_key is None
