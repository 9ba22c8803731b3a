"""The local loop made real, in a browser: a typed request's PR shows its Terraform plan, the
reviewer merges it, and the thread reaches "ready" with the endpoint, with nobody typing
``rdsctl applied`` (the local CI applies it against the local AWS: minutes).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import failing_on_page_errors
from tests.e2e.conftest import StackProcess, running_stack
from tests.support.terraform import local_ci_env, require_terraform

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PLAN_MS = 300_000
APPLY_MS = 900_000


@pytest.fixture(scope="module")
def terraform_stack(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[StackProcess]:
    require_terraform()
    with running_stack(tmp_path_factory.mktemp("browser-terraform-stack"), env=local_ci_env()) as running:
        yield running


@pytest.fixture
def page(browser: Browser, terraform_stack: StackProcess) -> Iterator[Page]:
    context = browser.new_context(base_url=terraform_stack.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    with failing_on_page_errors(context.new_page(), context.close) as opened:
        yield opened


def test_a_pr_shows_its_plan_and_its_merge_reaches_ready(page: Page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    user, name = "U0" + uuid.uuid4().hex[:8].upper(), f"shop_{uuid.uuid4().hex[:6]}"
    page.goto(f"/_local/slack#user={user}")
    page.locator("#composer").fill(f"/provision-rds {name} postgres dev")
    page.locator("#composer").press("Enter")
    confirmation = page.locator("#messages .message:not(.ephemeral)").filter(has_text="is queued")
    confirmation.locator(".thread-link").click()
    thread = page.locator("#thread-pane")
    # The thread hears when the plan is ready, as a CI comment on the PR would say.
    expect(thread).to_contain_text(
        re.compile(r"Plan: \d+ to add, 0 to change, 0 to destroy"), timeout=PLAN_MS
    )

    with page.expect_popup() as opened:
        thread.locator("a", has_text="pull request").first.click()
    pr_page = opened.value
    try:
        expect(pr_page.locator("p.plan")).to_contain_text(
            re.compile(r"^Plan: \d+ to add, 0 to change, 0 to destroy")
        )
        expect(pr_page.locator("pre.plan-text")).to_contain_text(
            f"module.rds_{name}.aws_db_instance.this will be created"
        )
        pr_page.locator("form.review button", has_text="Merge").click()
        expect(pr_page.locator(".request")).to_contain_text("merged")
        # Nobody types `rdsctl applied`: the local CI applies main and records it.
        pr_page.locator("a.slack-link").click()
        expect(pr_page.locator("#thread-pane")).to_contain_text("Your database is ready", timeout=APPLY_MS)
        expect(pr_page.locator("#thread-pane")).to_contain_text(".us-east-1.rds.amazonaws.com:5432")
    finally:
        pr_page.close()
