"""Attribution of a generated output to catalogue recordings by similarity, as exact shares.

A recording's similarity to an output (0..1) is the share of the output that reproduces or
resembles it, weighted by how closely, from the engine's two kinds of evidence (the larger counts):
- replicated spans (generation_audit.replication): span length x confidence / output length;
- segment embeddings (fingerprint.actions.embedder() / vector_index()): the output's segments whose
  nearest reference segments of the recording agree on one time offset (fingerprint.matching.
  segment_alignments), their summed cosine / all the output's segments. Agreement on one offset,
  not closeness alone: with the shipped embedder an unrelated segment's nearest catalogue segment
  is typically 0.89 similar (eval_replication corpus), a copied one 0.96, so single segments cannot
  tell resemblance from chance, while runs of segments in step with one recording can.
Reference assets map to their recordings (the best asset counts). Without shipped embedder weights
only replicated spans count.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from catalog.models import AudioAsset
from fingerprint import actions as fingerprint_actions
from fingerprint import matching, params
from generation_audit.replication import ReplicatedSpan
from rights.royalties import allocate

# --- Thresholds (the one place they are stated) ---------------------------------------------------
# Embedding evidence for a recording counts only when at least this many output segments (EMBED_HOP_S
# apart: 4 s) agree on one offset in it. Unrelated music in the eval_replication corpus put at most 6
# segments in step with any one recording by chance (25-50 s outputs, 62 references).
MIN_AGREEING_SEGMENTS = 8
# A recording is attributed only when its similarity reaches this: a tenth of the output in step
# with it. Chance agreement of unrelated music stays under it (a few segments on one offset, a
# few hundredths of an output; eval_replication's "attr. neg" column measures it), while a passage
# that follows the recording for several seconds of a typical 30-60 s output passes.
SIMILARITY_FLOOR = 0.10
# At most this many recordings share an output: a long tail of faint resemblances would split the
# pool into amounts too small to pay, and would not be a claim anyone could check by ear.
MAX_RECORDINGS = 5
# Shares are percentages with 4 decimal places: 100 % is this many units.
SHARE_PLACES = 4
SHARE_UNITS = 100 * 10**SHARE_PLACES


@dataclass(frozen=True)
class Attribution:
    """One recording's share (percent, 4 places) of an output, and the similarity it rests on."""

    recording_id: int
    similarity: float
    share: Decimal


def attribute(samples: np.ndarray, spans: list[ReplicatedSpan]) -> list[Attribution]:
    """Shares of the output (mono, analysis rate) by similarity; empty when nothing is similar enough."""
    return shares(similarities(samples, spans), replicated={span.recording_id for span in spans})


def similarities(samples: np.ndarray, spans: list[ReplicatedSpan]) -> dict[int, float]:
    """Each resembling recording's similarity to the output (0..1)."""
    result = _embedding_similarities(samples)
    duration_s = max(len(samples) / params.ANALYSIS_SAMPLE_RATE, params.FRAME_S)
    for span in spans:
        covered = min(span.duration_s / duration_s, 1.0) * span.confidence
        result[span.recording_id] = max(result.get(span.recording_id, 0.0), covered)
    return result


def _embedding_similarities(samples: np.ndarray) -> dict[int, float]:
    """Per recording, the summed cosine of the output segments in step with it / all segments."""
    model = fingerprint_actions.embedder()
    if model is None:
        return {}
    vectors, times = model.embed_audio(samples)
    index = fingerprint_actions.vector_index(model)
    if len(vectors) == 0 or len(index) == 0:
        return {}
    found = index.search(vectors, params.EMBED_SEARCH_K)
    by_asset = {
        seg.ref_id: seg.similarity / seg.query_segments
        for seg in matching.segment_alignments(times, found.scores, found.ref_ids, found.times_s)
        if seg.segments >= MIN_AGREEING_SEGMENTS
    }
    recording_of = AudioAsset.objects.filter(
        pk__in=list(by_asset), kind=AudioAsset.Kind.REFERENCE, recording__isnull=False
    ).values_list("pk", "recording_id")
    result: dict[int, float] = {}
    for asset_id, recording_id in recording_of:  # an asset taken out of the catalogue has no recording
        result[recording_id] = max(result.get(recording_id, 0.0), by_asset[asset_id])
    return result


def shares(similarity: dict[int, float], replicated: Collection[int] = ()) -> list[Attribution]:
    """The top MAX_RECORDINGS recordings at or above SIMILARITY_FLOOR (a replicated recording always
    qualifies: a reproduced span is the strongest evidence of use there is), with shares in
    proportion to similarity that sum to exactly 100 (largest remainder on 0.0001 % units).
    Largest share first; empty when no recording qualifies."""
    eligible = [
        (recording, value)
        for recording, value in similarity.items()
        if value > 0 and (value >= SIMILARITY_FLOOR or recording in replicated)
    ]
    # Replicated recordings first, then by similarity; ties by id, so a re-run gives the same rows.
    eligible.sort(key=lambda item: (item[0] not in replicated, -item[1], item[0]))
    kept = eligible[:MAX_RECORDINGS]
    if not kept:
        return []
    units = allocate(SHARE_UNITS, [max(1, round(value * 10**6)) for _, value in kept])
    result = [
        Attribution(recording, round(value, 4), Decimal(part).scaleb(-SHARE_PLACES))
        for (recording, value), part in zip(kept, units, strict=True)
        if part > 0
    ]
    return sorted(result, key=lambda a: (-a.share, a.recording_id))
