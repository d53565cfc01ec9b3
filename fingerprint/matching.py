"""Landmark postings -> pitch-, tempo- and offset-aligned candidates -> scored matches. Pure numpy.

A true match shows many postings of one reference that obey one straight line
    reference frame = tempo * query frame + offset
and one constant pitch shift (reference pitch - query pitch, in semitones); chance postings scatter.
For each candidate reference, the pitch shift is the mode of the per-posting shifts, and the tempo
and offset come from a Hough vote over a grid of tempos, refined by least squares on the inliers.
Units: frames of params.FRAME_S seconds, semitones.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from fingerprint import params


@dataclass(frozen=True)
class Postings:
    """Index hits for a query: which query hash variant, which reference, at which frame and pitch."""

    query_index: np.ndarray  # integer index into QueryLandmarks.hashes
    refs: np.ndarray  # integer reference id
    ref_frames: np.ndarray  # anchor frame in the reference
    ref_pitches: np.ndarray  # anchor pitch in the reference, 1/PITCH_STORE_STEPS semitones


@dataclass(frozen=True)
class Alignment:
    """One reference found in the query: where, under which transformation, how well, how sure."""

    ref_id: int
    aligned: float  # query triplets that agree on pitch, tempo and offset (repeat-weighted)
    offset_frames: float  # reference frame at query frame 0
    tempo: float  # reference time / query time: > 1 when the query is faster than the reference
    pitch_shift_st: float  # query pitch - reference pitch, in semitones
    query_start_frame: float
    query_end_frame: float
    # Found by the segment embeddings alone: its tempo and pitch are not measured but assumed 1
    # until fingerprint.transform reads them from the audio (see actions.refine_transforms).
    embeddings_only: bool = False

    @property
    def offset_s(self) -> float:
        """Where the query's first sample lies in the reference (s)."""
        return self.offset_frames * params.FRAME_S

    @property
    def query_start_s(self) -> float:
        return self.query_start_frame * params.FRAME_S

    @property
    def query_end_s(self) -> float:
        return self.query_end_frame * params.FRAME_S

    @property
    def reference_start_s(self) -> float:
        return (self.tempo * self.query_start_frame + self.offset_frames) * params.FRAME_S

    @property
    def reference_end_s(self) -> float:
        return (self.tempo * self.query_end_frame + self.offset_frames) * params.FRAME_S

    @property
    def span_s(self) -> float:
        return max(self.query_end_s - self.query_start_s, params.FRAME_S)

    @property
    def pitch_factor(self) -> float:
        """Query frequency / reference frequency (1.06 = one semitone up)."""
        return 2.0 ** (self.pitch_shift_st / 12.0)

    @property
    def tempo_factor(self) -> float:
        """Query tempo / reference tempo (1.1 = the query plays 10 % faster)."""
        return self.tempo

    @property
    def confidence(self) -> float:
        """Monotone in the aligned count, 0..1; see params.CONFIDENCE_SCALE."""
        excess = self.aligned - self.needed() / 2
        return max(0.0, 1.0 - math.exp(-excess / params.CONFIDENCE_SCALE))

    def is_identity(self) -> bool:
        """Neither pitch-shifted nor time-scaled (within the tolerances of timing and pitch jitter)."""
        return abs(self.tempo - 1.0) <= params.IDENTITY_TEMPO_TOLERANCE and (
            abs(self.pitch_shift_st) <= params.IDENTITY_PITCH_TOLERANCE_ST
        )

    def needed(self) -> float:
        """Aligned triplets a match needs. Searching every pitch and tempo gives chance many more ways
        to line up than the identity alone, so a transformed match needs more (look-elsewhere effect)."""
        return params.MIN_ALIGNED_HASHES if self.is_identity() else params.MIN_ALIGNED_TRANSFORMED

    def is_match(self) -> bool:
        """Enough aligned landmarks, spread over at least MIN_MATCH_SPAN_S, densely enough.

        A burst of agreement inside a fraction of a second is what chance coincidences look like
        (one chord's peaks matching one chord elsewhere); a real match keeps agreeing over time.
        """
        density = self.aligned / max(self.span_s, params.MIN_MATCH_SPAN_S)
        return (
            self.aligned >= self.needed()
            and self.span_s >= params.MIN_MATCH_SPAN_S
            and density >= params.MIN_ALIGNED_PER_SECOND
        )


@functools.cache
def _tempo_grid(tempo_factor: float) -> np.ndarray:
    """Tempos searched (reference time / query time) up to `tempo_factor` either way, evenly spaced
    in log tempo, 1.0 included."""
    steps = math.ceil(math.log(tempo_factor) / params.TEMPO_GRID_STEP)
    return np.exp(np.arange(-steps, steps + 1) * params.TEMPO_GRID_STEP)


def _pitch_mode(shift: np.ndarray, weight: np.ndarray) -> float:
    """Most supported pitch shift (semitones), from a histogram smoothed over neighbouring bins."""
    bin_st = params.PITCH_TOLERANCE_ST / 2
    bins = np.round(shift / bin_st).astype(np.int64)
    low = bins.min()
    votes = np.bincount(bins - low, weights=weight)
    smoothed = votes.copy()
    smoothed[1:] += votes[:-1]
    smoothed[:-1] += votes[1:]
    centre = int(np.argmax(smoothed)) + low
    near = np.abs(bins - centre) <= 1
    return float(np.average(shift[near], weights=weight[near]))


