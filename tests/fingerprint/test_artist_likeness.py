"""Artists in the index: registering a recording builds its artists' style profiles; an upload that uses
none of the catalogue but sounds like a registered artist is stored as an imitation candidate of that
artist; profiles follow a recording's artists; a failed registration leaves the artists' index as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from catalog.models import Artist, Recording
from fingerprint import actions, artist_index, style, style_views
from tests import audio as test_audio
from tests import factories

pytestmark = pytest.mark.django_db

RATE = test_audio.SR  # the rate tests.audio.write encodes at


def test_a_new_track_in_an_artists_sound_is_an_imitation_candidate_of_that_artist(
    tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    artists = factories.artist_catalogue(tmp_path)
    assert artist_index.store().artist_count() == 3

    for style_of in (0, 1, 2):
        fresh = test_audio.artist_track(style_of, 900 + style_of, seconds=30.0, rate=RATE)  # never registered
        upload = test_audio.write(tmp_path / f"sounds-like-{style_of}.mp3", fresh)
        scan = factories.identified(upload, django_capture_on_commit_callbacks)

        assert not scan.matches.exists() and not scan.work_matches.exists()
        (candidate,) = scan.artist_matches.all()
        assert candidate.artist == artists[style_of]
        assert candidate.exclusivity >= 0.95 and candidate.typicality >= 0.1
        assert candidate.style_version == style.STYLE_VERSION


def test_an_upload_of_a_registered_recording_is_a_recording_match_not_a_likeness(
    tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    factories.artist_catalogue(tmp_path)
    original = test_audio.artist_track(1, 101, seconds=25.0, rate=RATE)  # artist 1's second registered recording
    upload = test_audio.write(tmp_path / "copy.mp3", test_audio.excerpt(original, 5.0, 15.0))

    scan = factories.identified(upload, django_capture_on_commit_callbacks)

    assert scan.matches.exists()
    assert not scan.artist_matches.exists()


def test_audio_unlike_every_artist_names_none(tmp_path: Path, django_capture_on_commit_callbacks) -> None:
    factories.artist_catalogue(tmp_path)
    t = np.arange(30 * RATE) / RATE
    sweep = 0.3 * np.sin(2 * np.pi * (200 * t + (3000 - 200) / 60 * t**2))  # one tone gliding up, no beat
    hiss = 0.1 * style_views.pink_noise(len(t), np.random.default_rng(1))  # steady noise
    for name, samples in (("sweep", sweep), ("hiss", hiss)):
        upload = test_audio.write(tmp_path / f"{name}.wav", samples.astype(np.float32))
        assert not factories.identified(upload, django_capture_on_commit_callbacks).artist_matches.exists(), name


def test_profiles_follow_a_recordings_artists(tmp_path: Path, django_capture_on_commit_callbacks) -> None:
    artists = factories.artist_catalogue(tmp_path)
    newcomer = Artist.objects.create(name="Newcomer")
    with django_capture_on_commit_callbacks(execute=True):
        for recording in Recording.objects.filter(artists=artists[2]):
            recording.artists.set([newcomer])  # the label corrects who made them

    fresh = test_audio.write(tmp_path / "sounds-like-2.wav", test_audio.artist_track(2, 950, seconds=30.0, rate=RATE))
    (candidate,) = factories.identified(fresh, django_capture_on_commit_callbacks).artist_matches.all()
    assert candidate.artist == newcomer


def test_a_recording_registered_before_its_artist_joins_the_profile_when_the_artist_is_added(
    tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    artists = factories.artist_catalogue(tmp_path)
    late = factories.recording(2000)
    path = test_audio.write(tmp_path / "late.wav", test_audio.artist_track(0, 55, seconds=25.0, rate=RATE))
    asset = actions.register_reference(late, path)
    assert asset.pk not in artist_index.store().rows()["asset"]  # no artist yet: nothing to profile

    with django_capture_on_commit_callbacks(execute=True):
        artists[0].recordings.add(late)  # from the artist's side of the relation

    assert asset.pk in artist_index.store().rows()["asset"]
    with django_capture_on_commit_callbacks(execute=True):
        late.artists.clear()
    assert asset.pk not in artist_index.store().rows()["asset"]


def test_a_failed_registration_leaves_the_artists_index_as_it_was(tmp_path: Path, monkeypatch) -> None:
    artists = factories.artist_catalogue(tmp_path)
    before = artist_index.store().rows().copy()

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("disk full while writing the landmark store")

    monkeypatch.setattr(actions.landmark_store().__class__, "add_many", broken)
    with pytest.raises(OSError):
        factories.artist_recording(tmp_path, artists[0], 0, 77)

    after = artist_index.store().rows()
    assert sorted(after["asset"].tolist()) == sorted(before["asset"].tolist())
    assert artist_index.store().artist_count() == 3


def test_build_index_rebuilds_the_artists_index_from_the_reference_files(tmp_path: Path) -> None:
    factories.artist_catalogue(tmp_path)
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
