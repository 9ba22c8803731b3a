"""GitHubPublisher against the stub GitHub server: call counts, redelivery, errors, auth modes."""

from __future__ import annotations

import threading

import pytest
from github import Auth, Github

from backend.adapters.gitops.github import GitHubPublisher
from backend.adapters.write_budget import WriteBudget
from backend.domain import DatabaseAlreadyExists, FileChange, PermanentError, RetryableError
from backend.domain.errors import OutOfTime, RateLimited
from backend.settings import Settings
from local.resources import AwsResources
from tests.integration.gitops.conftest import PublisherFactory, make_change
from tests.support.aws import REGION, aws_resources  # noqa: F401
from tests.support.github_stub import STUB_TOKEN, GitHubStub

REPO = "/repos/acme/infra"
GET_BASE = ("GET", f"{REPO}/git/ref/heads/main")
CREATE_BRANCH = ("POST", f"{REPO}/git/refs")
PUT_FILE = ("PUT", f"{REPO}/contents/terraform/envs/dev/rds_orders.tf")
GET_FILE = ("GET", f"{REPO}/contents/terraform/envs/dev/rds_orders.tf")
OPEN_PR = ("POST", f"{REPO}/pulls")
LIST_PRS = ("GET", f"{REPO}/pulls")
RESET_BRANCH = ("PATCH", f"{REPO}/git/refs/heads/rds/dev/orders")
NEW_REQUEST = [GET_BASE, CREATE_BRANCH, PUT_FILE, OPEN_PR]
# The branch exists with another request's file: checked on the branch and main, reset, written.
TAKE_OVER_A_LEFT_BRANCH = [GET_BASE, CREATE_BRANCH, PUT_FILE, GET_FILE, GET_FILE, RESET_BRANCH, PUT_FILE]


def test_a_new_request_costs_exactly_four_calls(github: GitHubStub, publisher_for: PublisherFactory, sleeps):
    change = make_change()

    ref = publisher_for(github).open_pull_request(change)

    assert github.calls == NEW_REQUEST
    assert ref.created is True
    assert ref.number == 1
    assert ref.branch == "rds/dev/orders"
    assert ref.url == f"{github.origin}/acme/infra/pull/1"
    assert github.files("rds/dev/orders")[change.file_path] == change.content
    assert change.file_path not in github.files("main")
    create_ref, put, open_pr = (github.recorded[i].body for i in (1, 2, 3))
    assert create_ref == {"ref": "refs/heads/rds/dev/orders", "sha": github.tip("main")}
    assert "sha" not in put
    assert put["branch"] == "rds/dev/orders"
    assert put["message"] == change.commit_message
    assert open_pr == {
        "base": "main",
        "head": "rds/dev/orders",
        "title": change.title,
        "body": change.pull_request_body,
    }
    assert open_pr["body"].startswith(change.body)
    assert open_pr["body"].rstrip().endswith(f"<!-- rds-provisioner request_id={change.request_id} -->")
    assert {call.authorization for call in github.recorded} == {f"token {STUB_TOKEN}"}
    assert sleeps == []  # PyGithub's per-request and per-write throttling is off


def test_the_branch_starts_at_the_base_tip(github: GitHubStub, publisher_for: PublisherFactory):
    github.seed_file("README.md", "hello\n")

    publisher_for(github).open_pull_request(make_change())

    assert github.files("rds/dev/orders")["README.md"] == "hello\n"


def test_labels_cost_exactly_one_more_call(github: GitHubStub, publisher_for: PublisherFactory):
    publisher_for(github).open_pull_request(make_change(labels=("rds-provisioner", "terraform")))

    assert github.calls == [*NEW_REQUEST, ("POST", f"{REPO}/issues/1/labels")]
    assert github.pulls[1].labels == ["rds-provisioner", "terraform"]


def test_reviewers_cost_one_more_call(github: GitHubStub, publisher_for: PublisherFactory):
    publisher_for(github, github_reviewers=("alice", "acme/dbas")).open_pull_request(make_change())

    assert github.calls == [*NEW_REQUEST, ("POST", f"{REPO}/pulls/1/requested_reviewers")]
    assert github.recorded[-1].body == {"reviewers": ["alice"], "team_reviewers": ["dbas"]}


