"""The replication screen as a label meets it: generated outputs that reproduce catalogue audio are
found with the recording, the spans and the transformation; outputs that reproduce none are not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from catalog.models import Recording
from generation_audit import degradations, replication
from tests import audio as test_audio
from tests import factories
from tests.generation_audit.splicing import (
    EXCERPT_AT_S,
    HOST_SEED,
    INSERT_AT_S,
    REFERENCE_SEED,
    SEMITONE,
    SR,
    mixed_under,
    reference_excerpt,
    spliced,
)

pytestmark = pytest.mark.django_db

OTHER_SEEDS = (13, 14, 15)  # the catalogue


@pytest.fixture
def catalogue(tmp_path: Path) -> dict[int, Recording]:
    return {seed: factories.registered_recording(tmp_path, seed) for seed in OTHER_SEEDS}


def screened(tmp_path: Path, samples: np.ndarray, name: str = "output.wav") -> list[replication.ReplicatedSpan]:
    return replication.screen(test_audio.write(tmp_path / name, samples))


def test_an_output_that_embeds_ten_seconds_of_a_recording_reports_the_recording_and_both_spans(
    tmp_path: Path, catalogue: dict[int, Recording]
) -> None:
    spans = screened(tmp_path, spliced(reference_excerpt()))

    assert [s.recording_id for s in spans] == [catalogue[REFERENCE_SEED].pk]
    (span,) = spans
    assert span.output_start_s == pytest.approx(INSERT_AT_S, abs=1.0)
    assert span.output_end_s == pytest.approx(INSERT_AT_S + 10.0, abs=1.0)
    assert span.reference_start_s == pytest.approx(EXCERPT_AT_S, abs=1.0)
    assert span.reference_end_s == pytest.approx(EXCERPT_AT_S + 10.0, abs=1.0)
    assert span.duration_s >= 8.0
    assert span.pitch_factor == pytest.approx(1.0, abs=0.01)
    assert span.tempo_factor == pytest.approx(1.0, abs=0.01)
    assert span.confidence > 0.9
    assert span.as_dict()["duration_s"] == pytest.approx(span.duration_s, abs=1e-3)


def test_an_excerpt_raised_a_semitone_is_found_with_its_pitch_factor(
    tmp_path: Path, catalogue: dict[int, Recording]
) -> None:
    # Resampled: a semitone higher and 6 % faster, as a record played fast.
    raised = degradations.pitch_shift_by_resampling(reference_excerpt(), SR, 1.0)

    (span,) = screened(tmp_path, spliced(raised))

    assert span.recording_id == catalogue[REFERENCE_SEED].pk
    assert span.pitch_factor == pytest.approx(SEMITONE, rel=0.01)
    assert span.tempo_factor == pytest.approx(SEMITONE, rel=0.01)
    assert span.reference_start_s == pytest.approx(EXCERPT_AT_S, abs=1.0)
    assert span.duration_s >= 7.0


@pytest.mark.parametrize("host_seed", [44, 46])
def test_an_excerpt_mixed_six_db_under_other_music_is_found(
    tmp_path: Path, catalogue: dict[int, Recording], host_seed: int
) -> None:
    spans = screened(tmp_path, mixed_under(reference_excerpt(), -6.0, host_seed))

    assert [s.recording_id for s in spans] == [catalogue[REFERENCE_SEED].pk]
    assert INSERT_AT_S - 0.5 <= spans[0].output_start_s < spans[0].output_end_s <= INSERT_AT_S + 10.5
    assert spans[0].reference_start_s - EXCERPT_AT_S == pytest.approx(spans[0].output_start_s - INSERT_AT_S, abs=0.5)


@pytest.mark.xfail(
    strict=True,
    reason="The landmark engine keeps too few of a quieter source's spectral peaks under some music, and the "
    "shipped embedder learnt background music only down to 0 dB, not 6 dB under: a known limit (eval_replication, "
    "mixed-6dB rows). This pins it, so an engine that lifts it is noticed.",
)
def test_an_excerpt_mixed_six_db_under_denser_music_is_found(tmp_path: Path, catalogue: dict[int, Recording]) -> None:
    spans = screened(tmp_path, mixed_under(reference_excerpt(), -6.0, 42))

    assert [s.recording_id for s in spans] == [catalogue[REFERENCE_SEED].pk]


@pytest.mark.parametrize("host_seed", [42, 44, 45])
def test_an_output_that_embeds_no_catalogue_audio_replicates_nothing(
    tmp_path: Path, catalogue: dict[int, Recording], host_seed: int
) -> None:
    assert screened(tmp_path, test_audio.piece(host_seed, 36.0)) == []


def test_a_quote_shorter_than_the_minimum_span_is_not_a_replication(
    tmp_path: Path, catalogue: dict[int, Recording]
) -> None:
    short = reference_excerpt(replication.MIN_REPLICATED_SPAN_S - 1.0)

    assert screened(tmp_path, spliced(short)) == []


def test_two_recordings_in_one_output_are_both_reported(tmp_path: Path, catalogue: dict[int, Recording]) -> None:
    first = reference_excerpt()
    second = test_audio.excerpt(test_audio.piece(15), 4.0, 10.0)
    host = test_audio.piece(HOST_SEED, 40.0)
    output = np.concatenate([host[: 5 * SR], first, host[15 * SR : 20 * SR], second, host[30 * SR :]])

    spans = screened(tmp_path, output)

    found = {s.recording_id: s for s in spans}
    assert set(found) == {catalogue[REFERENCE_SEED].pk, catalogue[15].pk}
    assert found[catalogue[15].pk].output_start_s == pytest.approx(20.0, abs=1.0)
    assert found[catalogue[15].pk].reference_start_s == pytest.approx(4.0, abs=1.0)


def test_a_reference_taken_out_of_the_catalogue_is_no_longer_reported(
    tmp_path: Path, catalogue: dict[int, Recording]
) -> None:
    catalogue[REFERENCE_SEED].reference_assets.all().delete()  # its index entries stay until a rebuild

    assert screened(tmp_path, spliced(reference_excerpt())) == []
