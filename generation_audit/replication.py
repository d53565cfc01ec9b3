"""The replication screen: which catalogue spans a generated output reproduces.

A generated output is identified against the catalogue with the fingerprint engine, as an upload
is (landmark triplets, plus segment embeddings when an embedder ships:
`fingerprint.actions.match_samples`), so it inherits the engine's pitch/tempo search and its
false-positive control; but window by window. The engine aligns only the references with the most
hash hits over its whole query (params.MAX_CANDIDATES), and over a long query the chance hits of
long references outnumber a short passage's true ones: on the bench corpus a 10 s excerpt inside
30 s of other music went unaligned 4 times in 10, while the same excerpt alone scored hundreds of
aligned triplets. In windows of WINDOW_S the passage dominates its window again. Matches of one
reference at one time offset in overlapping windows are one span. The price: each window is a query
with the engine's own small chance of a false match (eval_replication measures the pooled rate).

What the engine decides is a match, over at least MIN_REPLICATED_SPAN_S of the output, is a
replicated span.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from catalog.models import AudioAsset
from fingerprint import actions as fingerprint_actions
from fingerprint import params
from fingerprint.matching import Alignment

# --- What counts as replication (the one place these are stated) ---------------------------------
# The engine's own match decision (matching.Alignment.is_match: enough pitch/tempo/offset-aligned
# triplets, spread over >= 1 s, densely enough; no weak echo of a stronger match) keeps chance
# coincidences out: that decision is what the false-positive bound of identification rests on.
# On top of it a replication must cover at least this much of the output (s): a claim against a
# generated output flags it and is written to the ledger, so it must be a reproduced passage, not a
# shared one-bar figure or drum hit; 3 s is past a 4/4 bar at 80 bpm or faster. It keeps a 5 s
# excerpt (reported over 4-5 s: the span runs from the first to the last aligned landmark). On the
# bench corpus (eval_replication: 64 references, 180 negative outputs) floors of 2-4 s gave the same
# recall and false positives, and 1 s added a false positive (3.3 % of negatives against 2.2 %).
MIN_REPLICATED_SPAN_S = 3.0
# Windows the output is screened in (s), and their hop: a WINDOW_S - WINDOW_HOP_S = 5 s excerpt lies
# wholly inside one window, where it is half of the query; longer ones fill whole windows.
WINDOW_S = 10.0
WINDOW_HOP_S = 5.0
# Matches of one reference in two windows are one span when their time offsets (reference time at
# output time 0) agree within this (s), the engine's own tolerance for one alignment
# (params.FUSION_OFFSET_TOLERANCE_S), and they overlap or leave a gap no longer than a window hop.
MERGE_OFFSET_TOLERANCE_S = params.FUSION_OFFSET_TOLERANCE_S


@dataclass(frozen=True)
class ReplicatedSpan:
    """One catalogue span heard in a generated output: where (s, in the output and in the
    reference), under which pitch and tempo factors (output / reference), and how sure."""

    recording_id: int
    reference_asset_id: int
    output_start_s: float
    output_end_s: float
    reference_start_s: float
    reference_end_s: float
    pitch_factor: float
    tempo_factor: float
    confidence: float
    aligned: float  # the engine's score in its best window: aligned triplets (+ weighted embedding evidence)

    @property
    def duration_s(self) -> float:
        """How much of the output the span covers (s)."""
        return self.output_end_s - self.output_start_s

    @property
    def offset_s(self) -> float:
        """Reference time at output time 0 (s)."""
        return self.reference_start_s - self.tempo_factor * self.output_start_s

    def as_dict(self) -> dict[str, Any]:
        """The span as stored on GeneratedOutput.replicated_spans and written to the ledger."""
        return {**asdict(self), "duration_s": round(self.duration_s, 3), "engine_version": params.ENGINE_VERSION}


def screen(path: str | Path) -> list[ReplicatedSpan]:
    """The catalogue spans the audio file at `path` reproduces, best first (AudioError when the file
    cannot be decoded)."""
    return screen_samples(fingerprint_actions.decode_for_analysis(Path(path)).samples)


def screen_samples(samples: np.ndarray, min_span_s: float = MIN_REPLICATED_SPAN_S) -> list[ReplicatedSpan]:
    """The catalogue spans reproduced in mono audio at the analysis rate, best first (`min_span_s`
    other than the default only to measure the floor: eval_replication)."""
    rate = params.ANALYSIS_SAMPLE_RATE
    found: list[ReplicatedSpan] = []
    for start in window_starts(len(samples) / rate):
        window = samples[round(start * rate) : round((start + WINDOW_S) * rate)]
        found.extend(_shifted(alignment, start) for alignment in fingerprint_actions.match_samples(window))
    spans = [span for span in _merged(found) if span.duration_s >= min_span_s]
    if not spans:
        return []
    # A reference taken out of the catalogue after the index was written names no recording.
    recording_of = dict(
        AudioAsset.objects.filter(
            pk__in={s.reference_asset_id for s in spans}, kind=AudioAsset.Kind.REFERENCE, recording__isnull=False
        ).values_list("pk", "recording_id")
    )
    return [
        replace(span, recording_id=recording_of[span.reference_asset_id])
        for span in spans
        if span.reference_asset_id in recording_of
    ]


def window_starts(duration_s: float) -> list[float]:
    """Start times (s) of the screening windows: every WINDOW_HOP_S, the last one ending at the end."""
    if duration_s <= WINDOW_S:
        return [0.0]
    starts = list(np.arange(0.0, duration_s - WINDOW_S, WINDOW_HOP_S))
    return [float(s) for s in starts] + [duration_s - WINDOW_S]


def _shifted(alignment: Alignment, window_start_s: float) -> ReplicatedSpan:
    """An engine alignment within a window as a span in output time (recording not yet known)."""
    return ReplicatedSpan(
        recording_id=0,
        reference_asset_id=alignment.ref_id,
        output_start_s=round(window_start_s + alignment.query_start_s, 3),
        output_end_s=round(window_start_s + alignment.query_end_s, 3),
        reference_start_s=round(alignment.reference_start_s, 3),
        reference_end_s=round(alignment.reference_end_s, 3),
        pitch_factor=round(alignment.pitch_factor, 4),
        tempo_factor=round(alignment.tempo_factor, 4),
        confidence=round(alignment.confidence, 4),
        aligned=round(float(alignment.aligned), 3),
    )


def _merged(found: list[ReplicatedSpan]) -> list[ReplicatedSpan]:
    """Window matches as spans, best first: matches of one reference at one offset, overlapping or
    nearly, are one span (with the transformation, score and confidence of its strongest window); a
    weaker match of the same reference over the same stretch at another offset is an echo (a repeated
    bar of the reference matching elsewhere in it) and is dropped."""
    spans: list[ReplicatedSpan] = []
    for piece in sorted(found, key=lambda s: (-s.aligned, s.output_start_s)):
        same = [i for i, span in enumerate(spans) if span.reference_asset_id == piece.reference_asset_id]
        joins = [
            i
            for i in same
            if abs(spans[i].offset_s - piece.offset_s) <= MERGE_OFFSET_TOLERANCE_S
            and piece.output_start_s <= spans[i].output_end_s + WINDOW_HOP_S
            and spans[i].output_start_s <= piece.output_end_s + WINDOW_HOP_S
        ]
        if joins:
            spans[joins[0]] = _joined(spans[joins[0]], piece)
        elif not any(_overlap(spans[i], piece) > 0 for i in same):
            spans.append(piece)
    return sorted(spans, key=lambda s: s.aligned, reverse=True)


def _overlap(a: ReplicatedSpan, b: ReplicatedSpan) -> float:
    return min(a.output_end_s, b.output_end_s) - max(a.output_start_s, b.output_start_s)


def _joined(span: ReplicatedSpan, piece: ReplicatedSpan) -> ReplicatedSpan:
    strongest = span if span.aligned >= piece.aligned else piece
    first = span if span.output_start_s <= piece.output_start_s else piece
    last = span if span.output_end_s >= piece.output_end_s else piece
    return replace(
        strongest,
        output_start_s=first.output_start_s,
        reference_start_s=first.reference_start_s,
        output_end_s=last.output_end_s,
        reference_end_s=last.reference_end_s,
        confidence=max(span.confidence, piece.confidence),
    )
