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


def cover(
    seed: int, duration_s: float = 25.0, transpose: int = 2, tempo_factor: float = 1.1, timbre_seed: int = 77
) -> np.ndarray:
    """Another performance of the composition `seed`: moved up `transpose` semitones, `tempo_factor` times
    faster, on other instruments (see synth.compose)."""
    return synth.compose(
        seed, duration_s, transpose=transpose, tempo_factor=tempo_factor, timbre_seed=timbre_seed
    ).samples


def mix(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """`first` and `second` at equal power, as long as the shorter, peak-normalised."""
    n = min(len(first), len(second))
    a, b = first[:n].astype(np.float64), second[:n].astype(np.float64)
    mixed = a + b * np.sqrt(np.mean(a**2) / np.mean(b**2))
    return (mixed / np.abs(mixed).max() * 0.9).astype(np.float32)


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


def artist_track(artist: int, seed: int, seconds: float = 40.0, rate: int = 16000) -> np.ndarray:
    """A track in one of three synthetic artist styles (catalog.synth.artist_style)."""
    return synth.artist_style(artist, seed, seconds, rate)
