from __future__ import annotations

import json

import numpy as np
import pytest

from catalog import synth
from generation_audit import decoders, degradations
from generation_audit.detectors import decoder_artifacts
from generation_audit.detectors.base import AI_GENERATED, NO_EVIDENCE
from tests.generation_audit.conftest import RATE


def _through_decoder(music: np.ndarray, rate: int, strides: tuple[int, ...], bias_db: float = -45.0) -> np.ndarray:
    spec = decoders.DecoderSpec("test", rate, strides, bias_db=bias_db, weight_noise=0.01, rectify=0.03)
    return decoders.decode(degradations.resample(music, RATE, rate), spec, seed=3)


# At 24 kHz this music fills the decoder's whole band, so only a stronger comb stands clear of it
# (the detector's stated limit: a comb as faint as the music's own fluctuations is not seen).
@pytest.mark.parametrize(
    ("rate", "strides", "bias_db", "spacing"),
    [(44100, (8, 8, 4, 2), -45.0, 44100 / 512), (24000, (8, 5, 4, 2), -30.0, 75.0)],
)
def test_it_finds_the_decoders_comb_spacing_after_a_transposed_conv_upsampler(
    music: np.ndarray, rate: int, strides: tuple[int, ...], bias_db: float, spacing: float
) -> None:
    result = decoder_artifacts.analyse(_through_decoder(music, rate, strides, bias_db), rate)

    assert result.label == AI_GENERATED
    assert result.score > 0.9
    assert result.evidence["spacing_hz"] == pytest.approx(spacing, rel=1e-3)
    families = result.evidence["decoder_families"]
    assert {"sample_rate_hz": rate, "stride_product": int(np.prod(strides))}.items() <= next(
        f for f in families if f["sample_rate_hz"] == rate
    ).items()
    assert result.evidence["peaks"] and all(p["db_over_floor"] > 0 for p in result.evidence["peaks"][:3])
    json.dumps(result.evidence)  # the evidence is stored as JSON


def test_it_stays_quiet_on_clean_music(music: np.ndarray) -> None:
    result = decoder_artifacts.analyse(music, RATE)
    assert result.label == NO_EVIDENCE
    assert result.score < 0.5


@pytest.mark.parametrize("cutoff_hz", [8000, 4000])
def test_a_band_limit_is_not_evidence(music: np.ndarray, cutoff_hz: int) -> None:
    result = decoder_artifacts.analyse(degradations.lowpass(music, RATE, cutoff_hz), RATE)
    assert result.score < 0.5


@pytest.mark.parametrize("kbps", [128, 64])
def test_mp3_coding_is_not_evidence(music: np.ndarray, kbps: int) -> None:
    coded, rate = degradations.mp3(music, RATE, kbps)
    result = decoder_artifacts.analyse(coded, rate)
    assert result.score < 0.5


def test_a_low_sample_rate_is_not_evidence(music: np.ndarray) -> None:
    result = decoder_artifacts.analyse(degradations.resample(music, RATE, 16000), 16000)
    assert result.score < 0.5


def _with_dropouts(samples: np.ndarray) -> np.ndarray:
    """`samples` with 100 ms of digital silence once a second (concealed packet loss)."""
    gapped = samples.copy()
    for start in range(RATE // 3, len(gapped), RATE):
        gapped[start : start + RATE // 10] = 0.0
    return gapped


def test_drop_outs_in_real_music_are_not_a_comb(music: np.ndarray) -> None:
    # Read with its gapped segments, this music shows a comb at 120 Hz (statistic 7.9; real music
    # with the same drop-outs crossed the decision point), a multiple of the gaps' 10 Hz ripple.
    result = decoder_artifacts.analyse(_with_dropouts(music), RATE)
    assert result.evidence["comb_statistic"] < 4.0
    assert result.score < 0.1


def test_a_decoders_comb_is_still_found_through_drop_outs(music: np.ndarray) -> None:
    result = decoder_artifacts.analyse(_with_dropouts(_through_decoder(music, 44100, (8, 8, 4, 2))), RATE)
    assert result.label == AI_GENERATED
    assert result.evidence["spacing_hz"] == pytest.approx(44100 / 512, rel=1e-3)


def test_the_comb_survives_mp3_at_128_kbps(music: np.ndarray) -> None:
    coded, rate = degradations.mp3(_through_decoder(music, 44100, (8, 8, 4, 2)), RATE, 128)
    result = decoder_artifacts.analyse(coded, rate)
    assert result.evidence["spacing_hz"] == pytest.approx(44100 / 512, rel=1e-3)
    assert result.score > 0.5


def test_too_short_audio_is_not_applicable(music: np.ndarray) -> None:
    assert decoder_artifacts.analyse(music[: RATE * 2], RATE).label == "not_applicable"


def test_a_long_upload_is_read_in_windows_and_keeps_the_statistics_scale() -> None:
    long_music = degradations.resample(synth.compose(9, 60.0).samples, synth.SAMPLE_RATE, RATE)
    decoded = _through_decoder(long_music, 44100, (8, 8, 4, 2))

    whole = decoder_artifacts.analyse(decoded, RATE)
    first = decoder_artifacts.analyse(decoded[: 20 * RATE], RATE)

    assert whole.evidence["windows"] == 3 and first.evidence["windows"] == 1
    assert whole.label == AI_GENERATED
    # A mean over windows: a minute of audio does not read as three times the evidence of 20 s.
    assert 0.7 < whole.evidence["comb_statistic"] / first.evidence["comb_statistic"] < 1.4
    assert decoder_artifacts.analyse(long_music, RATE).label == NO_EVIDENCE
