"""Synthetic signals and encoded files for the tests: made in code, never copyrighted recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from catalog import synth
from fingerprint import audio

SR = synth.SAMPLE_RATE


def piece(seed: int, duration_s: float = 30.0) -> np.ndarray:
    """Deterministic synthesised music (melody, chords, bass, drums) for `seed`."""
    return synth.compose(seed, duration_s).samples


def excerpt(samples: np.ndarray, start_s: float, length_s: float) -> np.ndarray:
    return samples[int(start_s * SR) : int((start_s + length_s) * SR)].copy()


def add_noise(samples: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(len(samples)).astype(np.float32)
    noise *= np.sqrt(np.mean(samples**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    mixed = samples + noise
    return (mixed / max(1.0, float(np.abs(mixed).max()) / 0.95)).astype(np.float32)


def write(path: Path, samples: np.ndarray, fmt: str | None = None, bitrate: int | None = None) -> Path:
    """Encode `samples` (at SR) into `path` in `fmt` (default: the path's suffix)."""
    path.write_bytes(audio.encode(samples.astype(np.float32), SR, fmt or path.suffix.lstrip("."), bitrate=bitrate))
    return path
