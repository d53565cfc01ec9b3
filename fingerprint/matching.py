"""Landmark postings -> time-aligned candidates -> scored matches. Pure numpy.

A true match shows many postings of one reference at one constant offset (reference frame minus
query frame); chance postings scatter over offsets. Units: frames of params.FRAME_S seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fingerprint import params


@dataclass(frozen=True)
class Alignment:
    """One reference found in the query: where, how well, and how sure."""

    ref_id: int
    aligned: int  # distinct query landmarks that agree on the offset
    offset_frames: int  # reference frame = query frame + offset_frames
    query_start_frame: int
    query_end_frame: int

    @property
    def offset_s(self) -> float:
        return self.offset_frames * params.FRAME_S

    @property
    def query_start_s(self) -> float:
        return self.query_start_frame * params.FRAME_S

    @property
    def query_end_s(self) -> float:
        return self.query_end_frame * params.FRAME_S

    @property
    def span_s(self) -> float:
        return max(self.query_end_s - self.query_start_s, params.FRAME_S)

    @property
    def confidence(self) -> float:
        """Monotone in the aligned count, 0..1; see params.CONFIDENCE_SCALE."""
        excess = self.aligned - params.MIN_ALIGNED_HASHES / 2
        return max(0.0, 1.0 - math.exp(-excess / params.CONFIDENCE_SCALE))

    def is_match(self) -> bool:
        """Enough aligned landmarks, densely enough over the span they cover."""
        density = self.aligned / max(self.span_s, 1.0)
        return self.aligned >= params.MIN_ALIGNED_HASHES and density >= params.MIN_ALIGNED_PER_SECOND


def best_alignments(
    query_frames: np.ndarray, query_index: np.ndarray, refs: np.ndarray, ref_frames: np.ndarray
) -> list[Alignment]:
    """For every reference with postings, its best offset and the query span that supports it.

    `query_frames[i]` is the anchor frame of query landmark i; (query_index, refs, ref_frames) are
    the postings the index returned. Sorted by aligned count, best first.
    """
    if len(refs) == 0:
        return []
    offsets = ref_frames.astype(np.int64) - query_frames[query_index]
    # One sortable key per (reference, offset) pair.
    span = int(offsets.max() - offsets.min()) + 2 * params.OFFSET_TOLERANCE_FRAMES + 1
    keys = refs.astype(np.int64) * span + (offsets - offsets.min() + params.OFFSET_TOLERANCE_FRAMES)
    unique_keys, inverse = np.unique(keys, return_inverse=True)
    # Each vote is weighted by 1 / (times its hash occurs in that reference): a hash from a passage
    # that repeats (a loop, a chorus) votes for every repeat at once, so on its own it cannot pull
    # the offset away from the one place where the non-repeating material (a melody) also agrees.
    pair_keys = query_index.astype(np.int64) * (int(refs.max()) + 1) + refs
    _, pair_inverse, pair_counts = np.unique(pair_keys, return_inverse=True, return_counts=True)
    votes = np.bincount(inverse, weights=1.0 / pair_counts[pair_inverse], minlength=len(unique_keys))
    smoothed = votes.copy()
    for shift in range(1, params.OFFSET_TOLERANCE_FRAMES + 1):
        for neighbour in (unique_keys - shift, unique_keys + shift):
            pos = np.searchsorted(unique_keys, neighbour)
            pos_clipped = np.minimum(pos, len(unique_keys) - 1)
            found = unique_keys[pos_clipped] == neighbour
            smoothed = smoothed + np.where(found, votes[pos_clipped], 0.0)
    key_refs = unique_keys // span
    # Best offset per reference: sort by (ref, smoothed) and take each ref's last entry.
    order = np.lexsort((smoothed, key_refs))
    last_of_ref = np.r_[key_refs[order][1:] != key_refs[order][:-1], True]
    best = order[last_of_ref]
    best = best[smoothed[best] >= params.MIN_ALIGNED_HASHES / 4]
    results = []
    for key in unique_keys[best]:
        ref_id = int(key // span)
        centre = int(key % span) + offsets.min() - params.OFFSET_TOLERANCE_FRAMES
        hit = (refs == ref_id) & (np.abs(offsets - centre) <= params.OFFSET_TOLERANCE_FRAMES)
        hit_frames = query_frames[np.unique(query_index[hit])]
        run = strongest_run(np.unique(hit_frames))
        results.append(
            Alignment(
                ref_id=ref_id,
                aligned=int(np.count_nonzero((hit_frames >= run[0]) & (hit_frames <= run[-1]))),
                offset_frames=centre,
                query_start_frame=int(run[0]),
                query_end_frame=int(run[-1]),
            )
        )
    results.sort(key=lambda a: a.aligned, reverse=True)
    return results


def strongest_run(frames: np.ndarray) -> np.ndarray:
    """The longest stretch of sorted `frames` with no gap over params.MAX_RUN_GAP_S."""
    max_gap = params.MAX_RUN_GAP_S / params.FRAME_S
    breaks = np.flatnonzero(np.diff(frames) > max_gap) + 1
    runs = np.split(frames, breaks)
    return max(runs, key=len)
