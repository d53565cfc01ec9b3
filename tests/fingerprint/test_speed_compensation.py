"""Sped-up and slowed versions (the commonest edits of a song on short-video platforms, 15-30 % faster
or slower, pitch and tempo together) that neither the covered range nor the wide search finds are
searched once more on the query played back at the speed of the original (params.SPEED_COMPENSATIONS):
there both engines, landmarks and segment embeddings, work as on an unchanged copy. What is found is
reported in the query's own time, with the pitch and tempo the version really has."""

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


def _version(seed: int, start_s: float, length_s: float, up: int, down: int, snr_db: float | None) -> np.ndarray:
    """`length_s` of piece `seed` from `start_s`, played down/up times as fast (pitch and tempo), optionally
    under white noise, at the analysis rate."""
    passage = test_audio.excerpt(test_audio.piece(seed), start_s, length_s * down / up)
    version = resample_poly(passage, up, down)
    if snr_db is not None:
        version = test_audio.add_noise(version, snr_db, seed)
    return resample_poly(version, 1, 2).astype(np.float32)  # synth rate -> the analysis rate


@pytest.mark.parametrize(("seed", "up", "down"), [(24, 4, 5), (23, 5, 4)], ids=["sped_up_25pct", "slowed_20pct"])
def test_a_short_sped_up_or_slowed_version_in_noise_is_found_played_back_at_its_speed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, up: int, down: int
) -> None:
    registered = {s: factories.registered_recording(tmp_path, s) for s in SEEDS}
    clip = _version(seed, 6.0, 4.0, up, down, snr_db=5.0)  # 4 s, 5 dB over white noise
    factor = down / up  # 1.25 (+3.9 semitones) or 0.8 (-3.9 semitones)

    with monkeypatch.context() as patch:  # every other search misses it
        patch.setattr(params, "SPEED_COMPENSATIONS", ())
        assert actions.decided_alignments(clip)[1] == []

    (found,) = actions.decided_alignments(clip)[1]
    assert found.ref_id == registered[seed].reference_assets.get().pk
    assert abs(found.offset_s - 6.0) < 0.5  # where the version starts in the reference
    assert found.tempo_factor == pytest.approx(factor, rel=0.01)
    assert found.pitch_factor == pytest.approx(factor, rel=0.01)
    assert 0.0 <= found.query_start_s < found.query_end_s <= 4.0 + 0.1  # in the query's own time
    assert found.aligned >= params.WIDE_MIN_SCORE and not found.embeddings_only


def test_unregistered_music_sped_up_or_slowed_matches_nothing(tmp_path: Path) -> None:
    for seed in SEEDS:
        factories.registered_recording(tmp_path, seed)
    for seed in (31, 32, 33):
        for up, down in ((4, 5), (5, 4)):
            for snr_db in (None, 5.0):
                clip = _version(seed, 6.0, 4.0, up, down, snr_db)
                assert actions.decided_alignments(clip)[1] == [], (seed, up, down, snr_db)


def test_a_match_on_the_played_back_query_is_restated_in_the_query_s_own_time_and_pitch() -> None:
    # Found on the query played 4/5 as fast (5/4 as many frames, every frequency 4/5): the query
    # itself is 25 % faster and 3.9 semitones higher than the reference, over 4/5 of the frames.
    found = matching.Alignment(
        ref_id=1,
        aligned=30.0,
        offset_frames=100.0,
        tempo=1.0,
        pitch_shift_st=0.0,
        query_start_frame=10.0,
        query_end_frame=160.0,
    )
    back = matching.from_played_at(found, 5, 4)
    assert back.tempo_factor == pytest.approx(1.25)
    assert back.pitch_factor == pytest.approx(1.25)
    assert (back.query_start_frame, back.query_end_frame) == pytest.approx((8.0, 128.0))
    # The same reference frame at the span's end either way: 1.25 * 128 + 100 = 1.0 * 160 + 100.
    assert back.reference_end_s == pytest.approx(found.reference_end_s)
    assert back.offset_s == found.offset_s and back.aligned == found.aligned


def test_a_sped_up_excerpt_inside_minutes_of_other_music_is_found_with_its_pitch(tmp_path: Path) -> None:
    # In a long upload the chance postings of the other music scatter over every pitch shift and
    # outnumber the excerpt's; the excerpt is aligned at the shift most supported at its own offset
    # (params.LOCAL_PITCH_MIN_SPAN_S).
    registered = {s: factories.registered_recording(tmp_path, s) for s in SEEDS}
    rate = params.ANALYSIS_SAMPLE_RATE
    other = resample_poly(test_audio.piece(32, 110.0), 1, 2).astype(np.float32)  # unregistered, at the analysis rate
    excerpt = _version(23, 6.0, 10.0, 10, 11, snr_db=None)  # 10 s of seed 23 played 10 % faster
    at = 60.0
    upload = np.concatenate([other[: int(at * rate)], excerpt, other[int(at * rate) :]])
    assert len(upload) / rate > params.LOCAL_PITCH_MIN_SPAN_S

    found = [a for a in actions.decided_alignments(upload)[1] if a.ref_id == registered[23].reference_assets.get().pk]

    assert len(found) == 1
    assert found[0].tempo_factor == pytest.approx(1.1, rel=0.01)
    assert found[0].pitch_factor == pytest.approx(1.1, rel=0.01)
    assert at - 0.5 <= found[0].query_start_s < found[0].query_end_s <= at + 10.5