def test_full_redelivery_after_success_reuses_the_pr(github: GitHubStub, publisher_for: PublisherFactory):
    publisher = publisher_for(github)
    first = publisher.open_pull_request(make_change())
    github.reset_calls()

    again = publisher.open_pull_request(make_change())

    assert (again.number, again.url, again.created) == (first.number, first.url, False)
    assert github.calls == [GET_BASE, CREATE_BRANCH, PUT_FILE, GET_FILE, OPEN_PR, LIST_PRS]
    assert len(github.pulls) == 1
    assert github.branches() == ["main", "rds/dev/orders"]


def test_resume_finds_the_pr_in_one_call(github: GitHubStub, publisher_for: PublisherFactory):
    publisher = publisher_for(github)
    first = publisher.open_pull_request(make_change(labels=("terraform",)))
    github.reset_calls()

    again = publisher.open_pull_request(make_change(labels=("terraform",)), resume=True)

    assert (again.number, again.created) == (first.number, False)
    assert github.calls == [LIST_PRS]
    assert github.recorded[0].query["head"] == ["acme:rds/dev/orders"]
    assert github.recorded[0].query["state"] == ["all"]


def test_resume_of_a_request_never_published_costs_one_extra_call(
    github: GitHubStub, publisher_for: PublisherFactory
):
    ref = publisher_for(github).open_pull_request(make_change(), resume=True)

    assert ref.created is True
    assert github.calls == [LIST_PRS, *NEW_REQUEST]


def test_redelivery_after_a_crash_before_the_file(github: GitHubStub, publisher_for: PublisherFactory):
    github.create_branch("rds/dev/orders")

    ref = publisher_for(github).open_pull_request(make_change())

    assert ref.created is True
    assert github.calls == [GET_BASE, CREATE_BRANCH, PUT_FILE, OPEN_PR]
    assert len(github.pulls) == 1


def test_redelivery_after_a_crash_between_file_and_pr(
    github: GitHubStub, publisher_for: PublisherFactory, sleeps
):
    publisher = publisher_for(github)
    github.fail_next(3, status=502, method="POST", path="/pulls")  # the first try and both retries
    with pytest.raises(RetryableError):
        publisher.open_pull_request(make_change())
    assert github.pulls == {}
    github.reset_calls()

    ref = publisher.open_pull_request(make_change())

    assert ref.created is True
    assert github.calls == [GET_BASE, CREATE_BRANCH, PUT_FILE, GET_FILE, OPEN_PR]
    assert len(github.pulls) == 1
    assert github.branches() == ["main", "rds/dev/orders"]


def test_labels_an_earlier_attempt_missed_are_added_on_redelivery(
    github: GitHubStub, publisher_for: PublisherFactory, sleeps
):
    publisher = publisher_for(github)
    change = make_change(labels=("terraform",))
    github.fail_next(3, status=503, method="POST", path="/labels")
    with pytest.raises(RetryableError):
        publisher.open_pull_request(change)
    github.reset_calls()

    ref = publisher.open_pull_request(change, resume=True)

    assert ref.created is False
    assert github.calls == [LIST_PRS, ("POST", f"{REPO}/issues/1/labels")]
    assert github.pulls[1].labels == ["terraform"]


def test_a_newer_rendering_replaces_an_earlier_one_on_the_branch(
    github: GitHubStub, publisher_for: PublisherFactory
):
    github.create_branch("rds/dev/orders")
    github.seed_file(make_change().file_path, make_change(version=1).content or "", branch="rds/dev/orders")
    newer = make_change(version=2)

    ref = publisher_for(github).open_pull_request(newer)

    assert ref.created is True
    assert github.files("rds/dev/orders")[newer.file_path] == newer.content
    # Not our file: the branch is rebuilt on the current base with ours, never patched on top.
    assert github.calls == [
        GET_BASE,
        CREATE_BRANCH,
        PUT_FILE,
        GET_FILE,
        GET_FILE,
        RESET_BRANCH,
        PUT_FILE,
        OPEN_PR,
    ]
    assert github.recorded[5].body == {"sha": github.tip("main"), "force": True}
    assert "sha" not in github.recorded[6].body


