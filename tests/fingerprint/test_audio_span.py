"""decode_span: a claim's spectrogram decodes only its span, and gets the same samples as a full decode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fingerprint import audio

RATE = 11025


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "m4a"])
def test_a_span_decoded_alone_equals_that_span_of_the_whole_file(tmp_path: Path, fmt: str) -> None:
    rng = np.random.default_rng(7)
    noise = (0.2 * rng.standard_normal(40 * 22050)).astype(np.float32)
    path = tmp_path / f"upload.{fmt}"
    path.write_bytes(audio.encode(noise, 22050, fmt))
    whole = audio.decode(path, RATE, max_bytes=10**9, max_duration_s=3600, min_duration_s=0).samples

    span = audio.decode_span(path, 25.0, 5.0, RATE)

    assert len(span) == 5 * RATE
    # Aligned to the sample; lossy decoders (and the resampler) settle within ~0.12 s after the seek.
    settled = int(0.15 * RATE)
    np.testing.assert_allclose(span[settled:], whole[25 * RATE + settled : 30 * RATE], atol=0.01)


def test_a_span_past_the_end_is_cut_at_the_end_and_a_span_outside_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    path.write_bytes(audio.encode(np.full(10 * 22050, 0.1, dtype=np.float32), 22050, "wav"))
    assert len(audio.decode_span(path, 8.0, 5.0, RATE)) == 2 * RATE
    assert len(audio.decode_span(path, 20.0, 5.0, RATE)) == 0


def test_a_corrupt_file_says_it_cannot_be_decoded(tmp_path: Path) -> None:
    path = tmp_path / "broken.mp3"
    path.write_bytes(b"ID3" + bytes(range(256)) * 40)
    with pytest.raises(audio.AudioError):
        audio.decode_span(path, 1.0, 2.0, RATE)
