"""The replication evaluation tells material two corpus tracks really share from false positives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import istft, stft

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


def test_a_shared_span_whose_factors_carry_measurement_error_is_still_compared(
    reference: tuple[Path, np.ndarray],
) -> None:
    path, samples = reference
    output = samples[int(2.0 * SR) : int(22.0 * SR)].copy()

    # The same samples, reported at tempo 0.995 (as a few seconds of a shared ending were).
    assert replication_eval.shared_correlation(output, _span(0.0, 2.0, 5.0, factor=0.995), path) > 0.9


@pytest.mark.parametrize("variant", ["plain", "mixed-6dB"])
def test_an_output_is_its_host_part_plus_its_excerpt_part(variant: str) -> None:
    excerpt = _at_eval_rate(test_audio.piece(14, 5.0))
    host = _at_eval_rate(test_audio.piece(15, 5.0 + 2 * replication_eval.CONTEXT_S))
    host_part, excerpt_part = replication_eval.output_parts(excerpt, host, variant)

    np.testing.assert_allclose(
        host_part + excerpt_part, replication_eval.build_output(excerpt, host, variant), atol=1e-6
    )
    at, end = int(replication_eval.CONTEXT_S * SR), int(replication_eval.CONTEXT_S * SR) + len(excerpt)
    assert not excerpt_part[:at].any() and not excerpt_part[end:].any() and excerpt_part[at:end].any()
    fade = int(replication_eval.SPLICE_FADE_S * SR)
    # A splice replaces the host (it sounds on only under the crossfades); a mix keeps all of it.
    assert bool(host_part[at + fade : end - fade].any()) == (variant != "plain")


def test_material_shared_under_a_mix_is_recognised_on_the_passage_alone(reference: tuple[Path, np.ndarray]) -> None:
    path, samples = reference
    host = _at_eval_rate(test_audio.piece(12, 10.0 + 2 * replication_eval.CONTEXT_S))
    parts = replication_eval.output_parts(samples[int(8.0 * SR) : int(18.0 * SR)], host, "mixed-6dB")
    output = parts[0] + parts[1]
    span = _span(replication_eval.CONTEXT_S, 8.0, 10.0)

    # The other music in the mix dilutes the correlation; the passage alone is the reference's own audio.
    in_mix = replication_eval.shared_correlation(output, span, path)
    assert replication_eval.shared_correlation(parts[1], span, path) > max(0.9, in_mix + 0.2)
    kept, shared = replication_eval._split_shared([span], [output, *parts], None, {1: "reference"}, {"reference": path})
    assert kept == [] and len(shared) == 1
    # A span of unrelated audio stays a false positive whichever part is compared.
    elsewhere = _span(0.0, 20.0, 5.0)
    kept, shared = replication_eval._split_shared(
        [elsewhere], [output, *parts], None, {1: "reference"}, {"reference": path}
    )
    assert kept == [elsewhere] and shared == []


def _other_mix(samples: np.ndarray, seed: int = 0) -> np.ndarray:
    """The same music with none of its phases: every short-time spectrum's magnitude kept, its phase
    drawn at random (the far end of another mix or master: the bands move as before, the waveform
    is another)."""
    rng = np.random.default_rng(seed)
    _, _, spectrum = stft(samples, nperseg=1024)
    phases = np.exp(2j * np.pi * rng.random(spectrum.shape))
    _, remixed = istft(np.abs(spectrum) * phases, nperseg=1024)
    return remixed[: len(samples)].astype(np.float32)


def test_the_same_music_in_another_mix_is_shared_material_by_its_band_pattern(
    reference: tuple[Path, np.ndarray],
) -> None:
    path, samples = reference
    output = _other_mix(samples[int(2.0 * SR) : int(22.0 * SR)])
    span = _span(0.0, 2.0, 8.0)

    assert replication_eval.shared_correlation(output, span, path) < 0.2
    assert replication_eval.shared_pattern_correlation(output, span, path) > 0.8
    kept, shared = replication_eval._split_shared([span], [output], None, {1: "reference"}, {"reference": path})
    assert kept == [] and "band pattern correlation" in shared[0]


def test_unrelated_music_has_no_shared_band_pattern(reference: tuple[Path, np.ndarray]) -> None:
    path, _ = reference
    for seed in (13, 14, 15):
        unrelated = _at_eval_rate(test_audio.piece(seed, 25.0))
        pattern = replication_eval.shared_pattern_correlation(unrelated, _span(5.0, 8.0, 8.0), path)
        assert pattern < replication_eval.SHARED_MIN_PATTERN_CORRELATION / 2, seed
    # Nor is a span at another pitch compared (the judge decides those).
    assert replication_eval.shared_pattern_correlation(unrelated, _span(5.0, 8.0, 8.0, factor=1.06), path) == 0.0