def test_concurrent_duplicate_deliveries_open_one_pr(github: GitHubStub, publisher_for: PublisherFactory):
    publishers = [publisher_for(github) for _ in range(4)]
    barrier = threading.Barrier(len(publishers))
    results = []

    def deliver(publisher: GitHubPublisher) -> None:
        barrier.wait()
        results.append(publisher.open_pull_request(make_change()))

    threads = [threading.Thread(target=deliver, args=(p,)) for p in publishers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 4
    assert {ref.number for ref in results} == {1}
    assert sorted(ref.created for ref in results) == [False, False, False, True]
    assert len(github.pulls) == 1


def test_a_file_already_on_the_base_branch_is_rejected(github: GitHubStub, publisher_for: PublisherFactory):
    change = make_change()
    github.seed_file(change.file_path, 'module "rds_orders" {}\n')

    with pytest.raises(DatabaseAlreadyExists, match="already exists on main"):
        publisher_for(github).open_pull_request(change)

    assert github.calls == [
        GET_BASE,
        CREATE_BRANCH,
        PUT_FILE,
        GET_FILE,
        GET_FILE,
        ("DELETE", f"{REPO}/git/refs/heads/rds/dev/orders"),
    ]
    assert github.recorded[3].query["ref"] == ["rds/dev/orders"]
    assert github.recorded[4].query["ref"] == ["main"]
    assert github.branches() == ["main"]
    assert github.pulls == {}


def test_redelivery_after_the_pr_was_merged_returns_it(github: GitHubStub, publisher_for: PublisherFactory):
    publisher = publisher_for(github)
    first = publisher.open_pull_request(make_change())
    github.merge_pull(first.number)

    again = publisher.open_pull_request(make_change())

    assert (again.number, again.created) == (first.number, False)
    assert len(github.pulls) == 1


# --- transient failures: retryable, and never a sleep on a rate limit ------------------------------
def test_a_transient_5xx_is_retried_quickly_in_process(
    github: GitHubStub, publisher_for: PublisherFactory, sleeps
):
    github.fail_next(1, status=502)

    ref = publisher_for(github).open_pull_request(make_change())

    assert ref.created is True
    assert github.calls == [GET_BASE, *NEW_REQUEST]
    assert sum(sleeps) <= 1


def test_persistent_5xx_becomes_retryable_after_two_quick_retries(
    github: GitHubStub, publisher_for: PublisherFactory, sleeps
):
    github.fail_next(10, status=503)

    with pytest.raises(RetryableError) as caught:
        publisher_for(github).open_pull_request(make_change())

    assert github.calls == [GET_BASE] * 3
    assert caught.value.retry_after_seconds is None
    assert sum(sleeps) <= 2


def test_primary_rate_limit_is_retryable_at_the_reset_without_sleeping(
    github: GitHubStub, publisher_for: PublisherFactory, sleeps
):
    github.rate_limit_next(reset_in=1800)

    with pytest.raises(RetryableError) as caught:
        publisher_for(github).open_pull_request(make_change())

    assert github.calls == [GET_BASE]  # no retry, so no wait for the reset
    assert sleeps == []
    assert caught.value.retry_after_seconds is not None
    assert 1790 <= caught.value.retry_after_seconds <= 1801


def test_429_retry_after_is_passed_on_without_sleeping(
    github: GitHubStub, publisher_for: PublisherFactory, sleeps
):
    github.too_many_requests_next(retry_after=30)

    with pytest.raises(RetryableError) as caught:
        publisher_for(github).open_pull_request(make_change())

    assert caught.value.retry_after_seconds == 30
    assert github.calls == [GET_BASE]
    assert sleeps == []


def test_secondary_rate_limit_on_a_write(github: GitHubStub, publisher_for: PublisherFactory, sleeps):
    github.secondary_rate_limit_next(method="PUT", path=".tf")

    with pytest.raises(RetryableError) as caught:
        publisher_for(github).open_pull_request(make_change())

    assert caught.value.retry_after_seconds == 60
    assert github.calls == [GET_BASE, CREATE_BRANCH, PUT_FILE]
    assert sleeps == []


def test_secondary_rate_limit_with_retry_after(github: GitHubStub, publisher_for: PublisherFactory, sleeps):
    github.secondary_rate_limit_next(retry_after=120)

    with pytest.raises(RetryableError) as caught:
        publisher_for(github).open_pull_request(make_change())

    assert caught.value.retry_after_seconds == 120
    assert sleeps == []


def test_github_unreachable_is_retryable(publisher_for: PublisherFactory):
    with GitHubStub() as stopped:
        publisher = publisher_for(stopped)
    # The stub has stopped: its port refuses connections.
    with pytest.raises(RetryableError, match="did not answer"):
        publisher.open_pull_request(make_change())


def test_an_exhausted_time_budget_stops_before_the_next_call(github: GitHubStub):
    ticks = iter([0.0, 0.0, 45.0])
    client = Github(auth=Auth.Token(STUB_TOKEN), base_url=github.base_url, lazy=True, retry=None)
    publisher = GitHubPublisher(
        client, "acme/infra", call_timeout_seconds=5, time_budget_seconds=50, clock=lambda: next(ticks)
    )

    with pytest.raises(OutOfTime, match="might not finish"):
        publisher.open_pull_request(make_change())

    assert github.calls == [GET_BASE]


def test_the_callers_deadline_stops_publishing_before_its_own_budget(github: GitHubStub):
    now = 100.0
    client = Github(auth=Auth.Token(STUB_TOKEN), base_url=github.base_url, lazy=True, retry=None)
    publisher = GitHubPublisher(
        client, "acme/infra", call_timeout_seconds=5, time_budget_seconds=50, clock=lambda: now
    )
    assert publisher.worst_call_seconds == 3 * 5 + 2 * 1.0  # three attempts plus two backoffs

    # The invocation ends in 15 s: not even one call could be sure to finish.
    with pytest.raises(OutOfTime, match="might not finish"):
        publisher.open_pull_request(make_change(), deadline=now + 15)
    assert github.calls == []

    # With 20 s left, each call fits (the clock stands still here, so all four run).
    ref = publisher.open_pull_request(make_change(), deadline=now + 20)
    assert ref.created is True
    assert github.calls == NEW_REQUEST


# --- permanent failures --------------------------------------------------------------------------
def test_bad_credentials_are_permanent(github: GitHubStub, publisher_for: PublisherFactory):
    with pytest.raises(PermanentError, match="credentials"):
        publisher_for(github, github_token="ghp_wrong").open_pull_request(make_change())
    assert github.calls == [GET_BASE]


def test_an_unknown_repository_is_permanent(github: GitHubStub, publisher_for: PublisherFactory):
    with pytest.raises(PermanentError, match="not found"):
        publisher_for(github, github_repository="acme/nope").open_pull_request(make_change())


def test_a_missing_permission_is_permanent(github: GitHubStub, publisher_for: PublisherFactory):
    github.fail_next(status=403)
    with pytest.raises(PermanentError) as caught:
        publisher_for(github).open_pull_request(make_change())
    assert not isinstance(caught.value, RetryableError)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"github_token": None}, "no GitHub credentials"),
        ({"github_repository": "infra"}, "owner/name"),
        ({"github_timeout_seconds": 30}, "at most 16"),
        ({"github_app_id": "1", "github_app_installation_id": None}, "INSTALLATION_ID"),
    ],
)
def test_configuration_errors_are_permanent_and_clear(
    github: GitHubStub, publisher_for: PublisherFactory, overrides, message
):
    with pytest.raises(PermanentError, match=message):
        publisher_for(github, **overrides)


