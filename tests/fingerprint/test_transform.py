"""A match only the segment embeddings found gets its pitch shift and tempo read from the audio."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from catalog import synth
from fingerprint import actions, audio, landmarks, matching, params, transform
from generation_audit import degradations

SR = params.ANALYSIS_SAMPLE_RATE
SEED = 31


@cache
def _performance(transpose: int = 0, tempo_factor: float = 1.0) -> np.ndarray:
    """The same piece, same instruments, `transpose` semitones up and `tempo_factor` times faster."""
    piece = synth.compose(SEED, 40.0, transpose=transpose, tempo_factor=tempo_factor).samples
    return degradations.resample(piece, synth.SAMPLE_RATE, SR)


def _estimate(transpose: int, tempo_factor: float, guess_error_s: float = 0.3) -> transform.Transform | None:
    query = _performance(transpose, tempo_factor)[5 * SR : 13 * SR]
    reference_at = 5.0 * tempo_factor  # where the query's first sample lies in the reference
    reference_from = reference_at - 1.2
    reference = _performance()[int(reference_from * SR) : int((reference_from + 12.0) * SR)]
    found = transform.estimate(
        landmarks.log_spectrogram(query),
        landmarks.log_spectrogram(reference),
        (reference_at + guess_error_s - reference_from) / params.FRAME_S,  # the embeddings' offset, 0.3 s off
    )
    assert found is not None
    assert found.offset_frames * params.FRAME_S + reference_from == pytest.approx(reference_at, abs=0.05)
    return found


@pytest.mark.parametrize(("transpose", "tempo_factor"), [(2, 1.0), (-1, 1.0), (0, 1.05), (0, 0.92), (1, 1.08)])
def test_it_reads_the_pitch_shift_and_tempo_to_within_a_percent(transpose: int, tempo_factor: float) -> None:
    found = _estimate(transpose, tempo_factor)

    assert 2 ** (found.pitch_shift_st / 12) == pytest.approx(2 ** (transpose / 12), rel=0.01)
    assert found.tempo == pytest.approx(tempo_factor, rel=0.01)
    assert not found.beyond_range


@pytest.mark.parametrize(("transpose", "tempo_factor"), [(0, 0.8), (0, 1.25), (5, 1.0)])
def test_a_performance_beyond_the_range_the_engine_covers_is_marked_so(transpose: int, tempo_factor: float) -> None:
    query = _performance(transpose, tempo_factor)[5 * SR : 13 * SR]
    reference = _performance()[int(3.8 * SR) : int(18.0 * SR)]
    expected_offset = (5.0 * tempo_factor - 3.8) / params.FRAME_S
    found = transform.estimate(landmarks.log_spectrogram(query), landmarks.log_spectrogram(reference), expected_offset)
    assert found is None or found.beyond_range


def test_an_unchanged_performance_is_reported_unchanged() -> None:
    found = _estimate(0, 1.0)
    assert (found.pitch_shift_st, found.tempo) == (0.0, 1.0)


def test_unrelated_music_gives_no_transform_the_engine_covers() -> None:
    query = degradations.resample(synth.compose(77, 10.0).samples, synth.SAMPLE_RATE, SR)[: 8 * SR]
    reference = _performance()[: 12 * SR]
    found = transform.estimate(landmarks.log_spectrogram(query), landmarks.log_spectrogram(reference), 50.0)
    assert found is None or found.beyond_range


def _alignment(embeddings_only: bool) -> matching.Alignment:
    # As fuse() reports a reference the embeddings alone found: tempo and pitch 1, their offset.
    return matching.Alignment(
        ref_id=7, aligned=20.0, offset_frames=(10.0 * 1.05 - 10.0) / params.FRAME_S, tempo=1.0, pitch_shift_st=0.0,
        query_start_frame=10.0 / params.FRAME_S, query_end_frame=20.0 / params.FRAME_S, embeddings_only=embeddings_only,
    )  # fmt: skip


def test_refine_transforms_measures_only_what_the_embeddings_alone_found(tmp_path: Path) -> None:
    stored = tmp_path / "reference.wav"
    stored.write_bytes(audio.encode(_performance(), SR, "wav"))
    upload = _performance(2, 1.05)  # two semitones up and 5 % faster: the landmarks' pitch search would
    # have found this, so the embeddings-only match stands for one whose peaks noise has destroyed

    refined, untouched = actions.refine_transforms(upload, [_alignment(True), _alignment(False)], {7: stored}.get)

    assert refined.pitch_factor == pytest.approx(2 ** (2 / 12), rel=0.01)
    assert refined.tempo_factor == pytest.approx(1.05, rel=0.01)
    assert refined.offset_s == pytest.approx(0.0, abs=0.1)  # the reference time at upload time 0
    assert untouched == _alignment(False)


def test_an_embeddings_only_match_that_fits_best_beyond_the_range_is_dropped(tmp_path: Path) -> None:
    # The same piece 20 % slower: the embedder ignores tempo, but no tempo the engine covers fits
    # (params.MAX_TEMPO_FACTOR): another rendition, not a use of this recording.
    stored = tmp_path / "reference.wav"
    stored.write_bytes(audio.encode(_performance(), SR, "wav"))
    slower = _performance(0, 0.8)
    alone = replace(_alignment(True), offset_frames=(10.0 * 0.8 - 10.0) / params.FRAME_S)

    assert actions.refine_transforms(slower, [alone, _alignment(False)], {7: stored}.get) == [_alignment(False)]
