"""The views of one track that style vectors are taken of, at registration and in the evaluation.

An artist's profile must describe the artist, not the delivery: a platform upload is an excerpt,
often re-encoded and noisy. So a registered track contributes its whole length and one mid-track
excerpt as it might arrive (clean, MP3 at 64 kbit/s, pink noise at 10 dB SNR); the metric
(fingerprint.style.Metric) then learns that these differences are within one artist.
"""

from __future__ import annotations

import tempfile

import numpy as np

from fingerprint import audio, style

CONDITIONS = ("clean", "mp3_64k", "pink_10db")
EXCERPT_S = 30.0  # seconds: a typical platform upload's length, and enough for the rhythm block
VIEWS = ("whole", *CONDITIONS)  # the rows a registered track contributes, in this order


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples of 1/f noise (white noise shaped in the frequency domain), unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    noise = np.fft.irfft(spectrum, n)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def degrade(samples: np.ndarray, condition: str, rng: np.random.Generator) -> np.ndarray:
    """The excerpt as a platform might deliver it (samples at style.SAMPLE_RATE)."""
    if condition == "clean":
        return samples
    if condition == "pink_10db":
        rms = np.sqrt(np.mean(samples**2)) + 1e-12
        return samples + pink_noise(len(samples), rng) * rms / 10 ** (10 / 20)
    if condition == "mp3_64k":
        with tempfile.NamedTemporaryFile(suffix=".mp3") as tmp:
            tmp.write(audio.encode(samples, style.SAMPLE_RATE, "mp3", bitrate=64000))
            tmp.flush()
            return audio.decode(tmp.name, style.SAMPLE_RATE, max_bytes=1 << 30, max_duration_s=3600).samples
    raise ValueError(f"unknown condition {condition!r}")


def excerpt(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A seeded EXCERPT_S-long stretch of the track (the whole track when shorter)."""
    n = int(EXCERPT_S * style.SAMPLE_RATE)
    start = int(rng.integers(0, max(1, len(samples) - n)))
    return samples[start : start + n]


def excerpt_vectors(samples: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Raw style vectors of one excerpt in every delivery condition."""
    part = excerpt(samples, rng)
    return {condition: style.style_vector(degrade(part, condition, rng)) for condition in CONDITIONS}


def registration_vectors(samples: np.ndarray, seed: int = 0) -> np.ndarray:
    """(len(VIEWS), style.DIM) raw style vectors of a registered track: whole, then the excerpt's views.
    Seeded, so registering the same audio again gives the same rows."""
    rng = np.random.default_rng(seed)
    views = excerpt_vectors(samples, rng)
    return np.stack([style.style_vector(samples), *(views[c] for c in CONDITIONS)]).astype(np.float32)