def test_the_token_comes_from_the_secret_resolver(github: GitHubStub):
    settings = Settings(
        gitops_backend="github",
        github_repository="acme/infra",
        github_api_url=github.base_url,
        github_token_secret_id="github-token",
    )
    asked = []

    def secret(value, secret_id):
        asked.append((value, secret_id))
        return STUB_TOKEN if secret_id == "github-token" else None

    GitHubPublisher.from_settings(settings, secret=secret).open_pull_request(make_change())

    assert asked == [(None, "github-token")]
    assert github.calls == NEW_REQUEST


# --- auth modes and GitHub Enterprise ------------------------------------------------------------
@pytest.fixture(scope="module")
def app_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.mark.parametrize("escaped_newlines", [False, True])
def test_github_app_installation_auth(
    publisher_for: PublisherFactory, app_private_key: str, escaped_newlines
):
    key = app_private_key.replace("\n", "\\n") if escaped_newlines else app_private_key
    with GitHubStub(app_id="12345", installation_id=678) as github:
        publisher = publisher_for(
            github,
            github_token=None,
            github_app_id="12345",
            github_app_installation_id=678,
            github_app_private_key=key,
        )

        publisher.open_pull_request(make_change("orders"))
        publisher.open_pull_request(make_change("invoices"))

        token_call = ("POST", "/app/installations/678/access_tokens")
        assert github.calls[:5] == [token_call, *NEW_REQUEST]
        assert github.calls.count(token_call) == 1  # the installation token is reused until it expires
        assert len(github.calls) == 9
        assert (github.recorded[0].authorization or "").startswith("Bearer ")
        token = github.issued_installation_tokens[0]
        assert {call.authorization for call in github.recorded[1:]} == {f"token {token}"}


