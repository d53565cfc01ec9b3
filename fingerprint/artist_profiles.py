"""Artist profiles from style vectors, and the likeness decision: pure numpy, shared by the production
artist index (fingerprint.artist_index) and the evaluation (fingerprint.artist_eval), so the figures
`eval_artists` prints are those of the code that flags uploads.

A profile is the normalised mean of an artist's registered rows (each track's views, see
fingerprint.style_views) in the collection's metric (fingerprint.style.Metric). A query's likeness
to an artist is its cosine to the profile in that metric.

The decision, as in speaker verification with a cohort: a query is a likeness candidate of its
nearest artist A when
- it is closer to A than LIKENESS_COHORT_SHARE of the other registered artists' excerpts are
  ("exclusivity": the others stand for music that is not A's), and
- it is typical of A: on the scale from the cohort's edge (its LIKENESS_COHORT_SHARE quantile: 0)
  to A's own median excerpt (1), it reaches LIKENESS_TYPICALITY. Audio far from every artist (noise,
  a sweep) is not A's merely because it is farther from the others; a generated imitation, altered
  by its generator, may sit a little below A's own tracks and still be A's.
Both yardsticks are measured out of sample (`_yardsticks`): tracks are dealt into folds, and a
fold's excerpts are compared with a profile in a metric both fitted without the fold; in-sample
similarities would flatter, the within-artist whitening being fitted to exactly those rows.
A raw cosine threshold would not carry from one collection to another (the whitening makes cosines
smaller the fewer tracks a collection has). With a single registered artist there is no cohort,
and nothing is a candidate. The more artists a label registers, the better the cohort stands for
"other music": `eval_artists` prints the open-set false-candidate rate (each artist in turn left
out and queried as an impostor) so the levels can be re-read on a larger collection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fingerprint import style

LIKENESS_COHORT_SHARE = 0.95  # of other artists' excerpts the query must be closer to the artist than
LIKENESS_TYPICALITY = 0.75  # on the scale from the cohort's edge (0) to the artist's own median (1)
YARDSTICK_FOLDS = 5  # metric fits for the out-of-sample yardsticks (fewer when there are fewer tracks)


@dataclass(frozen=True)
class Likeness:
    """A query's nearest artist, its cosine, and where that cosine falls on the artist's yardsticks."""

    key: object
    similarity: float
    typicality: float | None  # 0 at the cohort's edge, 1 at the artist's own median (see `typicality`)
    exclusivity: float | None  # share of other artists' excerpts no closer than the query

    @property
    def candidate(self) -> bool:
        return decide(self.typicality, self.exclusivity)


@dataclass(frozen=True)
class ProfileModel:
    """A fitted collection: the metric, one profile row per artist key (any hashable id), and per artist
    the sorted out-of-sample similarities of its own excerpts and of other artists' excerpts."""

    metric: style.Metric
    keys: tuple
    profiles: np.ndarray  # (len(keys), style.DIM) float32, unit rows
    own: tuple[np.ndarray, ...]  # per key, sorted
    cohort: tuple[np.ndarray, ...]  # per key, sorted

    @classmethod
    def fit(
        cls,
        vectors: np.ndarray,
        row_keys: Sequence[Sequence],
        tracks: Sequence[object],
        excerpt_rows: Sequence[bool],
    ) -> ProfileModel:
        """Fit on raw style vectors; `row_keys[i]` are the artists of row i (a track by two artists
        counts for both profiles; the metric's within-artist statistics use the first), `tracks[i]`
        the track it was taken of, and `excerpt_rows[i]` whether it is an excerpt view (queries are
        excerpts, so only those make the yardsticks)."""
        vectors = np.asarray(vectors, np.float32)
        firsts = np.array([str(keys[0]) for keys in row_keys])
        metric = style.Metric.fit(vectors, firsts)
        mapped = metric.apply(vectors)
        keys = tuple(sorted({key for keys in row_keys for key in keys}, key=str))
        if not keys:
            return cls(metric, keys, np.zeros((0, vectors.shape[1]), np.float32), (), ())
        owns = [np.array([key in keys_ for keys_ in row_keys]) for key in keys]
        profiles = np.stack([style.profile(mapped[own]) for own in owns]).astype(np.float32)
        own, cohort = _yardsticks(vectors, firsts, owns, tracks, excerpt_rows)
        return cls(metric, keys, profiles, own, cohort)

    def ranked(self, vector: np.ndarray, k: int = 3) -> list[tuple[object, float]]:
        """The k nearest artists as (key, cosine), best first."""
        scores = self.metric.apply(vector)[0] @ self.profiles.T
        order = np.argsort(-scores)[:k]
        return [(self.keys[i], float(scores[i])) for i in order]

    def likeness(self, vector: np.ndarray) -> Likeness | None:
        """The query's likeness to its nearest artist; None when no artist is registered."""
        if not self.keys:
            return None
        key, similarity = self.ranked(vector, 1)[0]
        i = self.keys.index(key)
        own = self.own[i] if len(self.own[i]) else np.concatenate([*self.own, np.zeros(0, np.float32)])
        return Likeness(
            key, similarity, typicality(own, self.cohort[i], similarity), share_below(self.cohort[i], similarity)
        )


