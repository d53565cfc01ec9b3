"""Deterministic synthetic music for the demo catalogue and the tests: never downloaded, never copyrighted.

`compose(seed)` writes a short piece (melody, chords, bass, drums) whose key, scale, tempo,
timbre and patterns all follow from the seed, so the same seed always gives the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 22050  # Hz

_SCALES = {"major": [0, 2, 4, 5, 7, 9, 11], "minor": [0, 2, 3, 5, 7, 8, 10], "dorian": [0, 2, 3, 5, 7, 9, 10]}
_PROGRESSIONS = [[0, 4, 5, 3], [0, 5, 3, 4], [0, 3, 4, 4], [5, 3, 0, 4], [0, 2, 5, 4]]


@dataclass(frozen=True)
class Piece:
    """A synthesised piece: mono float32 samples at SAMPLE_RATE and how it was made."""

    samples: np.ndarray
    tempo_bpm: float
    key: str
    scale: str

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def _midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _tone(freq: float, length: int, harmonics: np.ndarray, rng_phase: np.ndarray) -> np.ndarray:
    t = np.arange(length) / SAMPLE_RATE
    wave = np.zeros(length)
    for k, amp in enumerate(harmonics, start=1):
        if freq * k < SAMPLE_RATE / 2:
            wave += amp * np.sin(2 * np.pi * freq * k * t + rng_phase[k - 1])
    attack = min(length, int(0.01 * SAMPLE_RATE))
    env = np.exp(-t * 3.0)
    env[:attack] *= np.linspace(0, 1, attack)
    env[-min(length, 64) :] *= np.linspace(1, 0, min(length, 64))
    return wave * env


def _drum(kind: str, rng: np.random.Generator) -> np.ndarray:
    n = int(0.25 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    if kind == "kick":
        freq = 120 * np.exp(-t * 18) + 45
        return np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE) * np.exp(-t * 12)
    noise = rng.standard_normal(n)
    if kind == "snare":
        return (0.6 * noise + 0.4 * np.sin(2 * np.pi * 190 * t)) * np.exp(-t * 20)
    hat = np.diff(noise, prepend=0.0)  # crude high-pass: a hat is bright noise
    return 0.35 * hat * np.exp(-t * 60)


def _add(track: np.ndarray, start: int, sound: np.ndarray) -> None:
    end = min(len(track), start + len(sound))
    if start < end:
        track[start:end] += sound[: end - start]


def compose(
    seed: int,
    duration_s: float = 30.0,
    *,
    transpose: int = 0,
    tempo_factor: float = 1.0,
    timbre_seed: int | None = None,
) -> Piece:
    """A deterministic piece for `seed`: `duration_s` seconds of melody, chords, bass and drums.

    A cover of the same composition: `transpose` semitones up, `tempo_factor` times faster, and, with
    `timbre_seed`, other instruments (the notes stay those of `seed`; the drum pattern may change)."""
    rng = np.random.default_rng(seed)
    tempo = float(rng.uniform(78, 150)) * tempo_factor
    beat = 60.0 / tempo
    root = int(rng.integers(45, 57)) + transpose  # A2..G#3
    scale_name = str(rng.choice(list(_SCALES)))
    scale = _SCALES[scale_name]
    progression = _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))]
    n = int(duration_s * SAMPLE_RATE)
    melody, chords, bass, drums = (np.zeros(n) for _ in range(4))
    lead_harmonics = rng.uniform(0.05, 1.0, 8) ** 2 / np.arange(1, 9)
    pad_harmonics = 1.0 / np.arange(1, 7) ** rng.uniform(1.0, 2.0)
    phases = rng.uniform(0, 2 * np.pi, 8)
    if timbre_seed is not None:  # drawn from its own generator, so the notes drawn below stay the same
        other = np.random.default_rng(timbre_seed)
        lead_harmonics = other.uniform(0.05, 1.0, 8) ** 2 / np.arange(1, 9)
        pad_harmonics = 1.0 / np.arange(1, 7) ** other.uniform(1.0, 2.0)

    def degree_note(degree: int, octave: int) -> int:
        return root + 12 * (octave + degree // 7) + scale[degree % 7]

    bar = 4 * beat
    motif = rng.integers(-2, 3, size=8)  # a melodic contour the piece keeps returning to
    degree = int(rng.integers(0, 7))
    time_s, step = 0.0, 0
    while time_s < duration_s:
        length_beats = float(rng.choice([0.5, 0.5, 1.0, 1.0, 1.5, 2.0]))
        degree = int(np.clip(degree + motif[step % len(motif)] + rng.integers(-1, 2), 0, 13))
        length = int(length_beats * beat * SAMPLE_RATE)
        if rng.random() > 0.1:  # occasional rests
            _add(
                melody,
                int(time_s * SAMPLE_RATE),
                _tone(_midi_hz(degree_note(degree, 2)), length, lead_harmonics, phases),
            )
        time_s += length_beats * beat
        step += 1

    for bar_index in range(int(duration_s / bar) + 1):
        start = int(bar_index * bar * SAMPLE_RATE)
        chord_degree = progression[bar_index % len(progression)]
        length = int(bar * SAMPLE_RATE)
        for offset in (0, 2, 4):
            _add(
                chords,
                start,
                0.5 * _tone(_midi_hz(degree_note(chord_degree + offset, 1)), length, pad_harmonics, phases),
            )
        for half in range(2):
            _add(
                bass,
                start + int(half * 2 * beat * SAMPLE_RATE),
                _tone(
                    _midi_hz(degree_note(chord_degree, 0) - 12),
                    int(2 * beat * SAMPLE_RATE),
                    np.array([1.0, 0.3]),
                    phases,
                ),
            )

    pattern = rng.integers(0, 2, size=(3, 8))  # kick, snare, hat on eighth notes
    pattern[0, 0], pattern[1, 4] = 1, 1
    for eighth in range(int(duration_s / (beat / 2)) + 1):
        start = int(eighth * beat / 2 * SAMPLE_RATE)
        for row, kind in enumerate(("kick", "snare", "hat")):
            if pattern[row, eighth % 8]:
                _add(drums, start, _drum(kind, rng))

    mix = 0.9 * melody + 0.35 * chords + 0.5 * bass + 0.45 * drums
    mix /= max(1e-9, float(np.max(np.abs(mix)))) / 0.8
    names = ["A", "A#", "B", "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#"]
    return Piece(mix.astype(np.float32), round(tempo, 1), names[(root - 45) % 12], scale_name)


def artist_style(artist: int, seed: int, seconds: float = 40.0, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A track by one of three synthetic 'artists' (for the artist-likeness demo and tests), each with its
    own sound; every track has its own
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