def test_github_enterprise_base_url(publisher_for: PublisherFactory):
    with GitHubStub(prefix="/api/v3") as github:
        ref = publisher_for(github).open_pull_request(make_change(labels=("terraform",)))

        assert github.base_url.endswith("/api/v3")
        assert github.calls == [*NEW_REQUEST, ("POST", f"{REPO}/issues/1/labels")]
        assert ref.url == f"{github.origin}/acme/infra/pull/1"


def test_pygithub_throttling_and_rate_limit_waits_are_off():
    """PyGithub's defaults pause between requests and wait for rate-limit resets; ours must not."""
    from github import Consts

    assert Consts.DEFAULT_SECONDS_BETWEEN_WRITES > 0  # what we switch off
    with GitHubStub() as github:
        settings = Settings(
            github_repository="acme/infra", github_api_url=github.base_url, github_token=STUB_TOKEN
        )
        requester_kwargs = GitHubPublisher.from_settings(
            settings, secret=lambda v, _i: v
        )._client.requester.kwargs
        assert requester_kwargs["seconds_between_requests"] is None
        assert requester_kwargs["seconds_between_writes"] is None
        assert requester_kwargs["retry"].respect_retry_after_header is False
        assert 403 not in requester_kwargs["retry"].status_forcelist
        assert 429 not in requester_kwargs["retry"].status_forcelist


# --- a database asked for again after its first PR was closed -------------------------------------
def _closed_first_request(github: GitHubStub, publisher: GitHubPublisher) -> None:
    first = publisher.open_pull_request(make_change(request_id="req-first", version=1))
    github.close_pull(first.number)
    # Something else was merged to main since the first request's branch was made.
    github.seed_file("terraform/envs/dev/rds_billing.tf", 'module "rds_billing" {}\n')
    github.reset_calls()


def test_a_name_asked_for_again_gets_a_new_pr_on_a_branch_rebuilt_from_the_current_base(
    github: GitHubStub, publisher_for: PublisherFactory
):
    publisher = publisher_for(github)
    _closed_first_request(github, publisher)
    again = make_change(request_id="req-second", version=2)

    ref = publisher.open_pull_request(again)

    assert (ref.number, ref.created) == (2, True)
    assert github.pulls[1].state == "closed"
    assert "req-first" in (github.pulls[1].body or "")
    assert "req-second" in (github.pulls[2].body or "")
    # The branch is main as it is now plus our file: a plan of it destroys nothing merged since.
    assert github.files("rds/dev/orders") == {**github.files("main"), again.file_path: again.content}
    assert github.calls == [
        GET_BASE,
        CREATE_BRANCH,
        PUT_FILE,
        GET_FILE,
        GET_FILE,
        RESET_BRANCH,
        PUT_FILE,
        OPEN_PR,
    ]


def test_a_redelivery_never_takes_an_earlier_requests_closed_pr(
    github: GitHubStub, publisher_for: PublisherFactory, sleeps
):
    publisher = publisher_for(github)
    _closed_first_request(github, publisher)
    again = make_change(request_id="req-second", version=2)
    github.rate_limit_next(method="POST", path="/pulls")
    with pytest.raises(RetryableError, match="rate limit"):
        publisher.open_pull_request(again)  # the first attempt stops before the PR is opened
    github.reset_calls()

    ref = publisher.open_pull_request(again, resume=True)

    assert (ref.number, ref.created) == (2, True)
    assert ref.url.endswith("/pull/2")
    assert github.pulls[1].state == "closed"
    assert github.files("rds/dev/orders") == {**github.files("main"), again.file_path: again.content}
    # The closed PR was listed and passed over; our branch already held our file.
    assert github.calls == [LIST_PRS, GET_BASE, CREATE_BRANCH, PUT_FILE, GET_FILE, OPEN_PR]


