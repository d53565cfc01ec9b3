"""Spectral-peak landmarks: constellation peaks paired into hashes (Wang 2003 style).

Pure functions on numpy arrays. Units: samples at params.ANALYSIS_SAMPLE_RATE in, frames of
params.HOP samples (params.FRAME_S seconds) and STFT bins (sample_rate / N_FFT Hz) out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from fingerprint import params


@dataclass(frozen=True)
class Landmarks:
    """Hashes (uint32) and their anchor frame (int32), in frame order; `n_frames` is the audio's length."""

    hashes: np.ndarray
    frames: np.ndarray
    n_frames: int

    def __len__(self) -> int:
        return len(self.hashes)


def log_spectrogram(samples: np.ndarray) -> np.ndarray:
    """Magnitude STFT in dB, shape (bins, frames), Hann window of N_FFT samples, hop HOP."""
    if len(samples) < params.N_FFT:
        samples = np.pad(samples, (0, params.N_FFT - len(samples)))
    n_frames = 1 + (len(samples) - params.N_FFT) // params.HOP
    frames = np.lib.stride_tricks.sliding_window_view(samples, params.N_FFT)[:: params.HOP][:n_frames]
    window = np.hanning(params.N_FFT).astype(np.float32)
    spectrum = np.abs(np.fft.rfft(frames * window, axis=1)).T.astype(np.float32)
    return 20.0 * np.log10(spectrum + 1e-6)


def find_peaks(spectrogram_db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local maxima of the spectrogram in the analysis band: (bins, frames), sorted by frame.

    A peak dominates its time-frequency neighbourhood, stands PEAK_MIN_DB_ABOVE_MEDIAN above its
    frame's median (so flat noise yields nothing), and is among the strongest PEAKS_PER_SECOND.
    """
    band = spectrogram_db[params.MIN_BIN : params.MAX_BIN]
    neighbourhood = (2 * params.PEAK_FREQ_NEIGHBOURHOOD + 1, 2 * params.PEAK_TIME_NEIGHBOURHOOD + 1)
    is_max = band == ndimage.maximum_filter(band, size=neighbourhood, mode="constant", cval=-np.inf)
    floor = np.median(band, axis=0, keepdims=True) + params.PEAK_MIN_DB_ABOVE_MEDIAN
    bins, frames = np.nonzero(is_max & (band > floor))
    if len(bins) == 0:
        return bins, frames
    strength = band[bins, frames] - floor[0, frames]
    budget = max(1, int(params.PEAKS_PER_SECOND * band.shape[1] * params.FRAME_S))
    if len(bins) > budget:
        keep = np.argpartition(-strength, budget - 1)[:budget]
        bins, frames = bins[keep], frames[keep]
    order = np.lexsort((bins, frames))
    return bins[order] + params.MIN_BIN, frames[order]


def pair_peaks(bins: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair each anchor peak with up to FAN_OUT later peaks in its target zone; hash each pair.

    Hash layout (23 bits): anchor bin (9) | bin difference + 128 (8) | frame difference (6).
    """
    n = len(bins)
    if n < 2:
        return np.zeros(0, np.uint32), np.zeros(0, np.int32)
    hashes: list[np.ndarray] = []
    anchors: list[np.ndarray] = []
    taken = np.zeros(n, dtype=np.int32)
    # Walk forward one neighbour distance at a time: vectorised over all anchors at once.
    for step in range(1, n):
        if not (taken < params.FAN_OUT).any():
            break
        anchor_idx = np.arange(n - step)
        target_idx = anchor_idx + step
        dt = frames[target_idx] - frames[anchor_idx]
        if dt.min() > params.TARGET_MAX_DT:
            break
        df = bins[target_idx].astype(np.int64) - bins[anchor_idx]
        ok = (
            (dt >= params.TARGET_MIN_DT)
            & (dt <= params.TARGET_MAX_DT)
            & (np.abs(df) <= params.TARGET_MAX_DF)
            & (taken[anchor_idx] < params.FAN_OUT)
        )
        if not ok.any():
            continue
        a = anchor_idx[ok]
        taken[a] += 1
        h = (bins[a].astype(np.uint32) << 14) | ((df[ok] + 128).astype(np.uint32) << 6) | dt[ok].astype(np.uint32)
        hashes.append(h)
        anchors.append(frames[a].astype(np.int32))
    if not hashes:
        return np.zeros(0, np.uint32), np.zeros(0, np.int32)
    h_all, t_all = np.concatenate(hashes), np.concatenate(anchors)
    order = np.argsort(t_all, kind="stable")
    return h_all[order], t_all[order]


def extract(samples: np.ndarray) -> Landmarks:
    """Landmarks of mono float32 audio at params.ANALYSIS_SAMPLE_RATE."""
    spectrogram_db = log_spectrogram(samples.astype(np.float32, copy=False))
    bins, frames = find_peaks(spectrogram_db)
    hashes, anchor_frames = pair_peaks(bins, frames)
    return Landmarks(hashes=hashes, frames=anchor_frames, n_frames=spectrogram_db.shape[1])
