"""Composition claims: an upload that performs a catalogue work (a cover) is claimed for the owners of the
work's publishing rights as a melody claim that waits for review, next to any recording claim on the upload;
staff see the transposition and tempo in the review queue, on the claim page and through the API."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from catalog import identifiers
from catalog.models import Label, Work
from fingerprint import actions as fingerprint_actions
from rights import actions, holdings
from rights.models import Claim, Policy, PolicyRule, RightsHolder, UnclaimedMatch
from tests import audio as test_audio
from tests import factories
from tests.api import builders

pytestmark = pytest.mark.django_db

SONG = 1  # the synth seed of the composition the uploads cover


@dataclass
class Catalogue:
    song: Work
    label: Label
    publisher: RightsHolder
    staff: Any


@pytest.fixture
def catalogue(tmp_path: Path) -> Catalogue:
    """Three works with renditions; the first is published by a publisher whose policy would claim without
    review (so any review comes from the melody match itself), and whose staff review its claims."""
    song = factories.registered_work(tmp_path, 1, SONG)
    factories.registered_work(tmp_path, 2, 2)
    factories.registered_work(tmp_path, 3, 3)
    label = Label.objects.create(name="Songs Publishing")
    publisher = factories.party("Songs Publishing", kind="publisher", label=label)
    publisher.policy = Policy.objects.create(
        name="Publisher policy", owner=publisher, action="monetize", always_review=False, min_confidence=0.3
    )
    publisher.save()
    for right in ("mechanical", "performance"):
        holdings.add_ownership(owner=publisher, work=song, right=right, territories=["WORLD"], share="100")
    staff = get_user_model().objects.create_user("publisher-staff", password="x-not-used-1", is_staff=True)
    publisher.accounts.add(staff)
    return Catalogue(song, label, publisher, staff)


def _cover_upload(tmp_path: Path) -> Path:
    return test_audio.write(tmp_path / "cover.mp3", test_audio.cover(SONG, transpose=2, tempo_factor=1.1))


def test_a_cover_is_claimed_for_the_works_publisher_and_waits_for_review(
    catalogue: Catalogue, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    scan = factories.identified(_cover_upload(tmp_path), django_capture_on_commit_callbacks)

    (claim,) = Claim.objects.all()
    found = scan.work_matches.get()
    assert (claim.match_type, claim.work, claim.work_match, claim.recording, claim.match) == (
        "melody",
        catalogue.song,
        found,
        None,
        None,
    )
    assert (claim.claimant, claim.label, claim.action) == (catalogue.publisher, catalogue.label, "monetize")
    assert claim.status == Claim.Status.POTENTIAL and claim.deadline is not None
    assert found.tempo_ratio == pytest.approx(1.1, abs=0.04)
    assert claim.review_reasons == [f"melody match (cover): transposed +2 semitones, tempo x{found.tempo_ratio:.2f}"]
    assert claim.resolution["match_type"] == "melody"
    assert {(o["owner"], o["asset"]) for o in claim.resolution["owners"]} == {
        ("Songs Publishing", f"work:{catalogue.song.pk}")
    }
    assert f"Created from melody match {found.pk}" in claim.events.get().reason
    # Claiming the scan again, or the periodic sweep, makes no second claim.
    assert actions.claim_scan_matches(scan.pk) == [claim]
    assert actions.claim_unclaimed_matches() == 0
    assert Claim.objects.count() == 1


def test_a_policy_rule_can_single_out_melody_matches(catalogue: Catalogue) -> None:
    policy = catalogue.publisher.policy
    PolicyRule.objects.create(policy=policy, position=1, action="block", match_types=["melody"])
    PolicyRule.objects.create(policy=policy, position=2, action="track")

    claim = actions.claim_work_match(factories.work_match(catalogue.song, transpose=-1, tempo=0.95))

    assert claim is not None
    assert claim.action == "block" and claim.status == Claim.Status.POTENTIAL
    assert claim.review_reasons == ["melody match (cover): transposed -1 semitones, tempo x0.95"]


def test_a_cover_of_a_work_nobody_owns_is_not_claimed_and_not_tried_again(catalogue: Catalogue) -> None:
    unowned = factories.work(9)
    performed = factories.work_match(unowned)

    assert actions.claim_work_match(performed) is None
    assert actions.claim_unclaimed_matches() == 0

    left = UnclaimedMatch.objects.get()
    assert (left.work_match, left.match, left.why) == (performed, None, UnclaimedMatch.Why.NO_RULE)
    assert not Claim.objects.exists()


def test_a_registered_recording_that_embeds_the_work_gets_only_its_recording_claim(
    catalogue: Catalogue, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    version = test_audio.cover(SONG, duration_s=30.0, transpose=-3, tempo_factor=0.9, timbre_seed=78)
    recording = factories.recording(10)
    recording.works.add(catalogue.song)
    fingerprint_actions.register_reference(recording, test_audio.write(tmp_path / "version.wav", version))
    upload = test_audio.write(tmp_path / "clip.mp3", test_audio.excerpt(version, 4.0, 22.0))

    factories.identified(upload, django_capture_on_commit_callbacks)

    (claim,) = Claim.objects.all()
    assert (claim.match_type, claim.recording, claim.work) == ("recording", recording, None)
    # The publisher is paid through the recording claim, which resolves the embedded work's owners too.
    assert ("Songs Publishing", f"work:{catalogue.song.pk}") in {
        (o["owner"], o["asset"]) for o in claim.resolution["owners"]
    }


def test_a_cover_over_a_registered_backing_track_gets_a_recording_claim_and_a_melody_claim(
    catalogue: Catalogue, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    backing = test_audio.piece(50)
    track = factories.recording(50)  # does not embed the song
    fingerprint_actions.register_reference(track, test_audio.write(tmp_path / "backing.wav", backing))
    upload = test_audio.write(tmp_path / "karaoke.mp3", test_audio.mix(test_audio.cover(SONG), backing))

    factories.identified(upload, django_capture_on_commit_callbacks)

    claims = {(c.match_type, c.recording, c.work) for c in Claim.objects.all()}
    assert claims == {("recording", track, None), ("melody", None, catalogue.song)}


def test_staff_review_the_melody_claim_with_its_transposition_and_tempo(
    catalogue: Catalogue, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    scan = factories.identified(_cover_upload(tmp_path), django_capture_on_commit_callbacks)
    claim = Claim.objects.get()
    found = scan.work_matches.get()
    summary = f"melody match, transposed +2 st, tempo x{found.tempo_ratio:.2f}"
    iswc = identifiers.format_iswc(catalogue.song.iswc)
    client = Client()
    client.force_login(catalogue.staff)

    queue = client.get("/review/").content.decode()
    assert catalogue.song.title in queue and iswc in queue and summary in queue
    assert "melody match (cover): transposed +2 semitones" in queue

    page = client.get(f"/claims/{claim.pk}/").content.decode()
    assert f"Claim {claim.pk}: {catalogue.song.title}" in page and iswc in page and summary in page
    assert "Work match" in page and "Melody match (cover)" in page
    assert f"{found.query_start_s:.1f}\u2013{found.query_end_s:.1f} s" in page
    assert f"{found.reference_start_s:.1f}\u2013{found.reference_end_s:.1f} s" in page
    assert "+2 semitones" in page and f"\u00d7{found.tempo_ratio:.2f}" in page
    assert f"Rendition of {catalogue.song}" in page
    rendition = client.get(f"/claims/{claim.pk}/audio/reference")
    assert rendition.status_code == 200
    assert f"rendition-{catalogue.song.renditions.get().pk}" in rendition["Content-Disposition"]
    assert client.get(f"/claims/{claim.pk}/spectrogram/reference.png")["Content-Type"] == "image/png"
    assert "melody match" in client.get(f"/claims/{claim.pk}/alignment.svg").content.decode()
    assert catalogue.song.title in client.get("/claims/").content.decode()

    client.post(f"/claims/{claim.pk}/", {"decision": "approve", "reason": "A cover of our song."})
    claim.refresh_from_db()
    assert claim.status == Claim.Status.ACTIVE


def test_the_platform_reads_the_melody_claim_with_its_work_through_the_api(
    catalogue: Catalogue, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    caller = builders.platform("Tube")
    data = test_audio.audio.encode(test_audio.cover(SONG), test_audio.SR, "mp3")
    with django_capture_on_commit_callbacks(execute=True):
        response = caller.client.post(
            "/api/v1/scans/", {"file": SimpleUploadedFile("cover.mp3", data)}, format="multipart"
        )
    assert response.status_code == 202, response.json()

    (listed,) = caller.client.get("/api/v1/claims/").json()["results"]
    detail = caller.client.get(f"/api/v1/claims/{listed['id']}/").json()

    song = catalogue.song
    assert detail["match_type"] == "melody" and detail["status"] == "potential"
    assert detail["work"] == {"id": song.pk, "iswc": song.iswc, "title": song.title}
    assert detail["recording"] is None and detail["match"] is None
    assert detail["work_match"]["transpose_semitones"] == 2
    assert detail["work_match"]["tempo_ratio"] == pytest.approx(1.1, abs=0.04)
    assert detail["review_reasons"][0].startswith("melody match (cover): transposed +2 semitones")
    scan = caller.client.get(f"/api/v1/scans/{detail['scan']}").json()
    assert [m["work"]["id"] for m in scan["work_matches"]] == [song.pk]
    assert [c["id"] for c in scan["claims"]] == [detail["id"]]
