"""Every role logs in through the browser and sees its own navigation."""

from __future__ import annotations

import pytest

from tests.web.browser import Browser
from tests.web.conftest import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_each_role_logs_in_and_sees_its_navigation(browser: Browser, world: World) -> None:
    expected = {
        world.ours.staff: "Review queue",
        world.ours.artist_user: "My catalogue",
        world.ours.platform_user: "API tokens",
        world.ours.auditor: "Royalty runs",
    }
    for user, nav_item in expected.items():
        browser.log_in(user.username, PASSWORD)
        page = browser.page
        navigation = page.get_by_role("navigation", name="Main")
        assert navigation.get_by_role("link", name=nav_item).is_visible(), (user.username, nav_item)
        assert user.username in page.locator(".who").inner_text()
        browser.screenshot(f"home-{user.username}")
        browser.log_out()
        assert "/login/" in page.url


def test_a_wrong_password_is_refused_with_a_message(browser: Browser, world: World) -> None:
    browser.log_in(world.ours.staff.username, "not-the-password")
    assert browser.page.get_by_role("alert").inner_text().startswith("Your username and password didn't match")
