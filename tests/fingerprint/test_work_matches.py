"""Covers in scans: an upload that performs a catalogue work (another key, tempo and instruments) gets a
work match, unless a recording it matched already embeds the work; renditions are registered all or nothing."""

from __future__ import annotations

import json
import logging
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from catalog import identifiers
from catalog.models import AudioAsset
from fingerprint import actions, audio, work_features, works
from fingerprint.work_store import WorkIndexMismatchError
from tests import audio as test_audio
from tests import factories
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db

SAMPLE_RATE = work_features.SAMPLE_RATE
SONG, OTHER_SONGS = 1, (2, 3)  # synth seeds: the composition covered, and two more in the catalogue


def _catalogue(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Three works with registered renditions; returns the one the tests cover."""
    song = factories.registered_work(tmp_path, 1, SONG)
    for index, seed in enumerate(OTHER_SONGS, start=2):
        factories.registered_work(tmp_path, index, seed)
    return song


def test_a_cover_in_another_key_and_tempo_is_found_as_its_work(
    tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    song = _catalogue(tmp_path)
    upload = test_audio.write(tmp_path / "cover.mp3", test_audio.cover(SONG, transpose=2, tempo_factor=1.1))

    scan = factories.identified(upload, django_capture_on_commit_callbacks)

    assert not scan.matches.exists()  # no recording of it is registered
    (found,) = scan.work_matches.all()
    assert found.work == song
    assert found.rendition == song.renditions.get()
    assert found.transpose_semitones == 2
    assert found.tempo_ratio == pytest.approx(1.1, abs=0.04)
    assert found.duration_s > 15 and found.reference_end_s > found.reference_start_s
    assert found.confidence > 0.5 and found.engine_version == works.ENGINE_VERSION
    assert found.summary == f"melody match, transposed +2 st, tempo x{found.tempo_ratio:.2f}"


@pytest.mark.parametrize("embeds_the_work", [True, False])
def test_a_registered_recording_of_the_work_covers_it_only_when_it_embeds_it(
    tmp_path: Path, django_capture_on_commit_callbacks, embeds_the_work: bool
) -> None:
    song = _catalogue(tmp_path)
    version = test_audio.cover(SONG, duration_s=30.0, transpose=-3, tempo_factor=0.9, timbre_seed=78)
    recording = factories.recording(10)
    actions.register_reference(recording, test_audio.write(tmp_path / "version.wav", version))
    if embeds_the_work:
        recording.works.add(song)
    upload = test_audio.write(tmp_path / "clip.mp3", test_audio.excerpt(version, 4.0, 22.0))

    scan = factories.identified(upload, django_capture_on_commit_callbacks)

    assert [m.recording for m in scan.matches.all()] == [recording]
    if embeds_the_work:  # the recording's claim covers the work already: no second match for it
        assert not scan.work_matches.exists()
    else:
        (found,) = scan.work_matches.all()
        assert (found.work, found.transpose_semitones) == (song, -3)


def test_music_outside_the_catalogue_performs_no_work(tmp_path: Path, django_capture_on_commit_callbacks) -> None:
    _catalogue(tmp_path)
    upload = test_audio.write(tmp_path / "unrelated.mp3", test_audio.piece(999, 25.0))

    scan = factories.identified(upload, django_capture_on_commit_callbacks)

    assert not scan.work_matches.exists()


def test_works_the_bench_cli_registered_are_not_catalogue_works(
    tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    folder = tmp_path / "bench"
    folder.mkdir()
    test_audio.write(folder / "w1.flac", test_audio.piece(SONG))
    (folder / "works.tsv").write_text("W1\tw1.flac\n")
    call_command("register_works", list_path=str(folder / "works.tsv"), stderr=StringIO())
    upload = test_audio.write(tmp_path / "cover.mp3", test_audio.cover(SONG))

    scan = factories.identified(upload, django_capture_on_commit_callbacks)

    store = actions.work_store()
    heard = store.identify(actions.decode_for_analysis(upload, work_features.SAMPLE_RATE).samples, SAMPLE_RATE)
    assert [store.work_id(m.ref_id) for m in heard if m.accepted] == ["W1"]  # heard, but not a catalogue work
    assert not scan.work_matches.exists()


def test_a_broken_work_index_is_logged_and_the_recording_match_kept(
    tmp_path: Path, django_capture_on_commit_callbacks, caplog: pytest.LogCaptureFixture
) -> None:
    _catalogue(tmp_path)
    recording = factories.registered_recording(tmp_path, seed=40)
    index = Path(settings.FINGERPRINT_INDEX_DIR) / "works" / "works.json"
    index.write_text(json.dumps({**json.loads(index.read_text()), "feature_version": "an-older-one"}))
    upload = test_audio.write(tmp_path / "clip.mp3", test_audio.excerpt(test_audio.piece(40), 3.0, 15.0))

    with caplog.at_level(logging.ERROR, logger="fingerprint.actions"):
        scan = factories.identified(upload, django_capture_on_commit_callbacks)

    assert [m.recording for m in scan.matches.all()] == [recording]
    assert not scan.work_matches.exists()
    assert f"Work identification failed for scan {scan.pk}" in caplog.text


def test_the_same_rendition_again_changes_nothing(tmp_path: Path) -> None:
    song = factories.work(1)
    path = test_audio.write(tmp_path / "rendition.flac", test_audio.piece(SONG))

    first = actions.register_rendition(song, path)
    again = actions.register_rendition(song, path)

    assert again == first and first.kind == AudioAsset.Kind.RENDITION and first.work == song
    assert AudioAsset.objects.count() == 1
    assert actions.work_store().ids() == {f"work:{song.pk}": 0}


def test_a_rendition_is_registered_all_or_nothing(tmp_path: Path) -> None:
    song = factories.work(1)
    media = Path(settings.MEDIA_ROOT)
    not_audio = tmp_path / "lyrics.mp3"
    not_audio.write_bytes(b"These are the lyrics, not the song.\n" * 50)

    with pytest.raises(audio.AudioError):
        actions.register_rendition(song, not_audio)
    assert not AudioAsset.objects.exists() and not stored_files(media)

    # The work index on disk was written by another version: registering fails after the file was stored.
    store_dir = Path(settings.FINGERPRINT_INDEX_DIR) / "works"
    store_dir.mkdir(parents=True)
    (store_dir / "works.json").write_text(json.dumps({"format_version": 1, "feature_version": "old", "works": {}}))
    with pytest.raises(WorkIndexMismatchError):
        actions.register_rendition(song, test_audio.write(tmp_path / "rendition.flac", test_audio.piece(SONG)))
    assert not AudioAsset.objects.exists() and not stored_files(media)


def test_a_rendition_of_one_work_cannot_be_registered_for_another(tmp_path: Path) -> None:
    path = test_audio.write(tmp_path / "rendition.flac", test_audio.piece(SONG))
    actions.register_rendition(factories.work(1), path)

    with pytest.raises(actions.ReferenceConflictError, match="already the rendition of work Work 1"):
        actions.register_rendition(factories.work(2), path)
    assert AudioAsset.objects.count() == 1


def test_register_renditions_registers_each_line_and_reports_the_others(tmp_path: Path) -> None:
    song, other = factories.work(1), factories.work(2)
    test_audio.write(tmp_path / "song.flac", test_audio.piece(SONG))
    (tmp_path / "broken.mp3").write_bytes(b"not audio")
    unknown = f"T999999999{identifiers.iswc_check_digit('999999999')}"
    listing = tmp_path / "renditions.tsv"
    listing.write_text(
        f"{identifiers.format_iswc(song.iswc)}\tsong.flac\n{unknown}\tsong.flac\n{other.iswc}\tbroken.mp3\n"
    )
    out, err = StringIO(), StringIO()

    call_command("register_renditions", list_path=str(listing), stdout=out, stderr=err)

    assert "Registered 1 renditions, failed 2" in out.getvalue()
    assert f"{unknown}\t" in err.getvalue() and "no catalogue work has this ISWC" in err.getvalue()
    assert "broken.mp3" in err.getvalue()
    assert song.renditions.get().original_name == "song.flac"
    assert not other.renditions.exists()
    assert actions.work_store().ids() == {f"work:{song.pk}": 0}


def test_build_index_rebuilds_the_work_index_from_the_catalogues_renditions(
    tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    """After an upgrade changes the work features, the index on disk cannot be read; build_index
    re-analyses every work's rendition, and covers are found again."""
    song = _catalogue(tmp_path)
    ids = Path(settings.FINGERPRINT_INDEX_DIR) / "works" / "works.json"
    written = json.loads(ids.read_text())
    ids.write_text(json.dumps({**written, "feature_version": "an-older-version"}))
    cover = test_audio.write(tmp_path / "cover.mp3", test_audio.cover(SONG, transpose=2, tempo_factor=1.1))
    assert not factories.identified(
        cover, django_capture_on_commit_callbacks
    ).work_matches.exists()  # unreadable: none, logged

    call_command("build_index", verbosity=0)

    assert json.loads(ids.read_text())["feature_version"] == work_features.FEATURE_VERSION
    again = test_audio.write(tmp_path / "cover-again.mp3", test_audio.cover(SONG, transpose=2, tempo_factor=1.1) * 0.9)
    (found,) = factories.identified(again, django_capture_on_commit_callbacks).work_matches.all()
    assert found.work == song and found.transpose_semitones == 2
