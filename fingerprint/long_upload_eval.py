"""Long-upload benchmark: catalogue excerpts inside minutes of music the catalogue does not hold.

The query suites hold 3-10 s clips, but platforms upload whole videos: a few seconds of a catalogue
recording inside minutes of other audio. Each upload here is the first `seconds` of an
out-of-catalogue track with catalogue excerpts pasted in (replacing the host there, as an edit
would), clean, under pink noise at 5 dB, or played 10 % faster or slower. An excerpt is found when a
match names its recording over a span that overlaps it; every other match is a chance match (or
material the two tracks really share: check it before calling it wrong). Pure numpy and soundfile;
the engine is called by the management command (bench_long_uploads).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile
from scipy.signal import resample_poly

DEGRADATIONS = ("clean", "pink_snr5", "speed_+10pct", "clean", "pink_snr5", "speed_-10pct")
# (position as a fraction of the upload, length s) of each excerpt; an upload of a minute or less holds one.
SLOTS = ((0.2, 10.0), (0.65, 6.0))
SHORT_SLOTS = ((0.4, 6.0),)
SPAN_SLACK_S = 1.0  # a match this close to an excerpt's edges still counts as finding it


@dataclass(frozen=True)
class Insert:
    """One catalogue excerpt pasted into an upload: where (s in the upload), how long, from where in
    which recording, under which degradation."""

    upload: str
    ref: str
    at_s: float
    length_s: float
    ref_start_s: float
    degradation: str


@dataclass(frozen=True)
class Found:
    """A match reported for an upload, by recording name and span in the upload (s)."""

    upload: str
    ref: str
    start_s: float
    end_s: float
    aligned: float
    confidence: float


def build_uploads(
    hosts: dict[str, Path], references: dict[str, Path], out_dir: Path, seconds: float = 240.0, seed: int = 11
) -> list[Insert]:
    """Write one upload per host (`name`: file) to out_dir/`name`.wav, mono at the host's rate, and
    return what was pasted where. Excerpts come from `references` (`name`: file), drawn with `seed`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = sorted(references)
    inserts: list[Insert] = []
    for upload, path in sorted(hosts.items()):
        host, rate = _mono(path)
        host = host[: int(seconds * rate)].copy()
        duration = len(host) / rate
        for fraction, length in SLOTS if duration > 60 else SHORT_SLOTS:
            ref = names[int(rng.integers(len(names)))]
            degradation = DEGRADATIONS[len(inserts) % len(DEGRADATIONS)]
            excerpt, start = _excerpt(references[ref], rate, length, degradation, rng)
            at = int(fraction * duration * rate)
            excerpt = excerpt[: len(host) - at]
            host[at : at + len(excerpt)] = 0.9 * excerpt
            inserts.append(Insert(upload, ref, round(at / rate, 3), round(len(excerpt) / rate, 3), start, degradation))
        soundfile.write(out_dir / f"{upload}.wav", host, rate)
    (out_dir / "inserts.json").write_text(json.dumps([asdict(i) for i in inserts], indent=1))
    return inserts


def _mono(path: Path) -> tuple[np.ndarray, int]:
    samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return samples.mean(axis=1), rate


def _excerpt(
    path: Path, rate: int, length_s: float, degradation: str, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """`length_s` of the recording at `path` as heard in the upload (after `degradation`), and where in
    the recording (s) it starts."""
    source, source_rate = _mono(path)
    if source_rate != rate:
        source = resample_poly(source, rate, source_rate).astype(np.float32)
    speed = {"speed_+10pct": 1.1, "speed_-10pct": 0.9}.get(degradation, 1.0)
    taken_s = length_s * speed
    start = round(float(rng.uniform(0, max(0.0, len(source) / rate - taken_s))), 3)  # as the suite records it
    excerpt = source[int(start * rate) : int((start + taken_s) * rate)]
    if speed != 1.0:  # played faster or slower: pitch and tempo together
        excerpt = resample_poly(excerpt, 10, round(10 * speed)).astype(np.float32)
    if degradation == "pink_snr5":
        excerpt = excerpt + _pink_like(excerpt, 5.0, rng)
    return excerpt.astype(np.float32), start


def _pink_like(signal: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Pink noise (power falling 3 dB an octave) `snr_db` under `signal`'s power."""
    spectrum = np.fft.rfft(rng.standard_normal(len(signal)))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, len(signal))
    power = float(np.mean(signal.astype(np.float64) ** 2))
    return (noise * np.sqrt(power / max(float(np.mean(noise**2)), 1e-20) / 10 ** (snr_db / 10))).astype(np.float32)


@dataclass(frozen=True)
class Score:
    """Excerpts found (of all), and the matches that found none."""

    found: list[Insert]
    missed: list[Insert]
    chance: list[Found]


def score(inserts: Iterable[Insert], matches: Iterable[Found]) -> Score:
    """Which excerpts some match names over an overlapping span (SPAN_SLACK_S either side), and which
    matches overlap no excerpt of theirs."""
    inserts, matches = list(inserts), list(matches)

    def finds(match: Found, insert: Insert) -> bool:
        return (
            match.upload == insert.upload
            and match.ref == insert.ref
            and match.start_s < insert.at_s + insert.length_s + SPAN_SLACK_S
            and match.end_s > insert.at_s - SPAN_SLACK_S
        )

    found = [i for i in inserts if any(finds(m, i) for m in matches)]
    missed = [i for i in inserts if i not in found]
    chance = [m for m in matches if not any(finds(m, i) for i in inserts)]
    return Score(found, missed, chance)