def _best_cell_pair(keys: np.ndarray, weights: np.ndarray, n_keys: int) -> tuple[int, float]:
    """The occupied (tempo, offset) cell whose votes plus its upper neighbour's are most (first on ties),
    with those votes.

    A line that straddles two cells splits its votes, so each cell counts with the next. Each tempo
    row ends in a cell no vote reaches, so no pair crosses rows. Where the grid is small next to the
    votes (short references, the common case) the votes go straight into it; otherwise into the
    occupied cells only, found by sorting. Both give the same cell and the same votes.
    """
    if n_keys <= _DENSE_GRID_FACTOR * len(keys) or n_keys <= _DENSE_GRID_MIN:
        votes = np.bincount(keys, weights=weights, minlength=n_keys + 1)
        paired = votes[keys] + votes[keys + 1]  # read at the occupied cells only, not the whole grid
        most = paired.max()
        return int(keys[paired == most].min()), float(most)
    unique_keys, inverse = np.unique(keys, return_inverse=True)
    votes = np.bincount(inverse, weights=weights)
    nxt = np.searchsorted(unique_keys, unique_keys + 1)
    nxt_ok = (nxt < len(unique_keys)) & (unique_keys[np.minimum(nxt, len(unique_keys) - 1)] == unique_keys + 1)
    paired = votes + np.where(nxt_ok, votes[np.minimum(nxt, len(votes) - 1)], 0.0)
    best = int(np.argmax(paired))
    return int(unique_keys[best]), float(paired[best])


# A dense vote grid costs a pass over every cell; sorting the votes costs ~log(votes) passes over them.
_DENSE_GRID_FACTOR = 16
_DENSE_GRID_MIN = 1 << 16
# (tempo, posting) offsets voted at once: 16 MB per array. The wide search's 151 tempos times a long
# reference's 50,000 postings would otherwise take four arrays of 60 MB each, per query in flight.
_LINE_BLOCK = 1 << 21


