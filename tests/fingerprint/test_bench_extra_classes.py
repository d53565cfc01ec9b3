"""The breadth suite's further degradation classes (fingerprint/bench_extra_classes.py) do what their
names say, so the figures reported for them measure what they claim to."""

from __future__ import annotations

import numpy as np

from fingerprint import bench_extra_classes

SR = 44100


def _tone(hz: float, seconds: float) -> np.ndarray:
    return np.sin(2 * np.pi * hz * np.arange(int(seconds * SR)) / SR)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


def test_every_class_is_named_once_and_none_reuses_a_public_class_name():
    names = bench_extra_classes.class_names()
    assert len(names) == len(set(names)) >= 20
    public = {"clean", "reverb", "mp3_64k", "opus_32k", "phone_band", "speed_+5pct", "pitch_+1st", "babble_snr5"}
    assert not public & set(names)


def test_dropouts_silence_a_tenth_of_a_second_once_a_second():
    y = bench_extra_classes._dropouts(_tone(440, 5.0), np.random.default_rng(1), SR)
    # Silent runs longer than the tone's own zero crossings: 4-5 of them, each 0.1 s long.
    padded = np.concatenate([[0], (y == 0).astype(int), [0]])
    starts, ends = np.flatnonzero(np.diff(padded) == 1), np.flatnonzero(np.diff(padded) == -1)
    runs = [n for n in ends - starts if n > 10]
    assert 4 <= len(runs) <= 5
    assert all(abs(n - 0.1 * SR) <= 2 for n in runs)


def test_wow_and_flutter_swing_the_pitch_by_about_half_a_percent_and_keep_the_length():
    x = _tone(1000, 6.0)
    y = bench_extra_classes._wow_flutter(x, SR)
    assert abs(len(y) - len(x)) <= 0.01 * len(x)
    # Instantaneous frequency from upward zero crossings, interpolated between samples, over 10 cycles.
    at = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    crossings = at + y[at] / (y[at] - y[at + 1])
    freq = 10 * SR / (crossings[10:] - crossings[:-10])
    assert 1.003 < freq.max() / 1000 < 1.008
    assert 0.992 < freq.min() / 1000 < 0.997


def test_clipping_flattens_the_peaks_at_full_scale():
    x = _tone(220, 1.0) * 0.05
    y = bench_extra_classes._clipped(x, _rms, 12.0)
    assert np.abs(y).max() == 1.0
    assert np.mean(np.abs(y) == 1.0) > 0.2  # a large share of each cycle sits on the rail


def test_hum_and_clicks_are_added_under_the_music():
    x = _tone(440, 2.0) * 0.1
    y = bench_extra_classes._hum_crackle(x, np.random.default_rng(3), _rms, SR)
    spectrum = np.abs(np.fft.rfft(y - x))
    hz = np.fft.rfftfreq(len(y), 1 / SR)
    assert spectrum[np.argmin(np.abs(hz - 50))] > 10 * np.median(spectrum)
    assert 0.05 < _rms(y - x) / _rms(x) < 0.5
