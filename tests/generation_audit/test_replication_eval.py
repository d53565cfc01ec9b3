"""The replication evaluation tells material two corpus tracks really share from false positives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from generation_audit import degradations, replication_eval
from generation_audit.replication import ReplicatedSpan
from tests import audio as test_audio

SR = replication_eval.SR


def _at_eval_rate(samples: np.ndarray) -> np.ndarray:
    return degradations.resample(samples, test_audio.SR, SR)


def _span(output_start_s: float, reference_start_s: float, length_s: float, factor: float = 1.0) -> ReplicatedSpan:
    return ReplicatedSpan(
        recording_id=1,
        reference_asset_id=1,
        output_start_s=output_start_s,
        output_end_s=output_start_s + length_s,
        reference_start_s=reference_start_s,
        reference_end_s=reference_start_s + length_s,
        pitch_factor=factor,
        tempo_factor=factor,
        confidence=0.9,
        aligned=40.0,
    )


@pytest.fixture
def reference(tmp_path: Path) -> tuple[Path, np.ndarray]:
    samples = _at_eval_rate(test_audio.piece(11, 30.0))
    return test_audio.write(tmp_path / "reference.wav", samples), samples


def test_a_passage_mixed_under_other_music_is_shared_material(reference: tuple[Path, np.ndarray]) -> None:
    path, samples = reference
    host = _at_eval_rate(test_audio.piece(12, 25.0))
    passage = samples[int(8.0 * SR) : int(18.0 * SR)]
    host[int(5.0 * SR) : int(15.0 * SR)] += 0.5 * passage  # about 6 dB under the host

    # The engine's offset is only good to a frame or two: 30 ms late still counts.
    assert replication_eval.shared_correlation(host, _span(5.0, 8.03, 10.0), path) > 0.3


def test_unrelated_music_at_the_reported_offset_is_not_shared(reference: tuple[Path, np.ndarray]) -> None:
    path, _ = reference
    unrelated = _at_eval_rate(test_audio.piece(13, 25.0))

    assert replication_eval.shared_correlation(unrelated, _span(5.0, 8.0, 10.0), path) < 0.1


def test_a_span_at_another_pitch_is_left_to_the_judge(reference: tuple[Path, np.ndarray]) -> None:
    path, samples = reference
    output = samples[int(2.0 * SR) : int(22.0 * SR)].copy()

    assert replication_eval.shared_correlation(output, _span(0.0, 2.0, 10.0, factor=1.06), path) == 0.0
