"""Tags that declare AI generation: ID3 (MP3, WAV), Vorbis comments (FLAC, Ogg) and MP4 atoms (M4A).

Read through PyAV (ffmpeg's tag parsers, LGPL, already a dependency) rather than mutagen (GPL).
ffmpeg exposes ID3 TXXX frames under their description, COMM as "comment", TSSE as "encoder",
Vorbis comments and MP4 freeform atoms under their own names.

Tags are self-declared and trivially added or stripped: every finding here is WEAK, and its score
is a fixed prior (no labelled tag corpus exists to fit one): an explicit declaration ("AI
generated", an AI flag set, an IPTC trainedAlgorithmicMedia source type) 0.6, a generator's name
alone 0.4, both 0.7.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import av

from fingerprint.audio import sniff_format
from generation_audit.detectors.base import (
    DECLARED_AI,
    DECLARED_HUMAN,
    NO_EVIDENCE,
    NOT_APPLICABLE,
    WEAK,
    DetectorResult,
)

NAME = "metadata_tags"
VERSION = "tags-1"

TAG_FORMATS = {"mp3": "ID3", "wav": "RIFF INFO / ID3", "flac": "Vorbis comment", "ogg": "Vorbis comment", "m4a": "MP4"}
# Generators and their makers, as whole words ("udio" must not match "audio").
GENERATOR_NAMES = re.compile(
    r"\b(suno|udio|aiva|boomy|soundraw|mubert|stable[ _-]?audio|musicgen|audiocraft|riffusion|jukebox|musiclm"
    r"|lyria|soundful|beatoven|loudly|elevenlabs|soundverse|tunee|mureka|songgen)\b",
    re.IGNORECASE,
)
DECLARATION = re.compile(
    r"\b(ai[ _-]?(generated|created|made|composed|music)|(generated|created|made|composed|produced)"
    r" (with|by|using) (an? )?(ai|artificial intelligence|generative ai)|text[ _-]to[ _-]music"
    r"|trainedalgorithmicmedia|compositewithtrainedalgorithmicmedia|algorithmicmedia)\b",
    re.IGNORECASE,
)
NEGATION = re.compile(r"\b(not|no|without|non)[ _-]?(ai|artificial intelligence)\b|\bhuman[ _-]made\b", re.IGNORECASE)
# Keys whose mere presence or truthy value declares generation (compared normalised: lower case, [^a-z0-9] -> _).
FLAG_KEYS = {
    "ai_generated",
    "aigenerated",
    "generated_by_ai",
    "ai",
    "is_ai",
    "synthetic",
    "ai_content",
    "ai_disclosure",
}
SOURCE_TYPE_KEYS = {"digital_source_type", "digitalsourcetype", "iptc_digital_source_type"}
GENERATOR_KEYS = {"suno_prompt", "udio_prompt", "prompt", "ai_model", "generator_model", "generation_prompt"}
TRUTHY = {"1", "true", "yes", "y", "full", "partial", "fully", "ai"}
FALSY = {"0", "false", "no", "n", "none", "human"}
MAX_VALUE_CHARS = 200  # evidence keeps this much of each matching tag value


def _norm_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")


def read_tags(path: Path) -> list[tuple[str, str, str]]:
    """(where, key, value) for every container and audio-stream tag ffmpeg parses in the file."""
    with av.open(str(path), mode="r") as container:
        tags = [("container", k, str(v)) for k, v in container.metadata.items()]
        for stream in container.streams.audio:
            tags.extend((f"stream {stream.index}", k, str(v)) for k, v in stream.metadata.items())
    return tags


def _judge(key: str, value: str) -> tuple[str, str] | None:
    """(kind, reason) for a tag that says something about generation, kind in declared / generator / human."""
    norm, text = _norm_key(key), value.strip()
    if norm in FLAG_KEYS:
        if text.lower() in TRUTHY:
            return "declared", f"flag {key}={text}"
        if text.lower() in FALSY:
            return "human", f"flag {key}={text}"
    if norm in SOURCE_TYPE_KEYS and DECLARATION.search(text):
        return "declared", f"digital source type {text}"
    if norm in GENERATOR_KEYS and text:
        return "generator", f"generator field {key}"
    if NEGATION.search(text):
        return "human", "negated AI mention"
    if DECLARATION.search(text):
        return "declared", f"declaration {DECLARATION.search(text).group(0)!r}"  # type: ignore[union-attr]
    if GENERATOR_NAMES.search(text) or GENERATOR_NAMES.search(key):
        match = GENERATOR_NAMES.search(text) or GENERATOR_NAMES.search(key)
        return "generator", f"names generator {match.group(0)!r}"  # type: ignore[union-attr]
    return None


def detect(path: Path) -> DetectorResult:
    """Look for self-declared AI generation in the tags of the file at `path`."""
    with Path(path).open("rb") as fh:
        fmt = sniff_format(fh.read(64))
    if fmt is None:
        return DetectorResult(NAME, VERSION, 0.0, NOT_APPLICABLE, WEAK, {"reason": "not a supported audio container"})
    tags = read_tags(path)
    matches: list[dict[str, Any]] = []
    for where, key, value in tags:
        verdict = _judge(key, value)
        if verdict:
            kind, reason = verdict
            matches.append(
                {"where": where, "key": key, "value": value[:MAX_VALUE_CHARS], "kind": kind, "reason": reason}
            )
    kinds = {m["kind"] for m in matches}
    evidence: dict[str, Any] = {"tag_format": TAG_FORMATS.get(fmt, fmt), "tags_read": len(tags), "matches": matches}
    if "declared" in kinds or "generator" in kinds:
        score = 0.7 if {"declared", "generator"} <= kinds else 0.6 if "declared" in kinds else 0.4
        return DetectorResult(NAME, VERSION, score, DECLARED_AI, WEAK, evidence)
    if "human" in kinds:
        return DetectorResult(NAME, VERSION, 0.0, DECLARED_HUMAN, WEAK, evidence)
    return DetectorResult(NAME, VERSION, 0.0, NO_EVIDENCE, WEAK, evidence)
