"""The claims list and one claim's page: who sees what, the decisions staff take there, the alignment plot,
the spectrograms and the audio served with HTTP Range."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from catalog.models import AudioAsset
from fingerprint.models import Match
from generation_audit.models import Finding, ProvenanceRun
from rights import actions, disputes
from rights.models import Claim, Dispute
from rights.web import claims as claims_view
from rights.web import plots
from rights.web.claim_detail import alignment_segments
from tests import audio as test_audio
from tests import factories
from tests.web.conftest import World

ROLES = ("staff", "artist_user", "platform_user", "auditor")


def write_audio(asset: AudioAsset, seed: int, duration_s: float = 32.0) -> bytes:
    """Give a row-only asset a real WAV file where its FileField points, and return the file's bytes."""
    path = Path(settings.MEDIA_ROOT) / asset.file.name
    path.parent.mkdir(parents=True, exist_ok=True)
    test_audio.write(path, test_audio.piece(seed, duration_s))
    return path.read_bytes()


def listed_claims(client: Client, **params: Any) -> set[int]:
    response = client.get("/claims/", params)
    assert response.status_code == 200
    return {int(pk) for pk in re.findall(r'href="/claims/(\d+)/"', response.content.decode())}


def ids(claims: list[Claim]) -> set[int]:
    return {claim.pk for claim in claims}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, tag = struct.unpack(">I4s", data[8:16])
    assert (length, tag) == (13, b"IHDR")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (depth, colour) == (8, 2)
    return width, height


def png_pixels(data: bytes) -> np.ndarray:
    """Decode what encode_png writes (one IDAT, filter 0) back to height x width x 3."""
    width, height = png_size(data)
    at, idat = 8, b""
    while at < len(data):
        length, tag = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        assert struct.unpack(">I", data[at + 8 + length : at + 12 + length])[0] == zlib.crc32(tag + body)
        if tag == b"IDAT":
            idat += body
        at += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + 3 * width)
    assert not raw[:, 0].any(), "every row uses filter type 0"
    return raw[:, 1:].reshape(height, width, 3)


# --- the claims list ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ROLES)
def test_each_role_lists_the_claims_of_its_side_only(world: World, who: str) -> None:
    assert listed_claims(world.client(getattr(world.ours, who))) == ids(world.ours.claims)
    assert listed_claims(world.client(getattr(world.theirs, who))) == ids(world.theirs.claims)


def test_superuser_lists_every_claim(world: World) -> None:
    assert listed_claims(world.client(world.superuser)) == ids(world.ours.claims + world.theirs.claims)


def _dispute(claim: Claim, world: World, evidence: str = "Licence LIC-42 covers this upload.") -> Dispute:
    actions.approve_claim(claim, world.ours.staff)
    return disputes.dispute_claim(claim, reason="licensed", evidence=evidence, actor=world.ours.platform_user)


def test_the_disputed_filter_includes_appealed_claims(world: World) -> None:
    disputed, appealed, active, _ = world.ours.claims
    _dispute(disputed, world)
    _dispute(appealed, world)
    disputes.uphold_dispute(appealed, world.ours.staff, "The sample is ours.")
    disputes.appeal_claim(appealed, reason="licensed", evidence="See LIC-42 again.", actor=world.ours.platform_user)
    actions.approve_claim(active, world.ours.staff)
    client = world.client(world.ours.staff)

    assert listed_claims(client, status="disputed") == {disputed.pk, appealed.pk}
    assert listed_claims(client, status="appealed") == {appealed.pk}
    assert listed_claims(client, status="active") == {active.pk}
    assert listed_claims(client, status="potential") == {world.ours.claims[3].pk}


