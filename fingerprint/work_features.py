"""Composition (work) features: key- and tempo-tolerant chroma, segment vectors, and the Qmax alignment.

Pure computation, no Django. The one module besides `audio.py` that imports librosa (for the
constant-Q transform only; nothing here triggers numba compilation).

A rendition of a composition keeps its melody and harmony while key, tempo, instruments, drums
and mix change. So everything starts from a chroma sequence (energy per pitch class, 12 values,
FRAME_RATE frames a second) taken from a constant-Q transform:

* segment vectors (for the vector index): chroma co-occurrence statistics over WINDOW_S windows at
  a few lag bands (which notes sound together, and which follow which within ~3 s). They ignore
  where in the window things happen and move only slowly with tempo; a transposition by k
  semitones rotates them exactly (`rotate_vectors`), so a query is searched in all 12 keys.
* the alignment (for re-ranking): Serrà et al. 2009 "Qmax": a binary cross-recurrence plot of
  delay-embedded chroma, then a local alignment whose steps (1,1), (1,2), (2,1) follow tempo changes
  between 1/2 and 2; the path gives the spans and its slope the tempo ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

# --- parameters (units and reasons) ---------------------------------------------------------------
FEATURE_VERSION = "chroma-cooc-2"  # recorded in the work index; change it when anything below changes
SAMPLE_RATE = 11025  # Hz: the project's analysis rate (fingerprint.params.ANALYSIS_SAMPLE_RATE)
CQT_HOP = 1024  # samples: 92.9 ms; a multiple of 2**(CQT_OCTAVES - 1) as librosa's multirate CQT needs
CQT_FMIN_HZ = 32.70  # C1: bass lines carry the harmony
CQT_OCTAVES = 7  # C1..B7 (3.95 kHz), under the 5.5 kHz Nyquist limit
CQT_BINS_PER_SEMITONE = 3  # the middle bin of three is the tempered pitch; the others absorb detuning
POOL = 2  # CQT frames averaged into one chroma frame
FRAME_RATE = SAMPLE_RATE / CQT_HOP / POOL  # 5.38 chroma frames a second (~2-3 per beat)
QUANT = 255  # stored chroma is uint8 (value * QUANT): 12 bytes a frame, 233 kB an hour
SILENCE_REL = 1e-3  # frames quieter than this fraction of the loudest are silent (all-zero chroma)
WINDOW_S = 6.0  # s: a segment vector summarises this much audio (reference and query alike); 6 s ranks the
# right work in the first 12 for 89 % of 20 s covers, 20 s windows for 81 % (eval_works material)
REF_HOP_S = 2.0  # s between reference segments
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
    q, r = _embed(query), _embed(reference)
    if not len(q) or not len(r):
        return np.zeros((len(q), len(r)), bool)
    sim = q @ r.T
    k_row = max(1, int(RECURRENCE_KAPPA * sim.shape[1]))
    k_col = max(1, int(RECURRENCE_KAPPA * sim.shape[0]))
    row_thr = np.partition(sim, sim.shape[1] - k_row, axis=1)[:, sim.shape[1] - k_row][:, None]
    col_thr = np.partition(sim, sim.shape[0] - k_col, axis=0)[sim.shape[0] - k_col, :][None, :]
    return (sim >= row_thr) & (sim >= col_thr) & (sim > 0)


def qmax(query: np.ndarray, reference: np.ndarray) -> Alignment:
    """The Qmax local alignment of two chroma sequences (n, 12) already in the same key (see Alignment)."""
    rec = cross_recurrence(query, reference)
    nq, nr = rec.shape
    if nq < 3 or nr < 3:
        return Alignment(0.0, 0, 0, 0, 0, 1.0)
    gamma = np.where(rec, GAMMA_ONSET, GAMMA_EXTEND).astype(np.float32)
    q = np.zeros((nq + 2, nr + 2), np.float32)  # two rows and columns of zero padding before the start
    g = np.zeros((nq + 2, nr + 2), np.float32)
    g[2:, 2:] = gamma
    step = np.zeros((nq, nr), np.int8)
    for i in range(nq):
        row = i + 2
        # predecessors (i-1, j-1), (i-2, j-1), (i-1, j-2) of every column j
        options = np.stack([q[row - 1, 1:-1], q[row - 2, 1:-1], q[row - 1, :-2]])
        penalties = np.stack([g[row - 1, 1:-1], g[row - 2, 1:-1], g[row - 1, :-2]])
        hit = rec[i]
        best = np.argmax(options, axis=0)
        grown = options[best, np.arange(nr)] + 1.0
        decayed = options - penalties
        best_decay = np.argmax(decayed, axis=0)
        kept = np.maximum(decayed[best_decay, np.arange(nr)], 0.0)
        q[row, 2:] = np.where(hit, grown, kept)
        step[i] = np.where(hit, best, best_decay)
    scores = q[2:, 2:]
    end_i, end_j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    best_score = float(scores[end_i, end_j])
    if best_score <= 0:
        return Alignment(0.0, 0, 0, 0, 0, 1.0)
    path_i, path_j = _trace(scores, step, rec, int(end_i), int(end_j))
    offset = (EMBED_M - 1) * EMBED_TAU  # state t covers chroma frames t .. t + offset
    q_span = (int(path_i.min()), int(path_i.max()) + offset + 1)
    r_span = (int(path_j.min()), int(path_j.max()) + offset + 1)
    return Alignment(best_score, *q_span, *r_span, _slope(path_i, path_j))


_MOVES = ((1, 1), (2, 1), (1, 2))  # (di, dj) back to the predecessor, by step code


def _trace(scores: np.ndarray, step: np.ndarray, rec: np.ndarray, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
    """The recurrent cells of the path ending at (i, j), followed back while the score stays positive."""
    cells_i, cells_j = [], []
    while i >= 0 and j >= 0 and scores[i, j] > 0:
        if rec[i, j]:
            cells_i.append(i)
            cells_j.append(j)
        di, dj = _MOVES[int(step[i, j])]
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
