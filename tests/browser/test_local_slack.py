"""The local Slack page and the PR pages in a real browser, as someone evaluating the product uses them.

Each test acts as its own Slack user, so the tests share one stack and one browser without
seeing each other's DMs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from slack_sdk import WebClient

from backend.adapters.gitops.base import ChangeSet
from backend.adapters.gitops.local_git import LocalGitPublisher
from local.slack_api import channel_id_for
from tests.browser.conftest import TIMEOUT_MS, slack_api_url
from tests.e2e.conftest import StackProcess

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def new_user() -> str:
    return "U0" + uuid.uuid4().hex[:8].upper()


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:6]}"


def type_command(page: Page, text: str) -> None:
    page.locator("#composer").fill(text)
    page.locator("#composer").press("Enter")


def test_a_typed_slash_command_ends_with_the_pr_link_in_the_dm_thread(
    page: Page, stack: StackProcess
) -> None:
    from playwright.sync_api import expect

    user, name = new_user(), unique("orders")
    page.goto(f"/_local/slack#user={user}")

    type_command(page, f"/provision-rds {name} postgres dev")

    accepted = page.locator(".message.ephemeral").filter(has_text=name)
    expect(accepted).to_contain_text("Request accepted")
    expect(accepted).to_contain_text("Only visible to you")
    confirmation = page.locator("#messages .message:not(.ephemeral)").filter(has_text="is queued")
    expect(confirmation).to_contain_text(name)
    # The worker answers in the confirmation's thread; the page follows it without a reload.
    confirmation.locator(".thread-link").click()
    pr_link = page.locator("#thread-pane a", has_text="pull request")
    expect(pr_link).to_have_attribute("href", re.compile(r"/_local/prs/\d+$"))
    status, listing = stack.api("GET", "/requests")
    assert status == 200
    [record] = [r for r in listing["requests"] if r["database_name"] == name]
    assert record["requested_by"] == user
    assert record["status"] == "pr_opened"
    assert pr_link.get_attribute("href") == record["pr_url"]

    # Slack opens links in a new tab; the PR page shows the description, the status, the way back.
    with page.expect_popup() as opened:
        pr_link.click()
    pr_page = opened.value
    try:
        expect(pr_page.locator(".request")).to_contain_text("pr_opened")
        expect(pr_page.locator(".markdown table").first).to_contain_text("Database")
        # A reviewer merges; the thread hears of it.
        pr_page.locator("form.review button", has_text="Merge").click()
        expect(pr_page.locator(".request")).to_contain_text("merged")
        pr_page.locator("a.slack-link").click()
        expect(pr_page.locator("#thread-pane")).to_contain_text("is open")
        expect(pr_page.locator("#thread-pane")).to_contain_text("CircleCI is applying it")
        expect(pr_page.locator("#user-select")).to_have_value(user)
    finally:
        pr_page.close()


def test_the_request_modal_shows_errors_under_their_field_then_submits(page: Page) -> None:
    from playwright.sync_api import expect

    user, name = new_user(), unique("billing")
    page.goto(f"/_local/slack#user={user}")
    type_command(page, "/provision-rds")
    modal = page.locator("#modal")
    expect(modal).to_contain_text("Request a database")
    name_error = modal.locator(".block-error[data-block-id=database_name]")
    engine_error = modal.locator(".block-error[data-block-id=database_engine]")

    # Slack itself refuses an empty required field; the app is not asked.
    modal.locator("input[name=database_name]").fill("9" + name)
    modal.locator(".modal-submit").click()
    expect(engine_error).to_have_text("Please complete this required field.")
    expect(name_error).to_have_text("")

    # The app's own validation comes back as response_action errors, under the name.
    modal.locator("select[name=database_engine]").select_option("mysql")
    modal.locator(".modal-submit").click()
    expect(name_error).to_contain_text("must start with a lowercase letter")
    expect(engine_error).to_have_text("")
    expect(modal).to_be_visible()

    modal.locator("input[name=database_name]").fill(name)
    modal.locator(".modal-submit").click()
    expect(page.locator("#modal")).to_have_count(0)
    expect(page.locator("#messages .message").filter(has_text="is queued")).to_contain_text(name)


def test_the_app_home_button_opens_the_modal_and_cancel_closes_it(page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(f"/_local/slack#user={new_user()}")
    page.locator(".tabs [data-tab=home]").click()  # sends app_home_opened; the app publishes Home
    home = page.locator("#home")
    expect(home).to_contain_text("Your recent requests")
    expect(home).to_contain_text("No requests yet.")

    home.locator("button[data-action-id=open_provision_modal]").click()  # a signed block_actions

    expect(page.locator("#modal")).to_contain_text("Request a database")
    page.locator("#modal .modal-cancel").click()
    expect(page.locator("#modal")).to_have_count(0)


def test_a_reload_discards_the_open_modal_as_slack_does(page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(f"/_local/slack#user={new_user()}")
    type_command(page, "/provision-rds")
    expect(page.locator("#modal")).to_contain_text("Request a database")

    page.reload()
    expect(page.locator(".tabs [data-tab=home]")).to_be_visible()
    page.locator(".tabs [data-tab=home]").click()
    expect(page.locator("#home")).to_contain_text("Your recent requests")
    expect(page.locator("#modal")).to_have_count(0)
    # Closed for the app too: the next command opens a fresh one.
    page.locator(".tabs [data-tab=messages]").click()
    type_command(page, "/provision-rds")
    expect(page.locator("#modal")).to_contain_text("Request a database")


def test_emoji_shortcodes_show_as_emoji_and_the_page_fits_a_phone(
    browser: Browser, stack: StackProcess
) -> None:
    from playwright.sync_api import expect

    narrow = browser.new_context(base_url=stack.url, viewport={"width": 420, "height": 800})
    narrow.set_default_timeout(TIMEOUT_MS)
    try:
        page = narrow.new_page()
        name = unique("phone")
        page.goto(f"/_local/slack#user={new_user()}")
        type_command(page, f"/provision-rds {name} postgres dev")
        confirmation = page.locator("#messages .message:not(.ephemeral)").filter(has_text="is queued")
        expect(confirmation).to_contain_text("\U0001f4e5 Your request for")
        assert ":inbox_tray:" not in confirmation.inner_text()
        accepted = page.locator(".message.ephemeral").filter(has_text=name)
        expect(accepted).to_contain_text("\u2705 Request accepted")

        # Nothing wider than the window, the tabs still there, and text gets most of the width.
        assert page.evaluate("document.documentElement.scrollWidth") <= 420
        expect(page.locator(".tabs [data-tab=home]")).to_be_visible()
        body = confirmation.locator(".message-body").bounding_box()
        assert body is not None
        assert body["width"] > 300, body
    finally:
        narrow.close()


@pytest.fixture
def unprotected(browser: Browser, stack: StackProcess) -> Iterator[BrowserContext]:
    """A context that ignores the Content-Security-Policy, to test the escaping on its own."""
    context = browser.new_context(base_url=stack.url, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


def assert_nothing_ran(page: Page) -> None:
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img").count() == 0
    assert page.locator("a[href^='javascript' i], a[href^='data' i]").count() == 0
    scripts = page.eval_on_selector_all("script", "nodes => nodes.map(n => n.getAttribute('src'))")
    assert scripts in ([], ["/_local/static/slack.js"])


def test_markup_in_messages_commands_and_pr_bodies_is_shown_never_run(
    unprotected: BrowserContext, stack: StackProcess
) -> None:
    from playwright.sync_api import expect

    user = new_user()
    page = unprotected.new_page()
    errors: list[object] = []
    page.on("pageerror", lambda error: errors.append(error))  # noqa: PLW0108 - Playwright cannot wrap a builtin

    # A bot that forgets to escape: raw HTML, a javascript: link, a javascript: button URL.
    client = WebClient(token="xoxb-local", base_url=slack_api_url(stack))
    channel = "hostile_" + uuid.uuid4().hex[:6]
    client.chat_postMessage(
        channel="#" + channel,
        text=f"*<javascript:window.__pwned=3|click me>* {HOSTILE} <https://example.test/ok|fine link>",
        blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": HOSTILE}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"{HOSTILE} <javascript:window.__pwned=4|link>"},
                "fields": [{"type": "mrkdwn", "text": f"<@U0X|{HOSTILE}>"}],
                "accessory": {
                    "type": "button",
                    "action_id": "nothing_listens",
                    "text": {"type": "plain_text", "text": "Open"},
                    "url": "javascript:window.__pwned=5",
                },
            },
        ],
    )
    page.goto(f"/_local/slack#user={user}&channel={channel_id_for(channel)}")
    expect(page.locator(".nav-item.active")).to_have_text("# " + channel)
    message = page.locator("#messages .message").first
    expect(message.locator(".block-header")).to_have_text(HOSTILE)
    expect(message.locator(".block-section")).to_contain_text(HOSTILE)
    expect(message.locator(".block-section")).to_contain_text("link")  # as text: not a scheme Slack links
    message.locator("button", has_text="Open").click()  # its javascript: URL is not opened
    assert_nothing_ran(page)

    # What a person types comes back escaped by the app, and shows as typed.
    page.goto(f"/_local/slack#user={user}")
    type_command(page, f"/provision-rds {HOSTILE} dev")
    expect(page.locator(".message.ephemeral").last).to_contain_text("<img src=x")
    assert_nothing_ran(page)

    # A PR body (rendered Markdown) and title from somewhere less careful than the renderer.
    publisher = LocalGitPublisher(stack.gitops, base_branch="main", pr_base_url=stack.url + "/_local/prs")
    suffix = uuid.uuid4().hex[:6]
    pull = publisher.open_pull_request(
        ChangeSet(
            request_id=f"hostile-{suffix}",
            branch=f"hostile/{suffix}",
            file_path=f"docs/hostile-{suffix}.md",
            content=HOSTILE + "\n",
            commit_message="hostile",
            title=HOSTILE,
            body=f"# Body\n\n{HOSTILE}\n\n| a |\n|---|\n| {HOSTILE} |\n\n[x](javascript:window.__pwned=6)\n",
        )
    )
    page.goto(f"/_local/prs/{pull.number}")
    expect(page.locator("h1").first).to_contain_text(HOSTILE)
    expect(page.locator(".markdown td")).to_have_text(HOSTILE)
    page.locator(".markdown").get_by_text("javascript:window.__pwned=6", exact=False).click()
    assert_nothing_ran(page)
    page.goto("/_local/prs")
    expect(page.locator("table")).to_contain_text(HOSTILE)
    assert_nothing_ran(page)
    page.close()
    assert not errors, errors
