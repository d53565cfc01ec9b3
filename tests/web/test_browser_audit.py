"""An auditor, in the browser: royalty runs, a run, a statement and its CSV download (whose totals must equal
the page's), the audit trail's "Verify now", and the charts."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.browser import Browser
from tests.web.conftest import PASSWORD, World
from tests.web.test_statements import Royalties, royalties  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_auditor_follows_the_money_and_verifies_the_trail(
    browser: Browser,
    world: World,
    royalties: Royalties,  # noqa: F811
    tmp_path: Path,
) -> None:
    page: Any = browser.page
    browser.log_in(world.ours.auditor.username, PASSWORD)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Royalty runs").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Royalty runs").is_visible()
    assert "14.34 EUR" in page.locator("main").inner_text()
    assert "7.10 EUR" not in page.locator("main").inner_text()  # theirs
    browser.screenshot("royalty-runs")

    page.get_by_role("link", name=royalties.period).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name=f"Royalty run {royalties.period}").is_visible()
    assert world.theirs.label_party.name not in page.locator("main").inner_text()

    page.get_by_role("row", name=f"{world.ours.label_party.name} Label EUR").get_by_role(
        "link", name=world.ours.label_party.name, exact=True
    ).click()
    page.wait_for_load_state()
    shown = page.locator("#statement-paid").inner_text()
    assert shown == "9.01 EUR"
    expect(page.locator("#lines-total")).to_have_text(shown)
    browser.screenshot("statement")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename.endswith("-EUR.csv")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    amount, currency = shown.split()
    assert {row["currency"] for row in rows} == {currency}
    assert sum(Decimal(row["amount"]) for row in rows) == Decimal(amount)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit trail").click()
    page.wait_for_load_state()
    expect(page.locator("#trail-state")).to_have_text("Not checked")
    page.get_by_role("button", name="Verify now").click()
    page.wait_for_load_state()
    expect(page.locator("#trail-state")).to_have_text("Intact")
    assert page.get_by_role("status").inner_text().startswith("The audit trail is intact")
    browser.screenshot("audit-trail")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Charts").click()
    page.wait_for_load_state()
    assert page.locator("svg[role=img]").count() == 5
    assert page.get_by_role("img", name="Claims by match confidence").is_visible()
    browser.screenshot("charts")


def test_the_pages_fit_a_phone(browser: Browser, world: World, royalties: Royalties) -> None:  # noqa: F811
    page: Any = browser.page
    page.set_viewport_size({"width": 390, "height": 844})
    browser.log_in(world.ours.auditor.username, PASSWORD)
    statement = royalties.statement(world.ours.label_party)
    for path in ("/runs/", f"/runs/{royalties.run.pk}/", f"/statements/{statement.pk}/", "/audit-trail/", "/charts/"):
        browser.open(path)
        # Wide tables scroll inside their .table-wrap; the page itself never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
