"""What happens to audio between a generator and an upload: codecs, resampling, mastering, filtering.

Used by the evaluation (and the learned detector's augmentations) on real and generated audio
alike, so a detector is measured on whether it can still tell them apart afterwards. Pure
numpy/scipy plus fingerprint.audio's encoder; mono float32 in, mono float32 out.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np
from scipy import signal

from fingerprint import audio
from generation_audit import native_audio

Degradation = Callable[[np.ndarray, int], tuple[np.ndarray, int]]


def resample(x: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Band-limited polyphase resampling from `rate` to `new_rate` Hz."""
    if rate == new_rate:
        return x.astype(np.float32, copy=False)
    ratio = Fraction(new_rate, rate).limit_denominator(1000)
    return signal.resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)


def mp3(x: np.ndarray, rate: int, kbps: int) -> tuple[np.ndarray, int]:
    """Round trip through LAME at `kbps` kbit/s; returns the decoded audio and its rate (Hz)."""
    encoded = audio.encode(np.clip(x, -1, 1), rate, "mp3", bitrate=kbps * 1000)
    decoded = native_audio.load_bytes(encoded, max_seconds=len(x) / rate + 1)
    return decoded.samples, decoded.sample_rate


def aac(x: np.ndarray, rate: int, kbps: int) -> tuple[np.ndarray, int]:
    """Round trip through ffmpeg's AAC encoder at `kbps` kbit/s."""
    encoded = audio.encode(np.clip(x, -1, 1), rate, "m4a", bitrate=kbps * 1000)
    decoded = native_audio.load_bytes(encoded, max_seconds=len(x) / rate + 1)
    return decoded.samples, decoded.sample_rate


def _k_weighting(rate: int) -> np.ndarray:
    """ITU-R BS.1770 K-weighting (shelf + high-pass) as second-order sections for `rate` Hz."""
    # Shelf: +4 dB above ~1.7 kHz; high-pass at ~38 Hz (bilinear designs of the standard's analogue filters).
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = np.tan(np.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0, 1.0,
             2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]  # fmt: skip
    f1, q1 = 38.13547087602444, 0.5003270373238773
    k = np.tan(np.pi * f1 / rate)
    a0 = 1 + k / q1 + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q1 + k * k) / a0]
    return np.array([shelf, highpass])


def loudness_lufs(x: np.ndarray, rate: int) -> float:
    """Ungated BS.1770 loudness of mono `x` (LUFS); enough to level clips against each other."""
    weighted = signal.sosfilt(_k_weighting(rate), x.astype(np.float64))
    return float(-0.691 + 10 * np.log10(np.mean(weighted**2) + 1e-12))


def normalise_loudness(x: np.ndarray, rate: int, target_lufs: float = -14.0) -> np.ndarray:
    """Gain to `target_lufs` (streaming level), then a tanh peak limiter above -1 dBFS as mastering would."""
    y = x * 10 ** ((target_lufs - loudness_lufs(x, rate)) / 20)
    ceiling = 10 ** (-1 / 20)
    over = np.abs(y) > 0.5 * ceiling
    y[over] = np.sign(y[over]) * (
        0.5 * ceiling + 0.5 * ceiling * np.tanh((np.abs(y[over]) - 0.5 * ceiling) / (0.5 * ceiling))
    )
    return y.astype(np.float32)


def lowpass(x: np.ndarray, rate: int, cutoff_hz: float) -> np.ndarray:
    """8th-order Butterworth low-pass at `cutoff_hz` (zero phase)."""
    if cutoff_hz >= rate / 2:
        return x
    sos = signal.butter(8, cutoff_hz, btype="low", fs=rate, output="sos")
    return signal.sosfiltfilt(sos, x).astype(np.float32)


def pitch_shift_by_resampling(x: np.ndarray, rate: int, semitones: float) -> np.ndarray:
    """Pitch and tempo change together (a speed change): every frequency, the comb's too, moves by 2**(st/12)."""
    factor = 2 ** (semitones / 12)
    ratio = Fraction(1 / factor).limit_denominator(200)
    return signal.resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)


def _resampled(target: int) -> Degradation:
    return lambda x, r: (resample(x, r, target), target)


# The evaluation's degradation set: name -> (samples, rate) -> (samples, rate).
DEGRADATIONS: dict[str, Degradation] = {
    "none": lambda x, r: (x, r),
    "mp3_128k": lambda x, r: mp3(x, r, 128),
    "mp3_64k": lambda x, r: mp3(x, r, 64),
    "aac_128k": lambda x, r: aac(x, r, 128),
    "resample_48k": _resampled(48000),
    "resample_22k": _resampled(22050),
    "loudness_-14lufs": lambda x, r: (normalise_loudness(x, r), r),
    "lowpass_16k": lambda x, r: (lowpass(x, r, 16000), r),
    "lowpass_8k": lambda x, r: (lowpass(x, r, 8000), r),
    "pitch_+1st": lambda x, r: (pitch_shift_by_resampling(x, r, 1.0), r),
    "pitch_-0.5st": lambda x, r: (pitch_shift_by_resampling(x, r, -0.5), r),
}
