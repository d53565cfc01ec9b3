"""Artists in the index: registering a recording builds its artists' style profiles; an upload that uses
none of the catalogue but sounds like a registered artist is stored as an imitation candidate of that
artist; profiles follow a recording's artists; a failed registration leaves the artists' index as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from catalog.models import Artist, Recording
from fingerprint import actions, artist_index, style
from fingerprint.models import Scan
from tests import audio as test_audio
from tests import factories

pytestmark = pytest.mark.django_db

RATE = style.SAMPLE_RATE


def _register(tmp_path: Path, artist: Artist, style_of: int, seed: int) -> Recording:
    recording = factories.recording(1000 + seed)
    recording.artists.add(artist)
    path = test_audio.write(tmp_path / f"ref-{seed}.wav", test_audio.artist_track(style_of, seed, rate=RATE))
    actions.register_reference(recording, path)
    return recording


def _catalogue(tmp_path: Path) -> dict[int, Artist]:
    """Three artists, each with three registered recordings in their own sound."""
    artists = {}
    for style_of in (0, 1, 2):
        artists[style_of] = Artist.objects.create(name=f"Artist {style_of}")
        for n in range(3):
            _register(tmp_path, artists[style_of], style_of, 100 * style_of + n)
    return artists


def _scan(path: Path, capture) -> Scan:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        scan = actions.submit_upload(path, path.name)
    scan.refresh_from_db()
    assert scan.status == Scan.Status.DONE, scan.error
    return scan


def test_a_new_track_in_an_artists_sound_is_an_imitation_candidate_of_that_artist(
    tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    artists = _catalogue(tmp_path)
    assert artist_index.store().artist_count() == 3

    for style_of in (0, 1, 2):
        fresh = test_audio.artist_track(style_of, 900 + style_of, seconds=30.0, rate=RATE)  # never registered
        upload = test_audio.write(tmp_path / f"sounds-like-{style_of}.mp3", fresh)
        scan = _scan(upload, django_capture_on_commit_callbacks)

        assert not scan.matches.exists() and not scan.work_matches.exists()
        (candidate,) = scan.artist_matches.all()
        assert candidate.artist == artists[style_of]
        assert candidate.similarity >= 0.5 and candidate.margin > 0.05
        assert candidate.style_version == style.STYLE_VERSION


def test_an_upload_of_a_registered_recording_is_a_recording_match_not_a_likeness(
    tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    _catalogue(tmp_path)
    original = test_audio.artist_track(1, 101, rate=RATE)  # artist 1's second registered recording
    upload = test_audio.write(tmp_path / "copy.mp3", test_audio.excerpt(original * 1.0, 5.0, 20.0))

    scan = _scan(upload, django_capture_on_commit_callbacks)

    assert scan.matches.exists()
    assert not scan.artist_matches.exists()


def test_audio_unlike_every_artist_names_none(tmp_path: Path, django_capture_on_commit_callbacks) -> None:
    _catalogue(tmp_path)
    rng = np.random.default_rng(5)
    speechlike = np.sin(2 * np.pi * 3.0 * np.arange(30 * RATE) / RATE) * rng.standard_normal(30 * RATE) * 0.2
    scan = _scan(test_audio.write(tmp_path / "noise.wav", speechlike.astype(np.float32)), django_capture_on_commit_callbacks)

    assert not scan.artist_matches.exists()


def test_profiles_follow_a_recordings_artists(tmp_path: Path, django_capture_on_commit_callbacks) -> None:
    artists = _catalogue(tmp_path)
    newcomer = Artist.objects.create(name="Newcomer")
    with django_capture_on_commit_callbacks(execute=True):
        for recording in Recording.objects.filter(artists=artists[2]):
            recording.artists.set([newcomer])  # the label corrects who made them

    fresh = test_audio.write(tmp_path / "sounds-like-2.wav", test_audio.artist_track(2, 950, seconds=30.0, rate=RATE))
    (candidate,) = _scan(fresh, django_capture_on_commit_callbacks).artist_matches.all()
    assert candidate.artist == newcomer


def test_a_failed_registration_leaves_the_artists_index_as_it_was(tmp_path: Path, monkeypatch) -> None:
    artists = _catalogue(tmp_path)
    before = artist_index.store().rows().copy()

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("disk full while writing the landmark store")

    monkeypatch.setattr(actions.landmark_store().__class__, "add_many", broken)
    with pytest.raises(OSError):
        _register(tmp_path, artists[0], 0, 77)

    after = artist_index.store().rows()
    assert sorted(after["asset"].tolist()) == sorted(before["asset"].tolist())
    assert artist_index.store().artist_count() == 3


def test_build_index_rebuilds_the_artists_index_from_the_reference_files(tmp_path: Path) -> None:
    _catalogue(tmp_path)
    store = artist_index.store()
    rows = store.rows().copy()
    store.styles_path.unlink()
    (store.directory / "METRIC").unlink()
    assert store.artist_count() == 0

    call_command("build_index", verbosity=0)

    assert store.artist_count() == 3
    rebuilt = store.rows()
    assert rebuilt["asset"].tolist() == rows["asset"].tolist()
    assert np.allclose(rebuilt["vectors"], rows["vectors"], atol=1e-4)
