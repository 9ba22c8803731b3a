"""Browser tests: one local stack (as ``make run`` starts it) and one headless Chromium per session.

The browser is Debian's ``chromium`` driven by Playwright for Python; Playwright never downloads
a browser of its own here. Where no Chromium or Playwright is available the tests skip and say
why, unless ``REQUIRE_BROWSER_TESTS=1`` (set by ``.ci/run``), which turns that into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import StackProcess, running_stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Long enough for the worker to open a PR on a loaded two-core machine; a pass takes far less.
TIMEOUT_MS = 30_000


def _required() -> bool:
    return os.environ.get("REQUIRE_BROWSER_TESTS") == "1"  # noqa: TID251 - a test switch, not app config


def _unavailable(reason: str) -> None:
    message = f"browser tests cannot run: {reason}"
    if _required():
        pytest.fail(
            message + " (REQUIRE_BROWSER_TESTS=1: run `make test-browser` as root to install chromium)"
        )
    print(f"\nSKIPPED: {message}")
    pytest.skip(message)


def chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")  # noqa: TID251
    for candidate in (configured, "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (it is in requirements-dev.txt)")
    executable = chromium_path()
    if executable is None:
        _unavailable("no Chromium at /usr/bin/chromium (Debian: apt-get install chromium)")
    assert executable is not None
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[StackProcess]:
    """The stack the browser talks to; started after the browser so a skip starts nothing."""
    with running_stack(tmp_path_factory.mktemp("browser-stack")) as running:
        yield running


def slack_api_url(stack: StackProcess) -> str:
    match = re.search(r"Slack stand-in\s+(\S+)", stack.output())
    assert match, stack.output()
    return match.group(1)


@pytest.fixture(scope="session")
def context(browser: Browser, stack: StackProcess) -> Iterator[BrowserContext]:
    created = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 800})
    created.set_default_timeout(TIMEOUT_MS)
    try:
        yield created
    finally:
        created.close()


@contextmanager
def failing_on_page_errors(opened: Page, close: Callable[[], None]) -> Iterator[Page]:
    """``opened`` for a test's use, then closed with ``close``; a JavaScript error on it fails the test."""
    errors: list[Any] = []
    opened.on("pageerror", lambda error: errors.append(error))  # noqa: PLW0108 - Playwright cannot wrap a builtin
    try:
        yield opened
    finally:
        close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A fresh tab in the shared context; a JavaScript error anywhere fails the test."""
    opened = context.new_page()
    with failing_on_page_errors(opened, opened.close) as checked:
        yield checked
