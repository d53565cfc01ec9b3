"""WAV and FLAC PCM are read by libsndfile in large blocks (fast), everything else by ffmpeg: both
readers must give the same samples and the same file facts, or references indexed before would no
longer line up with queries read the other way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from fingerprint import audio, params

RATE = params.ANALYSIS_SAMPLE_RATE


@pytest.mark.parametrize(
    ("fmt", "subtype", "channels", "rate"),
    [
        ("wav", "PCM_16", 1, 44100),
        ("wav", "PCM_16", 2, 48000),
        ("wav", "PCM_24", 2, 44100),
        ("wav", "PCM_32", 1, 22050),
        ("wav", "FLOAT", 2, 44100),
        ("flac", "PCM_16", 2, 44100),
        ("flac", "PCM_24", 1, 96000),
    ],
)
def test_pcm_read_by_libsndfile_is_bit_identical_to_ffmpeg(
    tmp_path: Path, fmt: str, subtype: str, channels: int, rate: int
) -> None:
    music = (np.random.default_rng(rate + channels).standard_normal((rate * 5, channels)) * 0.2).clip(-1, 1)
    path = tmp_path / f"take.{fmt}"
    soundfile.write(path, music, rate, subtype=subtype)

    fast = audio._read_with_libsndfile(path, fmt, RATE, 3600.0)
    samples, info, declared = audio._read_with_ffmpeg(path, fmt, RATE, 3600.0)

    assert fast is not None, "this PCM should take the libsndfile path"
    assert np.array_equal(fast[0], samples)
    assert fast[1:] == (info, declared) and declared == pytest.approx(5.0)


@pytest.mark.parametrize("subtype", ["PCM_U8", "ULAW", "ALAW"])
def test_other_wav_encodings_are_left_to_ffmpeg_and_still_decode(tmp_path: Path, subtype: str) -> None:
    path = tmp_path / "old.wav"
    soundfile.write(path, np.sin(np.arange(8000 * 3) * 0.3) * 0.5, 8000, subtype=subtype)

    assert audio._read_with_libsndfile(path, "wav", RATE, 3600.0) is None
    decoded = audio.decode(path, max_bytes=1 << 30, max_duration_s=3600.0)
    assert decoded.duration_s == pytest.approx(3.0, abs=0.01) and decoded.info.codec.startswith("pcm_")


def test_a_wav_longer_than_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    soundfile.write(path, np.zeros((44100 * 30, 1)) + 0.1, 44100, subtype="PCM_16")

    with pytest.raises(audio.AudioError) as refused:
        audio.decode(path, max_bytes=1 << 30, max_duration_s=20.0)

    assert refused.value.code == "too_long"
