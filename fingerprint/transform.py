"""Pitch shift and tempo of a match only the segment embeddings found, read from the two spectrograms.

The embedder is trained to ignore pitch and tempo, so a reference it alone finds comes with an
offset but no transformation, and a pitch-shifted or sped-up upload would be reported as unchanged
(a policy's match type, pitch/tempo-modified, depends on it). Both are read from the audio here:

1. pitch: the shift along the log-frequency axis (params.BANDS_PER_SEMITONE bands per semitone)
   that best correlates the time-averaged band profiles of query and reference, each with its
   octave-wide trend removed so that harmonic structure, not spectral tilt, decides; refined to a
   fraction of a band on a parabola through the best three shifts;
2. tempo and offset: with that shift undone, the straight line through the frame-by-frame cosine
   similarity matrix along which the similarity is highest (a grid of tempos and offsets, then a
   finer grid around the best).

Units: frames of params.FRAME_S seconds, semitones; tempo = reference time / query time. Pure numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from fingerprint import params

OFFSET_SEARCH_S = 1.0  # s either side of the embeddings' offset: they place a segment to within a hop
MIN_SIMILARITY = 0.35  # mean frame cosine along the line below which the estimate is not trusted
MIN_QUERY_FRAMES = 40  # ~0.9 s: a shorter span pins no tempo
# A transformation is reported only when its line is this much more similar (mean cosine) than the
# best line of the untransformed query: in heavy noise a wrong tempo can fit about as well as the
# right one, and an unchanged upload must not be reported as modified on such a margin.
MIN_GAIN_OVER_IDENTITY = 0.02
_FINE_TEMPO_STEP = 0.0005
_FINE_OFFSET_STEP = 0.25  # frames
# The search looks this far past the range the engine covers (params.MAX_PITCH_SHIFT_ST,
# params.MAX_TEMPO_FACTOR), so that a best fit outside it shows as such instead of pinned to its edge.
SEARCH_PITCH_MARGIN_ST = 1.5
SEARCH_TEMPO_MARGIN = 1.1
# A fit further out than the covered range by more than this is beyond it.
BEYOND_PITCH_ST = 0.25
BEYOND_LOG_TEMPO = 0.01


@dataclass(frozen=True)
class Transform:
    """How the query relates to the reference: pitch shift (query - reference, semitones), tempo
    (reference time / query time), the reference frame at query frame 0 (in the reference
    spectrogram's frames), and the mean frame similarity along that line (how well it fits)."""

    pitch_shift_st: float
    tempo: float
    offset_frames: float
    similarity: float
    # The best fit lies outside the pitch and tempo range the engine covers: another rendition (the
    # music played much slower, or in another key), not this recording under a transformation.
    beyond_range: bool = False


def estimate(query_db: np.ndarray, reference_db: np.ndarray, expected_offset_frames: float) -> Transform | None:
    """The transform from (bands, frames) dB log-frequency spectrograms (fingerprint.landmarks.log_spectrogram)
    of the query span and of a stretch of the reference, expected to start `expected_offset_frames`
    into it; None when the spans are too short or nothing along any line is similar enough."""
    if query_db.shape[1] < MIN_QUERY_FRAMES or reference_db.shape[1] < MIN_QUERY_FRAMES:
        return None
    pitch = pitch_shift(query_db, reference_db)
    unshifted = ndimage.shift(query_db, (-pitch * params.BANDS_PER_SEMITONE, 0.0), order=1, mode="nearest")
    best = _best_line(_frame_similarity(unshifted, reference_db), expected_offset_frames)
    identity = _best_line(_frame_similarity(query_db, reference_db), expected_offset_frames, tempo_fixed=True)
    if identity is not None and (best is None or best[2] < identity[2] + MIN_GAIN_OVER_IDENTITY):
        pitch, best = 0.0, identity
    if best is None or best[2] < MIN_SIMILARITY:
        return None
    tempo, offset, score = best
    beyond = (
        abs(pitch) > params.MAX_PITCH_SHIFT_ST + BEYOND_PITCH_ST
        or abs(math.log(tempo)) > math.log(params.MAX_TEMPO_FACTOR) + BEYOND_LOG_TEMPO
    )
    return Transform(pitch, tempo, offset, score, beyond)


def pitch_shift(query_db: np.ndarray, reference_db: np.ndarray) -> float:
    """Semitones the query sits above the reference (searched to SEARCH_PITCH_MARGIN_ST past
    params.MAX_PITCH_SHIFT_ST either way)."""
    per_st = params.BANDS_PER_SEMITONE
    q, r = _profile(query_db), _profile(reference_db)
    reach = math.ceil((params.MAX_PITCH_SHIFT_ST + SEARCH_PITCH_MARGIN_ST) * per_st)
    shifts = np.arange(-reach, reach + 1)
    n = len(q)
    scores = np.array([float(np.dot(q[max(0, s) : n + min(0, s)], r[max(0, -s) : n - max(0, s)])) for s in shifts])
    i = int(np.argmax(scores))
    fraction = 0.0
    if 0 < i < len(scores) - 1:
        left, centre, right = scores[i - 1], scores[i], scores[i + 1]
        denominator = left - 2 * centre + right
        fraction = float(np.clip(0.5 * (left - right) / denominator, -0.5, 0.5)) if denominator < 0 else 0.0
    return float((shifts[i] + fraction) / per_st)


def _profile(spectrogram_db: np.ndarray) -> np.ndarray:
    """Time-averaged band levels with the octave-wide trend removed, unit norm."""
    mean = spectrogram_db.mean(axis=1)
    detail = mean - ndimage.uniform_filter1d(mean, size=12 * params.BANDS_PER_SEMITONE, mode="nearest")
    return detail / (np.linalg.norm(detail) + 1e-9)


def _frame_similarity(query_db: np.ndarray, reference_db: np.ndarray) -> np.ndarray:
    """(query frames, reference frames) cosine similarity of mean-removed frames."""

    def normalised(spec: np.ndarray) -> np.ndarray:
        centred = spec - spec.mean(axis=0, keepdims=True)
        return centred / (np.linalg.norm(centred, axis=0, keepdims=True) + 1e-9)

    return normalised(query_db).T @ normalised(reference_db)


def _line_scores(similarity: np.ndarray, tempos: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(tempos, offsets) mean similarity along reference frame = offset + tempo * query frame
    (linear interpolation between reference frames; a line that leaves the reference for over a
    fifth of the query scores -1). One tempo at a time: bounded memory."""
    n_query, n_ref = similarity.shape
    t = np.arange(n_query)
    out = np.empty((len(tempos), len(offsets)))
    for i, tempo in enumerate(tempos):
        position = offsets[:, None] + tempo * t[None, :]
        inside = (position >= 0) & (position <= n_ref - 1)
        low = np.clip(np.floor(position).astype(np.int64), 0, n_ref - 2)
        weight = np.clip(position - low, 0.0, 1.0)
        values = similarity[t, low] * (1 - weight) + similarity[t, low + 1] * weight
        mean = np.where(inside, values, 0.0).sum(axis=1) / np.maximum(inside.sum(axis=1), 1)
        out[i] = np.where(inside.mean(axis=1) >= 0.8, mean, -1.0)
    return out


def _best_line(
    similarity: np.ndarray, expected_offset: float, tempo_fixed: bool = False
) -> tuple[float, float, float] | None:
    """(tempo, offset, mean similarity) of the best line near `expected_offset`, tempos searched to
    SEARCH_TEMPO_MARGIN past params.MAX_TEMPO_FACTOR; at tempo 1 only when `tempo_fixed`."""
    tempo_reach = math.log(params.MAX_TEMPO_FACTOR * SEARCH_TEMPO_MARGIN)
    steps = 0 if tempo_fixed else math.ceil(tempo_reach / params.TEMPO_GRID_STEP)
    tempos = np.exp(np.arange(-steps, steps + 1) * params.TEMPO_GRID_STEP)
    reach = OFFSET_SEARCH_S / params.FRAME_S
    offsets = np.arange(math.floor(expected_offset - reach), math.ceil(expected_offset + reach) + 1, dtype=float)
    scores = _line_scores(similarity, tempos, offsets)
    i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    if scores[i, j] <= -1:
        return None
    fine_tempos = tempos[i : i + 1] if tempo_fixed else tempos[i] + np.arange(-8, 9) * _FINE_TEMPO_STEP
    fine_offsets = offsets[j] + np.arange(-4, 5) * _FINE_OFFSET_STEP
    fine = _line_scores(similarity, fine_tempos, fine_offsets)
    k, m = np.unravel_index(int(np.argmax(fine)), fine.shape)
    return float(fine_tempos[k]), float(fine_offsets[m]), float(fine[k, m])