def test_a_branch_an_earlier_request_left_without_its_file_is_rebuilt(
    github: GitHubStub, publisher_for: PublisherFactory
):
    github.create_branch("rds/dev/orders")  # made by an earlier request that stopped right there
    github.seed_file("terraform/envs/dev/rds_billing.tf", 'module "rds_billing" {}\n')
    change = make_change()

    ref = publisher_for(github).open_pull_request(change)

    assert ref.created is True
    assert github.files("rds/dev/orders") == {**github.files("main"), change.file_path: change.content}
    assert github.calls == [GET_BASE, CREATE_BRANCH, PUT_FILE, RESET_BRANCH, PUT_FILE, OPEN_PR]


def test_an_open_pr_an_ended_request_left_behind_is_taken_over(
    github: GitHubStub, publisher_for: PublisherFactory
):
    publisher = publisher_for(github)
    orphan = publisher.open_pull_request(make_change(request_id="req-gave-up"))
    again = make_change(request_id="req-second", version=2)

    ref = publisher.open_pull_request(again)

    assert (ref.number, ref.created) == (orphan.number, False)
    assert len(github.pulls) == 1
    assert github.pulls[1].body == again.pull_request_body
    assert github.files("rds/dev/orders")[again.file_path] == again.content


def test_a_merged_pr_of_an_earlier_request_is_not_ours(github: GitHubStub, publisher_for: PublisherFactory):
    publisher = publisher_for(github)
    first = publisher.open_pull_request(make_change(request_id="req-first"))
    github.merge_pull(first.number)

    with pytest.raises(DatabaseAlreadyExists):
        publisher.open_pull_request(make_change(request_id="req-second", version=2), resume=True)
    assert len(github.pulls) == 1


# --- day 2: a change updates or deletes the file on a branch of its own ---------------------------
RESIZE_BRANCH = "rds-resize/dev/orders/req-resi"
DECOMMISSION_BRANCH = "rds-decommission/dev/orders/req-deco"


def _created_on_main(github: GitHubStub) -> str:
    content = 'module "rds_orders" {\n  revision = 1\n}\n'
    github.seed_file("terraform/envs/dev/rds_orders.tf", content)
    github.reset_calls()
    return content


def test_a_resize_updates_the_file_in_five_calls_and_again_in_one(
    github: GitHubStub, publisher_for: PublisherFactory
):
    _created_on_main(github)
    resize = make_change(request_id="req-resize", version=2, change=FileChange.UPDATE, branch=RESIZE_BRANCH)
    publisher = publisher_for(github)

    ref = publisher.open_pull_request(resize)
    first = github.calls
    github.reset_calls()
    again = publisher.open_pull_request(resize, resume=True)

    path = f"{REPO}/contents/terraform/envs/dev/rds_orders.tf"
    assert first == [
        GET_BASE,
        CREATE_BRANCH,
        ("GET", path),
        ("PUT", path),
        OPEN_PR,
    ]
    assert github.recorded[0].query["state"] == ["all"]
    assert ref.created is True
    assert (again.number, again.created) == (ref.number, False)
    assert github.calls == [LIST_PRS]
    assert github.files(RESIZE_BRANCH)["terraform/envs/dev/rds_orders.tf"] == resize.content
    assert github.files("main")["terraform/envs/dev/rds_orders.tf"] != resize.content


def test_a_resize_redelivered_after_its_write_does_not_write_again(
    github: GitHubStub, publisher_for: PublisherFactory, sleeps
):
    _created_on_main(github)
    resize = make_change(request_id="req-resize", version=2, change=FileChange.UPDATE, branch=RESIZE_BRANCH)
    publisher = publisher_for(github)
    github.fail_next(3, status=502, method="POST", path="/pulls")
    with pytest.raises(RetryableError):
        publisher.open_pull_request(resize)
    github.reset_calls()

    ref = publisher.open_pull_request(resize)

    assert ref.created is True
    assert [method for method, _ in github.calls] == ["GET", "POST", "GET", "POST"]  # no second PUT


