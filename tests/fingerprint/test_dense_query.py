"""A query nothing matches is searched again with denser query triplets (params.DENSE_TRIPLET_TARGETS),
and what that search finds stands only where the segment embeddings put the query too
(matching.at_hint): in heavy noise a copy is found that the first search missed, while the chance
alignments a denser query also collects are not reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from fingerprint import actions, matching, params
from tests import audio as test_audio
from tests import factories

pytestmark = pytest.mark.django_db

SEEDS = (21, 22, 23, 24)


def _noisy_clip(seed: int, start_s: float, snr_db: float, noise_seed: int) -> np.ndarray:
    clip = test_audio.add_noise(test_audio.excerpt(test_audio.piece(seed), start_s, 5.0), snr_db, noise_seed)
    return resample_poly(clip, 1, 2).astype(np.float32)  # synth rate -> the analysis rate


@pytest.mark.parametrize(("start_s", "noise_seed"), [(4.0, 0), (12.0, 1)])
def test_a_copy_under_heavier_noise_than_the_first_search_survives_is_found_by_the_denser_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_s: float, noise_seed: int
) -> None:
    registered = {seed: factories.registered_recording(tmp_path, seed) for seed in SEEDS}
    clip = _noisy_clip(24, start_s, -6.0, noise_seed)  # the music 6 dB under white noise

    assert matching.decide(actions.candidate_alignments(clip)) == []  # the first search misses it
    with monkeypatch.context() as patch:
        patch.setattr(params, "DENSE_TRIPLET_TARGETS", params.TRIPLET_TARGETS)
        assert actions.decided_alignments(clip)[1] == []  # so does a second search no denser

    (found,) = actions.decided_alignments(clip)[1]
    assert found.ref_id == registered[24].reference_assets.get().pk
    assert abs(found.offset_s - start_s) < 0.5
    assert found.is_identity()


def test_unregistered_music_under_the_same_noise_matches_nothing(tmp_path: Path) -> None:
    for seed in SEEDS:
        factories.registered_recording(tmp_path, seed)
    for seed in (31, 32, 33):
        for snr_db in (-6.0, 0.0, 10.0):
            assert actions.decided_alignments(_noisy_clip(seed, 6.0, snr_db, 0))[1] == [], (seed, snr_db)


def _alignment(
    ref_id: int, offset_s: float, tempo: float = 1.0, aligned: float = 20.0, pitch_st: float = 0.0
) -> matching.Alignment:
    return matching.Alignment(
        ref_id=ref_id,
        aligned=aligned,
        offset_frames=offset_s / params.FRAME_S,
        tempo=tempo,
        pitch_shift_st=pitch_st,
        query_start_frame=0.0,
        query_end_frame=10.0 / params.FRAME_S,
    )


def test_an_alignment_is_at_a_hint_only_on_the_hinted_reference_and_line() -> None:
    assert matching.at_hint(_alignment(1, 60.0), [(2, 60.0), (1, 60.8)])
    assert not matching.at_hint(_alignment(1, 60.0), [(2, 60.0), (1, 62.0)])  # the same reference elsewhere
    assert not matching.at_hint(_alignment(1, 60.0), [(2, 60.0)])  # another reference at the same offset
    # A tempo-scaled line is compared at its span's middle, 5 s into the query: there it is at
    # 60 + 1.1 * 5 = 65.5 s of the reference, the hint's tempo-1 line at 65 s (0.5 s apart).
    assert matching.at_hint(_alignment(1, 60.0, tempo=1.1), [(1, 60.0)])
    assert not matching.at_hint(_alignment(1, 60.0, tempo=1.3), [(1, 60.0)])  # 1.5 s apart at the middle


def test_the_denser_search_reports_only_untransformed_lines_that_score_enough_at_a_hint() -> None:
    hints = [(1, 60.0), (2, 30.0), (3, 10.0), (4, 50.0)]
    candidates = [
        _alignment(1, 60.0, aligned=params.DENSE_MIN_SCORE),  # at its hint, untransformed: reported
        _alignment(2, 30.0, aligned=40.0, tempo=0.89, pitch_st=-0.3),  # at its hint, but time-scaled
        _alignment(3, 10.0, aligned=40.0, pitch_st=2.0),  # at its hint, but pitch-shifted
        _alignment(4, 50.0, aligned=params.DENSE_MIN_SCORE - 1),  # at its hint, too few triplets
        _alignment(5, 20.0, aligned=40.0),  # strong, but no embedding put the query there
    ]

    assert [a.ref_id for a in matching.corroborated_matches(candidates, hints)] == [1]
