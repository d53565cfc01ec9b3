from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.core.files import File

from catalog import synth
from catalog.checksums import sha256_file
from catalog.models import AudioAsset
from fingerprint import audio
from generation_audit import decoders, degradations

RATE = 44100  # Hz: the comb tests run at CD rate, where a 44.1 kHz / 512 decoder's comb sits at 86.13 Hz


@pytest.fixture(scope="session")
def music() -> np.ndarray:
    """12 s of synthetic music at 44.1 kHz (catalog.synth, upsampled), shared by the detector tests."""
    return degradations.resample(synth.compose(5, 12.0).samples, synth.SAMPLE_RATE, RATE)


def stored_upload(path: Path, samples: np.ndarray) -> AudioAsset:
    """`samples` (at RATE) written to `path` as WAV and stored as an upload asset (no scan)."""
    path.write_bytes(audio.encode(samples / np.abs(samples).max() * 0.9, RATE, "wav"))
    asset = AudioAsset(
        kind=AudioAsset.Kind.UPLOAD,
        original_name=path.name,
        sha256=sha256_file(path),
        size_bytes=path.stat().st_size,
        format="wav",
        sample_rate=RATE,
        channels=1,
        duration_s=len(samples) / RATE,
    )
    with path.open("rb") as fh:
        asset.file.save(path.name, File(fh), save=False)
    asset.save()
    return asset


@pytest.fixture
def generated_upload(tmp_path: Path, music: np.ndarray) -> AudioAsset:
    """8 s of music through a transposed-convolution decoder (strides 8*8*4*2: a comb every 86.13 Hz)."""
    spec = decoders.DecoderSpec("t", RATE, (8, 8, 4, 2), bias_db=-40.0, weight_noise=0.02, rectify=0.05)
    return stored_upload(tmp_path / "generated.wav", decoders.decode(music[: 8 * RATE], spec, seed=1))