def test_a_decommission_deletes_the_file_in_five_calls(github: GitHubStub, publisher_for: PublisherFactory):
    _created_on_main(github)
    decommission = make_change(
        request_id="req-decommission", change=FileChange.DELETE, branch=DECOMMISSION_BRANCH
    )

    ref = publisher_for(github).open_pull_request(decommission)

    path = f"{REPO}/contents/terraform/envs/dev/rds_orders.tf"
    assert github.calls == [GET_BASE, CREATE_BRANCH, ("GET", path), ("DELETE", path), OPEN_PR]
    assert ref.created is True
    assert "terraform/envs/dev/rds_orders.tf" not in github.files(DECOMMISSION_BRANCH)
    assert "terraform/envs/dev/rds_orders.tf" in github.files("main")


def test_a_decommission_redelivered_after_its_delete_opens_the_pr(
    github: GitHubStub, publisher_for: PublisherFactory, sleeps
):
    _created_on_main(github)
    decommission = make_change(
        request_id="req-decommission", change=FileChange.DELETE, branch=DECOMMISSION_BRANCH
    )
    publisher = publisher_for(github)
    github.fail_next(3, status=502, method="POST", path="/pulls")
    with pytest.raises(RetryableError):
        publisher.open_pull_request(decommission)

    ref = publisher.open_pull_request(decommission)

    assert ref.created is True
    assert len(github.pulls) == 1


@pytest.mark.parametrize("change", [FileChange.UPDATE, FileChange.DELETE])
def test_a_change_of_a_file_that_is_not_on_main_is_permanent(
    github: GitHubStub, publisher_for: PublisherFactory, change: FileChange
):
    with pytest.raises(PermanentError, match="not on main"):
        publisher_for(github).open_pull_request(
            make_change(request_id="req-change", change=change, branch=RESIZE_BRANCH)
        )
    assert github.branches() == ["main"]  # the branch it made is not left behind
    assert github.pulls == {}


# --- pacing: every write takes its turn in the budget all workers share ------------------------------
class StillClock:
    """Wall time that only the budget's sleeps move on."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def paced_publisher(github: GitHubStub, budget: WriteBudget) -> GitHubPublisher:
    client = Github(auth=Auth.Token(STUB_TOKEN), base_url=github.base_url, lazy=True, retry=None)
    return GitHubPublisher(client, "acme/infra", call_timeout_seconds=5, write_budget=budget)


def budget_on(resources: AwsResources, clock: StillClock, writes_per_minute: int) -> WriteBudget:
    import boto3

    table = boto3.resource("dynamodb", region_name=REGION).Table(resources.table_name)
    return WriteBudget(table, writes_per_minute=writes_per_minute, clock=clock, sleep=clock.sleep)


def test_each_write_waits_for_its_turn_and_reads_do_not(github: GitHubStub, aws_resources: AwsResources):  # noqa: F811
    clock = StillClock()
    budget = budget_on(aws_resources, clock, writes_per_minute=60)

    paced_publisher(github, budget).open_pull_request(make_change())

    assert github.calls == NEW_REQUEST
    # Three writes (branch, file, PR): the first at once, each next one interval later.
    assert clock.slept == pytest.approx([budget.interval] * 2, abs=0.002)


def test_a_turn_too_far_away_is_a_wait_before_the_write(github: GitHubStub, aws_resources: AwsResources):  # noqa: F811
    clock = StillClock()
    other_worker = budget_on(aws_resources, clock, writes_per_minute=1)
    other_worker.take(max_wait=0)  # took the turn; the next one is a minute away

    with pytest.raises(RateLimited, match="paces its GitHub writes at 1 a minute") as waited:
        paced_publisher(github, budget_on(aws_resources, clock, writes_per_minute=1)).open_pull_request(
            make_change()
        )

    assert github.calls == [GET_BASE]  # the read went; no write was made
    assert waited.value.retry_after_seconds == pytest.approx(other_worker.interval, abs=0.002)
