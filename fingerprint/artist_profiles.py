"""Artist profiles from style vectors, and the likeness decision: pure numpy, shared by the production
artist index (fingerprint.artist_index) and the evaluation (fingerprint.artist_eval), so the figures
`eval_artists` prints are those of the code that flags uploads.

A profile is the normalised mean of an artist's registered rows (each track's views, see
fingerprint.style_views) in the collection's metric (fingerprint.style.Metric). A query's likeness
to an artist is its cosine to the profile in that metric.

The decision: a query is a likeness candidate of its nearest artist when the cosine reaches
LIKENESS_THRESHOLD and beats the runner-up by LIKENESS_MARGIN. The threshold was read off the
open-set evaluation (`eval_artists`: each artist in turn left out of the collection, its tracks
queried as impostors) at about 5 % false candidates on the public corpus; the margin keeps an
upload that sits between two artists from naming either. Both are reported by `eval_artists` so a
collection with more artists can be re-calibrated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fingerprint import style

LIKENESS_THRESHOLD = 0.5  # cosine in the metric; see the module docstring
LIKENESS_MARGIN = 0.05  # over the runner-up artist


@dataclass(frozen=True)
class ProfileModel:
    """A fitted collection: the metric, and one profile row per artist key (any hashable id)."""

    metric: style.Metric
    keys: tuple
    profiles: np.ndarray  # (len(keys), style.DIM) float32, unit rows

    @classmethod
    def fit(cls, vectors: np.ndarray, row_keys: Sequence[Sequence]) -> ProfileModel:
        """Fit on raw style vectors; `row_keys[i]` are the artists of row i (a track by two artists
        counts for both profiles; the metric's within-artist statistics use the first)."""
        vectors = np.asarray(vectors, np.float32)
        firsts = np.array([str(keys[0]) for keys in row_keys])
        metric = style.Metric.fit(vectors, firsts)
        mapped = metric.apply(vectors)
        keys = tuple(sorted({key for keys in row_keys for key in keys}, key=str))
        profiles = (
            np.stack([style.profile(mapped[[key in keys_ for keys_ in row_keys]]) for key in keys])
            if keys
            else np.zeros((0, vectors.shape[1]), np.float32)
        )
        return cls(metric, keys, profiles.astype(np.float32))

    def similarities(self, vector: np.ndarray) -> np.ndarray:
        """Cosine of a raw style vector to every profile, in `keys` order."""
        return self.metric.apply(vector)[0] @ self.profiles.T

    def ranked(self, vector: np.ndarray, k: int = 3) -> list[tuple[object, float]]:
        """The k nearest artists as (key, cosine), best first."""
        scores = self.similarities(vector)
        order = np.argsort(-scores)[:k]
        return [(self.keys[i], float(scores[i])) for i in order]


def decide(
    ranked: list[tuple[object, float]], threshold: float = LIKENESS_THRESHOLD, margin: float = LIKENESS_MARGIN
) -> object | None:
    """The artist a query is a likeness candidate of, or None (see the module docstring)."""
    if not ranked:
        return None
    key, best = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else -1.0
    return key if best >= threshold and best - runner_up >= margin else None
