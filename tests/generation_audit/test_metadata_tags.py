from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from generation_audit.detectors import metadata_tags
from generation_audit.detectors.base import DECLARED_AI, DECLARED_HUMAN, NO_EVIDENCE, WEAK

# container format, codec, muxer options (MP4 keeps free-form keys only when asked)
FORMATS = {
    "mp3": ("mp3", "libmp3lame", {}),
    "flac": ("flac", "flac", {}),
    "m4a": ("ipod", "aac", {"movflags": "use_metadata_tags"}),
}


def write_tagged(path: Path, tags: dict[str, str]) -> Path:
    """A real 1 s file in the suffix's format with `tags` written by ffmpeg's muxer (ID3 / Vorbis / MP4)."""
    fmt, codec, options = FORMATS[path.suffix.lstrip(".")]
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(44100) / 44100)).astype(np.float32).reshape(1, -1)
    with av.open(str(path), "w", format=fmt, options=options) as container:
        container.metadata.update(tags)
        stream = container.add_stream(codec, rate=44100, layout="mono")
        frame = av.AudioFrame.from_ndarray(tone, format="flt", layout="mono")
        frame.sample_rate = 44100
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


@pytest.mark.parametrize("suffix", ["mp3", "flac", "m4a"])
def test_it_reports_a_declared_generator_as_weak_evidence(tmp_path: Path, suffix: str) -> None:
    path = write_tagged(
        tmp_path / f"song.{suffix}", {"title": "Night Drive", "comment": "Made with Suno v4.5", "AI_GENERATED": "true"}
    )

    result = metadata_tags.detect(path)

    assert result.label == DECLARED_AI
    assert result.strength == WEAK
    assert result.score == pytest.approx(0.7)
    reasons = {m["key"]: m["kind"] for m in result.evidence["matches"]}
    assert reasons["comment"] == "generator"
    assert reasons["AI_GENERATED"] == "declared"


def test_plain_tags_are_no_evidence_and_audio_is_not_udio(tmp_path: Path) -> None:
    path = write_tagged(tmp_path / "song.mp3", {"title": "Audio Diary", "artist": "The Band", "comment": "Studio take"})
    result = metadata_tags.detect(path)
    assert result.label == NO_EVIDENCE
    assert result.evidence["matches"] == []


def test_a_generator_name_alone_scores_lower_than_a_declaration(tmp_path: Path) -> None:
    named = metadata_tags.detect(write_tagged(tmp_path / "a.flac", {"encoded_by": "Udio"}))
    declared = metadata_tags.detect(write_tagged(tmp_path / "b.flac", {"description": "AI-generated track"}))
    assert named.score == pytest.approx(0.4)
    assert declared.score == pytest.approx(0.6)


def test_an_explicit_human_flag_is_reported(tmp_path: Path) -> None:
    result = metadata_tags.detect(write_tagged(tmp_path / "c.m4a", {"AI_GENERATED": "false"}))
    assert result.label == DECLARED_HUMAN
    assert result.score == 0.0
