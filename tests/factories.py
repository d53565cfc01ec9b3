"""Small builders for catalogue rows and registered references used across the tests."""

from __future__ import annotations

from pathlib import Path

from catalog.models import Label, Recording
from fingerprint import actions
from tests import audio as test_audio


def recording(index: int, label: Label | None = None) -> Recording:
    label = label or Label.objects.get_or_create(name="Test Label")[0]
    return Recording.objects.create(title=f"Track {index}", isrc=f"GBTST26{index:05d}", label=label)


def registered_recording(tmp_path: Path, seed: int, fmt: str = "wav") -> Recording:
    """A recording whose reference audio (synthesised from `seed`) is registered and indexed."""
    rec = recording(seed)
    path = test_audio.write(tmp_path / f"reference-{seed}.{fmt}", test_audio.piece(seed))
    actions.register_reference(rec, path)
    return rec
