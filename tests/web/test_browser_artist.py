"""An artist in a real browser: registers a work (a bad ISWC first), records a split (99 % first) and
sends reference audio, watching the live checks, the running total and the upload's status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catalog import identifiers
from catalog.models import Work
from fingerprint.models import ReferenceUpload
from rights import splits
from rights.models import RightsHolder, Split
from tests import audio as test_audio
from tests.web.browser import Browser
from tests.web.conftest import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _fits_a_phone(browser: Browser, path: str) -> None:
    """At a phone's width the page does not scroll sideways."""
    browser.page.set_viewport_size({"width": 390, "height": 844})
    page = browser.open(path)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), path
    browser.page.set_viewport_size({"width": 1366, "height": 900})


def test_an_artist_registers_a_work_fixing_a_bad_iswc(browser: Browser, world: World) -> None:
    expect = _expect()
    browser.log_in(world.ours.artist_user.username, PASSWORD)
    page = browser.open("/artist/")
    page.get_by_role("link", name="Register a work").click()

    page.get_by_label("Title").fill("Night Drive")
    page.get_by_label("ISWC").fill("T-034.524.680-2")
    check = page.locator("#id_iswc_check")
    expect(check).to_contain_text("ISWC check digit is 2, expected 1 for T-034.524.680")  # as typed (htmx)
    page.get_by_role("button", name="Register work").click()
    page.wait_for_load_state()
    expect(check).to_contain_text("ISWC check digit is 2, expected 1 for T-034.524.680")  # from the server
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    assert not Work.objects.filter(title="Night Drive").exists()
    browser.screenshot("artist-work-form")

    page.get_by_label("ISWC").fill("t 034 524 680 1")
    expect(check).to_have_text("valid: T-034.524.680-1")
    page.get_by_role("button", name="Register work").click()
    page.wait_for_load_state()

    expect(page.get_by_role("status")).to_contain_text("Work registered: Night Drive (T-034.524.680-1)")
    assert Work.objects.get(title="Night Drive").iswc == "T0345246801"


def test_an_artist_cannot_save_a_99_percent_split_and_saves_100(browser: Browser, world: World) -> None:
    expect = _expect()
    producer = RightsHolder.objects.create(name="Ours Producer", kind="other")
    splits.set_split(
        recording=world.ours.recordings[2],
        shares=[(world.ours.artist_party, "50", "artist"), (producer, "50", "producer")],
    )
    recording = world.ours.recordings[0]
    browser.log_in(world.ours.artist_user.username, PASSWORD)
    page = browser.open("/artist/splits/")
    page.get_by_role("link", name="New split").click()

    page.get_by_label("Recording (master) or work (publishing)").select_option(f"recording:{recording.pk}")
    page.get_by_label("Party, row 1").select_option(str(world.ours.artist_party.pk))
    page.get_by_label("Share in percent, row 1").fill("60")
    page.get_by_label("Role, row 1").fill("artist")
    page.get_by_label("Party, row 2").select_option(str(producer.pk))
    page.get_by_label("Share in percent, row 2").fill("39")

    total = page.locator("#split-total")
    save = page.get_by_role("button", name="Save split")
    expect(total).to_have_text("Total: 99.00 % — must be exactly 100 %")
    expect(save).to_be_disabled()
    browser.screenshot("artist-split-editor")

    # Rows come and go with JavaScript; the total follows.
    page.get_by_role("button", name="Add a row").click()
    expect(page.locator("tr.share-row")).to_have_count(7)
    page.get_by_label("Share in percent, row 7").fill("1")
    expect(total).to_have_text("Total: 100.00 %")
    expect(save).to_be_enabled()
    page.get_by_role("button", name="Remove row 7").click()
    expect(page.locator("tr.share-row")).to_have_count(6)
    expect(total).to_have_text("Total: 99.00 % — must be exactly 100 %")

    # Forcing the disabled button past the page: the server refuses too.
    page.evaluate("() => { document.querySelector('#split-save').disabled = false; }")
    save.click()
    page.wait_for_load_state()
    expect(page.get_by_role("alert")).to_contain_text("Shares sum to 99 %, under 100 %")
    assert not Split.objects.filter(recording=recording).exists()

    page.get_by_label("Share in percent, row 2").fill("40")
    expect(total).to_have_text("Total: 100.00 %")
    page.get_by_role("button", name="Save split").click()
    page.wait_for_load_state()

    expect(page.get_by_role("status")).to_contain_text("Split saved")
    split = Split.objects.get(recording=recording)
    assert sorted(f"{s.share.normalize():f}" for s in split.shares.all()) == ["40", "60"]

    _fits_a_phone(browser, "/artist/splits/new/")


def test_an_artist_uploads_reference_audio_and_sees_it_fingerprinted(
    browser: Browser,
    world: World,
    tmp_path: Path,
) -> None:
    expect = _expect()
    Work.objects.create(title="Portal Work", iswc="T0345246801").writers.add(world.ours.artist)
    recording = world.ours.recordings[0]
    wav = test_audio.write(tmp_path / "master.wav", test_audio.piece(31, 6.0))
    browser.log_in(world.ours.artist_user.username, PASSWORD)
    page = browser.open("/artist/")
    page.get_by_role("row", name=recording.title).get_by_role("link", name="Upload reference").click()

    page.get_by_label("Reference audio file").set_input_files(str(wav))
    page.get_by_role("button", name="Upload").click()

    status = page.locator("#reference-uploads .reference-status").first
    expect(status).to_contain_text("Fingerprinted: 0:06", timeout=60_000)
    progress = page.locator("progress#upload-progress")
    assert progress.evaluate("p => p.value === p.max && p.max >= 0") is True
    expect(page.locator("#upload-progress-text")).to_contain_text("Received master.wav")
    upload = ReferenceUpload.objects.get(recording=recording)
    assert upload.status == "done" and upload.asset is not None

    page = browser.open("/artist/")
    row = page.get_by_role("row", name=f"{recording.title} {identifiers.format_isrc(recording.isrc)}")
    expect(row).to_contain_text("Fingerprinted: 0:06")
    browser.screenshot("artist-portal")
    _fits_a_phone(browser, "/artist/")
    _fits_a_phone(browser, f"/artist/recordings/{recording.pk}/reference/")
