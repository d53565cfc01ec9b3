"""Shortlist benchmark helpers (bench_shortlist): where the right recording ranks when the segment
embeddings alone rank the catalogue. Pure functions; the command runs the engine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

MISSING = 10**9  # the rank of a recording the shortlist does not name at all


def rank_of(ranked: Sequence[str], truth: str, groups: Mapping[str, str]) -> int:
    """1-based rank of the first recording in `ranked` that is `truth` or in its alias group (the
    public corpus has one recording under two names), MISSING when none is."""
    want = groups.get(truth, truth)
    for position, name in enumerate(ranked, start=1):
        if groups.get(name, name) == want:
            return position
    return MISSING


def summary(ranks_by_class: Mapping[str, Iterable[int]], ks: Sequence[int]) -> list[tuple[str, int, list[float]]]:
    """(class, queries, % ranked within each k) per class, then 'all'."""
    rows = []
    everything: list[int] = []
    for name in sorted(ranks_by_class):
        ranks = list(ranks_by_class[name])
        everything += ranks
        rows.append((name, len(ranks), [100.0 * float(np.mean([r <= k for r in ranks])) for k in ks]))
    if everything:
        rows.append(("all", len(everything), [100.0 * float(np.mean([r <= k for r in everything])) for k in ks]))
    return rows
