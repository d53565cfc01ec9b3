"""The batch commands: `register_audio --list refs.tsv` and `identify --list queries.tsv --jsonl out.jsonl`."""

from __future__ import annotations

import json
from functools import cache
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from scipy.signal import resample_poly

from catalog import synth
from catalog.models import AudioAsset, Recording
from fingerprint import actions, audio
from tests import audio as test_audio

SEED_A, SEED_B, SEED_UNRELATED = 17, 18, 44
PIECE_S = 20.0


@pytest.fixture(autouse=True)
def landmarks_only(settings: object) -> None:
    """These tests pin the landmark engine (and skip importing torch): no segment embeddings."""
    settings.FINGERPRINT_EMBEDDINGS = False  # type: ignore[attr-defined]


@cache
def _piece(seed: int, duration_s: float = PIECE_S) -> np.ndarray:
    return synth.compose(seed, duration_s).samples


def _corrupt_mp3(path: Path, seed: int) -> Path:
    """An MP3 cut off inside a frame: it falls short of the length its header states."""
    whole = audio.encode(_piece(seed, 12.0), test_audio.SR, "mp3")
    path.write_bytes(whole[: len(whole) // 2])
    return path


def _run(name: str, **options: object) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(name, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def _current() -> str:
    return (Path(settings.FINGERPRINT_INDEX_DIR) / "CURRENT").read_text()


@pytest.fixture
def reference_list(tmp_path: Path) -> Path:
    """refs.tsv: two good references (relative and absolute paths) and one corrupt file."""
    folder = tmp_path / "refs"
    folder.mkdir()
    test_audio.write(folder / "a.flac", _piece(SEED_A))
    b = test_audio.write(folder / "b.mp3", _piece(SEED_B), bitrate=128_000)
    _corrupt_mp3(folder / "bad.mp3", SEED_UNRELATED)
    listing = folder / "refs.tsv"
    listing.write_text(f"# ref_id\tpath\nref-a\ta.flac\n\nref-b\t{b}\nref-bad\tbad.mp3\n")
    return listing


def _reference_ids() -> dict[str, int]:
    """external id -> reference asset id, for every registered reference."""
    return dict(AudioAsset.objects.filter(kind=AudioAsset.Kind.REFERENCE).values_list("recording__external_id", "pk"))


# --------------------------------------------------------------------------- register_audio


@pytest.mark.django_db
def test_register_audio_indexes_the_good_files_and_reports_the_bad_one(reference_list: Path) -> None:
    out, err = _run("register_audio", list_path=str(reference_list))

    assert "Registered 2, already current 0, failed 1" in out
    bad_lines = [line for line in err.splitlines() if line.startswith("ref-bad\t")]
    # Cut inside a frame: the broken last frame is skipped and the file falls short of its stated length.
    assert len(bad_lines) == 1 and "bad.mp3" in bad_lines[0] and "truncated" in bad_lines[0].lower()
    references = _reference_ids()
    assert set(references) == {"ref-a", "ref-b"}
    assert actions.landmark_store().ref_ids() == set(references.values())
    for external_id in ("ref-a", "ref-b"):
        recording = Recording.objects.get(external_id=external_id)
        assert recording.duration_s == pytest.approx(PIECE_S, abs=0.2)
    assert not AudioAsset.objects.filter(recording__external_id="ref-bad").exists()
    # The failed file leaves no empty recording behind.
    assert not Recording.objects.filter(external_id="ref-bad").exists()

    live = _current()
    out, err = _run("register_audio", list_path=str(reference_list))

    assert "Registered 0, already current 2, failed 1" in out
    assert _current() == live
    assert _reference_ids() == references
    assert actions.landmark_store().ref_ids() == set(references.values())


# --------------------------------------------------------------------------- identify


@pytest.mark.django_db
def test_identify_writes_one_json_line_per_query(reference_list: Path, tmp_path: Path) -> None:
    _run("register_audio", list_path=str(reference_list))
    folder = tmp_path / "queries"
    folder.mkdir()
    test_audio.write(folder / "excerpt.mp3", test_audio.excerpt(_piece(SEED_A), 6.0, 8.0), bitrate=128_000)
    faster = resample_poly(test_audio.excerpt(_piece(SEED_B), 5.0, 10.0), 20, 21).astype(np.float32)  # 5 % faster
    test_audio.write(folder / "faster.wav", faster)
    test_audio.write(folder / "other.wav", _piece(SEED_UNRELATED, 10.0))
    _corrupt_mp3(folder / "broken.mp3", SEED_A)
    listing = folder / "queries.tsv"
    listing.write_text("q-excerpt\texcerpt.mp3\nq-faster\tfaster.wav\nq-unrelated\tother.wav\nq-corrupt\tbroken.mp3\n")
    output = tmp_path / "results.jsonl"

    _, err = _run("identify", list_path=str(listing), jsonl=str(output))

    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert [line["query_id"] for line in lines] == ["q-excerpt", "q-faster", "q-unrelated", "q-corrupt"]
    excerpt, fast, unrelated, corrupt = lines
    for line, ref_id, offset_s, factor in ((excerpt, "ref-a", 6.0, 1.0), (fast, "ref-b", 5.0, 21 / 20)):
        assert line["ref_id"] == ref_id, line
        assert "error" not in line
        assert line["score"] >= 8 and line["confidence"] > 0.5, line
        assert abs(line["offset_s"] - offset_s) < 0.5, line
        start, end = line["query_span"]
        assert 0.0 <= start < 1.5 and end - start > 5.0, line
        assert abs(line["pitch_factor"] / factor - 1) < 0.01, line
        assert abs(line["tempo_factor"] / factor - 1) < 0.01, line
        assert [m["ref_id"] for m in line["matches"]] == [ref_id], line
    assert unrelated["ref_id"] is None and unrelated["matches"] == [] and "error" not in unrelated, unrelated
    assert corrupt["ref_id"] is None and corrupt["offset_s"] is None, corrupt
    assert "truncated" in corrupt["error"].lower(), corrupt
    assert "2 of 4 queries matched a reference" in err


@pytest.mark.django_db
def test_every_identify_line_has_the_same_fields(tmp_path: Path) -> None:
    test_audio.write(tmp_path / "other.wav", _piece(SEED_UNRELATED, 10.0))
    _corrupt_mp3(tmp_path / "broken.mp3", SEED_A)
    listing = tmp_path / "queries.tsv"
    listing.write_text("q-unrelated\tother.wav\nq-corrupt\tbroken.mp3\n")
    output = tmp_path / "results.jsonl"

    _run("identify", list_path=str(listing), jsonl=str(output))

    fields = {"query_id", "ref_id", "score", "offset_s", "query_span", "pitch_factor", "tempo_factor"}
    for line in map(json.loads, output.read_text().splitlines()):
        assert fields <= set(line), sorted(fields - set(line))
        assert line["ref_id"] is None and line["query_span"] is None


@pytest.mark.django_db
def test_identify_gives_the_same_answers_in_list_order_with_any_number_of_workers(
    reference_list: Path, tmp_path: Path
) -> None:
    _run("register_audio", list_path=str(reference_list))
    names = []
    for i, (seed, start) in enumerate([(SEED_A, 2.0), (SEED_UNRELATED, 0.0), (SEED_B, 9.0), (SEED_A, 12.0)] * 2):
        names.append(f"q{i}.wav")
        test_audio.write(tmp_path / names[-1], test_audio.excerpt(_piece(seed), start, 5.0 + i % 3))
    _corrupt_mp3(tmp_path / "broken.mp3", SEED_B)
    listing = tmp_path / "queries.tsv"
    listing.write_text("".join(f"q{i}\t{name}\n" for i, name in enumerate([*names, "broken.mp3"])))

    answers = {}
    for workers in (1, 3):
        output = tmp_path / f"results{workers}.jsonl"
        _run("identify", list_path=str(listing), jsonl=str(output), workers=workers)
        answers[workers] = [
            {k: v for k, v in json.loads(line).items() if k != "time_s"} for line in output.read_text().splitlines()
        ]

    assert [line["query_id"] for line in answers[3]] == [f"q{i}" for i in range(len(names) + 1)]
    assert answers[3] == answers[1]
    assert [line["ref_id"] for line in answers[1]] == ["ref-a", None, "ref-b", "ref-a"] * 2 + [None]


# --------------------------------------------------------------------------- bad lists


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["register_audio", "identify"])
@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("a\tone.wav\n# a comment\nno tab on this line\n", 3),
        ("a\tone.wav\nb\ttwo.wav\textra column\n", 2),
        ("\n\ta-path-without-an-id.wav\n", 2),
        ("a\tone.wav\na\tagain.wav\n", 2),  # the same id twice
    ],
    ids=["no_tab", "three_columns", "empty_id", "duplicate_id"],
)
def test_a_malformed_list_is_refused_naming_its_line(command: str, text: str, number: int, tmp_path: Path) -> None:
    listing = tmp_path / "list.tsv"
    listing.write_text(text)
    options = {"list_path": str(listing)} | ({"jsonl": str(tmp_path / "out.jsonl")} if command == "identify" else {})

    with pytest.raises(CommandError, match=rf"list\.tsv:{number}:"):
        _run(command, **options)

    assert AudioAsset.objects.count() == 0
    assert not (Path(settings.FINGERPRINT_INDEX_DIR) / "CURRENT").exists()
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["register_audio", "identify"])
def test_a_missing_list_file_is_refused(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.tsv"
    options = {"list_path": str(missing)} | ({"jsonl": str(tmp_path / "out.jsonl")} if command == "identify" else {})

    with pytest.raises(CommandError, match=r"(?i)not found.*nowhere\.tsv"):
        _run(command, **options)

    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["register_audio", "identify"])
def test_the_list_option_is_required(command: str) -> None:
    with pytest.raises(CommandError, match="--list"):
        _run(command)
