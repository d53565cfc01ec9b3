"""The provenance detectors read a file at its own rate (generation_audit.native_audio): every container
the fingerprint decoder accepts must reach them too, or a platform's upload goes unchecked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from catalog import synth
from fingerprint import audio
from generation_audit import native_audio


@pytest.mark.parametrize("fmt", ["mpegts", "wav", "flac", "m4a", "asf", "ac3"])
def test_every_accepted_container_is_read_at_its_native_rate(fmt: str, tmp_path: Path) -> None:
    piece = synth.compose(7, 6.0).samples
    path = tmp_path / "upload.bin"
    path.write_bytes(audio.encode(piece, synth.SAMPLE_RATE, fmt))

    loaded = native_audio.load(path)

    rate = {"ac3": 48000}.get(fmt, synth.SAMPLE_RATE)  # AC-3 was encoded at 48 kHz
    assert loaded.sample_rate == rate
    assert abs(len(loaded.samples) / loaded.sample_rate - 6.0) < 0.15
    assert np.sqrt(np.mean(loaded.samples**2)) > 0.01  # the music, not silence


def test_a_file_that_is_not_audio_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_bytes(b"G" + b"not audio at all, only a letter G first " * 20)
    with pytest.raises(audio.AudioError) as refused:
        native_audio.load(path)
    assert refused.value.code == "unsupported_format"
