"""Possible AI imitations of artists: a generated upload that sounds like a registered artist, and uses none
of their recordings, is reported for review with the uploader's AI-likeness licence cover; the artist's
consent per use decides that cover; staff confirm or dismiss a report once, in the audit trail."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pytest

from catalog.models import Artist, ArtistAIConsent
from fingerprint import intake
from fingerprint.models import Platform, Scan
from generation_audit import decoders, imitation
from generation_audit.models import ImitationReport
from rights import actions as rights_actions
from rights import audit, licensing
from rights.models import AuditEvent
from tests import audio as test_audio
from tests import factories
from tests.api import builders
from tests.generation_audit.conftest import RATE

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


def _generated_like(path: Path, style_of: int, seed: int) -> Path:
    """30 s in an artist's style, rendered through a transposed-convolution decoder (its comb is what the
    provenance detectors find), written at 44.1 kHz."""
    music = test_audio.artist_track(style_of, seed, seconds=30.0, rate=RATE)
    spec = decoders.DecoderSpec("t", RATE, (8, 8, 4, 2), bias_db=-40.0, weight_noise=0.02, rectify=0.05)
    out = decoders.decode(music, spec, seed=1)
    path.write_bytes(test_audio.audio.encode((out / np.abs(out).max() * 0.9).astype(np.float32), RATE, "wav"))
    return path


def _upload(path: Path, capture, platform: Platform | None = None) -> Scan:  # type: ignore[no-untyped-def]
    with capture(execute=True):  # identification, then provenance, run in process
        scan = intake.accept_file(path, original_name=path.name, platform=platform)
    scan.refresh_from_db()
    assert scan.status == Scan.Status.DONE, scan.error
    return scan


def _likeness_licence(platform: Platform, artist: Artist, **terms: object) -> None:
    licensing.grant_licence(
        reference=terms.pop("reference", "LIKE-1"),
        licensor=factories.party("Label"),
        licensee=rights_actions.platform_party(platform),
        uses=["ai_likeness_style"],
        territories=terms.pop("territories", ["WORLD"]),
        start_date=TODAY - datetime.timedelta(days=30),
        fee_model="flat",
        flat_fee="1000.00",
        artists=[artist],
        **terms,
    )


def test_a_generated_upload_in_an_artists_style_is_reported_as_a_possible_ai_imitation(
    tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    artists = factories.artist_catalogue(tmp_path)
    caller = builders.platform("TubeCo")

    scan = _upload(
        _generated_like(tmp_path / "like-0.wav", 0, 901), django_capture_on_commit_callbacks, caller.platform
    )

    assert not scan.matches.exists()  # none of the artist's recordings is used
    (report,) = ImitationReport.objects.filter(scan=scan)
    assert report.artist == artists[0]
    assert report.headline == "possible AI imitation of Artist 0"
    assert report.status == ImitationReport.Status.OPEN
    assert report.provenance_run.ai_generated and report.ai_score >= 0.5
    assert report.licence_note == "Artist 0 has not opted in to AI likeness use 'style'"
    assert report.licensed_territories == [] and report.licences == []
    # Idempotent: the hourly sweep, or the run again, adds nothing.
    assert imitation.report_imitations(scan.asset_id) == [report]
    assert ImitationReport.objects.count() == 1

    # The platform reads it on its scan, beside the likeness it comes from.
    body = caller.client.get(f"/api/v1/scans/{scan.pk}").json()
    (likeness,) = body["artist_likeness"]
    assert likeness["artist_name"] == "Artist 0" and likeness["exclusivity"] >= 0.95
    (seen,) = body["imitations"]
    assert seen["headline"] == "possible AI imitation of Artist 0" and seen["status"] == "open"
    assert seen["licence_note"] == report.licence_note


def test_a_licensed_imitation_is_recorded_as_licensed(tmp_path: Path, django_capture_on_commit_callbacks) -> None:
    artists = factories.artist_catalogue(tmp_path)
    platform = Platform.objects.create(name="TubeCo")
    ArtistAIConsent.objects.create(artist=artists[1], use="style", opted_in=True)
    _likeness_licence(platform, artists[1], territories=["GB", "IE"])

    scan = _upload(_generated_like(tmp_path / "like-1.wav", 1, 902), django_capture_on_commit_callbacks, platform)

    (report,) = ImitationReport.objects.filter(scan=scan)
    assert report.artist == artists[1]
    assert report.status == ImitationReport.Status.LICENSED
    assert report.licensed_territories == ["GB", "IE"] and report.licences == ["LIKE-1"]


def test_a_plain_upload_in_an_artists_style_is_a_likeness_but_no_report(
    tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    artists = factories.artist_catalogue(tmp_path)
    plain = test_audio.write(tmp_path / "plain.wav", test_audio.artist_track(2, 903, seconds=30.0, rate=test_audio.SR))

    scan = _upload(plain, django_capture_on_commit_callbacks)

    assert scan.artist_matches.get().artist == artists[2]  # it sounds like them: influence is no wrong
    assert not ImitationReport.objects.exists()


def test_consent_per_use_decides_the_likeness_cover(tmp_path: Path) -> None:
    artist = Artist.objects.create(name="Singer")
    platform = Platform.objects.create(name="TubeCo")
    uploader = rights_actions.platform_party(platform)
    _likeness_licence(platform, artist)

    assert imitation.likeness_cover(uploader, artist, TODAY)[2] == "Singer has not opted in to AI likeness use 'style'"

    voice = ArtistAIConsent.objects.create(artist=artist, use="voice", opted_in=True)  # another use
    assert imitation.likeness_cover(uploader, artist, TODAY)[0] == []
    style_consent = ArtistAIConsent.objects.create(artist=artist, use="style", opted_in=True)
    territories, refs, note = imitation.likeness_cover(uploader, artist, TODAY)
    assert len(territories) > 200 and refs == ["LIKE-1"]
    assert note.startswith("licence LIKE-1 covers ai_likeness_style in")

    style_consent.opted_in = False  # the artist opts out: every licence's cover of that use ends
    style_consent.save()
    assert imitation.likeness_cover(uploader, artist, TODAY)[0] == []
    check = licensing.is_licensed(uploader, "ai_likeness_style", "GB", TODAY, artist=artist)
    assert not check and "has not opted in" in check.reason
    assert licensing.is_licensed(uploader, "ai_likeness_voice", "GB", TODAY, artist=artist).licensed is False
    assert voice.opted_in  # the voice licence would need a licence granting voice: this one grants style only
    assert (
        "does not grant ai_likeness_voice"
        in licensing.is_licensed(uploader, "ai_likeness_voice", "GB", TODAY, artist=artist).reason
    )

    logged = AuditEvent.objects.filter(entity=audit.entity_name(ArtistAIConsent)).values_list("verb", flat=True)
    assert list(logged) == ["created", "created", "updated"]  # every consent change is in the audit trail
    with pytest.raises(ValueError):
        licensing.is_licensed(uploader, "ai_likeness_style", "GB", TODAY)  # likeness is asked of an artist


def test_staff_confirm_or_dismiss_a_report_once(tmp_path: Path, django_capture_on_commit_callbacks, admin_user) -> None:
    factories.artist_catalogue(tmp_path)
    scan = _upload(_generated_like(tmp_path / "like-2.wav", 2, 904), django_capture_on_commit_callbacks)
    report = ImitationReport.objects.get(scan=scan)
    assert report.licence_note.endswith("has not opted in to AI likeness use 'style'") or "no known uploader" in (
        report.licence_note
    )

    with pytest.raises(imitation.ReviewError):
        imitation.review(report, "open", admin_user)
    imitation.review(report, ImitationReport.Status.CONFIRMED, admin_user, "Voice and style cloned; takedown sent.")
    report.refresh_from_db()
    assert report.status == "confirmed" and report.reviewed_by == admin_user and report.reviewed_at is not None
    with pytest.raises(imitation.ReviewError, match="already confirmed"):
        imitation.review(report, ImitationReport.Status.DISMISSED, admin_user)

    events = AuditEvent.objects.filter(entity="generation_audit.imitationreport", entity_id=str(report.pk))
    assert [e.verb for e in events.order_by("seq")] == ["created", "reviewed"]
    assert events.order_by("seq").last().actor_id == admin_user.pk
