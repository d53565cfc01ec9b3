"""Artist-likeness evaluation: does a held-out track land nearest its own artist's profile?

A corpus manifest (the bench's `manifest.csv`: id, package, ...) is read with each package standing
for one artist. Per artist, a seeded share of the tracks builds the profile (style vectors of the
whole tracks and two excerpts, centred on all registered tracks); the other tracks are queries, as
excerpts (clean, MP3 at 64 kbit/s, pink noise at 10 dB SNR). Several seeded splits are averaged.
Pure numpy apart from decoding (fingerprint.audio).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fingerprint import artist_profiles, audio, style, style_views

CONDITIONS = style_views.CONDITIONS
EXCERPT_S = style_views.EXCERPT_S


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


def analyse(track_id: str, artist: str, path: Path, seed: int) -> Track:
    """Style vectors of the whole track and of a 30 s mid-track excerpt in every condition."""
    samples = audio.decode(path, style.SAMPLE_RATE, max_bytes=1 << 31, max_duration_s=4 * 3600).samples
    rng = np.random.default_rng(seed)
    return Track(track_id, artist, style.style_vector(samples), style_views.excerpt_vectors(samples, rng))


@dataclass
class Scores:
    """Per condition: top-1 accuracy over every query of every split (closed set), and the likeness
    decision's outcomes: for registered artists' queries (the nearest artist's typicality and
    exclusivity, whether the nearest is right) and for queries of an artist left out of the
    collection (open set: any candidate is false)."""

    hits: dict[str, int]
    total: dict[str, int]
    artists: int
    profile_tracks: int
    query_tracks: int
    genuine: dict[str, list[tuple[float | None, float | None, bool]]] = field(default_factory=dict)
    impostor: dict[str, list[tuple[float | None, float | None]]] = field(default_factory=dict)

    def top1(self, condition: str) -> float:
        return self.hits[condition] / max(self.total[condition], 1)

    def detected(self, condition: str, cohort_share: float = artist_profiles.LIKENESS_COHORT_SHARE) -> float:
        """Share of registered artists' queries that become a candidate of the right artist."""
        rows = self.genuine.get(condition, [])
        return sum(ok and artist_profiles.decide(typ, exc, cohort_share) for typ, exc, ok in rows) / max(len(rows), 1)

    def false_candidates(self, condition: str, cohort_share: float = artist_profiles.LIKENESS_COHORT_SHARE) -> float:
        """Share of left-out artists' queries that become a candidate of some registered artist."""
        rows = self.impostor.get(condition, [])
        return sum(artist_profiles.decide(typ, exc, cohort_share) for typ, exc in rows) / max(len(rows), 1)


def _split(tracks: list[Track], artists: list[str], share: float, rng: np.random.Generator) -> tuple[list, list]:
    profile_tracks, queries = [], []
    for artist in artists:
        own = [t for t in tracks if t.artist == artist]
        order = rng.permutation(len(own))
        cut = max(1, round(len(own) * share))
        profile_tracks += [own[i] for i in order[:cut]]
        queries += [own[i] for i in order[cut:]]
    return profile_tracks, queries


def evaluate(tracks: list[Track], profile_share: float = 0.5, splits: int = 10, seed: int = 0) -> Scores:
    """Top-1 artist accuracy of held-out tracks' excerpts against the profiles, and the likeness
    decision's outcomes closed and open set, over seeded splits (per artist, `profile_share` of the
    tracks build the profile). The open set needs three artists: two stay registered."""
    artists = sorted({t.artist for t in tracks})
    scores = Scores(dict.fromkeys(CONDITIONS, 0), dict.fromkeys(CONDITIONS, 0), len(artists), 0, 0)
    for condition in CONDITIONS:
        scores.genuine[condition], scores.impostor[condition] = [], []
    rng = np.random.default_rng(seed)
    for _ in range(splits):
        profile_tracks, queries = _split(tracks, artists, profile_share, rng)
        scores.profile_tracks, scores.query_tracks = len(profile_tracks), len(queries)
        model = fit_profiles(profile_tracks)
        for condition in CONDITIONS:
            for query in queries:
                found = model.likeness(query.excerpts[condition])
                right = found is not None and found.key == query.artist
                scores.hits[condition] += int(right)
                scores.total[condition] += 1
                scores.genuine[condition].append(
                    (found.typicality, found.exclusivity, right) if found else (None, None, False)
                )
        if len(artists) < 3:
            continue
        for left_out in artists:
            model = fit_profiles([t for t in profile_tracks if t.artist != left_out])
            for condition in CONDITIONS:
                for query in (q for q in queries if q.artist == left_out):
                    found = model.likeness(query.excerpts[condition])
                    scores.impostor[condition].append((found.typicality, found.exclusivity) if found else (None, None))
    return scores


def fit_profiles(registered: list[Track]) -> artist_profiles.ProfileModel:
    """Profiles of the registered tracks' artists, built as a registration builds them: the whole track
    and its excerpt in every delivery condition (fingerprint.style_views.VIEWS)."""
    vectors = np.stack([v for t in registered for v in (t.whole, *(t.excerpts[c] for c in CONDITIONS))])
    keys = [(t.artist,) for t in registered for _ in style_views.VIEWS]
    tracks = [t.track_id for t in registered for _ in style_views.VIEWS]
    excerpt_rows = [view != "whole" for _ in registered for view in style_views.VIEWS]
    return artist_profiles.ProfileModel.fit(vectors, keys, tracks, excerpt_rows)
