"""Real-versus-generated material for training and evaluation: corpus files, splits, decoders, augmentation.

A pair is one excerpt of real music and the same excerpt through a simulated generator's decoder
(generation_audit.decoders), so the two differ only by what the decoder leaves. Both sides are
delivered at the decoder's sample rate (the real side is resampled to it), so a low sample rate or
a band limit is never, by itself, what tells them apart.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generation_audit import decoders, degradations, native_audio

AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".m4a"}
HELD_OUT_MODULUS = 4  # files whose name hashes to 0 mod this are held out of training (the evaluation's set)

# (sample rate Hz, strides latent -> waveform) of the transposed-convolution decoders we simulate.
TCONV_DECODERS: tuple[tuple[int, tuple[int, ...]], ...] = (
    (44100, (8, 8, 4, 2)),  # 512: 86.13 Hz
    (24000, (8, 5, 4, 2)),  # 320: 75 Hz
    (32000, (8, 5, 4, 4)),  # 640: 50 Hz
    (16000, (8, 5, 4, 2)),  # 320: 50 Hz
    (48000, (8, 5, 4, 2)),  # 320: 150 Hz
    (22050, (8, 8, 2, 2)),  # 256: 86.13 Hz
    (44100, (2, 4, 4, 8, 8)),  # 2048: 21.53 Hz
)
# Artefact levels: (bias dB re layer RMS, relative weight perturbation, rectification mix).
ARTEFACT_LEVELS = {"strong": (-40.0, 0.02, 0.05), "medium": (-50.0, 0.01, 0.03), "faint": (-60.0, 0.005, 0.01)}


@dataclass(frozen=True)
class Generated:
    """One simulated generator output: samples at `sample_rate` Hz and what made them."""

    samples: np.ndarray
    sample_rate: int
    decoder: str  # family/config label for breakdowns
    level: str  # artefact level, or "-" where not applicable


def list_audio(directory: Path) -> list[Path]:
    """Audio files under `directory` (recursively), sorted for reproducibility."""
    return sorted(p for p in Path(directory).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def is_held_out(path: Path) -> bool:
    """The fixed train / held-out split: by a hash of the file name, so it never depends on what else is there."""
    return zlib.crc32(path.name.encode()) % HELD_OUT_MODULUS == 0


def excerpts(path: Path, seconds: float, count: int, rng: np.random.Generator) -> list[tuple[np.ndarray, int]]:
    """Up to `count` non-overlapping `seconds`-long excerpts of the file (mono, native rate), skipping near silence."""
    decoded = native_audio.load(path, max_seconds=600)
    x, rate = decoded.samples, decoded.sample_rate
    length = int(seconds * rate)
    slots = len(x) // length
    out: list[tuple[np.ndarray, int]] = []
    for slot in rng.permutation(slots):
        piece = x[slot * length : (slot + 1) * length]
        if np.sqrt(np.mean(piece**2)) > 10 ** (-40 / 20):  # below -40 dBFS RMS: an intro or a gap
            out.append((piece.copy(), rate))
        if len(out) == count:
            break
    return out


def synthetic_excerpts(seed: int, seconds: float, count: int) -> list[tuple[np.ndarray, int]]:
    """Synthetic music (catalog.synth) at 44.1 kHz when no corpus is available (tests, first runs)."""
    from catalog import synth

    return [
        (degradations.resample(synth.compose(seed * 100 + i, seconds).samples, synth.SAMPLE_RATE, 44100), 44100)
        for i in range(count)
    ]


def _level(x: np.ndarray) -> np.ndarray:
    """Peak-normalise to -1 dBFS so neither side of a pair differs by level."""
    peak = float(np.max(np.abs(x))) or 1.0
    return (x * (10 ** (-1 / 20) / peak)).astype(np.float32)


def tconv(x: np.ndarray, rate: int, index: int, level: str, seed: int, quantize: int = 0) -> Generated:
    """`x` (at `rate` Hz) through transposed-convolution decoder TCONV_DECODERS[index] at artefact `level`."""
    dec_rate, strides = TCONV_DECODERS[index]
    bias, noise, rectify = ARTEFACT_LEVELS[level]
    spec = decoders.DecoderSpec(
        f"tconv_{dec_rate}_{int(np.prod(strides))}", dec_rate, strides, "tconv", bias, noise, rectify, quantize
    )
    y = decoders.decode(degradations.resample(x, rate, dec_rate), spec, seed)
    name = spec.name + (f"_q{quantize}" if quantize else "")
    return Generated(_level(y), dec_rate, name, level)


def upsample_conv(x: np.ndarray, rate: int, index: int, level: str, seed: int) -> Generated:
    """`x` through an upsample-then-convolve decoder with TCONV_DECODERS[index]'s rate and strides."""
    dec_rate, strides = TCONV_DECODERS[index]
    bias, noise, rectify = ARTEFACT_LEVELS[level]
    spec = decoders.DecoderSpec(
        f"upconv_{dec_rate}_{int(np.prod(strides))}", dec_rate, strides, "upsample_conv", bias, noise, rectify
    )
    y = decoders.decode(degradations.resample(x, rate, dec_rate), spec, seed)
    return Generated(_level(y), dec_rate, spec.name, level)


