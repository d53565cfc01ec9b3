"""Ranking the catalogue by segment embeddings alone (matching.shortlist) and scoring such rankings."""

from __future__ import annotations

import numpy as np

from fingerprint import matching, shortlist_eval


def test_a_reference_counts_once_per_segment_at_its_best_similarity() -> None:
    # Three query segments, three neighbours each: reference 7 is every segment's neighbour (twice in
    # the first, where only its better 0.9 counts); 3 is the closest neighbour of one segment only.
    ref_ids = np.array([[7, 7, 3], [3, 7, -1], [7, 5, 5]])
    scores = np.array([[0.9, 0.8, 0.7], [0.95, 0.6, -np.inf], [0.7, 0.65, 0.1]], np.float32)

    ranked = matching.shortlist(ref_ids, scores)

    assert [ref for ref, _ in ranked] == [7, 3, 5]
    assert np.allclose([total for _, total in ranked], [0.9 + 0.6 + 0.7, 0.7 + 0.95, 0.65])


def test_nothing_found_ranks_nothing() -> None:
    assert matching.shortlist(np.full((2, 3), -1), np.full((2, 3), -np.inf, np.float32)) == []


def test_a_rank_counts_a_recording_under_either_of_its_names_and_misses_are_marked() -> None:
    groups = {"menu": "menu", "menu_enhanced": "menu"}

    assert shortlist_eval.rank_of(["a", "menu_enhanced", "menu"], "menu", groups) == 2
    assert shortlist_eval.rank_of(["a", "b"], "c", groups) == shortlist_eval.MISSING
    rows = shortlist_eval.summary({"clean": [1, 1], "noise": [1, 7, shortlist_eval.MISSING]}, [1, 10])
    assert [(name, count) for name, count, _ in rows] == [("clean", 2), ("noise", 3), ("all", 5)]
    assert np.allclose([shares for _, _, shares in rows], [[100, 100], [100 / 3, 200 / 3], [60, 80]])
