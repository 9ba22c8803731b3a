"""Takes the README's screenshot of the local Slack page: ``make screenshot`` (docs/local-slack.png).

It runs the README's tour on a fresh stack: a slash command typed on the page, the PR link in the
DM thread, then the App Home's modal with an inline error, and photographs the thread.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.browser.conftest import CHROMIUM_FLAGS, TIMEOUT_MS, chromium_path
from tests.e2e.conftest import StackProcess


def main(argv: list[str]) -> int:
    from playwright.sync_api import expect, sync_playwright

    target = Path(argv[0] if argv else "docs/local-slack.png")
    executable = chromium_path()
    if executable is None:
        print("no Chromium at /usr/bin/chromium (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        stack = StackProcess(Path(tmp) / "state", Path(tmp) / "stack.log").start()
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(base_url=stack.url, viewport={"width": 1280, "height": 720})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto("/_local/slack#user=U0LOCALUSER")
            page.locator("#composer").fill("/provision-rds orders postgres dev")
            page.locator("#composer").press("Enter")
            confirmation = page.locator("#messages .message:not(.ephemeral)").filter(has_text="is queued")
            confirmation.locator(".thread-link").click()
            expect(page.locator("#thread-pane a", has_text="pull request")).to_be_visible()
            page.locator("#composer").fill("/provision-rds help")
            page.mouse.move(0, 0)
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target))
        finally:
            browser.close()
            stack.kill()
    print(f"wrote {target} ({target.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
