"""Where the segment embeddings place a query, the landmarks look again (matching._guided), and two
engines agreeing on one reference and offset count for more than either alone (matching.fuse).

Heavy noise leaves a true copy a dozen or two triplets at its offset, while other references
collect more chance hits in one place: the copy is not among the few references aligned in detail.
A hint from the embeddings finds it; music that only sounds alike lines up under some pitch shift
or tempo there, and is not kept."""

from __future__ import annotations

import numpy as np

from fingerprint import matching, params

SECONDS = 10.0
N_TRIPLETS = 400


def _query(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    frames = np.sort(rng.uniform(0, SECONDS / params.FRAME_S, N_TRIPLETS)).astype(np.float32)
    return frames, rng.uniform(5, 40, N_TRIPLETS).astype(np.float32)


def _postings(rng, query_frames, query_pitches, true_hits: int, pitch_st: float, tempo: float):  # type: ignore[no-untyped-def]
    """Reference 1 holds `true_hits` query triplets 60 s in (shifted by `pitch_st`, scaled by `tempo`);
    more references than are aligned in detail each hold a pile of chance hits at one offset, at
    random pitches, so they outrank reference 1 for alignment and align to nothing."""
    owners, refs, frames, pitches = [], [], [], []
    right = rng.choice(N_TRIPLETS, true_hits, replace=False)
    owners.append(right)
    refs.append(np.full(true_hits, 1))
    frames.append(tempo * query_frames[right] + 60.0 / params.FRAME_S)
    pitches.append(query_pitches[right] + pitch_st)
    for decoy in range(params.MAX_CANDIDATES + 4):
        hit = rng.integers(0, N_TRIPLETS, 3 * true_hits)
        owners.append(hit)
        refs.append(np.full(len(hit), 2 + decoy))
        frames.append(query_frames[hit] + rng.uniform(100, 101, 1) / params.FRAME_S)
        pitches.append(query_pitches[hit] + rng.uniform(-3, 3, len(hit)))
    owner = np.concatenate(owners).astype(np.int64)
    return owner, matching.Postings(
        query_index=np.arange(len(owner), dtype=np.int64),
        refs=np.concatenate(refs).astype(np.int64),
        ref_frames=np.round(np.concatenate(frames)).astype(np.uint32),
        ref_pitches=np.round(np.concatenate(pitches) * params.PITCH_STORE_STEPS).astype(np.uint16),
    )


def _reference_one(found: list[matching.Alignment]) -> matching.Alignment | None:
    return next((a for a in found if a.ref_id == 1), None)


def test_a_copy_outranked_for_alignment_is_found_where_the_embeddings_place_it() -> None:
    rng = np.random.default_rng(11)
    frames, pitches = _query(rng)
    owner, postings = _postings(rng, frames, pitches, true_hits=20, pitch_st=0.0, tempo=1.0)

    unguided = _reference_one(matching.best_alignments(frames, pitches, owner, postings))
    guided = _reference_one(matching.best_alignments(frames, pitches, owner, postings, hints=[(1, 60.3)]))

    assert unguided is None or not unguided.is_match()
    assert guided is not None and guided.is_match()
    assert abs(guided.offset_s - 60.0) < 0.1


def test_a_line_under_a_pitch_shift_at_the_hint_is_not_taken() -> None:
    rng = np.random.default_rng(12)
    frames, pitches = _query(rng)
    owner, postings = _postings(rng, frames, pitches, true_hits=20, pitch_st=1.3, tempo=1.0)

    guided = _reference_one(matching.best_alignments(frames, pitches, owner, postings, hints=[(1, 60.0)]))

    assert guided is None or not guided.is_match()


def _segments(agreeing: int, of: int, offset_s: float) -> matching.SegmentAlignment:
    return matching.SegmentAlignment(
        ref_id=1,
        segments=agreeing,
        query_segments=of,
        similarity=0.8 * agreeing,
        offset_s=offset_s,
        query_start_s=0.0,
        query_end_s=of * params.EMBED_HOP_S,
    )


def _landmarks(aligned: float, tempo: float = 1.0) -> matching.Alignment:
    return matching.Alignment(
        ref_id=1,
        aligned=aligned,
        offset_frames=60.0 / params.FRAME_S,
        tempo=tempo,
        pitch_shift_st=0.0,
        query_start_frame=1.0 / params.FRAME_S,
        query_end_frame=4.0 / params.FRAME_S,
    )


def test_too_few_triplets_and_too_few_segments_agreeing_on_one_offset_make_a_match() -> None:
    few = 3  # of 9 segments: under EMBED_MIN_FRACTION, and 7 triplets: under MIN_ALIGNED_HASHES
    assert not _segments(few, 9, 60.0).is_evidence() and not _landmarks(7.0).is_match()

    fused = matching.decide(matching.fuse([_landmarks(7.0)], [_segments(few, 9, 60.0)]))

    assert [a.ref_id for a in fused] == [1]


def test_agreement_under_another_tempo_or_at_another_offset_makes_no_match() -> None:
    few = 3
    time_scaled = matching.fuse([_landmarks(10.0, tempo=0.92)], [_segments(few, 9, 60.0)])
    elsewhere = matching.fuse([_landmarks(7.0)], [_segments(few, 9, 75.0)])

    assert matching.decide(time_scaled) == []
    assert matching.decide(elsewhere) == []
