"""Style vectors: what a track sounds like (timbre, texture, rhythm), not which recording it is.

The exact-match fingerprint is built to tell two recordings of one artist apart; artist likeness
needs the opposite: two different tracks by one artist should land close. A style vector pools a
whole track (or excerpt) into statistics that change slowly with the artist's instruments,
production and groove, and not with the melody, key or the excerpt chosen:

- timbre: the mean, spread and 90th percentile of a log-mel spectrum (48 bands, 60 Hz to 7.6 kHz)
  over time (the percentile follows the instruments' peaks, which added noise hides least);
- texture: how fast each band moves (mean absolute frame-to-frame change);
- modulation: band-energy fluctuation at 0.5-12 Hz in four band groups (tremolo, articulation);
- rhythm: the autocorrelation of the onset strength over lags of 0.25 to 2 s, on a log-lag grid,
  so a groove's periodicities count, not its absolute tempo alone.

Each block is L2-normalised and weighted, so no block dominates by its dimension count. Vectors
are compared after centring on a collection's mean (`Metric`): raw spectra of all music share a
large common component that would otherwise make every cosine near 1.
Pure numpy and scipy; no Django.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import signal

SAMPLE_RATE = 16000  # Hz: timbre up to 8 kHz is enough to tell production styles apart
N_FFT = 1024  # samples: 64 ms windows
HOP = 512  # samples: 32 ms, 31.25 frames/s
N_MELS = 48
F_MIN, F_MAX = 60.0, 7600.0  # Hz
MOD_BANDS = (0.5, 1.5, 3.0, 6.0, 12.0)  # Hz edges of the modulation bins
RHYTHM_LAGS = 24  # log-spaced onset-autocorrelation lags from 0.25 s to 2 s
BLOCK_WEIGHTS = {
    "timbre_mean": 1.0,
    "timbre_spread": 0.7,
    "timbre_peaks": 0.7,
    "texture": 0.7,
    "modulation": 0.5,
    "rhythm": 0.6,
}
STYLE_VERSION = "style-2"
DIM = 4 * N_MELS + 4 * (len(MOD_BANDS) - 1) + RHYTHM_LAGS


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10 ** (mel / 2595.0) - 1.0)


def mel_filterbank() -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) triangular filters on the HTK mel scale, each summing to 1."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(np.array(F_MIN)), _hz_to_mel(np.array(F_MAX)), N_MELS + 2))
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    bank = np.zeros((N_MELS, len(freqs)), np.float64)
    for i in range(N_MELS):
        lo, mid, hi = edges[i : i + 3]
        rising = (freqs - lo) / max(mid - lo, 1e-9)
        falling = (hi - freqs) / max(hi - mid, 1e-9)
        bank[i] = np.clip(np.minimum(rising, falling), 0, None)
        bank[i] /= max(bank[i].sum(), 1e-12)
    return bank


_BANK = mel_filterbank()


def log_mel(samples: np.ndarray) -> np.ndarray:
    """(frames, N_MELS) log-mel energies in dB of mono samples at SAMPLE_RATE."""
    _, _, spec = signal.stft(
        samples.astype(np.float32), nperseg=N_FFT, noverlap=N_FFT - HOP, window="hann", boundary=None, padded=False
    )
    bands = (np.abs(spec) ** 2).T @ _BANK.T  # frames x mel bands
    # A floor 80 dB under the loudest band keeps the vector independent of the playback level.
    return 10.0 * np.log10(bands + max(float(bands.max()), 1e-20) * 1e-8)


def _unit(block: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(block))
    return block / norm if norm > 0 else block


def _modulation(levels: np.ndarray) -> np.ndarray:
    """Band-energy fluctuation per modulation band, for four groups of mel bands (low to high)."""
    frame_rate = SAMPLE_RATE / HOP
    groups = np.array_split(levels, 4, axis=1)
    freqs = np.fft.rfftfreq(len(levels), 1.0 / frame_rate)
    out = []
    for group in groups:
        envelope = group.mean(axis=1)
        spectrum = np.abs(np.fft.rfft(envelope - envelope.mean())) / max(len(envelope), 1)
        for lo, hi in itertools.pairwise(MOD_BANDS):
            band = spectrum[(freqs >= lo) & (freqs < hi)]
            out.append(float(band.mean()) if len(band) else 0.0)
    return np.log1p(np.array(out) * 10.0)


def _rhythm(levels: np.ndarray) -> np.ndarray:
    """Onset-strength autocorrelation at log-spaced lags from 0.25 s to 2 s (normalised at lag 0)."""
    flux = np.clip(np.diff(levels, axis=0), 0, None).mean(axis=1)
    flux = flux - flux.mean()
    frame_rate = SAMPLE_RATE / HOP
    lags = np.unique(np.round(np.geomspace(0.25 * frame_rate, 2.0 * frame_rate, RHYTHM_LAGS)).astype(int))
    energy = float(flux @ flux)
    if energy <= 0 or len(flux) <= lags[-1]:
        return np.zeros(RHYTHM_LAGS)
    values = np.array([float(flux[:-lag] @ flux[lag:]) / energy for lag in lags])
    return np.pad(values, (0, RHYTHM_LAGS - len(values)))


def style_vector(samples: np.ndarray) -> np.ndarray:
    """The DIM-long style vector of mono samples at SAMPLE_RATE (at least ~3 s), before centring."""
    levels = log_mel(samples)
    loud = levels.mean(axis=1) > levels.mean(axis=1).max() - 50.0  # drop silent frames (gaps, fades)
    levels = levels[loud] if loud.sum() >= 32 else levels
    blocks = {
        "timbre_mean": levels.mean(axis=0) - levels.mean(),  # spectral shape, not loudness
        "timbre_spread": levels.std(axis=0),
        "timbre_peaks": np.percentile(levels, 90, axis=0) - levels.mean(),
        "texture": np.abs(np.diff(levels, axis=0)).mean(axis=0),
        "modulation": _modulation(levels),
        "rhythm": _rhythm(levels),
    }
    return np.concatenate([BLOCK_WEIGHTS[name] * _unit(block) for name, block in blocks.items()]).astype(np.float32)


WCCN_RIDGE = 0.03  # added to the within-artist covariance: less and noise directions get blown up


@dataclass(frozen=True)
class Metric:
    """How style vectors are compared within a registered collection: centred and scaled by the
    collection, then whitened by the within-artist covariance (WCCN), so that what varies between
    one artist's own tracks and their degraded copies (noise, codecs, excerpt choice) counts less
    than what tells artists apart. Fitted on registered tracks only, never on queries."""

    mean: np.ndarray
    scale: np.ndarray
    transform: np.ndarray

    @classmethod
    def fit(cls, vectors: np.ndarray, artists: np.ndarray | None = None, ridge: float = WCCN_RIDGE) -> Metric:
        """Fit on raw style vectors; with `artists` (a label per row), also the WCCN transform."""
        vectors = np.asarray(vectors, np.float64)
        scale = vectors.std(axis=0) if len(vectors) > 1 else np.ones(vectors.shape[1])
        metric = cls(vectors.mean(axis=0), np.where(scale > 1e-6, scale, 1.0), np.eye(vectors.shape[1]))
        if artists is None:
            return metric
        z = metric.apply(vectors)
        artists = np.asarray(artists)
        within = np.zeros((z.shape[1], z.shape[1]))
        for artist in np.unique(artists):
            own = z[artists == artist]
            own = own - own.mean(axis=0)
            within += own.T @ own
        within = within / len(z) + ridge * np.eye(z.shape[1])
        values, vectors_ = np.linalg.eigh(within)
        return cls(metric.mean, metric.scale, vectors_ @ np.diag(values**-0.5) @ vectors_.T)

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Rows mapped into the metric and L2-normalised (cosine = inner product)."""
        z = ((np.atleast_2d(vectors) - self.mean) / self.scale) @ self.transform
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        return (z / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def profile(vectors: np.ndarray) -> np.ndarray:
    """An artist's profile: the normalised mean of their tracks' centred style vectors."""
    mean = np.asarray(vectors, np.float64).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm if norm > 0 else mean).astype(np.float32)