def _best_line(taus: np.ndarray, tq: np.ndarray, tr: np.ndarray, weight: np.ndarray, width: float) -> tuple[int, int]:
    """(index into `taus`, offset cell of `width` frames) of the most voted pair of neighbouring cells of
    reference frame - tempo x query frame, the lowest tempo and cell on ties.

    The tempos are voted a block at a time: rows never pair across (_best_cell_pair), so a block's
    best, kept when strictly better than every earlier block's, is the best of the whole grid."""
    per_block = max(1, _LINE_BLOCK // max(len(tq), 1))
    best_votes, best = -math.inf, (0, 0)
    for first in range(0, len(taus), per_block):
        block = taus[first : first + per_block]
        cells = np.floor((tr[None, :] - block[:, None] * tq[None, :]) / width).astype(np.int64)  # (tempos, postings)
        low = int(cells.min())
        n_cells = int(cells.max()) - low + 2
        cells += np.arange(len(block))[:, None] * n_cells - low
        key, votes = _best_cell_pair(cells.ravel(), np.broadcast_to(weight, cells.shape).ravel(), len(block) * n_cells)
        if votes > best_votes:
            best_votes, best = votes, (first + key // n_cells, key % n_cells + low)
    return best


def _align_one(
    ref_id: int,
    tq: np.ndarray,
    tr: np.ndarray,
    shift: np.ndarray,
    weight: np.ndarray,
    triplet: np.ndarray,
    tempo_factor: float = params.MAX_TEMPO_FACTOR,
) -> Alignment | None:
    """Best (pitch, tempo, offset) for one reference's postings and the query span that supports it,
    at a tempo within `tempo_factor` either way.

    The pitch is the most supported shift over all the postings, and also over those at the
    reference's strongest offset (_local_pitch) when the postings span over params.LOCAL_PITCH_MIN_SPAN_S
    of the query: in a long upload a few seconds of a sped-up copy (+1.65 semitones at 10 % faster) are
    outvoted by the chance postings of minutes of other audio, which scatter over every shift, while at
    its own offset the copy stands out. Where the two differ both are aligned and the better kept. A
    short query is left to the one pitch: a second try also lifts chance alignments (on the breadth
    suite it made a 3 s slowed query a wrong answer at 15.2 triplets)."""
    pitch = _pitch_mode(shift, weight)
    found = _align_at_pitch(ref_id, pitch, tq, tr, shift, weight, triplet, tempo_factor)
    if np.ptp(tq) * params.FRAME_S < params.LOCAL_PITCH_MIN_SPAN_S:
        return found
    local = _local_pitch(tq, tr, shift, weight)
    tolerance = params.PITCH_TOLERANCE_ST
    if abs(local - pitch) <= tolerance or (found is not None and abs(local + found.pitch_shift_st) <= tolerance):
        return found
    other = _align_at_pitch(ref_id, local, tq, tr, shift, weight, triplet, tempo_factor)
    if other is not None and (found is None or other.aligned > found.aligned):
        return other
    return found


def _local_pitch(tq: np.ndarray, tr: np.ndarray, shift: np.ndarray, weight: np.ndarray) -> float:
    """The most supported pitch shift among the postings in the most voted pair of neighbouring
    params.CANDIDATE_OFFSET_CELL_S cells of reference - query time (as candidate_refs ranks)."""
    cell = _offset_cells(tq, tr)
    votes = np.bincount(cell, weights=weight, minlength=int(cell.max()) + 2)
    paired = votes[:-1] + votes[1:]
    best = int(np.argmax(paired))
    near = (cell == best) | (cell == best + 1)
    return _pitch_mode(shift[near], weight[near])


def _align_at_pitch(
    ref_id: int,
    pitch: float,
    tq: np.ndarray,
    tr: np.ndarray,
    shift: np.ndarray,
    weight: np.ndarray,
    triplet: np.ndarray,
    tempo_factor: float,
) -> Alignment | None:
    """The best line among the postings within params.PITCH_TOLERANCE_ST of `pitch` (see _align_one)."""
    ok = np.abs(shift - pitch) <= params.PITCH_TOLERANCE_ST
    tq, tr, shift, weight, triplet = tq[ok], tr[ok], shift[ok], weight[ok], triplet[ok]
    if weight.sum() < params.MIN_ALIGNED_HASHES / 2:
        return None
    taus = _tempo_grid(tempo_factor)
    width = 2 * params.OFFSET_TOLERANCE_FRAMES
    tau_index, cell = _best_line(taus, tq, tr, weight, width)
    tau = float(taus[tau_index])
    centre = (cell + 1) * width
    inlier = np.abs(tr - tau * tq - centre) <= width
    # Refine the line on its inliers when they span enough query time to pin the slope.
    if inlier.sum() >= 3 and np.ptp(tq[inlier]) > 20:
        slope, intercept = np.polyfit(tq[inlier], tr[inlier], 1, w=np.sqrt(weight[inlier]))
        if abs(math.log(max(slope, 1e-6))) <= math.log(tempo_factor) + params.TEMPO_GRID_STEP:
            tau, centre = float(slope), float(intercept)
    inlier = np.abs(tr - tau * tq - centre) <= params.OFFSET_TOLERANCE_FRAMES
    if not inlier.any():
        return None
    run = strongest_run(np.unique(tq[inlier]))
    in_run = inlier & (tq >= run[0]) & (tq <= run[-1])
    # One vote per query triplet, however many repeats of its passage the reference holds.
    _, first = np.unique(triplet[in_run], return_index=True)
    aligned = float(weight[in_run][first].sum())
    pitch = float(np.average(shift[in_run], weights=weight[in_run]))
    return Alignment(
        ref_id=ref_id,
        aligned=aligned,
        offset_frames=centre,
        tempo=tau,
        pitch_shift_st=-pitch,
        query_start_frame=float(run[0]),
        query_end_frame=float(run[-1]),
    )


def best_alignments(
    query_frames: np.ndarray,
    query_pitches: np.ndarray,
    triplet_of_posting: np.ndarray,
    postings: Postings,
    hints: Sequence[tuple[int, float]] = (),
    search: params.SearchRange = params.COVERED,
) -> list[Alignment]:
    """Every candidate reference's best alignment within the pitch and tempo range `search`, best first.

    `query_frames` / `query_pitches` are per query triplet (anchor frame and pitch);
    `triplet_of_posting[i]` is the query triplet that produced posting i. `hints` are (reference,
    offset s) where the segment embeddings place the query: each is also aligned within
    GUIDED_WINDOW_S of that offset (see _guided).
    """
    if len(postings.refs) == 0:
        return []
    # A wide search gathers millions of postings, and identify runs a query per CPU at once: the arrays
    # below are built in place and each dropped once used, so a posting costs 37-50 bytes more at the
    # peak (measured on 1-3 M postings), with the same float64 arithmetic, so the same alignments, as
    # a plain version that keeps them all.
    shift = postings.ref_pitches.astype(np.float64)
    shift /= params.PITCH_STORE_STEPS
    shift -= query_pitches[triplet_of_posting]
    plausible = np.flatnonzero(np.abs(shift) <= search.pitch_st + params.PITCH_TOLERANCE_ST)
    if len(plausible) == 0:
        return []
    triplet = triplet_of_posting[plausible]
    # One sort groups the postings by reference and, within each, by query triplet: every reference's
    # postings are then one contiguous slice, and each (triplet, reference) pair one run inside it.
    pair = postings.refs[plausible].astype(np.int64)
    pair *= int(triplet.max()) + 1
    pair += triplet
    order = np.argsort(pair, kind="stable")
    kept = plausible[order]
    del plausible
    pair, triplet = pair[order], triplet[order]
    del order
    shift = shift[kept]
    refs = postings.refs[kept]
    tq = query_frames[triplet].astype(np.float64)
    tr = postings.ref_frames[kept].astype(np.float64)
    del kept
    # Each posting votes 1 / (postings its query triplet has in that reference): a passage that
    # repeats (a loop, a chorus) cannot outvote the one place where everything else agrees too.
    pair_index = np.cumsum(np.r_[True, pair[1:] != pair[:-1]]) - 1
    del pair
    weight = 1.0 / np.bincount(pair_index)[pair_index]
    del pair_index
    new_ref = np.r_[True, refs[1:] != refs[:-1]]
    starts = np.flatnonzero(new_ref)
    ends = np.r_[starts[1:], len(refs)]
    ranked = candidate_refs(tq, tr, np.cumsum(new_ref) - 1, weight, starts)
    results = []
    for index in ranked:
        mine = slice(starts[index], ends[index])
        found = _align_one(
            int(refs[starts[index]]), tq[mine], tr[mine], shift[mine], weight[mine], triplet[mine], search.tempo_factor
        )
        if found is not None:
            results.append(found)
    by_ref = {a.ref_id: a for a in results}
    ref_ids = refs[starts]  # ascending: the postings are sorted by reference
    for ref_id, offset_s in hints:
        index = int(np.searchsorted(ref_ids, ref_id))
        if index == len(ref_ids) or ref_ids[index] != ref_id:
            continue
        current = by_ref.get(ref_id)
        if current is not None and (current.is_match() or _within(current, offset_s)):
            continue
        mine = slice(starts[index], ends[index])
        guided = _guided(offset_s, ref_id, tq[mine], tr[mine], shift[mine], triplet[mine])
        if guided is not None:  # replaces a chance alignment elsewhere in the reference, if any
            by_ref[ref_id] = guided
    return sorted(by_ref.values(), key=lambda a: a.aligned, reverse=True)


def _within(alignment: Alignment, offset_s: float) -> bool:
    """Whether the alignment already lies where the hint points (nothing to look for again)."""
    return abs(alignment.offset_s - offset_s) <= params.GUIDED_WINDOW_S


def _guided(
    offset_s: float,
    ref_id: int,
    tq: np.ndarray,
    tr: np.ndarray,
    shift: np.ndarray,
    triplet: np.ndarray,
) -> Alignment | None:
    """The best alignment of one reference among its postings within params.GUIDED_WINDOW_S of
    `offset_s` (at tempo 1), where the segment embeddings put the query.

    In heavy noise a true copy keeps a few dozen triplets at its offset, while its reference's
    postings over every pitch variant hold hundreds of chance hits elsewhere: the reference is not
    among the few ranked for alignment, or its best line is a chance one. Searched at one offset
    the same triplets stand out, and chance has one window to line up in instead of the whole
    reference. Only an untransformed line is kept: music that merely sounds alike (synthetic pieces
    in one artist's sound) lines up at its hinted offset under some pitch shift or tempo, 12 triplets
    at tempo 0.91 and 1.3 semitones down, as many as a transformed match needs."""
    near = np.abs(tr - tq - offset_s / params.FRAME_S) <= params.GUIDED_WINDOW_S / params.FRAME_S
    if not near.any():
        return None
    # One vote per query triplet within the window (its postings elsewhere in the reference, which
    # thin its weight in the whole-reference search, are not candidates here).
    _, inverse, counts = np.unique(triplet[near], return_inverse=True, return_counts=True)
    found = _align_one(ref_id, tq[near], tr[near], shift[near], 1.0 / counts[inverse], triplet[near])
    return found if found is not None and found.is_identity() else None


def at_hint(alignment: Alignment, hints: list[tuple[int, float]]) -> bool:
    """Whether the segment embeddings placed the query at `alignment`'s reference and line: some hint
    (reference, offset s at tempo 1) on the same reference within params.GUIDED_WINDOW_S of it at the
    middle of the alignment's span (where a tempo-scaled line and the hint's tempo-1 line are compared)."""
    middle = (alignment.query_start_frame + alignment.query_end_frame) / 2
    reference_middle = alignment.tempo * middle + alignment.offset_frames
    window = params.GUIDED_WINDOW_S / params.FRAME_S
    return any(
        ref_id == alignment.ref_id and abs(reference_middle - middle - offset_s / params.FRAME_S) <= window
        for ref_id, offset_s in hints
    )


def corroborated_matches(candidates: list[Alignment], hints: list[tuple[int, float]]) -> list[Alignment]:
    """The matches the denser query search (params.DENSE_TRIPLET_TARGETS) may report: untransformed,
    scoring at least params.DENSE_MIN_SCORE, and at a hint of the segment embeddings (at_hint); then
    the usual decision. That search collects chance alignments as well as the copies it is for, and
    only the embeddings' independent agreement tells them apart."""
    return decide(
        [a for a in candidates if a.aligned >= params.DENSE_MIN_SCORE and a.is_identity() and at_hint(a, hints)]
    )


def candidate_refs(
    tq: np.ndarray, tr: np.ndarray, ref_inverse: np.ndarray, weight: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """Indices (into the unique references) worth a detailed alignment: the MAX_CANDIDATES whose
    weighted hits pile up most at one coarse offset (_offset_peaks), then the
    MAX_WINDOW_CANDIDATES best of every half-overlapping CANDIDATE_WINDOW_S window, MAX_TOTAL_CANDIDATES
    at most; each with hits enough to ever match.

    `tq`, `tr` are each posting's query and reference frame, grouped by reference (`ref_inverse`,
    non-decreasing; each reference's postings start at `starts`). Ranking by hits at one offset, not
    by hits over the whole reference: a pitch-shifted query looks up every hash variant over
    +-MAX_PITCH_SHIFT_ST, and a long or dense reference collects thousands of chance hits spread
    over its whole length, enough to push the right reference, whose hits sit at one offset, out of
    the candidates (a -1 semitone query: 552 hits at one offset, 54th of 71 by total hits).
    """
    floor = params.MIN_ALIGNED_HASHES / 2
    peaks = _offset_peaks(tq, tr, ref_inverse, weight, starts)
    ranked = np.argsort(-peaks, kind="stable")[: params.MAX_CANDIDATES]
    chosen = [int(i) for i in ranked if peaks[i] >= floor]
    window = params.CANDIDATE_WINDOW_S / params.FRAME_S
    if len(tq) == 0 or np.ptp(tq) <= window:
        return np.array(chosen, np.int64)
    n_refs = len(peaks)
    start = tq.min()
    for shift in (0.0, window / 2):
        keys, inverse = _window_groups(np.floor((tq - start + shift) / window).astype(np.int64), ref_inverse, n_refs)
        hits = np.zeros(len(keys))
        np.maximum.at(hits, inverse, _paired_offset_votes(tq, tr, inverse, weight))
        cells, refs = keys // n_refs, keys % n_refs
        order = np.lexsort((-hits, cells))  # by window, then most hits first
        rank_in_cell = np.arange(len(order)) - np.searchsorted(cells[order], cells[order])
        best = order[(rank_in_cell < params.MAX_WINDOW_CANDIDATES) & (hits[order] >= floor)]
        chosen.extend(int(r) for r in refs[best[np.argsort(-hits[best], kind="stable")]])
    unique = list(dict.fromkeys(chosen))  # first come first: global best, then windows' strongest
    return np.array(unique[: max(params.MAX_TOTAL_CANDIDATES, params.MAX_CANDIDATES)], np.int64)


def _window_groups(window: np.ndarray, ref_inverse: np.ndarray, n_refs: int) -> tuple[np.ndarray, np.ndarray]:
    """The occupied (window, reference) keys, ascending, and each posting's index among them: what
    np.unique(window * n_refs + ref_inverse, return_inverse=True) gives. Windows x references is
    usually far fewer than the postings, so the keys are counted in a table rather than sorted,
    which would take several more posting-sized arrays."""
    keys = window * n_refs
    keys += ref_inverse
    n_keys = int(keys.max()) + 1
    if n_keys > 4 * len(keys):
        return np.unique(keys, return_inverse=True)
    occupied = np.bincount(keys, minlength=n_keys) > 0
    rank = np.cumsum(occupied) - 1
    return np.flatnonzero(occupied), rank[keys]


def _offset_peaks(
    tq: np.ndarray, tr: np.ndarray, ref_inverse: np.ndarray, weight: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """Per reference: its most weighted hits in one pair of neighbouring params.CANDIDATE_OFFSET_CELL_S
    cells of reference - query time (tempo 1). A pair spans twice the cell, so a line drifting under a
    tempo change up to MAX_TEMPO_FACTOR still lands in one pair over a query or window."""
    if len(tq) == 0:
        return np.zeros(0)
    return np.maximum.reduceat(_paired_offset_votes(tq, tr, ref_inverse, weight), starts)


def _paired_offset_votes(tq: np.ndarray, tr: np.ndarray, group: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """For each posting, the weighted hits of its group in its coarse offset cell plus the next cell.

    Cells are counted in a table of at most a few times the postings' size (a group's cells hashed
    into it): exact while groups x cells fit, and otherwise a rare collision only adds a few chance
    votes to a ranking that a detailed alignment then checks."""
    cell = _offset_cells(tq, tr)
    n_cells = int(cell.max()) + 2
    slot = group.astype(np.int64)
    slot *= n_cells
    slot += cell  # the key: (group, cell)
    del cell
    size = min((int(group.max()) + 1) * n_cells, max(1 << 12, 1 << (2 * len(slot)).bit_length()))
    slot %= size
    votes = np.bincount(slot, weights=weight, minlength=size)
    paired = votes[slot]
    slot += 1  # the next cell's slot: (key + 1) % size, as keys are not negative
    slot[slot == size] = 0
    paired += votes[slot]
    return paired


def _offset_cells(tq: np.ndarray, tr: np.ndarray) -> np.ndarray:
    """Each posting's params.CANDIDATE_OFFSET_CELL_S cell of reference - query time (tempo 1), the lowest
    cell 0; built in place, one posting-sized array at a time: a wide search holds millions of postings."""
    offset = tr - tq
    offset *= params.FRAME_S
    offset /= params.CANDIDATE_OFFSET_CELL_S
    cell = np.floor(offset, out=offset).astype(np.int64)
    del offset
    cell -= cell.min()
    return cell


def strongest_run(frames: np.ndarray) -> np.ndarray:
    """The longest stretch of sorted `frames` with no gap over params.MAX_RUN_GAP_S."""
    max_gap = params.MAX_RUN_GAP_S / params.FRAME_S
    breaks = np.flatnonzero(np.diff(frames) > max_gap) + 1
    runs = np.split(frames, breaks)
    return max(runs, key=len)


@dataclass(frozen=True)
class SegmentAlignment:
    """A reference found by segment embeddings: how many query segments agree on one offset."""

    ref_id: int
    segments: int  # distinct query segments whose neighbour in this reference agrees on the offset
    query_segments: int  # segments in the whole query
    similarity: float  # their summed cosine similarity
    offset_s: float  # reference time at query time 0
    query_start_s: float
    query_end_s: float

    def is_evidence(self) -> bool:
        """Enough of the query agrees: music that merely sounds alike (one genre, one sound set)
        agrees here and there; the same recording agrees for most of the query."""
        needed = max(params.EMBED_MIN_SEGMENTS, params.EMBED_MIN_FRACTION * self.query_segments)
        return self.segments >= needed

    def is_firm_placement(self) -> bool:
        """Agreement firm enough for the denser-peaks search to look only here (params.FIRM_HINT_*)."""
        needed = max(params.FIRM_HINT_MIN_SEGMENTS, params.FIRM_HINT_MIN_FRACTION * self.query_segments)
        return self.segments >= needed

    def alignment(self, score: float) -> Alignment:
        """This evidence as an alignment of its own, scoring `score`: at tempo and pitch 1 (the
        embedder ignores both) until fingerprint.transform reads them from the audio."""
        return Alignment(
            ref_id=self.ref_id,
            aligned=score,
            offset_frames=self.offset_s / params.FRAME_S,
            tempo=1.0,
            pitch_shift_st=0.0,
            query_start_frame=self.query_start_s / params.FRAME_S,
            query_end_frame=self.query_end_s / params.FRAME_S,
            embeddings_only=True,
        )


def segment_alignments(
    query_times_s: np.ndarray,
    scores: np.ndarray,
    refs: np.ndarray,
    ref_times_s: np.ndarray,
    min_similarity: float | None = None,
) -> list[SegmentAlignment]:
    """Vote the k nearest reference segments of each query segment into (reference, offset) cells.

    `scores`, `refs`, `ref_times_s` are (m, k) search results for the m query patches starting at
    `query_times_s`. Only neighbours at least `min_similarity` (default EMBED_MIN_SIMILARITY)
    similar vote. Query patches may be denser than reference patches (EMBED_QUERY_HOP_S): a segment
    is one EMBED_HOP_S slot of the query, and it votes once per cell with its best patch there, so
    counts and summed similarities keep the reference hop's scale whatever the query hop. Offsets
    are binned at half the reference hop and neighbouring bins pooled, so timing jitter of up to one
    hop still agrees. Best first.
    """
    floor = params.EMBED_MIN_SIMILARITY if min_similarity is None else min_similarity
    usable = (refs >= 0) & (scores >= floor)
    if not usable.any():
        return []
    # Patch starts are rounded to STFT frames (within half a frame of the grid): the margin keeps a
    # patch meant for k x EMBED_HOP_S in slot k.
    slot_of_patch = np.floor((np.asarray(query_times_s) + 0.02) / params.EMBED_HOP_S).astype(np.int64)
    n_slots = int(slot_of_patch.max()) + 1
    query_segments = len(np.unique(slot_of_patch))
    rows, cols = np.nonzero(usable)
    offset = ref_times_s[rows, cols] - query_times_s[rows]
    bin_s = params.EMBED_HOP_S / 2
    cell = np.round(offset / bin_s).astype(np.int64)
    ref = refs[rows, cols]
    results = []
    for ref_id in np.unique(ref):
        mine = ref == ref_id
        cells, patch, sim = cell[mine], rows[mine], scores[rows[mine], cols[mine]]
        slot = slot_of_patch[patch]
        best_sum, best_cell = -1.0, 0
        for centre in np.unique(cells):
            near = np.abs(cells - centre) <= 1
            # One vote per query segment (slot): its best neighbour in the window.
            per_slot = np.zeros(n_slots)
            np.maximum.at(per_slot, slot[near], sim[near])
            total = float(per_slot.sum())
            if total > best_sum:
                best_sum, best_cell = total, int(centre)
        near = np.abs(cells - best_cell) <= 1
        agreeing = np.unique(patch[near])
        results.append(
            SegmentAlignment(
                ref_id=int(ref_id),
                segments=len(np.unique(slot[near])),
                query_segments=query_segments,
                similarity=best_sum,
                offset_s=float(np.median(offset[mine][near])),
                query_start_s=float(query_times_s[agreeing].min()),
                query_end_s=float(query_times_s[agreeing].max() + params.EMBED_PATCH_S),
            )
        )
    results.sort(key=lambda a: a.similarity, reverse=True)
    return results


def fuse(found: list[Alignment], segments: list[SegmentAlignment]) -> list[Alignment]:
    """Landmark alignments with the segment-embedding evidence added, best first.

    A reference both engines place at the same offset (within FUSION_OFFSET_TOLERANCE_S) scores the
    sum of both; there, fewer agreeing segments than EMBED_MIN_FRACTION count when the landmarks
    corroborate them (_corroborates). A reference only the embeddings find gets an alignment at
    tempo and pitch 1 whose score is its embedding evidence alone. Embedding evidence at a
    different offset from the landmarks' is not added: two engines that disagree do not make a
    stronger case. It replaces the landmarks' alignment only when it is the stronger and at least
    EMBED_OVERRULE_FRACTION of the query's segments agree: music in one artist's sound
    (catalog.synth.artist_style, other notes) agrees with that artist's recordings in up to 45 % of
    its segments at some offset, while the landmarks' best for that reference, a chance one, lies
    elsewhere.
    """
    by_ref = {a.ref_id: a for a in found}
    for seg in segments:
        current = by_ref.get(seg.ref_id)
        agrees = current is not None and _same_alignment(current, seg)
        corroborated = current is not None and agrees and _corroborates(current, seg)
        if not (seg.is_evidence() or corroborated):
            continue
        extra = params.EMBED_SEGMENT_WEIGHT * seg.similarity
        if current is None:
            by_ref[seg.ref_id] = seg.alignment(extra)
        elif agrees and current.span_s < params.MIN_MATCH_SPAN_S and extra > current.aligned:
            # A few triplets inside one second (heavy noise, or a guided alignment) cannot say where
            # the match runs; the stronger segments can (their pitch and tempo are read later).
            by_ref[seg.ref_id] = seg.alignment(current.aligned + extra)
        elif agrees:
            by_ref[seg.ref_id] = replace(current, aligned=current.aligned + extra)
        elif seg.segments >= params.EMBED_OVERRULE_FRACTION * seg.query_segments and extra > current.aligned:
            # Most of the query agrees on one offset: the landmarks' weaker best, elsewhere in the
            # reference, is chance hits (noise has destroyed the peaks), not a contradiction.
            by_ref[seg.ref_id] = seg.alignment(extra)
    return sorted(by_ref.values(), key=lambda a: a.aligned, reverse=True)


def _same_alignment(landmark: Alignment, seg: SegmentAlignment) -> bool:
    """Whether the two engines put the middle of the embedding-matched stretch at one reference time."""
    middle = (seg.query_start_s + seg.query_end_s) / 2
    landmark_position = (landmark.tempo * middle / params.FRAME_S + landmark.offset_frames) * params.FRAME_S
    return abs(landmark_position - (seg.offset_s + middle)) <= params.FUSION_OFFSET_TOLERANCE_S


def _corroborates(landmark: Alignment, seg: SegmentAlignment) -> bool:
    """Whether a landmark alignment at the embeddings' offset makes up for too few agreeing segments
    (params.EMBED_CORROBORATED_MIN_SEGMENTS): triplets enough not to be chance coincidences, on the
    untransformed line. Noise transforms nothing, and music that only sounds alike lines up under
    some pitch shift and tempo (synthetic pieces in a registered artist's sound: 6-12 triplets at
    tempo 0.91-1.07 or a semitone off, agreeing with a third of the segments)."""
    return (
        landmark.is_identity()
        and landmark.aligned >= params.EMBED_CORROBORATING_SHARE * landmark.needed()
        and seg.segments >= params.EMBED_CORROBORATED_MIN_SEGMENTS
    )


@dataclass(frozen=True)
class QueryEvidence:
    """Both engines' findings for one query before fusion: the landmark alignments, and the vector
    search of its segment embeddings ((m,) patch start times and (m, k) neighbour scores, reference
    ids and reference times; empty without an embedder). Kept apart so that calibration can replay
    fusion and decision under other parameters without searching again."""

    landmark_alignments: list[Alignment]
    query_times_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    refs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    ref_times_s: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def fused(self) -> list[Alignment]:
        """Every candidate's alignment with the embedding evidence fused in, best first (see fuse)."""
        if len(self.query_times_s) == 0:
            return self.landmark_alignments
        segments = segment_alignments(self.query_times_s, self.scores, self.refs, self.ref_times_s)
        return fuse(self.landmark_alignments, segments)


def from_played_at(alignment: Alignment, up: int, down: int) -> Alignment:
    """An alignment found in the query played at `down`/`up` of its speed (audio.played_at), in the
    query's own time and pitch: its frames are `up`/`down` times as many, and every frequency
    `down`/`up` times what the query holds."""
    stretch = up / down
    return replace(
        alignment,
        tempo=alignment.tempo * stretch,
        pitch_shift_st=alignment.pitch_shift_st + 12.0 * math.log2(stretch),
        query_start_frame=alignment.query_start_frame / stretch,
        query_end_frame=alignment.query_end_frame / stretch,
    )


def shifted(alignment: Alignment, start_frames: float) -> Alignment:
    """An alignment found in a stretch of the query starting `start_frames` in, in whole-query frames."""
    return replace(
        alignment,
        offset_frames=alignment.offset_frames - alignment.tempo * start_frames,
        query_start_frame=alignment.query_start_frame + start_frames,
        query_end_frame=alignment.query_end_frame + start_frames,
    )


def join_pieces(pieces: list[Alignment], gap_frames: float) -> list[Alignment]:
    """Alignments from overlapping stretches of one long query (in whole-query frames), best first:
    those of one reference on one line (agreeing where they meet within FUSION_OFFSET_TOLERANCE_S)
    whose spans overlap or lie within `gap_frames` are one alignment over all of them, with the
    transformation and score of the strongest piece (a stretch's score, not a sum that would count
    the overlaps twice). A weaker piece of the same reference on another line over part of the same
    stretch is an echo (a repeated section of the reference, the best line of a stretch that holds
    only the end of the match) and is dropped."""
    joined: list[Alignment] = []
    for piece in sorted(pieces, key=lambda a: a.aligned, reverse=True):
        same = [i for i, whole in enumerate(joined) if whole.ref_id == piece.ref_id]
        extends = [i for i in same if _continues(joined[i], piece, gap_frames)]
        if extends:
            whole = joined[extends[0]]
            joined[extends[0]] = replace(
                whole,
                query_start_frame=min(whole.query_start_frame, piece.query_start_frame),
                query_end_frame=max(whole.query_end_frame, piece.query_end_frame),
            )
        elif not any(_overlap_frames(joined[i], piece) > 0 for i in same):
            joined.append(piece)
    return joined


def _overlap_frames(a: Alignment, b: Alignment) -> float:
    return min(a.query_end_frame, b.query_end_frame) - max(a.query_start_frame, b.query_start_frame)


def _continues(whole: Alignment, piece: Alignment, gap_frames: float) -> bool:
    """Whether `piece` extends `whole`: near it in the query and on its line where they meet."""
    if piece.query_start_frame > whole.query_end_frame + gap_frames:
        return False
    if whole.query_start_frame > piece.query_end_frame + gap_frames:
        return False
    meet = min(max(piece.query_start_frame, whole.query_start_frame), min(piece.query_end_frame, whole.query_end_frame))
    drift = (whole.tempo - piece.tempo) * meet + whole.offset_frames - piece.offset_frames
    return abs(drift) * params.FRAME_S <= params.FUSION_OFFSET_TOLERANCE_S


def without_echoes(matches: list[Alignment]) -> list[Alignment]:
    """`matches` (best first) less any weak echo inside a much stronger one's span (see decide)."""
    accepted: list[Alignment] = []
    for match in matches:
        if not any(_is_echo(match, stronger) for stronger in accepted):
            accepted.append(match)
    return accepted


def decide(candidates: list[Alignment]) -> list[Alignment]:
    """The matches among `candidates` (best first): each passes `is_match`, and none is a weak echo
    inside a much stronger match's span.

    One stretch of audio is one recording at a time; a second reference that agrees with a small part
    of a stretch another reference explains many times better is a coincidence between similar
    recordings, not a second use. Matches in different stretches (a compilation, a mix) all stand.
    """
    matched = [candidate for candidate in candidates if candidate.is_match()]
    return without_echoes([m for m in matched if not _is_ambiguous(m, matched)])


def _is_ambiguous(match: Alignment, matched: list[Alignment]) -> bool:
    """An embeddings-only match that another recording's embeddings-only match over the same stretch
    rivals (params.AMBIGUOUS_EMBEDDING_RATIO of its score or more): the segment vectors found music
    that sounds like both, not a copy of either."""
    if not match.embeddings_only:
        return False
    return any(
        other.ref_id != match.ref_id
        and other.embeddings_only
        and _overlap_frames(match, other) * params.FRAME_S >= params.ECHO_MIN_OVERLAP * min(match.span_s, other.span_s)
        and other.aligned >= params.AMBIGUOUS_EMBEDDING_RATIO * match.aligned
        for other in matched
    )


def _is_echo(candidate: Alignment, stronger: Alignment) -> bool:
    inside = _overlap_frames(candidate, stronger) * params.FRAME_S / candidate.span_s >= params.ECHO_MIN_OVERLAP
    return inside and candidate.aligned < params.ECHO_MAX_SCORE_RATIO * stronger.aligned


def shortlist(ref_ids: np.ndarray, scores: np.ndarray) -> list[tuple[int, float]]:
    """References ranked by the segment embeddings alone: each reference's best similarity among each
    query segment's neighbours, summed over the query's segments, highest first (ties by id).
    `ref_ids` and `scores` are the vector search's (segments, k) arrays, -1 where no neighbour.

    A first stage that names a few recordings, so landmarks could be checked in those recordings'
    postings only: a cost that does not grow with the catalogue (bench_shortlist measures how often
    the right recording is among the first K)."""
    found = ref_ids >= 0
    if not found.any():
        return []
    rows = np.broadcast_to(np.arange(len(ref_ids))[:, None], ref_ids.shape)[found]
    refs, values = ref_ids[found], scores[found].astype(np.float64)
    order = np.lexsort((-values, refs, rows))  # by segment, then reference, best first
    rows, refs, values = rows[order], refs[order], values[order]
    first = np.r_[True, (rows[1:] != rows[:-1]) | (refs[1:] != refs[:-1])]  # each segment's best per reference
    unique_refs, inverse = np.unique(refs[first], return_inverse=True)
    totals = np.bincount(inverse, weights=values[first])
    ranked = np.lexsort((unique_refs, -totals))
    return [(int(unique_refs[i]), float(totals[i])) for i in ranked]
