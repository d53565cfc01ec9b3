"""The landmark search bounds its working memory (identify runs a query per CPU, and a wide search
gathers millions of postings) without changing what it finds: the tempo grid is voted a block at a
time, and candidate windows are counted in a table instead of sorted."""

from __future__ import annotations

import numpy as np
import pytest

from fingerprint import matching, params

from .test_candidate_ranking import _postings


def _tempo_line(rng: np.random.Generator, tempo: float, offset_frames: float, hits: int, noise: int):  # type: ignore[no-untyped-def]
    """Postings of one reference: `hits` on the line reference = tempo x query + offset, `noise` anywhere."""
    tq = rng.uniform(0, 10 / params.FRAME_S, hits + noise)
    tr = tempo * tq + offset_frames + rng.normal(0, 0.3, len(tq))
    tr[hits:] = rng.uniform(0, 300 / params.FRAME_S, noise)
    shift = np.zeros(len(tq))
    weight = np.ones(len(tq))
    triplet = np.arange(len(tq))
    return tq, tr, shift, weight, triplet


@pytest.mark.parametrize("block", [1, 7, 1 << 30])
def test_a_tempo_changed_line_is_found_the_same_however_the_tempo_grid_is_blocked(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    rng = np.random.default_rng(11)
    line = _tempo_line(rng, tempo=1.23, offset_frames=2000.0, hits=150, noise=3000)
    whole = matching._align_one(5, *line, tempo_factor=params.WIDE.tempo_factor)

    # `block` (tempo x posting) cells at a time: one tempo per block, a few, or the whole grid at once.
    monkeypatch.setattr(matching, "_LINE_BLOCK", block * len(line[0]))
    blocked = matching._align_one(5, *line, tempo_factor=params.WIDE.tempo_factor)

    assert whole is not None and abs(whole.tempo - 1.23) < 0.01 and whole.aligned >= 140
    assert blocked == whole


def test_ties_between_tempo_blocks_go_to_the_lowest_tempo_as_over_the_whole_grid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A single posting is on a line at every tempo: every cell pair ties, and the lowest tempo wins.
    one = (np.array([100.0]), np.array([400.0]), np.zeros(1), np.ones(1), np.arange(1))
    taus = matching._tempo_grid(params.WIDE.tempo_factor)
    whole = matching._best_line(taus, one[0], one[1], one[3], 3.0)
    monkeypatch.setattr(matching, "_LINE_BLOCK", 5)
    assert matching._best_line(taus, one[0], one[1], one[3], 3.0) == whole
    assert whole[0] == 0


def test_candidate_windows_are_grouped_as_a_sort_would_group_them() -> None:
    rng = np.random.default_rng(5)
    for n_refs, n_windows in ((3, 4), (50_000, 9)):  # a table, then (too sparse for one) a sort
        window = rng.integers(0, n_windows, 2000)
        ref = np.sort(rng.integers(0, n_refs, 2000))
        keys, inverse = matching._window_groups(window, ref, n_refs)
        expected_keys, expected_inverse = np.unique(window * n_refs + ref, return_inverse=True)
        assert keys.tolist() == expected_keys.tolist()
        assert inverse.tolist() == expected_inverse.tolist()


def test_the_whole_search_finds_the_same_with_the_smallest_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    frames, pitches, owner, postings = _postings(rng, true_hits=60, decoys=params.MAX_CANDIDATES + 4, decoy_hits=240)
    whole = matching.best_alignments(frames, pitches, owner, postings, search=params.WIDE)
    monkeypatch.setattr(matching, "_LINE_BLOCK", 1)
    assert matching.best_alignments(frames, pitches, owner, postings, search=params.WIDE) == whole
    assert whole[0].ref_id == 1 and whole[0].is_match()
