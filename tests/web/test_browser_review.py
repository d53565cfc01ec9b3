"""Label staff clear the review queue with the keyboard only, listen to a claim's matched span, and decide
the rest in bulk; the pages fit a phone's width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import expect

from rights.models import Claim, ClaimEvent
from tests import audio as test_audio
from tests.web.browser import Browser
from tests.web.conftest import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The player reached the span's start (8.0 s for the fourth claim) and has not run past its end.
AT_SPAN = "id => { const a = document.getElementById(id); return !a.seeking && a.currentTime >= 7.95; }"


def _store_audio(claim: Claim) -> None:
    """Real WAV files where the claim's upload and reference assets point (the world has rows only)."""
    for seed, asset in ((11, claim.match.scan.asset), (12, claim.match.reference_asset)):
        path = Path(settings.MEDIA_ROOT) / asset.file.name
        path.parent.mkdir(parents=True, exist_ok=True)
        test_audio.write(path, test_audio.piece(seed, 32.0))


def _queue_rows(page: Any) -> list[int]:
    return [int(pk) for pk in page.eval_on_selector_all("tr[data-claim]", "rows => rows.map(r => r.dataset.claim)")]


def _selected(page: Any) -> int:
    return int(page.locator("tr.selected").get_attribute("data-claim"))


def _fits_the_width(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_staff_clear_claims_with_the_keyboard_then_play_a_span_and_decide_in_bulk(
    browser: Browser,
    world: World,
) -> None:
    staff = world.ours.staff
    browser.log_in(staff.username, PASSWORD)
    page = browser.open("/review/")
    first, second, third, fourth = _queue_rows(page)
    assert _selected(page) == first and page.locator("tr.selected").get_attribute("aria-selected") == "true"
    assert page.locator(".review-legend kbd", has_text="j").count() == 1
    _store_audio(Claim.objects.get(pk=fourth))
    browser.screenshot("review-queue")

    def press_and_wait_gone(key: str, claim_id: int) -> None:
        page.keyboard.press(key)
        page.wait_for_selector(f'tr[data-claim="{claim_id}"]', state="detached")

    # Keyboard only: a approves the selected row, which leaves; the selection and focus move to the next.
    press_and_wait_gone("a", first)
    assert _selected(page) == second
    assert page.evaluate("document.activeElement.dataset.claim") == str(second), "focus follows the selection"
    page.keyboard.press("j")
    assert _selected(page) == third
    press_and_wait_gone("r", third)
    page.keyboard.press("ArrowUp")
    page.keyboard.press("k")
    assert _selected(page) == second
    press_and_wait_gone("a", second)
    expect(page.get_by_role("status")).to_have_text(f"Claim {second} (Track 101) approved.")

    assert _queue_rows(page) == [fourth]
    statuses = dict(Claim.objects.filter(pk__in=[first, second, third, fourth]).values_list("pk", "status"))
    assert statuses == {first: "active", second: "active", third: "released", fourth: "potential"}
    decided_by_staff = ClaimEvent.objects.filter(claim_id__in=[first, second, third], actor=staff)
    assert sorted(decided_by_staff.values_list("claim_id", "to_status")) == sorted(
        [(first, "active"), (second, "active"), (third, "released")]
    )
    page.reload()
    assert _queue_rows(page) == [fourth], "decided claims left the queue for good"

    # p plays the upload's matched span in the queue's own player.
    page.keyboard.press("p")
    assert page.locator("#queue-player-box").is_visible()
    page.wait_for_function(AT_SPAN, arg="queue-player")
    page.evaluate("document.getElementById('queue-player').pause()")

    # Enter opens the selected claim; its button jumps the upload's player to the matched span.
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/claims/{fourth}/")
    page.wait_for_function("document.getElementById('upload-player').readyState >= 1")
    page.get_by_role("link", name="Play matched span 8.0\u201328.0 s").click()
    page.wait_for_function(AT_SPAN, arg="upload-player")
    assert 7.95 <= page.evaluate("document.getElementById('upload-player').currentTime") <= 28.0
    page.evaluate("document.getElementById('upload-player').pause()")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('figure img')).every(img => img.complete && img.naturalWidth > 0)"
    )
    browser.screenshot("claim-detail")

    # Bulk: x checks the selected row; the question names the count, and the server answers with it.
    page = browser.open("/review/")
    page.keyboard.press("x")
    assert page.locator(f"#check-{fourth}").is_checked()
    expect(page.locator("#checked-count")).to_have_text("1 checked")
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Approve checked").click()
    page.wait_for_load_state()
    assert questions == ["Approve 1 claim?"]
    assert "1 claim approved" in page.locator(".messages").inner_text()
    assert Claim.objects.get(pk=fourth).status == "active"
    assert _queue_rows(page) == []

    # A phone's width: nothing makes the page scroll sideways (wide tables scroll inside .table-wrap).
    page.set_viewport_size({"width": 390, "height": 844})
    assert _fits_the_width(browser.open("/review/"))
    assert _fits_the_width(browser.open(f"/claims/{fourth}/"))
    assert _fits_the_width(browser.open("/claims/"))
