"""Calibrating the fusion: every setting replayed on a query suite, and the rule that picks one."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from fingerprint import fusion_calibration, matching, params
from fingerprint.fusion_calibration import Outcome, Setting
from tests import audio as test_audio


def _alignment(ref_id: int, aligned: float) -> matching.Alignment:
    return matching.Alignment(
        ref_id=ref_id, aligned=aligned, offset_frames=100.0, tempo=1.0, pitch_shift_st=0.0,
        query_start_frame=0.0, query_end_frame=5.0 / params.FRAME_S,
    )  # fmt: skip


def test_replay_counts_right_and_wrong_answers_and_answers_to_out_of_catalogue_queries() -> None:
    evidence = {
        "hit": matching.QueryEvidence([_alignment(1, 30.0)]),
        "wrong": matching.QueryEvidence([_alignment(2, 30.0)]),
        "missed": matching.QueryEvidence([_alignment(1, 2.0)]),
        "ooc-quiet": matching.QueryEvidence([_alignment(3, 2.0)]),
        "ooc-answered": matching.QueryEvidence([_alignment(3, 30.0)]),
    }
    truth = {"hit": {1}, "wrong": {1}, "missed": {1}, "ooc-quiet": set(), "ooc-answered": set()}

    (outcome,) = fusion_calibration.replay(evidence, truth, [Setting(0.75, 0.4, 2.5)])

    assert (outcome.correct, outcome.wrong, outcome.in_catalogue) == (1, 1, 3)
    assert (outcome.ooc_answered, outcome.ooc) == (1, 2)
    assert not outcome.acceptable()


def test_replay_scores_the_answer_left_after_refining() -> None:
    # As actions.refine_transforms drops a match whose audio fits only beyond the covered range.
    evidence = {
        "hit": matching.QueryEvidence([_alignment(1, 30.0)]),
        "ooc": matching.QueryEvidence([_alignment(3, 30.0)]),
    }
    truth = {"hit": {1}, "ooc": set()}

    def refine(query: str, matches: list[matching.Alignment]) -> list[matching.Alignment]:
        return [m for m in matches if m.ref_id != 3]

    (outcome,) = fusion_calibration.replay(evidence, truth, [Setting(0.75, 0.5, 3.5)], refine)
    assert (outcome.correct, outcome.ooc_answered) == (1, 0)
    assert outcome.acceptable()


def test_the_parameters_are_restored_after_a_replay() -> None:
    before = (params.EMBED_MIN_SIMILARITY, params.EMBED_MIN_FRACTION, params.EMBED_SEGMENT_WEIGHT)
    with pytest.raises(RuntimeError), fusion_calibration.parameters(Setting(0.5, 0.1, 9.0)):
        assert params.EMBED_SEGMENT_WEIGHT == 9.0
        raise RuntimeError
    assert (params.EMBED_MIN_SIMILARITY, params.EMBED_MIN_FRACTION, params.EMBED_SEGMENT_WEIGHT) == before


def _outcomes(correct_of: dict[Setting, int], ooc_at: set[Setting]) -> list[Outcome]:
    return [Outcome(s, correct_of.get(s, 50), 0, 100, 1 if s in ooc_at else 0, 20) for s in fusion_calibration.grid()]


def test_the_rule_takes_the_best_setting_whose_neighbours_are_safe_too() -> None:
    best, runner_up = Setting(0.80, 0.5, 3.5), Setting(0.75, 0.6, 3.0)
    cliff = Setting(0.80, 0.5, 4.0)  # next to the best: it answers an out-of-catalogue query
    outcomes = _outcomes({best: 90, runner_up: 80}, {cliff})

    assert fusion_calibration.choose(outcomes).setting == runner_up

    outcomes = _outcomes({best: 90, runner_up: 80}, set())
    assert fusion_calibration.choose(outcomes).setting == best


def test_the_rule_never_takes_a_setting_on_the_edge_of_the_tuned_values() -> None:
    edge = Setting(0.75, fusion_calibration.FRACTIONS[-1], 3.0)
    chosen = fusion_calibration.choose(_outcomes({edge: 99}, set()))
    assert chosen is not None and chosen.setting != edge


def test_the_rule_never_lets_fewer_segments_agree_than_a_sound_alike_does() -> None:
    # Out-of-catalogue bench queries stay unanswered at a low fraction; music in a registered
    # artist's sound does not (test_artist_likeness), so the most recall there is not taken.
    few_agree, loosely_similar, safe = Setting(0.75, 0.4, 3.5), Setting(0.65, 0.5, 3.5), Setting(0.75, 0.5, 3.5)
    chosen = fusion_calibration.choose(_outcomes({few_agree: 95, loosely_similar: 95, safe: 90}, set()))
    assert chosen is not None and chosen.setting == safe
    assert chosen.setting.fraction >= fusion_calibration.STYLE_ALIKE_MIN_FRACTION
    assert chosen.setting.similarity >= fusion_calibration.STYLE_ALIKE_MIN_SIMILARITY


@pytest.mark.django_db
def test_calibrate_fusion_prints_every_setting_against_a_suite(tmp_path: Path, settings: object) -> None:
    settings.FINGERPRINT_EMBEDDINGS = False  # type: ignore[attr-defined]  # landmarks only: no torch here
    piece = test_audio.piece(21, 20.0)
    test_audio.write(tmp_path / "ref.wav", piece)
    (tmp_path / "refs.tsv").write_text("ref-a\tref.wav\n")
    call_command("register_audio", list_path=str(tmp_path / "refs.tsv"), stdout=StringIO(), stderr=StringIO())
    test_audio.write(tmp_path / "q1.wav", test_audio.excerpt(piece, 4.0, 6.0))
    test_audio.write(tmp_path / "q2.wav", test_audio.piece(22, 6.0))
    (tmp_path / "queries.tsv").write_text("q1\tq1.wav\nq2\tq2.wav\n")
    (tmp_path / "truth.csv").write_text("query_id,ref_id,class,length_s,offset_s,source_track,params\n"
                                        "q1,ref-a,clean,6,4.0,ref-a,{}\nq2,,clean,6,0,other,{}\n")  # fmt: skip
    out = StringIO()

    call_command(
        "calibrate_fusion",
        list_path=str(tmp_path / "queries.tsv"),
        truth=tmp_path / "truth.csv",
        stdout=out,
        stderr=StringIO(),
    )

    lines = out.getvalue().splitlines()
    shipped = next(line for line in lines if "(shipped)" in line)
    assert "100.0%" in shipped and "0 of 1" in shipped  # the excerpt found, the unrelated piece not answered
    assert len([line for line in lines if " of 1" in line]) == len(fusion_calibration.grid())
