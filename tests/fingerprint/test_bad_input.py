"""Unusable audio is refused with a clear error and leaves nothing behind; duplicates are recognised.

For both ways audio enters the system (a label registering reference audio, a platform submitting
an upload) every bad file raises audio.AudioError with a machine-readable code and a message for
people, and afterwards there is no new row, no stored file and no change to the landmark index.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as django_settings

from catalog.models import AudioAsset, Recording
from fingerprint import audio, landmarks, params
from fingerprint.actions import (
    ReferenceConflictError,
    Registration,
    identify_scan,
    landmark_store,
    register_reference,
    register_references,
    submit_upload,
)
from fingerprint.models import Match, ReferenceFingerprint, Scan
from tests import audio as ta
from tests.conftest import stored_files

GOOD_SEED = 11


# --------------------------------------------------------------------------- bad files


def _png_bytes() -> bytes:
    """A valid 1x1 grey PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b"")
    )


# A one-track MIDI file holding only the end-of-track event.
_MIDI_BYTES = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60" + b"MTrk\x00\x00\x00\x04\x00\xff\x2f\x00"


def _empty(folder: Path) -> Path:
    path = folder / "empty.wav"
    path.write_bytes(b"")
    return path


def _truncated_mp3(folder: Path) -> Path:
    whole = audio.encode(ta.piece(5, 10.0), ta.SR, "mp3")
    path = folder / "cut.mp3"
    path.write_bytes(whole[: len(whole) // 2])
    return path


def _truncated_wav(folder: Path) -> Path:
    whole = audio.encode(ta.piece(5, 10.0), ta.SR, "wav")
    path = folder / "cut.wav"
    path.write_bytes(whole[: len(whole) // 2])  # the header still promises 10 s
    return path


def _truncated_flac(folder: Path) -> Path:
    whole = audio.encode(ta.piece(5, 10.0), ta.SR, "flac")
    path = folder / "cut.flac"
    path.write_bytes(whole[: len(whole) // 2])
    return path


def _silent_flac(folder: Path) -> Path:
    return ta.write(folder / "silence.flac", np.zeros(5 * ta.SR, np.float32))


def _text_named_wav(folder: Path) -> Path:
    path = folder / "song.wav"
    path.write_text("These are the lyrics, not the song.\n" * 200)
    return path


def _png_named_mp3(folder: Path) -> Path:
    path = folder / "x.mp3"
    path.write_bytes(_png_bytes())
    return path


def _midi_named_mp3(folder: Path) -> Path:
    path = folder / "x.mp3"
    path.write_bytes(_MIDI_BYTES)
    return path


def _silence(folder: Path) -> Path:
    return ta.write(folder / "silence.wav", np.zeros(5 * ta.SR, np.float32))


def _half_second(folder: Path) -> Path:
    return ta.write(folder / "blip.wav", ta.piece(6, 0.5))


def _ten_seconds_wav(folder: Path) -> Path:
    return ta.write(folder / "ten.wav", ta.piece(7, 10.0))


def _ten_seconds_mp3(folder: Path) -> Path:
    return ta.write(folder / "ten.mp3", ta.piece(7, 10.0))


@dataclass(frozen=True)
class BadInput:
    make: Callable[[Path], Path]
    code: str
    says: str  # words the message must contain (lower case)
    limits: dict[str, int]


BAD_INPUTS = {
    "empty_file": BadInput(_empty, "empty", "empty", {}),
    "truncated_mp3": BadInput(_truncated_mp3, "truncated", "truncated", {}),
    "truncated_wav": BadInput(_truncated_wav, "truncated", "truncated", {}),
    # Cut mid-frame: the broken last frame is skipped and the file falls short of its stated length.
    "truncated_flac": BadInput(_truncated_flac, "truncated", "truncated", {}),
    "silent_flac": BadInput(_silent_flac, "silent", "silent", {}),
    "text_file_named_wav": BadInput(_text_named_wav, "unsupported_format", "not a supported audio format", {}),
    "png_named_mp3": BadInput(_png_named_mp3, "unsupported_format", "not a supported audio format", {}),
    "midi_named_mp3": BadInput(_midi_named_mp3, "unsupported_format", "not a supported audio format", {}),
    "silence": BadInput(_silence, "silent", "silent", {}),
    "half_a_second": BadInput(_half_second, "too_short", "at least 1.0 s", {}),
    "wav_over_max_duration": BadInput(_ten_seconds_wav, "too_long", "the limit is 5 s", {"AUDIO_MAX_DURATION_S": 5}),
    "mp3_over_max_duration": BadInput(_ten_seconds_mp3, "too_long", "limit", {"AUDIO_MAX_DURATION_S": 5}),
    "file_over_byte_limit": BadInput(
        _ten_seconds_wav, "too_large", "the limit is 4096 bytes", {"AUDIO_MAX_BYTES": 4096}
    ),
}

bad_inputs = pytest.mark.parametrize("bad", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))


def _assert_readable_refusal(exc: audio.AudioError, bad: BadInput) -> None:
    message = str(exc)
    assert exc.code == bad.code, message
    assert bad.says in message.lower()
    # A sentence for people, not a code or a traceback.
    assert message[0].isupper() and message.rstrip().endswith(".")
    assert len(message.split()) >= 4
    assert "Traceback" not in message


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Snapshot:
    assets: int
    fingerprints: int
    scans: int
    media: list[Path]
    index_files: list[Path]
    postings: int
    ref_ids: set[int]


def snapshot() -> Snapshot:
    store = landmark_store()
    return Snapshot(
        assets=AudioAsset.objects.count(),
        fingerprints=ReferenceFingerprint.objects.count(),
        scans=Scan.objects.count(),
        media=stored_files(Path(django_settings.MEDIA_ROOT)),
        index_files=stored_files(Path(django_settings.FINGERPRINT_INDEX_DIR)),
        postings=len(store),
        ref_ids=store.ref_ids(),
    )


@pytest.fixture(scope="module")
def good_reference_samples() -> np.ndarray:
    return ta.piece(GOOD_SEED, 25.0)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "incoming"  # outside MEDIA_ROOT and the index directory
    folder.mkdir()
    return folder


@pytest.fixture
def good_recording(inputs: Path, good_reference_samples: np.ndarray) -> Recording:
    """A recording with registered reference audio, so the index is not empty."""
    recording = Recording.objects.create(title="Good Song", isrc="USRC17607839")
    asset = register_reference(recording, ta.write(inputs / "good.flac", good_reference_samples))
    assert asset.recording_id == recording.pk
    assert landmark_store().ref_ids() == {asset.pk}
    return recording


def _identified_recordings(samples: np.ndarray, folder: Path, name: str) -> set[int]:
    """Submit `samples` as an upload, identify it, and return the recordings it matched."""
    scan = submit_upload(ta.write(folder / name, samples))
    scan = identify_scan(scan.pk)
    assert scan.status == Scan.Status.DONE, scan.error
    return set(Match.objects.filter(scan=scan).values_list("recording_id", flat=True))


def _apply(settings: object, limits: dict[str, int]) -> dict[str, object]:
    before = {name: getattr(settings, name) for name in limits}
    for name, value in limits.items():
        setattr(settings, name, value)
    return before


# --------------------------------------------------------------------------- register_reference


@pytest.mark.django_db
@bad_inputs
def test_bad_reference_audio_is_refused_and_nothing_is_stored_or_indexed(
    bad: BadInput, settings: object, inputs: Path, good_recording: Recording, good_reference_samples: np.ndarray
) -> None:
    target = Recording.objects.create(title="Another Song")
    path = bad.make(inputs)
    before = snapshot()
    assert before.postings > 0 and before.ref_ids

    original = _apply(settings, bad.limits)
    with pytest.raises(audio.AudioError) as caught:
        register_reference(target, path)
    _apply(settings, original)

    _assert_readable_refusal(caught.value, bad)
    assert snapshot() == before
    assert not AudioAsset.objects.filter(recording=target).exists()
    target.refresh_from_db()
    assert target.duration_s is None
    # The earlier reference still identifies.
    query = ta.add_noise(ta.excerpt(good_reference_samples, 8.0, 8.0), snr_db=15)
    assert _identified_recordings(query, inputs, "query.wav") == {good_recording.pk}


# --------------------------------------------------------------------------- submit_upload


@pytest.mark.django_db
@bad_inputs
def test_a_bad_upload_is_refused_and_nothing_is_stored(bad: BadInput, settings: object, inputs: Path) -> None:
    path = bad.make(inputs)
    _apply(settings, bad.limits)

    with pytest.raises(audio.AudioError) as caught:
        submit_upload(path, original_name=path.name)

    _assert_readable_refusal(caught.value, bad)
    assert AudioAsset.objects.count() == 0
    assert Scan.objects.count() == 0
    assert stored_files(Path(django_settings.MEDIA_ROOT)) == []


@pytest.mark.django_db
def test_a_refused_upload_can_be_resubmitted_once_fixed(inputs: Path) -> None:
    path = _truncated_mp3(inputs)
    with pytest.raises(audio.AudioError):
        submit_upload(path)
    ta.write(path, ta.piece(5, 10.0))  # the complete file this time

    scan = submit_upload(path)

    assert Scan.objects.get() == scan
    assert scan.asset.format == "mp3"
    assert scan.asset.duration_s == pytest.approx(10.0, abs=0.2)


# --------------------------------------------------------------------------- a failed index write


@pytest.mark.django_db
def test_a_batch_whose_index_write_fails_leaves_no_row_or_stored_copy_and_can_be_retried(
    inputs: Path, good_recording: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workers store each file's copy beside its analysis, before the batch is indexed: a failed
    # index write must take those copies away again, and a retry must store them whole.
    songs = [Recording.objects.create(title=f"Batch {n}") for n in range(3)]
    paths = [ta.write(inputs / f"batch{n}.wav", ta.piece(40 + n, 12.0)) for n in range(3)]
    before = snapshot()

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError("disk full while writing the landmark store")

    with monkeypatch.context() as patched:
        patched.setattr(landmark_store().__class__, "add_many", disk_full)
        with pytest.raises(OSError, match="disk full"):
            register_references([Registration(song, path) for song, path in zip(songs, paths, strict=True)], workers=2)
    after = snapshot()
    # (The vector index is rewritten by the rollback: same entries, a new generation's files.)
    assert (after.assets, after.fingerprints, after.media, after.postings, after.ref_ids) == (
        before.assets,
        before.fingerprints,
        before.media,
        before.postings,
        before.ref_ids,
    )

    done = register_references([Registration(song, path) for song, path in zip(songs, paths, strict=True)], workers=2)

    assert [item.error for item in done] == [None, None, None]
    for item in done:
        assert item.asset is not None and item.asset.recording == item.recording
        assert Path(item.asset.file.path).read_bytes() == item.path.read_bytes()
    assert len(snapshot().media) == len(before.media) + 3


@pytest.mark.django_db
def test_a_batch_whose_worker_crashes_leaves_no_stored_copy_of_any_file(
    inputs: Path, good_recording: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An unexpected error (not unusable audio) in one worker stops the batch; the copies the other
    # workers already stored, before or after it in the batch, are taken away.
    songs = [Recording.objects.create(title=f"Crash {n}") for n in range(4)]
    paths = [ta.write(inputs / f"crash{n}.wav", ta.piece(50 + n, 6.0 + 3 * n)) for n in range(4)]
    before = snapshot()
    extract = landmarks.extract

    def crash_on_the_second(samples: np.ndarray) -> landmarks.Landmarks:
        if abs(len(samples) / params.ANALYSIS_SAMPLE_RATE - 9.0) < 0.1:
            raise RuntimeError("worker crashed")
        return extract(samples)

    monkeypatch.setattr(landmarks, "extract", crash_on_the_second)
    with pytest.raises(RuntimeError, match="worker crashed"):
        register_references([Registration(song, path) for song, path in zip(songs, paths, strict=True)], workers=2)

    after = snapshot()
    assert (after.assets, after.fingerprints, after.media, after.ref_ids) == (
        before.assets,
        before.fingerprints,
        before.media,
        before.ref_ids,
    )


# --------------------------------------------------------------------------- duplicates


@pytest.mark.django_db
def test_registering_the_same_reference_twice_returns_the_same_asset_and_does_not_grow_the_index(
    inputs: Path, good_reference_samples: np.ndarray
) -> None:
    recording = Recording.objects.create(title="Twice")
    path = ta.write(inputs / "master.wav", good_reference_samples)

    first = register_reference(recording, path)
    after_first = snapshot()
    copy = inputs / "master-copy.wav"
    copy.write_bytes(path.read_bytes())
    second = register_reference(recording, copy, original_name="master-copy.wav")

    assert second.pk == first.pk
    assert snapshot() == after_first
    assert after_first.assets == 1 and after_first.fingerprints == 1 and len(after_first.media) == 1
    assert after_first.ref_ids == {first.pk}


@pytest.mark.django_db
def test_the_same_reference_audio_cannot_be_claimed_by_a_second_recording(
    inputs: Path, good_recording: Recording, good_reference_samples: np.ndarray
) -> None:
    rival = Recording.objects.create(title="Rival Claim")
    # The very bytes the good recording was registered with, under another name.
    path = ta.write(inputs / "claimed.flac", good_reference_samples)
    before = snapshot()

    with pytest.raises(ReferenceConflictError) as caught:
        register_reference(rival, path)

    assert "Good Song" in str(caught.value)
    assert snapshot() == before
    assert not AudioAsset.objects.filter(recording=rival).exists()
    rival.refresh_from_db()
    assert rival.duration_s is None
    # The audio still identifies as the original owner's recording, never the rival's.
    query = ta.excerpt(good_reference_samples, 3.0, 8.0)
    assert _identified_recordings(query, inputs, "query.wav") == {good_recording.pk}


@pytest.mark.django_db
def test_submitting_the_same_upload_twice_returns_the_same_scan(inputs: Path) -> None:
    path = ta.write(inputs / "clip.mp3", ta.piece(21, 6.0))
    first = submit_upload(path, original_name="clip.mp3")
    again = inputs / "clip-again.mp3"
    again.write_bytes(path.read_bytes())

    second = submit_upload(again, original_name="clip-again.mp3")

    assert second.pk == first.pk
    assert Scan.objects.count() == 1
    assert AudioAsset.objects.count() == 1
    assert len(stored_files(Path(django_settings.MEDIA_ROOT))) == 1