def griffin_lim(x: np.ndarray, rate: int, n_fft: int, iterations: int, mel: int | None, seed: int) -> Generated:
    """`x` at 22.05 kHz with its phase rebuilt by Griffin-Lim (from a mel spectrogram when `mel` bands are given)."""
    y = decoders.griffin_lim(degradations.resample(x, rate, 22050), 22050, n_fft, iterations, mel, seed)
    return Generated(_level(y), 22050, f"griffin_lim_{'mel' if mel else 'stft'}{n_fft}", "-")


def phase_vocoder(x: np.ndarray, rate: int, n_fft: int, mel: int | None, seed: int) -> Generated:
    """`x` at 24 kHz resynthesised from (mel) magnitude with vocoder-style phase advance."""
    y = decoders.phase_vocoder_resynthesis(degradations.resample(x, rate, 24000), 24000, n_fft, mel, seed)
    return Generated(_level(y), 24000, f"phase_vocoder_{'mel' if mel else 'stft'}{n_fft}", "-")


def random_generator(x: np.ndarray, rate: int, rng: np.random.Generator) -> Generated:
    """One generator drawn at random over every family, with random parameters (training)."""
    seed = int(rng.integers(1 << 30))
    family = rng.choice(["tconv", "tconv", "codec", "upsample_conv", "griffin_lim", "phase_vocoder"])
    index = int(rng.integers(len(TCONV_DECODERS)))
    level = str(rng.choice(list(ARTEFACT_LEVELS)))
    if family == "tconv":
        return tconv(x, rate, index, level, seed)
    if family == "codec":
        return tconv(x, rate, index, level, seed, quantize=int(rng.choice([3, 6, 12])))
    if family == "upsample_conv":
        return upsample_conv(x, rate, index, level, seed)
    if family == "griffin_lim":
        mel = rng.choice([0, 80, 128])
        return griffin_lim(x, rate, int(rng.choice([1024, 2048])), int(rng.choice([8, 16, 32])), int(mel) or None, seed)
    return phase_vocoder(x, rate, int(rng.choice([512, 1024, 2048])), int(rng.choice([0, 80, 128])) or None, seed)


def real_at(x: np.ndarray, rate: int, target: int) -> tuple[np.ndarray, int]:
    """The real side of a pair: the same excerpt delivered at `target` Hz, level-matched."""
    return _level(degradations.resample(x, rate, target)), target


Augmentation = Callable[[np.ndarray, int, np.random.Generator], tuple[np.ndarray, int]]


def random_augmentation(x: np.ndarray, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A random delivery path (training): codec, band limit, resampling, mastering, or nothing."""
    choice = rng.choice(["none", "none", "mp3_128k", "mp3_64k", "aac_128k", "lowpass", "resample", "loudness"])
    if choice == "lowpass":
        return degradations.lowpass(x, rate, float(rng.uniform(4000, 16000))), rate
    if choice == "resample":
        target = int(rng.choice([16000, 22050, 32000]))
        return degradations.resample(degradations.resample(x, rate, target), target, rate), rate
    return degradations.DEGRADATIONS[{"loudness": "loudness_-14lufs"}.get(str(choice), str(choice))](x, rate)
