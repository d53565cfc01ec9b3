"""Composition (work) features: key- and tempo-tolerant chroma, segment vectors, and the Qmax alignment.

Pure computation, no Django. The one module besides `audio.py` that imports librosa (for the
constant-Q transform only; nothing here triggers numba compilation).

A rendition of a composition keeps its melody and harmony while key, tempo, instruments, drums
and mix change. So everything starts from a chroma sequence (energy per pitch class, 12 values,
FRAME_RATE frames a second) taken from a constant-Q transform:

* the chroma is taken from the harmonic part of the spectrum (median-filter HPSS), so added drums and
  noise bursts do not smear every pitch class.
* segment vectors (for the vector index): chroma co-occurrence statistics over WINDOW_S windows at
  a few lag bands (which notes sound together, and which follow which). They ignore where in the
  window things happen and move only slowly with tempo; a transposition by k semitones rotates them
  exactly (`rotate_vectors`), so a query is searched in all 12 keys.
* the alignment (for re-ranking): Serrà et al. 2009 "Qmax": a binary cross-recurrence plot of
  delay-embedded chroma, then a local alignment whose steps (1,1), (1,2), (2,1) follow tempo changes
  between 1/2 and 2; the path gives the spans and its slope the tempo ratio. All candidates of a
  query are aligned in one pass (`qmax_many`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import librosa
import numpy as np
from scipy.ndimage import median_filter

# --- parameters (units and reasons) ---------------------------------------------------------------
FEATURE_VERSION = "chroma-hpss-cooc-3"  # recorded in the work index; change it when anything below changes
SAMPLE_RATE = 11025  # Hz: the project's analysis rate (fingerprint.params.ANALYSIS_SAMPLE_RATE)
CQT_HOP = 1024  # samples: 92.9 ms; a multiple of 2**(CQT_OCTAVES - 1) as librosa's multirate CQT needs
CQT_FMIN_HZ = 32.70  # C1: bass lines carry the harmony
CQT_OCTAVES = 7  # C1..B7 (3.95 kHz), under the 5.5 kHz Nyquist limit
CQT_BINS_PER_SEMITONE = 3  # the middle bin of three is the tempered pitch; the others absorb detuning
HPSS_KERNEL = 9  # CQT frames (0.84 s) and bins (3 semitones) of the harmonic-percussive median filters
POOL = 2  # CQT frames averaged into one chroma frame
FRAME_RATE = SAMPLE_RATE / CQT_HOP / POOL  # 5.38 chroma frames a second (~2-3 per beat)
QUANT = 255  # stored chroma is uint8 (value * QUANT): 12 bytes a frame, 233 kB an hour
SILENCE_REL = 1e-3  # frames quieter than this fraction of the loudest are silent (all-zero chroma)
WINDOW_S = 2.0  # s: a segment vector summarises this much audio (reference and query alike). Short windows
# rank better: with HPSS chroma the right work is among the first 24 candidates for 97 % of 20 s covers with
# 2 s windows, 96 % with 3 s, 94 % with 4 s and with 1.5 s (eval_works material; 86 % with the old 6 s).
REF_HOP_S = 1.0  # s between reference segments: windows overlap by half, so a query's segment meets one that
# starts near it (20 s top-1 94.2 % -> 95.5 % with 2 keys; twice the vectors of a 2 s hop: 9 MB an hour in memory)
QUERY_HOP_S = 2.0  # s between query segments
LAG_BANDS = ((0, 0), (1, 3), (4, 8), (9, 16))  # chroma frames: 0, 0.2-0.6, 0.7-1.5, 1.7-3.0 s
VECTOR_DIM = 144 * len(LAG_BANDS)
# Qmax (Serrà, Serra, Andrzejak 2009, "Cross recurrence quantification for cover song identification").
EMBED_M = 4  # delay-embedding dimension: frames stacked into one state (with EMBED_TAU ~1.5 s)
EMBED_TAU = 2  # frames between stacked frames
RECURRENCE_KAPPA = 0.1  # fraction of nearest neighbours, per row and per column, that count as recurrent
GAMMA_ONSET = 5.0  # penalty for a disruption's first cell
GAMMA_EXTEND = 0.5  # penalty for each further cell of a disruption


@dataclass(frozen=True)
class Alignment:
    """The best local alignment of a query chroma sequence against a reference one.

    score: Qmax (recurrent cells on the path, less penalties); spans in chroma frames, end exclusive;
    tempo_ratio: reference frames per query frame along the path (1.1: the query plays 10 % faster)."""

    score: float
    query_start: int
    query_end: int
    ref_start: int
    ref_end: int
    tempo_ratio: float


def chroma(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Chroma sequence (n, 12) float32 of mono `samples` at `sample_rate` Hz: FRAME_RATE frames a second,
    each frame scaled so its strongest pitch class is 1 (silent frames all zero). Bin 0 is C."""
    y = np.asarray(samples, np.float32)
    if sample_rate != SAMPLE_RATE:
        y = librosa.resample(y, orig_sr=sample_rate, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    min_len = CQT_HOP * POOL * 2
    if len(y) < min_len:
        y = np.pad(y, (0, min_len - len(y)))
    bpo = 12 * CQT_BINS_PER_SEMITONE
    # fmin one sub-bin low: each semitone's three bins are centred on the tempered pitch.
    fmin = CQT_FMIN_HZ * 2 ** (-1 / bpo)
    spectrum = np.abs(
        librosa.cqt(y=y, sr=SAMPLE_RATE, hop_length=CQT_HOP, fmin=fmin, n_bins=CQT_OCTAVES * bpo, bins_per_octave=bpo,
                    tuning=0.0)
    )  # fmt: skip
    spectrum = harmonic(spectrum)
    spectrum = np.log1p(100.0 * spectrum / max(float(spectrum.max()), 1e-9))  # compress: quiet notes count too
    n = spectrum.shape[1] // POOL
    pooled = spectrum[:, : n * POOL].reshape(spectrum.shape[0], n, POOL).mean(axis=2)
    per_octave = pooled.reshape(CQT_OCTAVES, 12, CQT_BINS_PER_SEMITONE, n)
    # Detuned recordings put their energy in a side bin: take the sub-bin row that holds the most.
    best_sub = int(np.argmax(per_octave.sum(axis=(0, 1, 3))))
    sub = per_octave[:, :, best_sub, :] + 0.5 * per_octave.sum(axis=2) / CQT_BINS_PER_SEMITONE
    result = sub.sum(axis=0).T  # (n, 12)
    peak = result.max(axis=1, keepdims=True)
    loud = peak[:, 0] > SILENCE_REL * max(float(peak.max()), 1e-12)
    result = np.where(loud[:, None], result / np.maximum(peak, 1e-12), 0.0)
    return result.astype(np.float32)


def harmonic(spectrum: np.ndarray) -> np.ndarray:
    """The harmonic part of a magnitude spectrogram (bins, frames): median-filtering harmonic-percussive
    separation (Fitzgerald 2010) with a soft (Wiener) mask. Drums and noise bursts are broadband and
    short, so the median across HPSS_KERNEL bins keeps them while the median across HPSS_KERNEL frames
    keeps held notes; without this they smear every pitch class (eval_works material, 3 s windows: the
    right work among the first 24 candidates for 89 % -> 94 % of 20 s covers with drums and noise,
    93.2 % -> 95.8 % of all 20 s covers)."""
    held = median_filter(spectrum, size=(1, HPSS_KERNEL), mode="nearest")
    struck = median_filter(spectrum, size=(HPSS_KERNEL, 1), mode="nearest")
    return spectrum * (held**2 / np.maximum(held**2 + struck**2, 1e-12))


def quantise(sequence: np.ndarray) -> np.ndarray:
    """Chroma (n, 12) in [0, 1] as uint8, the form the work store keeps."""
    return np.clip(np.round(np.asarray(sequence) * QUANT), 0, QUANT).astype(np.uint8)


def dequantise(stored: np.ndarray) -> np.ndarray:
    """The float32 chroma back from `quantise`."""
    return np.asarray(stored, np.float32) / QUANT


def _cooccurrence(window: np.ndarray) -> np.ndarray:
    """The segment vector of one chroma window (n, 12): per lag band, the mean outer product of each
    frame with the frames that follow within the band, square-rooted and centred; L2-normalised."""
    x = window / np.maximum(np.linalg.norm(window, axis=1, keepdims=True), 1e-9)
    parts = []
    for low, high in LAG_BANDS:
        total, count = np.zeros((12, 12)), 0
        for lag in range(low, min(high, len(x) - 1) + 1):
            total += x[: len(x) - lag].T @ x[lag:]
            count += len(x) - lag
        m = np.sqrt(np.maximum(total / max(count, 1), 0.0))
        parts.append((m - m.mean()).ravel())
    vector = np.concatenate(parts)
    return (vector / max(float(np.linalg.norm(vector)), 1e-9)).astype(np.float32)


def segment_vectors(sequence: np.ndarray, hop_s: float = REF_HOP_S) -> tuple[np.ndarray, np.ndarray]:
    """Segment vectors (m, VECTOR_DIM) float32 of a chroma sequence, one per WINDOW_S window every
    `hop_s` seconds (one window over everything when shorter), and their start times (m,) in s.
    Windows that are mostly silent are left out; a wholly silent sequence gives none."""
    window, hop = round(WINDOW_S * FRAME_RATE), max(1, round(hop_s * FRAME_RATE))
    starts = list(range(0, max(len(sequence) - window, 0) + 1, hop))
    if starts and starts[-1] + window < len(sequence):  # cover the tail too
        starts.append(len(sequence) - window)
    vectors, times = [], []
    for start in starts:
        part = sequence[start : start + window]
        if (part.max(axis=1) > 0).mean() < 0.5:
            continue
        vectors.append(_cooccurrence(part))
        times.append(start / FRAME_RATE)
    if not vectors:
        return np.zeros((0, VECTOR_DIM), np.float32), np.zeros(0, np.float32)
    return np.stack(vectors), np.array(times, np.float32)


def rotate_vectors(vectors: np.ndarray, semitones: int) -> np.ndarray:
    """Segment vectors (m, VECTOR_DIM) of the same audio transposed up by `semitones`."""
    blocks = np.asarray(vectors).reshape(len(vectors), len(LAG_BANDS), 12, 12)
    return np.roll(blocks, semitones, axis=(2, 3)).reshape(len(vectors), VECTOR_DIM)


def _embed(sequence: np.ndarray) -> np.ndarray:
    """Delay-embedded, L2-normalised states (n, 12 * EMBED_M): frame t stacked with t - tau, t - 2 tau..."""
    span = (EMBED_M - 1) * EMBED_TAU
    x = sequence / np.maximum(np.linalg.norm(sequence, axis=1, keepdims=True), 1e-9)
    if len(x) <= span:
        return np.zeros((0, 12 * EMBED_M), np.float32)
    states = np.concatenate([x[span - k * EMBED_TAU : len(x) - k * EMBED_TAU] for k in range(EMBED_M)], axis=1)
    return states / np.maximum(np.linalg.norm(states, axis=1, keepdims=True), 1e-9)


def cross_recurrence(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Binary cross-recurrence (nq', nr') bool of two chroma sequences: state pairs that are each
    among the other's RECURRENCE_KAPPA most similar (delay-embedded states; n' = n - (m-1) tau)."""
    return _recurrence(_embed(query), _embed(reference))


def _recurrence(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """`cross_recurrence` of two sets of embedded states (rows L2-normalised)."""
    return _binarise(q @ r.T)


def _binarise(sim: np.ndarray) -> np.ndarray:
    """The cells of a state similarity matrix (nq', nr') that are among the RECURRENCE_KAPPA best of
    both their row and their column."""
    if not sim.size:
        return np.zeros(sim.shape, bool)
    k_row = max(1, int(RECURRENCE_KAPPA * sim.shape[1]))
    k_col = max(1, int(RECURRENCE_KAPPA * sim.shape[0]))
    row_thr = np.partition(sim, sim.shape[1] - k_row, axis=1)[:, sim.shape[1] - k_row][:, None]
    col_thr = np.partition(sim, sim.shape[0] - k_col, axis=0)[sim.shape[0] - k_col, :][None, :]
    return (sim >= row_thr) & (sim >= col_thr) & (sim > 0)


def qmax(query: np.ndarray, reference: np.ndarray) -> Alignment:
    """The Qmax local alignment of two chroma sequences (n, 12) already in the same key (see Alignment)."""
    return qmax_many(query, [reference])[0]


def qmax_many(query: np.ndarray, references: list[np.ndarray]) -> list[Alignment]:
    """`qmax` of one query against each of several references (each already in the query's key).

    The references' recurrence plots are laid side by side, two empty columns apart (the steps reach
    back at most two columns, so no path crosses from one into the next), and one dynamic programme
    runs over them all: its Python loop is once per query state instead of once per state and
    reference, which was most of an identification's time."""
    q_states = _embed(query)
    r_states = [_embed(r) for r in references]
    # One matrix product for all references: many small ones cost far more (BLAS start-up per call).
    sim = q_states @ np.concatenate(r_states).T if r_states else np.zeros((len(q_states), 0), np.float32)
    bounds = np.cumsum([0, *(len(r) for r in r_states)])
    recs = [_binarise(sim[:, a:b]) for a, b in itertools.pairwise(bounds)]
    nq = len(q_states)
    if nq < 3:
        return [Alignment(0.0, 0, 0, 0, 0, 1.0) for _ in references]
    widths = [block.shape[1] + 2 for block in recs]
    starts = np.cumsum([0, *widths])[:-1] + 2  # first column of each plot (after its two empty columns)
    width = int(sum(widths))
    rec = np.zeros((nq, width), bool)
    live = np.zeros(width, bool)  # false in the empty columns, whose scores stay 0
    for start, block in zip(starts, recs, strict=True):
        rec[:, start : start + block.shape[1]] = block
        live[start : start + block.shape[1]] = True
    q = np.zeros((nq + 2, width + 2), np.float32)  # two rows and columns of zero padding before the start
    g = np.zeros((nq + 2, width + 2), np.float32)  # the penalty of leaving each cell off the path
    g[2:, 2:] = np.where(rec, GAMMA_ONSET, GAMMA_EXTEND)
    for i in range(nq):
        row = i + 2
        # predecessors (i-1, j-1), (i-2, j-1), (i-1, j-2) of every column j; elementwise maxima, as the
        # predecessor each cell took is recovered only along the best paths (`_trace`).
        o0, o1, o2 = q[row - 1, 1:-1], q[row - 2, 1:-1], q[row - 1, :-2]
        grown = np.maximum(np.maximum(o0, o1), o2) + 1.0
        kept = np.maximum(o0 - g[row - 1, 1:-1], o1 - g[row - 2, 1:-1])
        kept = np.maximum(np.maximum(kept, o2 - g[row - 1, :-2]), 0.0)
        q[row, 2:] = np.where(rec[i], grown, kept) * live
    return [_best_path(q, g, rec, int(start), block.shape[1]) for start, block in zip(starts, recs, strict=True)]


def _best_path(q: np.ndarray, g: np.ndarray, rec: np.ndarray, start: int, width: int) -> Alignment:
    """The Alignment of the best-scoring path ending in columns start .. start + width of the programme
    (`q`, `g`: its padded score and penalty matrices)."""
    if width < 3 or rec.shape[0] < 3:
        return Alignment(0.0, 0, 0, 0, 0, 1.0)
    block = q[2:, 2 + start : 2 + start + width]
    end_i, end_j = np.unravel_index(int(np.argmax(block)), block.shape)
    best_score = float(block[end_i, end_j])
    if best_score <= 0:
        return Alignment(0.0, 0, 0, 0, 0, 1.0)
    path_i, path_j = _trace(q, g, rec, int(end_i), int(end_j) + start)
    path_j = path_j - start
    offset = (EMBED_M - 1) * EMBED_TAU  # state t covers chroma frames t .. t + offset
    q_span = (int(path_i.min()), int(path_i.max()) + offset + 1)
    r_span = (int(path_j.min()), int(path_j.max()) + offset + 1)
    return Alignment(best_score, *q_span, *r_span, _slope(path_i, path_j))


_MOVES = ((1, 1), (2, 1), (1, 2))  # (di, dj) back to each predecessor, in the order the programme prefers


def _trace(q: np.ndarray, g: np.ndarray, rec: np.ndarray, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
    """The recurrent cells of the path ending at state pair (i, j), followed back while the score stays
    positive. The predecessor is the one the programme took: the best one, or on a non-recurrent cell
    the best after its penalty (ties go to the first of _MOVES)."""
    cells_i, cells_j = [], []
    while i >= 0 and j >= 0 and q[i + 2, j + 2] > 0:
        options = [float(q[i + 2 - di, j + 2 - dj]) for di, dj in _MOVES]
        if rec[i, j]:
            cells_i.append(i)
            cells_j.append(j)
        else:
            options = [o - float(g[i + 2 - di, j + 2 - dj]) for o, (di, dj) in zip(options, _MOVES, strict=True)]
        di, dj = _MOVES[int(np.argmax(options))]
        i, j = i - di, j - dj
    return np.array(cells_i[::-1]), np.array(cells_j[::-1])


def _slope(path_i: np.ndarray, path_j: np.ndarray) -> float:
    """Reference frames per query frame: the least-squares slope of the path (1.0 when too short)."""
    if len(path_i) < 4 or np.ptp(path_i) < 3:
        return 1.0
    slope = float(np.polyfit(path_i.astype(float), path_j.astype(float), 1)[0])
    return float(np.clip(slope, 0.5, 2.0))


def pitch_profile(sequence: np.ndarray) -> np.ndarray:
    """The mean chroma (12,) of a sequence, L2-normalised: the input of the optimal transposition index."""
    profile = np.asarray(sequence, np.float64).mean(axis=0)
    return profile / max(float(np.linalg.norm(profile)), 1e-12)


def transposition_scores(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(12,) similarity of the query's pitch profile to the reference's transposed up by k semitones
    (the optimal transposition index is its argmax)."""
    pq, pr = pitch_profile(query), pitch_profile(reference)
    return np.array([float(pq @ np.roll(pr, k)) for k in range(12)])


def signed_semitones(k: int) -> int:
    """A transposition k (mod 12) as the nearest signed interval: -5..+6 semitones."""
    k %= 12
    return k - 12 if k > 6 else k
