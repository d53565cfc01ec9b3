"""Artist-likeness evaluation: does a held-out track land nearest its own artist's profile?

A corpus manifest (the bench's `manifest.csv`: id, package, ...) is read with each package standing
for one artist. Per artist, a seeded share of the tracks builds the profile (style vectors of the
whole tracks and two excerpts, centred on all registered tracks); the other tracks are queries, as
excerpts (clean, MP3 at 64 kbit/s, pink noise at 10 dB SNR). Several seeded splits are averaged.
Pure numpy apart from decoding (fingerprint.audio).
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fingerprint import audio, style

CONDITIONS = ("clean", "mp3_64k", "pink_10db")
EXCERPT_S = 30.0


@dataclass(frozen=True)
class Track:
    """One corpus track: its id, its artist (package) and its style vectors."""

    track_id: str
    artist: str
    whole: np.ndarray
    excerpts: dict[str, np.ndarray]  # condition -> style vector of a mid-track excerpt


def read_manifest(corpus: Path) -> list[tuple[str, str, Path]]:
    """(track id, artist, wav path) for every track in `corpus/manifest.csv` whose WAV exists."""
    rows = []
    with (corpus / "manifest.csv").open() as fh:
        for row in csv.DictReader(fh):
            path = corpus / "wav" / f"{row['id']}.wav"
            if path.is_file():
                rows.append((row["id"], row["package"], path))
    return rows


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples of 1/f noise (white noise shaped in the frequency domain), unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    noise = np.fft.irfft(spectrum, n)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def degrade(samples: np.ndarray, condition: str, rng: np.random.Generator) -> np.ndarray:
    """The excerpt as a platform might deliver it."""
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


def analyse(track_id: str, artist: str, path: Path, seed: int) -> Track:
    """Style vectors of the whole track and of a 30 s mid-track excerpt in every condition."""
    samples = audio.decode(path, style.SAMPLE_RATE, max_bytes=1 << 31, max_duration_s=4 * 3600).samples
    rng = np.random.default_rng(seed)
    n = int(EXCERPT_S * style.SAMPLE_RATE)
    start = int(rng.integers(0, max(1, len(samples) - n)))
    excerpt = samples[start : start + n]
    return Track(
        track_id,
        artist,
        style.style_vector(samples),
        {c: style.style_vector(degrade(excerpt, c, rng)) for c in CONDITIONS},
    )


@dataclass
class Scores:
    """Top-1 accuracy per condition, over every query of every split."""

    hits: dict[str, int]
    total: dict[str, int]
    artists: int
    profile_tracks: int
    query_tracks: int

    def top1(self, condition: str) -> float:
        return self.hits[condition] / max(self.total[condition], 1)


def evaluate(tracks: list[Track], profile_share: float = 0.5, splits: int = 10, seed: int = 0) -> Scores:
    """Top-1 artist accuracy of held-out tracks' excerpts against centroid profiles, averaged over
    seeded splits (per artist, `profile_share` of the tracks build the profile)."""
    artists = sorted({t.artist for t in tracks})
    hits = dict.fromkeys(CONDITIONS, 0)
    total = dict.fromkeys(CONDITIONS, 0)
    rng = np.random.default_rng(seed)
    n_profile = n_query = 0
    for _ in range(splits):
        profile_tracks, queries = [], []
        for artist in artists:
            own = [t for t in tracks if t.artist == artist]
            order = rng.permutation(len(own))
            cut = max(1, round(len(own) * profile_share))
            profile_tracks += [own[i] for i in order[:cut]]
            queries += [own[i] for i in order[cut:]]
        n_profile, n_query = len(profile_tracks), len(queries)
        match = artist_matcher(profile_tracks)
        for condition in CONDITIONS:
            for query in queries:
                hits[condition] += int(match(query.excerpts[condition]) == query.artist)
                total[condition] += 1
    return Scores(hits, total, len(artists), n_profile, n_query)


def artist_matcher(registered: list[Track]) -> Callable[[np.ndarray], str]:
    """A function from a query's raw style vector to the nearest registered artist's name.

    Registered tracks are augmented as a registration would: the whole track and its excerpts in
    every delivery condition, so the metric learns what degradation does within one artist."""
    vectors = np.stack([v for t in registered for v in (t.whole, *t.excerpts.values())])
    labels = np.array([t.artist for t in registered for _ in range(1 + len(t.excerpts))])
    metric = style.Metric.fit(vectors, labels)
    mapped = metric.apply(vectors)
    names = sorted(set(labels))
    profiles = np.stack([style.profile(mapped[labels == name]) for name in names])

    def nearest(vector: np.ndarray) -> str:
        return names[int(np.argmax(metric.apply(vector)[0] @ profiles.T))]

    return nearest
