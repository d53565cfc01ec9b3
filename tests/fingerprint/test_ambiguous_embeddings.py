"""An embeddings-only match rivalled by another recording's over the same stretch is music that sounds
like both, not a copy of either: a slowed, reverberant 3 s Wesnoth query was answered with one of two
orchestral Wesnoth tracks the segment vectors placed it in equally (11.5 and 11.0)."""

from __future__ import annotations

from fingerprint import matching, params

SECOND = 1 / params.FRAME_S  # frames per second


def _found(
    ref_id: int, score: float, start_s: float = 0.0, end_s: float = 3.0, *, embeddings: bool = True
) -> matching.Alignment:
    return matching.Alignment(
        ref_id=ref_id,
        aligned=score,
        offset_frames=100 * SECOND,
        tempo=1.0,
        pitch_shift_st=0.0,
        query_start_frame=start_s * SECOND,
        query_end_frame=end_s * SECOND,
        embeddings_only=embeddings,
    )


def test_two_recordings_the_embeddings_place_the_query_in_alike_give_no_answer() -> None:
    assert matching.decide([_found(1, 11.5), _found(2, 11.0)]) == []


def test_a_clear_embedding_winner_stands() -> None:
    decided = matching.decide([_found(1, 20.0), _found(2, 11.0)])
    assert [a.ref_id for a in decided] == [1]


def test_a_landmark_match_stands_whatever_the_embeddings_found_beside_it() -> None:
    # A landmark match is aligned triplet by triplet: a sound-alike's vectors do not unsettle it.
    decided = matching.decide([_found(1, 11.5, embeddings=False), _found(2, 11.0)])
    assert decided[0].ref_id == 1 and not decided[0].embeddings_only


def test_rivals_in_different_stretches_are_two_uses() -> None:
    # A mix or a medley: one recording, then another.
    decided = matching.decide([_found(1, 11.5, 0.0, 3.0), _found(2, 11.0, 5.0, 8.0)])
    assert sorted(a.ref_id for a in decided) == [1, 2]
