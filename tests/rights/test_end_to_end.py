"""One path from reference audio to a reviewed claim, in-process and through a real Celery worker."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from fingerprint import actions, params
from fingerprint.models import Match, Scan
from rights.models import Claim
from tests import audio as test_audio
from tests import factories


def _upload_of_noisy_excerpt(tmp_path: Path, seed: int, start_s: float) -> Path:
    """A different encoding (MP3) of an excerpt of the reference, with noise added at 10 dB SNR."""
    noisy = test_audio.add_noise(test_audio.excerpt(test_audio.piece(seed), start_s, 10.0), snr_db=10.0, seed=seed)
    return test_audio.write(tmp_path / f"upload-{seed}.mp3", noisy, bitrate=96000)


def _approve_in_admin(client, claim: Claim):  # type: ignore[no-untyped-def]
    staff = get_user_model().objects.create_superuser("reviewer", "reviewer@example.com", "pw-not-used-1")
    client.force_login(staff)
    response = client.post(
        "/admin/rights/claim/", {"action": "approve_claims", "_selected_action": [claim.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "1 claim(s) approved" in response.content.decode()
    return staff


@pytest.mark.django_db
def test_an_altered_excerpt_becomes_a_claim_that_staff_approve_in_the_admin(
    tmp_path: Path, client, django_capture_on_commit_callbacks
) -> None:
    target = factories.registered_recording(tmp_path, seed=3, fmt="mp3")
    factories.registered_recording(tmp_path, seed=4, fmt="flac")
    factories.registered_recording(tmp_path, seed=5, fmt="ogg")

    with django_capture_on_commit_callbacks(execute=True):
        scan = actions.submit_upload(_upload_of_noisy_excerpt(tmp_path, seed=3, start_s=11.0), "clip.mp3")
    scan.refresh_from_db()

    assert scan.status == Scan.Status.DONE, scan.error
    match = scan.matches.get()
    assert match.recording == target
    assert abs(match.offset_s - 11.0) < 0.5
    assert match.score >= params.MIN_ALIGNED_HASHES and 0 < match.confidence <= 1
    claim = Claim.objects.get(match=match)
    assert claim.status == Claim.Status.POTENTIAL
    assert "policy requires review" in claim.review_reasons

    staff = _approve_in_admin(client, claim)

    claim.refresh_from_db()
    assert claim.status == Claim.Status.ACTIVE
    created, approved = claim.events.order_by("at", "pk")
    assert (created.actor, created.from_status, created.to_status) == (None, "", "potential")
    assert (approved.actor, approved.from_status, approved.to_status) == (staff, "potential", "active")
    assert approved.at >= created.at
    history = client.get(f"/admin/rights/claim/{claim.pk}/change/").content.decode()
    assert "reviewer" in history and "Approved in the admin by reviewer" in history


@pytest.mark.django_db
def test_unrelated_audio_gives_no_match_and_no_claim(tmp_path: Path, django_capture_on_commit_callbacks) -> None:
    for seed in (3, 4, 5):
        factories.registered_recording(tmp_path, seed=seed)
    unrelated = test_audio.write(tmp_path / "unrelated.mp3", test_audio.piece(seed=777, duration_s=15.0))

    with django_capture_on_commit_callbacks(execute=True):
        scan = actions.submit_upload(unrelated, "unrelated.mp3")
    scan.refresh_from_db()

    assert scan.status == Scan.Status.DONE
    assert not Match.objects.exists()
    assert not Claim.objects.exists()


@pytest.mark.django_db
def test_a_compilation_of_two_recordings_gives_two_matches_at_their_times(
    tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    first = factories.registered_recording(tmp_path, seed=6)
    second = factories.registered_recording(tmp_path, seed=7)
    compilation = test_audio.write(
        tmp_path / "compilation.wav",
        test_audio.np.concatenate(
            [test_audio.excerpt(test_audio.piece(6), 4.0, 10.0), test_audio.excerpt(test_audio.piece(7), 15.0, 10.0)]
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        scan = actions.submit_upload(compilation)

    matches = {m.recording: m for m in Match.objects.filter(scan=scan)}
    assert set(matches) == {first, second}
    assert matches[first].query_start_s < 1.0 and abs(matches[first].offset_s - 4.0) < 0.5
    assert 9.0 < matches[second].query_start_s < 11.0 and abs(matches[second].offset_s - 5.0) < 0.5
    assert Claim.objects.filter(match__scan=scan).count() == 2


@pytest.mark.celery_worker
def test_a_real_celery_worker_identifies_the_upload_and_makes_the_claim(tmp_path: Path, real_workers) -> None:
    worker = real_workers.start()
    log_path = real_workers.logs[0]
    target = factories.registered_recording(tmp_path, seed=8)
    factories.registered_recording(tmp_path, seed=9)

    scan = actions.submit_upload(_upload_of_noisy_excerpt(tmp_path, seed=8, start_s=7.0), "clip.mp3")

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not Claim.objects.filter(match__scan=scan).exists():
        assert worker.poll() is None, f"the worker died:\n{log_path.read_text()}"
        time.sleep(0.5)
    scan.refresh_from_db()
    assert scan.status == Scan.Status.DONE, f"scan {scan.status} {scan.error}\n{log_path.read_text()}"
    claim = Claim.objects.get(match__scan=scan)
    assert claim.recording == target and claim.status == Claim.Status.POTENTIAL
    assert abs(claim.match.offset_s - 7.0) < 0.5
    # The work really happened in the worker process, not in this one.
    assert "fingerprint.tasks.identify_scan" in log_path.read_text()
    assert "rights.tasks.claim_scan_matches" in log_path.read_text()


@pytest.mark.django_db
def test_a_noisy_excerpt_of_a_looping_track_is_placed_where_it_was_cut_not_at_a_repeat(
    tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    # Piece 4's chords and drums repeat every four bars (6.58 s); at 5 dB SNR the melody that tells
    # the repeats apart is mostly masked, so only the repeat-aware vote finds the true place.
    looping = factories.registered_recording(tmp_path, seed=4)
    noisy = test_audio.add_noise(test_audio.excerpt(test_audio.piece(4), 9.0, 15.0), snr_db=5.0, seed=2)
    with django_capture_on_commit_callbacks(execute=True):
        scan = actions.submit_upload(test_audio.write(tmp_path / "loop.flac", noisy))
    match = Match.objects.get(scan=scan)
    assert match.recording == looping
    assert abs(match.offset_s - 9.0) < 0.5