def test_the_list_is_paginated_and_pages_keep_the_filter(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(claims_view, "PAGE_SIZE", 3)
    client = world.client(world.ours.staff)

    first = client.get("/claims/", {"status": "potential"}).content.decode()
    assert "Page 1 of 2" in first and 'href="?status=potential&amp;page=2"' in first
    assert len(listed_claims(client, status="potential")) == 3
    assert len(listed_claims(client, status="potential", page=2)) == 1
    assert listed_claims(client, status="potential") | listed_claims(client, status="potential", page=2) == ids(
        world.ours.claims
    )


# --- the claim page: who sees it, who acts ----------------------------------------------------------------


@pytest.mark.parametrize("who", ROLES)
def test_each_role_reads_its_claims_and_gets_404_for_the_others(world: World, who: str) -> None:
    client = world.client(getattr(world.ours, who))
    own, foreign = world.ours.claims[0], world.theirs.claims[0]

    page = client.get(f"/claims/{own.pk}/")
    assert page.status_code == 200
    assert ("Approve claim" in page.content.decode()) == (who == "staff"), "only the label's staff get buttons"
    for url in (
        f"/claims/{foreign.pk}/",
        f"/claims/{foreign.pk}/alignment.svg",
        f"/claims/{foreign.pk}/spectrogram/upload.png",
        f"/claims/{foreign.pk}/audio/upload",
        f"/claims/{foreign.pk}/audio/reference",
    ):
        assert client.get(url).status_code == 404, url


def test_anonymous_users_log_in_first_and_users_without_a_role_are_refused(world: World) -> None:
    claim = world.ours.claims[0]
    response = Client().get(f"/claims/{claim.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/login/?next=/claims/{claim.pk}/"
    assert Client().get(f"/claims/{claim.pk}/audio/upload").status_code == 302
    assert world.client(world.nobody).get(f"/claims/{claim.pk}/").status_code == 403


@pytest.mark.parametrize("who", ["artist_user", "platform_user", "auditor"])
def test_roles_other_than_staff_get_403_when_they_post(world: World, who: str) -> None:
    claim = world.ours.claims[0]
    client = world.client(getattr(world.ours, who))

    assert client.post(f"/claims/{claim.pk}/", {"decision": "approve"}).status_code == 403
    assert Claim.objects.get(pk=claim.pk).status == "potential"


def test_staff_approve_from_the_claim_page_and_the_history_names_them(world: World) -> None:
    claim = world.ours.claims[0]
    client = world.client(world.ours.staff)

    response = client.post(f"/claims/{claim.pk}/", {"decision": "approve", "reason": "Checked by ear."}, follow=True)

    claim.refresh_from_db()
    assert claim.status == "active"
    page = response.content.decode()
    assert f"Claim {claim.pk} approved." in page
    history = page[page.index('id="history-heading"') :]
    assert "ours-staff" in history and "potential → active" in history and "Checked by ear." in history
    assert "Approve claim" not in page, "an active claim has nothing left to review"

    again = client.post(f"/claims/{claim.pk}/", {"decision": "release"}, follow=True)
    assert "is no longer waiting for review (it is active)" in again.content.decode()
    assert Claim.objects.get(pk=claim.pk).status == "active"
    assert world.client(world.theirs.staff).post(f"/claims/{claim.pk}/", {"decision": "release"}).status_code == 404


def test_the_page_explains_spans_policy_reasons_and_history(world: World) -> None:
    claim = world.ours.claims[0]
    page = world.client(world.ours.auditor).get(f"/claims/{claim.pk}/").content.decode()

    assert f'src="/claims/{claim.pk}/audio/upload"' in page and f'src="/claims/{claim.pk}/audio/reference"' in page
    assert 'data-seek="upload-player" data-start="5.00" data-end="25.00"' in page
    assert 'data-seek="reference-player" data-start="10.00" data-end="30.00"' in page
    assert f'src="/claims/{claim.pk}/spectrogram/upload.png"' in page
    assert "<svg" in page and "tempo x1.000" in page
    assert "Default: monetize after review" in page and "monetize in WORLD" in page
    assert "Low confidence:</strong> low confidence (0.55 &lt; 0.90)" in page
    assert "Ours Records" in page and "100 %" in page and "claimant" in page
    assert "new → potential" in page and "system" in page


def test_provenance_findings_are_shown_with_their_evidence(world: World) -> None:
    claim = world.ours.claims[0]
    run = ProvenanceRun.objects.create(asset=claim.match.scan.asset, status="done", finished_at=timezone.now())
    Finding.objects.create(
        run=run, detector="watermark", detector_version="2.1", score=0.97, label="ai_generated", strength="strong",
        evidence={"scheme": "AudioSeal", "segments_s": [[5.0, 25.0]]},
    )  # fmt: skip

    page = world.client(world.ours.artist_user).get(f"/claims/{claim.pk}/").content.decode()
    provenance = page[page.index('id="provenance-heading"') : page.index('id="disputes-heading"')]

    assert "watermark" in provenance and "2.1" in provenance and "0.97" in provenance
    assert "ai_generated (strong)" in provenance
    assert "<dt>scheme</dt><dd>AudioSeal</dd>" in provenance and "[[5.0, 25.0]]" in provenance
    assert "Not checked for AI provenance." in provenance, "the reference has no run"


def test_disputes_show_the_uploaders_text_and_only_staff_answer_them(world: World) -> None:
    claim = world.ours.claims[1]
    _dispute(claim, world, evidence="We hold licence LIC-42.\nSigned 2024.")
    url = f"/claims/{claim.pk}/"

    platform_page = world.client(world.ours.platform_user).get(url).content.decode()
    assert "We hold licence LIC-42.<br>Signed 2024." in platform_page
    assert "Licensed: the uploader holds a licence" in platform_page
    assert "Uphold the dispute" not in platform_page
    assert world.client(world.ours.platform_user).post(url, {"decision": "uphold", "reason": "x"}).status_code == 403
    assert world.client(world.ours.auditor).post(url, {"decision": "uphold", "reason": "x"}).status_code == 403

    staff = world.client(world.ours.staff)
    assert "Uphold the dispute" in staff.get(url).content.decode()
    refused = staff.post(url, {"decision": "uphold", "reason": " "}, follow=True)
    assert "Say why the claim is upheld" in refused.content.decode()
    upheld = staff.post(url, {"decision": "uphold", "reason": "The sample is ours."}, follow=True)
    assert "upheld; the uploader may appeal" in upheld.content.decode()
    assert claim.disputes.get().outcome == "upheld"
    assert "Uphold the dispute" not in upheld.content.decode(), "an upheld dispute waits for the uploader"

    disputes.appeal_claim(claim, reason="licensed", evidence="LIC-42 again.", actor=world.ours.platform_user)
    assert "Take the upload down" in staff.get(url).content.decode()
    staff.post(url, {"decision": "takedown", "reason": "The licence does not cover this."})
    assert Claim.objects.get(pk=claim.pk).status == "takedown"


# --- pictures and audio ---------------------------------------------------------------------------------


def test_the_alignment_plot_is_an_svg_with_every_run_of_the_upload_against_the_recording(world: World) -> None:
    claim = world.ours.claims[0]
    Match.objects.filter(pk=claim.match_id).update(tempo_factor=1.05, pitch_factor=0.98)
    second_reference = factories.audio_asset("reference", claim.recording, 120.0)
    Match.objects.create(
        scan=claim.match.scan, recording=claim.recording, reference_asset=second_reference, query_start_s=30.0,
        query_end_s=40.0, reference_start_s=60.0, reference_end_s=70.0, aligned_landmarks=20, score=20.0,
        confidence=0.4, engine_version="test",
    )  # fmt: skip

    response = world.client(world.ours.platform_user).get(f"/claims/{claim.pk}/alignment.svg")

    assert response.status_code == 200 and response["Content-Type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(response.content)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and (root.get("width"), root.get("height")) == ("560", "360")
    runs = [line for line in root.iter(f"{ns}line") if line.find(f"{ns}title") is not None]
    assert len(runs) == 2
    claimed = [line for line in runs if line.get("stroke") == "#a40e26"]
    assert len(claimed) == 1 and "upload 5.0-25.0 s" in claimed[0].find(f"{ns}title").text
    texts = " ".join(text.text or "" for text in root.iter(f"{ns}text"))
    assert "pitch x0.980, tempo x1.050" in texts and "upload time (s)" in texts and "reference time (s)" in texts
    # The claimed run rises by the tempo factor: 20 s of upload cover 21 s of reference.
    claimed_segment = next(s for s in alignment_segments(Claim.objects.get(pk=claim.pk)) if s.highlight)
    assert claimed_segment.end == pytest.approx((25.0, 31.0))


@pytest.mark.parametrize("side", ["upload", "reference"])
def test_spectrograms_are_png_images_of_the_matched_span(world: World, side: str) -> None:
    claim = world.ours.claims[0]
    asset = claim.match.scan.asset if side == "upload" else claim.match.reference_asset
    client = world.client(world.ours.staff)
    assert client.get(f"/claims/{claim.pk}/spectrogram/{side}.png").status_code == 404, "no file stored yet"
    write_audio(asset, seed=3)

    response = client.get(f"/claims/{claim.pk}/spectrogram/{side}.png")

    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    width, height = png_size(response.content)
    assert height == 256 and 300 <= width <= plots.MAX_WIDTH_PX  # 20 s at 11025 Hz, hop 128: pooled to 640
    pixels = png_pixels(response.content)
    assert pixels.shape == (256, width, 3) and pixels.std() > 10, "music draws a picture, not a flat colour"
    assert client.get(f"/claims/{claim.pk}/spectrogram/sideways.png").status_code == 404


def test_the_png_encoder_writes_the_pixels_it_is_given() -> None:
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 9
    data = plots.encode_png(image)
    assert png_size(data) == (3, 2)
    assert np.array_equal(png_pixels(data), image)


def test_audio_is_streamed_with_range_support(world: World) -> None:
    claim = world.ours.claims[0]
    data = write_audio(claim.match.scan.asset, seed=5, duration_s=30.0)
    reference = write_audio(claim.match.reference_asset, seed=6, duration_s=31.0)
    client = world.client(world.ours.artist_user)
    url = f"/claims/{claim.pk}/audio/upload"

    whole = client.get(url)
    assert whole.status_code == 200 and whole["Content-Type"] == "audio/wav" and whole["Accept-Ranges"] == "bytes"
    assert int(whole["Content-Length"]) == len(data) and b"".join(whole.streaming_content) == data

    part = client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(data)}" and part["Content-Length"] == "100"
    assert b"".join(part.streaming_content) == data[100:200]

    open_ended = client.get(url, HTTP_RANGE=f"bytes={len(data) - 50}-")
    assert open_ended.status_code == 206 and b"".join(open_ended.streaming_content) == data[-50:]
    suffix = client.get(url, HTTP_RANGE="bytes=-10")
    assert suffix["Content-Range"] == f"bytes {len(data) - 10}-{len(data) - 1}/{len(data)}"
    assert b"".join(suffix.streaming_content) == data[-10:]

    past_the_end = client.get(url, HTTP_RANGE=f"bytes={len(data)}-")
    assert past_the_end.status_code == 416 and past_the_end["Content-Range"] == f"bytes */{len(data)}"

    ref = client.get(f"/claims/{claim.pk}/audio/reference", HTTP_RANGE="bytes=0-11")
    assert ref.status_code == 206 and b"".join(ref.streaming_content) == reference[:12]
    assert reference[:4] == b"RIFF" and data != reference
    assert client.get(f"/claims/{claim.pk}/audio/elsewhere").status_code == 404
    assert client.post(url).status_code == 405
