"""Small builders for catalogue rows and registered references used across the tests."""

from __future__ import annotations

from pathlib import Path

from catalog import identifiers
from catalog.models import Artist, AudioAsset, Label, Recording, Work
from fingerprint import actions
from fingerprint.models import Match, Scan, WorkMatch
from rights.models import RightsHolder
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


def artist_recording(tmp_path: Path, artist: Artist, style_of: int, seed: int) -> Recording:
    """A recording by `artist` whose reference (25 s in synthetic artist style `style_of`, see
    tests.audio.artist_track) is registered, so it shapes the artist's style profile."""
    rec = recording(1000 + seed)
    rec.artists.add(artist)
    track = test_audio.artist_track(style_of, seed, seconds=25.0, rate=test_audio.SR)
    actions.register_reference(rec, test_audio.write(tmp_path / f"ref-{seed}.wav", track))
    return rec


def artist_catalogue(tmp_path: Path) -> dict[int, Artist]:
    """Three artists (keyed by their synthetic style), each with three registered recordings in it."""
    artists = {}
    for style_of in (0, 1, 2):
        artists[style_of] = Artist.objects.create(name=f"Artist {style_of}")
        for n in range(3):
            artist_recording(tmp_path, artists[style_of], style_of, 100 * style_of + n)
    return artists


def identified(path: Path, capture) -> Scan:  # type: ignore[no-untyped-def]
    """`path` submitted as a staff upload and identified in process (`capture`: pytest-django's
    django_capture_on_commit_callbacks, which runs the queued task); the finished scan."""
    with capture(execute=True):
        scan = actions.submit_upload(path, path.name)
    scan.refresh_from_db()
    assert scan.status == Scan.Status.DONE, scan.error
    return scan


# --- rights: rows built directly, without audio ------------------------------------------------------

_asset_seq = iter(range(1, 10**9))


def audio_asset(kind: str, recording: Recording | None = None, duration_s: float = 30.0) -> AudioAsset:
    """An AudioAsset row without a file on disk (for rights tests that never decode audio)."""
    n = next(_asset_seq)
    sha = f"{n:064x}"
    return AudioAsset.objects.create(
        kind=kind,
        recording=recording,
        file=f"audio/{kind}/{sha[:2]}/{sha}.wav",
        original_name=f"{kind}-{n}.wav",
        sha256=sha,
        size_bytes=1000,
        format="wav",
        sample_rate=44100,
        channels=1,
        duration_s=duration_s,
    )


def match(
    rec: Recording,
    *,
    confidence: float = 0.95,
    query: tuple[float, float] = (0.0, 20.0),
    reference: tuple[float, float] = (10.0, 30.0),
    upload_s: float = 40.0,
    reference_s: float = 180.0,
    pitch: float = 1.0,
    tempo: float = 1.0,
    scan: Scan | None = None,
    submitted_by: object | None = None,
) -> Match:
    """A finished scan of an upload with one match of `rec` (spans in seconds)."""
    if scan is None:
        scan = Scan.objects.create(
            asset=audio_asset("upload", duration_s=upload_s), status=Scan.Status.DONE, submitted_by=submitted_by
        )
    ref_asset = AudioAsset.objects.filter(recording=rec, kind="reference").first() or audio_asset(
        "reference", rec, reference_s
    )
    return Match.objects.create(
        scan=scan,
        recording=rec,
        reference_asset=ref_asset,
        query_start_s=query[0],
        query_end_s=query[1],
        reference_start_s=reference[0],
        reference_end_s=reference[1],
        pitch_factor=pitch,
        tempo_factor=tempo,
        aligned_landmarks=50,
        score=50.0,
        confidence=confidence,
        engine_version="test",
    )


def registered_work(tmp_path: Path, index: int, seed: int) -> Work:
    """A work whose rendition (the composition `seed`, synthesised) is registered for work identification."""
    registered = work(index)
    path = test_audio.write(tmp_path / f"rendition-{index}.flac", test_audio.piece(seed))
    actions.register_rendition(registered, path)
    return registered


def work_match(
    registered: Work,
    *,
    scan: Scan | None = None,
    transpose: int = 2,
    tempo: float = 1.1,
    confidence: float = 0.9,
    query: tuple[float, float] = (0.0, 20.0),
) -> WorkMatch:
    """A finished scan of an upload (no file) performing `registered` (a cover), as a stored work match."""
    if scan is None:
        scan = Scan.objects.create(asset=audio_asset("upload", duration_s=query[1] + 5), status=Scan.Status.DONE)
    return WorkMatch.objects.create(
        scan=scan,
        work=registered,
        query_start_s=query[0],
        query_end_s=query[1],
        reference_start_s=0.0,
        reference_end_s=(query[1] - query[0]) * tempo,
        transpose_semitones=transpose,
        tempo_ratio=tempo,
        score=5.0,
        confidence=confidence,
        engine_version="test",
    )


def party(name: str, kind: str = "label", label: Label | None = None, **extra: object) -> RightsHolder:
    return RightsHolder.objects.create(name=name, kind=kind, label=label, **extra)


def work(index: int) -> Work:
    digits = f"{700000000 + index:09d}"
    return Work.objects.create(title=f"Work {index}", iswc=f"T{digits}{identifiers.iswc_check_digit(digits)}")
