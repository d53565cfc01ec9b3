"""`manage.py check_provenance --list FILE --jsonl OUT`: a verdict per file, errors per line, nothing stored."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from fingerprint import audio
from generation_audit import decoders
from tests import audio as test_audio
from tests.generation_audit.conftest import RATE

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, music: np.ndarray) -> Path:
    """A folder with decoder-made audio, plain synthetic music and a text file posing as an MP3."""
    folder = tmp_path_factory.mktemp("provenance-files")
    spec = decoders.DecoderSpec("t", RATE, (8, 8, 4, 2), bias_db=-40.0, weight_noise=0.02, rectify=0.05)
    generated = decoders.decode(music[: 8 * RATE], spec, seed=1)
    (folder / "generated.wav").write_bytes(audio.encode(generated / np.abs(generated).max() * 0.9, RATE, "wav"))
    test_audio.write(folder / "plain.mp3", test_audio.piece(11, 10.0))
    (folder / "corrupt.mp3").write_bytes(b"ID3 but not really audio\n" * 40)
    return folder


def _lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_it_writes_a_verdict_per_file_and_keeps_going_past_bad_files_and_bad_lines(files: Path) -> None:
    listing = files / "list.tsv"
    listing.write_text(
        "# provenance batch\n"
        "\n"
        f"gen\t{files / 'generated.wav'}\n"
        "plain\tplain.mp3\n"  # relative to the list's folder
        "not a tab separated line\n"
        "broken\tcorrupt.mp3\n"
        "gone\tmissing.wav\n"
        "gen\tplain.mp3\n"  # the same id twice
    )
    out, err = files / "out.jsonl", io.StringIO()

    with pytest.raises(CommandError, match="2 malformed line"):
        call_command("check_provenance", "--list", str(listing), "--jsonl", str(out), stderr=err)

    lines = {line["id"]: line for line in _lines(out)}
    assert list(lines) == ["gen", "plain", "broken", "gone"]
    gen = lines["gen"]
    assert gen["ai_generated"] is True and 0.5 <= gen["score"] <= 1.0
    comb = next(f for f in gen["findings"] if f["detector"] == "decoder_artifacts")
    assert comb["label"] == "ai_generated" and comb["strength"] == "strong"
    assert comb["evidence"]["spacing_hz"] == pytest.approx(RATE / 512, rel=1e-3) and comb["evidence"]["peaks"]
    assert any("decoder comb" in reason for reason in gen["reasons"])
    plain = lines["plain"]
    assert plain["ai_generated"] is False and 0.0 <= plain["score"] < gen["score"]
    assert {f["detector"] for f in plain["findings"]} == {
        "c2pa_manifest",
        "metadata_tags",
        "decoder_artifacts",
        "learned",
    }
    assert "error" not in gen and "error" not in plain
    assert "could not decode" in lines["broken"]["error"] and lines["broken"]["ai_generated"] is None
    assert "no such file" in lines["gone"]["error"]
    messages = err.getvalue()
    assert f"{listing}:5: expected 'id<TAB>path'" in messages
    assert f"{listing}:8: id 'gen' appears twice" in messages
    assert "4 files checked: 1 AI-generated, 2 could not be checked" in messages


def test_it_runs_on_a_fresh_data_dir_without_a_database_and_writes_to_stdout(files: Path, tmp_path: Path) -> None:
    listing = tmp_path / "list.tsv"
    listing.write_text(f"gen\t{files / 'generated.wav'}\n")
    data_dir = tmp_path / "data"
    env = {**os.environ, "CONTENTID_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)  # the embedded default (SQLite under the data dir) must not be touched either

    done = subprocess.run(
        [sys.executable, "manage.py", "check_provenance", "--list", str(listing), "--jsonl", "-"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr
    (line,) = [json.loads(text) for text in done.stdout.splitlines()]
    assert line["id"] == "gen" and line["ai_generated"] is True
    assert not (data_dir / "contentid.sqlite3").exists()  # nothing was stored


def test_a_missing_list_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="List file not found"):
        call_command("check_provenance", "--list", str(tmp_path / "nope.tsv"), "--jsonl", "-")
