"""A stereo upload whose right channel is its left one inverted (R = -L) sums to silence in a plain mono
downmix: a known way to slip a track past fingerprinting, which made such uploads "silent". The readers
undo it (fingerprint.audio.PolarityGuard) and leave every other stereo file exactly as it was."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest

from fingerprint import audio
from generation_audit import native_audio
from tests import audio as test_audio

SR = test_audio.SR
LIMITS = {"max_bytes": 1 << 30, "max_duration_s": 60}


def _stereo(left: np.ndarray, right: np.ndarray, container_format: str, codec: str) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=SR, layout="stereo")
        if codec == "libmp3lame":
            stream.bit_rate = 192_000
        both = np.stack([left, right]).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(both, format="fltp", layout="stereo")
        frame.sample_rate = SR
        for out in av.AudioResampler(format=stream.codec_context.format.name, layout="stereo", rate=SR).resample(frame):
            container.mux(stream.encode(out))
        container.mux(stream.encode(None))
    return buf.getvalue()


def _decoded(path: Path, data: bytes) -> np.ndarray:
    path.write_bytes(data)
    return audio.decode(path, **LIMITS).samples


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    return test_audio.piece(3, 8.0) * 0.5


@pytest.mark.parametrize(("container_format", "codec"), [("wav", "pcm_s16le"), ("mp3", "libmp3lame"), ("ipod", "aac")])
def test_an_inverted_channel_decodes_to_the_music_not_to_silence(
    container_format: str, codec: str, music: np.ndarray, tmp_path: Path
) -> None:
    same = _decoded(tmp_path / "same.bin", _stereo(music, music, container_format, codec))
    inverted = _decoded(tmp_path / "inverted.bin", _stereo(music, -music, container_format, codec))
    n = min(len(same), len(inverted))
    # PCM gives the very same samples. Joint-stereo codecs code the two files differently, and after a
    # codec's ambiguous priming frame the guard looks again a quarter second later.
    settled = 0 if codec.startswith("pcm") else audio.params.ANALYSIS_SAMPLE_RATE // 2
    least = 0.9999 if codec.startswith("pcm") else 0.98
    assert np.corrcoef(same[settled:n], inverted[settled:n])[0, 1] > least
    assert np.sqrt(np.mean(inverted**2)) > 0.5 * np.sqrt(np.mean(same**2))


def test_a_channel_inverted_half_way_through_is_caught_within_a_second(music: np.ndarray, tmp_path: Path) -> None:
    right = music.copy()
    right[len(right) // 2 :] *= -1
    decoded = _decoded(tmp_path / "switch.wav", _stereo(music, right, "wav", "pcm_s16le"))
    rate = audio.params.ANALYSIS_SAMPLE_RATE
    second_half = decoded[int(5.2 * rate) :]  # from 1.2 s after the switch at 4 s
    assert np.sqrt(np.mean(second_half**2)) > 0.3 * np.sqrt(np.mean(decoded[: 4 * rate] ** 2))


def test_ordinary_and_wide_stereo_decode_exactly_as_without_the_guard(
    music: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = test_audio.piece(8, 8.0) * 0.5
    files = {
        "panned": _stereo(music + 0.3 * other, 0.7 * music + other, "wav", "pcm_s16le"),  # mostly common
        "wide": _stereo(music, other, "mp3", "libmp3lame"),  # unrelated channels: sum and difference alike
    }
    guarded = {name: _decoded(tmp_path / f"{name}.bin", data) for name, data in files.items()}
    monkeypatch.setattr(audio.PolarityGuard, "DOMINANCE", np.inf)  # never switches: the plain downmix
    for name, data in files.items():
        assert np.array_equal(guarded[name], _decoded(tmp_path / f"{name}-plain.bin", data)), name


def test_provenance_reads_an_inverted_channel_too(music: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "inverted.wav"
    path.write_bytes(_stereo(music, -music, "wav", "pcm_s16le"))
    inverted = native_audio.load(path)
    path.write_bytes(_stereo(music, music, "wav", "pcm_s16le"))
    same = native_audio.load(path)
    assert np.array_equal(inverted.samples, same.samples)


@pytest.mark.django_db
def test_an_upload_with_an_inverted_channel_is_identified(tmp_path: Path, settings: object) -> None:
    settings.FINGERPRINT_EMBEDDINGS = False  # type: ignore[attr-defined]  # the landmarks decide alone
    from fingerprint import actions
    from tests import factories

    recording = factories.registered_recording(tmp_path, 21)
    excerpt = test_audio.excerpt(test_audio.piece(21), 9.0, 10.0) * 0.5
    path = tmp_path / "upload.mp3"
    path.write_bytes(_stereo(excerpt, -excerpt, "mp3", "libmp3lame"))

    found = actions.find_alignments(path)
    assert found and found[0].ref_id == recording.reference_assets.get().pk
    assert abs(found[0].offset_s - 9.0) < 0.5