def _yardsticks(
    vectors: np.ndarray,
    firsts: np.ndarray,
    owns: list[np.ndarray],
    tracks: Sequence[object],
    excerpt_rows: Sequence[bool],
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Per artist, the sorted out-of-sample similarities of its own excerpts and of the other artists'
    excerpts to its profile (see the module docstring)."""
    track_of = np.array([str(t) for t in tracks])
    names = sorted(set(track_of.tolist()))
    folds = min(YARDSTICK_FOLDS, len(names))
    fold_of = {name: i % folds for i, name in enumerate(names)}
    row_fold = np.array([fold_of[t] for t in track_of])
    excerpt = np.asarray(excerpt_rows, bool)
    own: list[list[float]] = [[] for _ in owns]
    cohort: list[list[float]] = [[] for _ in owns]
    for fold in range(folds):
        train = row_fold != fold
        if not train.any():
            continue
        metric = style.Metric.fit(vectors[train], firsts[train])
        mapped = metric.apply(vectors)
        for i, mine in enumerate(owns):
            known = mine & train
            if not known.any():
                continue
            profile = style.profile(mapped[known])
            own[i].extend((mapped[mine & excerpt & ~train] @ profile).tolist())
            cohort[i].extend((mapped[~mine & excerpt & ~train] @ profile).tolist())
    return tuple(np.sort(np.array(v, np.float32)) for v in own), tuple(np.sort(np.array(v, np.float32)) for v in cohort)


def share_below(reference: np.ndarray, similarity: float) -> float | None:
    """The share of `reference` (sorted) at or below `similarity`; None when it is empty."""
    if not len(reference):
        return None
    return float(np.searchsorted(reference, similarity, side="right")) / len(reference)


def typicality(own: np.ndarray, cohort: np.ndarray, similarity: float) -> float | None:
    """Where `similarity` lies between the cohort's edge (0) and the artist's own median (1); None when
    either yardstick is empty or the artist's own tracks are no closer than the cohort's edge (the
    collection cannot tell this artist from the others)."""
    if not len(own) or not len(cohort):
        return None
    edge = float(np.quantile(cohort, LIKENESS_COHORT_SHARE))
    centre = float(np.median(own))
    return (similarity - edge) / (centre - edge) if centre > edge else None


def decide(
    typicality: float | None,
    exclusivity: float | None,
    cohort_share: float = LIKENESS_COHORT_SHARE,
    min_typicality: float = LIKENESS_TYPICALITY,
) -> bool:
    """Whether the nearest artist makes the query a likeness candidate (see the module docstring)."""
    if exclusivity is None or exclusivity < cohort_share:
        return False
    return typicality is not None and typicality >= min_typicality
