"""Playwright driving Debian's Chromium against the live test server, for the browser tests.

The `chromium` and `browser` fixtures are registered once, in tests/web/conftest.py: Playwright's sync
API allows one driver per process, so a test module must not import them again (a second copy of a
session fixture would start a second driver).
The tests skip, saying why, where /usr/bin/chromium is missing (`.ci/run` installs it); no browser is
ever downloaded. Screenshots go to `var/test-output/screenshots/` (CONTENTID_SCREENSHOT_DIR overrides).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CONTENTID_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(
    os.environ.get("CONTENTID_SCREENSHOT_DIR") or Path(__file__).resolve().parents[2] / "var/test-output/screenshots"
)

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make around it
# (building rows, reading results) are still synchronous, one at a time.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _chromium_missing() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not installed at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (it is in requirements.txt)"
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    missing = _chromium_missing()
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


class Browser:
    """A page on the live server, with helpers that read as the user's steps."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    def open(self, path: str) -> Any:
        self.page.goto(self.base_url + path)
        return self.page

    def log_in(self, username: str, password: str) -> None:
        self.open("/login/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_load_state()

    def log_out(self) -> None:
        self.page.get_by_role("button", name="Log out").click()
        self.page.wait_for_load_state()

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def browser(chromium: Any, live_server: Any) -> Iterator[Browser]:
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield Browser(page, live_server.url)
    finally:
        context.close()
