"""A query nothing matches is searched again with denser query triplets (params.DENSE_TRIPLET_TARGETS),
and what that search finds stands only where the segment embeddings put the query too
(matching.at_hint): in heavy noise a copy is found that the first search missed, while the chance
alignments a denser query also collects are not reported. Where that finds nothing, the denser
triplets are formed once more on denser peaks (landmarks.denser_peaks): a passage under louder
other music, whose peaks crowd out the passage's own, is found there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from fingerprint import actions, landmarks, matching, params
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


def _under_other_music(seed: int, start_s: float, snr_db: float, other: int) -> np.ndarray:
    """5 s of piece `seed` from `start_s`, `snr_db` under 5 s of piece `other` (negative: the other is louder)."""
    clip = test_audio.excerpt(test_audio.piece(seed), start_s, 5.0)
    louder = test_audio.excerpt(test_audio.piece(other), 3.0, 5.0)
    louder = louder * np.sqrt(np.mean(clip**2) / np.mean(louder**2) / 10 ** (snr_db / 10))
    mixed = clip + louder
    mixed /= max(1.0, float(np.abs(mixed).max()) / 0.95)
    return resample_poly(mixed, 1, 2).astype(np.float32)


@pytest.mark.parametrize("other", [41, 42])
def test_a_passage_under_louder_other_music_is_found_on_denser_peaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other: int
) -> None:
    registered = {seed: factories.registered_recording(tmp_path, seed) for seed in SEEDS}
    clip = _under_other_music(23, 12.0, -3.0, other)

    with monkeypatch.context() as patch:  # denser triplets on the standard peaks only
        patch.setattr(
            landmarks, "denser_peaks", lambda samples: landmarks.find_peaks(landmarks.log_spectrogram(samples))
        )
        assert actions.decided_alignments(clip)[1] == []

    (found,) = actions.decided_alignments(clip)[1]
    assert found.ref_id == registered[23].reference_assets.get().pk
    assert abs(found.offset_s - 12.0) < 0.5
    assert found.is_identity()


def test_the_denser_peaks_search_only_where_most_of_the_query_agrees_on_the_placement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for seed in SEEDS:
        factories.registered_recording(tmp_path, seed)
    clip = _under_other_music(23, 12.0, -3.0, 41)
    monkeypatch.setattr(params, "FIRM_HINT_MIN_FRACTION", 1.01)  # no placement is ever firm enough

    assert actions.decided_alignments(clip)[1] == []


def test_unregistered_music_under_other_music_matches_nothing(tmp_path: Path) -> None:
    for seed in SEEDS:
        factories.registered_recording(tmp_path, seed)
    for seed in (31, 32, 33):
        for snr_db in (-5.0, -3.0, 0.0):
            assert actions.decided_alignments(_under_other_music(seed, 6.0, snr_db, 41))[1] == [], (seed, snr_db)


def test_denser_peaks_keep_the_standard_peaks() -> None:
    clip = _noisy_clip(21, 4.0, 0.0, 0)
    standard = landmarks.find_peaks(landmarks.log_spectrogram(clip))
    denser = landmarks.denser_peaks(clip)
    assert len(denser) > 1.3 * len(standard)
    found = {(round(float(t), 3), round(float(p), 3)) for t, p in zip(denser.frames, denser.pitches, strict=True)}
    kept = [
        (round(float(t), 3), round(float(p), 3)) in found
        for t, p in zip(standard.frames, standard.pitches, strict=True)
    ]
    assert np.mean(kept) > 0.95  # all but those a density cap drops


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
