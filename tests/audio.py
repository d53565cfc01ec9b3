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
    """A track by one of three synthetic 'artists', each with its own sound; every track has its own
    notes (drawn from a continuous range, so two tracks share no melody the fingerprint could match)
    and tempo within the artist's range:
    0: low sustained organ-like tones on a slow pulse; 1: bright short plucks at a fast pulse;
    2: mid-range sawtooth chords with noise-burst drums at a medium pulse."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t)
    if artist == 0:
        beat = 60 / rng.uniform(80, 95)
        for start in np.arange(0, seconds, beat):
            f = rng.uniform(140, 240) * rng.choice([1, 2])
            idx = (t >= start) & (t < start + beat)
            env = np.exp(-(t[idx] - start) * 1.5)
            out[idx] += env * sum(np.sin(2 * np.pi * k * f * t[idx]) / k for k in (1, 2, 3, 4))
    elif artist == 1:
        beat = 60 / rng.uniform(150, 175) / 2
        for start in np.arange(0, seconds, beat):
            f = rng.uniform(850, 1350) * rng.choice([1, 2])
            idx = (t >= start) & (t < start + beat)
            env = np.exp(-(t[idx] - start) * 30)
            out[idx] += env * np.sign(np.sin(2 * np.pi * f * t[idx]))
    else:
        beat = 60 / rng.uniform(100, 120)
        for start in np.arange(0, seconds, beat):
            idx = (t >= start) & (t < start + beat)
            root = rng.uniform(210, 300)
            for ratio in (1.0, 1.26, 1.5):  # a major triad of sawtooths
                out[idx] += 0.3 * (2 * ((root * ratio * t[idx]) % 1.0) - 1)
            drum = (t >= start) & (t < start + 0.08)
            out[drum] += rng.standard_normal(int(drum.sum())) * np.exp(-(t[drum] - start) * 60)
    return (0.3 * out / np.abs(out).max()).astype(np.float32)
