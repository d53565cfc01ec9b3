"""Which references the landmark matcher aligns in detail: those whose hits pile up at one offset,
not those with the most hits overall (a long or dense reference collects chance hits everywhere,
most of all when a pitch-shifted query looks up its hashes at every shift)."""

from __future__ import annotations

import numpy as np

from fingerprint import matching, params

SECONDS = 10.0


def _postings(rng: np.random.Generator, true_hits: int, decoys: int, decoy_hits: int):  # type: ignore[no-untyped-def]
    """Query triplets over SECONDS; reference 1 has `true_hits` of them at one offset (60 s in, one
    semitone up); `decoys` references (2, 3, ...) have `decoy_hits` chance hits each, spread over a
    five-minute track at any offset and shift."""
    n_triplets = 400
    query_frames = np.sort(rng.uniform(0, SECONDS / params.FRAME_S, n_triplets)).astype(np.float32)
    query_pitches = rng.uniform(5, 40, n_triplets).astype(np.float32)
    owners, refs, frames, pitches = [], [], [], []
    right = rng.choice(n_triplets, true_hits, replace=False)
    owners.append(right)
    refs.append(np.full(true_hits, 1))
    frames.append(query_frames[right] + 60.0 / params.FRAME_S)
    pitches.append(query_pitches[right] + 1.0)
    for decoy in range(decoys):
        hit = rng.integers(0, n_triplets, decoy_hits)
        owners.append(hit)
        refs.append(np.full(decoy_hits, 2 + decoy))
        frames.append(rng.uniform(0, 300 / params.FRAME_S, decoy_hits))
        pitches.append(query_pitches[hit] + rng.uniform(-3, 3, decoy_hits))
    owner = np.concatenate(owners).astype(np.int64)
    postings = matching.Postings(
        query_index=np.arange(len(owner), dtype=np.int64),
        refs=np.concatenate(refs).astype(np.int64),
        ref_frames=np.round(np.concatenate(frames)).astype(np.uint32),
        ref_pitches=np.round(np.concatenate(pitches) * params.PITCH_STORE_STEPS).astype(np.uint16),
    )
    return query_frames, query_pitches, owner, postings


def test_the_right_reference_is_aligned_though_more_references_than_are_aligned_have_more_hits() -> None:
    rng = np.random.default_rng(3)
    decoys = params.MAX_CANDIDATES + 4  # more than are aligned in detail, each with 4x the right one's hits
    frames, pitches, owner, postings = _postings(rng, true_hits=60, decoys=decoys, decoy_hits=240)

    found = matching.best_alignments(frames, pitches, owner, postings)

    assert found and found[0].ref_id == 1 and found[0].is_match()
    assert abs(found[0].offset_s - 60.0) < 0.1
    assert abs(found[0].pitch_shift_st - (-1.0)) < 0.1  # the query sits a semitone below the reference
    assert not any(a.is_match() for a in found[1:])


def test_chance_hits_spread_over_references_match_nothing() -> None:
    rng = np.random.default_rng(4)
    frames, pitches, owner, postings = _postings(rng, true_hits=0, decoys=40, decoy_hits=400)

    assert not any(a.is_match() for a in matching.best_alignments(frames, pitches, owner, postings))
