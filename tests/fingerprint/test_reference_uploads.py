"""Reference audio sent through the web pages: staged and validated at once, fingerprinted by a task.

Real audio (synthesised, encoded to WAV) through the real decoder, fingerprinter and index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catalog.models import AudioAsset
from config import queues
from fingerprint import audio, references, tasks
from fingerprint.models import ReferenceFingerprint, ReferenceUpload
from tests import audio as test_audio
from tests import factories
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db


def _chunks(path: Path, size: int = 4096) -> list[bytes]:
    data = path.read_bytes()
    return [data[i : i + size] for i in range(0, len(data), size)]


def _wav(tmp_path: Path, seed: int, seconds: float = 8.0) -> Path:
    return test_audio.write(tmp_path / f"master-{seed}.wav", test_audio.piece(seed, seconds))


def test_a_staged_upload_is_queued_then_fingerprinted_with_its_asset(
    tmp_path: Path, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    recording = factories.recording(1)
    wav = _wav(tmp_path, seed=11)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        upload = references.stage_reference(recording, _chunks(wav), original_name="master.wav")

    assert upload.status == ReferenceUpload.Status.QUEUED
    assert references.describe(upload) == "Queued"
    staged = Path(upload.staged_file.path)
    assert staged.read_bytes() == wav.read_bytes()
    assert len(queued) == 1, "the fingerprinting task is queued once the row is committed"

    queued[0]()  # what the commit does: the task runs (in-process here)
    upload.refresh_from_db()

    assert upload.status == ReferenceUpload.Status.DONE
    assert upload.error == ""
    assert upload.finished_at is not None and upload.attempts == 1
    asset = upload.asset
    assert asset is not None and asset.recording_id == recording.pk and asset.original_name == "master.wav"
    fingerprint = ReferenceFingerprint.objects.get(asset=asset)
    assert fingerprint.landmark_count > 0
    assert references.describe(upload) == f"Fingerprinted: 0:08, {fingerprint.landmark_count} landmarks"
    assert not staged.exists(), "the staged copy goes once the audio is stored as an asset"
    assert stored_files(Path(settings.MEDIA_ROOT)) == [Path(settings.MEDIA_ROOT) / asset.file.name]


def test_the_task_is_idempotent_a_finished_upload_is_not_redone(
    tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    recording = factories.recording(2)
    with django_capture_on_commit_callbacks(execute=True):
        upload = references.stage_reference(recording, _chunks(_wav(tmp_path, seed=12)), original_name="a.wav")
    upload.refresh_from_db()
    finished_at, asset_id = upload.finished_at, upload.asset_id

    assert tasks.fingerprint_reference_upload.delay(upload.pk).get() == "done"

    upload.refresh_from_db()
    assert (upload.finished_at, upload.asset_id, upload.attempts) == (finished_at, asset_id, 1)
    assert AudioAsset.objects.filter(kind="reference").count() == 1


def test_an_upload_left_fingerprinting_by_a_dead_worker_is_redone(
    tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    recording = factories.recording(3)
    with django_capture_on_commit_callbacks(execute=False):
        upload = references.stage_reference(recording, _chunks(_wav(tmp_path, seed=13)))
    ReferenceUpload.objects.filter(pk=upload.pk).update(status=ReferenceUpload.Status.FINGERPRINTING, attempts=1)

    done = references.fingerprint_upload(upload.pk)

    assert done.status == ReferenceUpload.Status.DONE and done.attempts == 2 and done.asset is not None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "The file is empty (0 bytes)."),
        (b"%PDF-1.7 definitely not audio" * 10, "not a supported audio format"),
    ],
)
def test_a_bad_file_is_refused_with_the_reason_and_nothing_is_stored(
    content: bytes, reason: str, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    recording = factories.recording(4)

    with django_capture_on_commit_callbacks(execute=True) as queued, pytest.raises(audio.AudioError) as refused:
        references.stage_reference(recording, [content], original_name="song.wav")

    assert reason in str(refused.value)
    assert not queued
    assert not ReferenceUpload.objects.exists()
    assert stored_files(Path(settings.MEDIA_ROOT)) == []


def test_silent_and_truncated_audio_are_refused_before_anything_is_stored(tmp_path: Path, settings: Any) -> None:
    recording = factories.recording(5)
    silent = test_audio.write(tmp_path / "silent.wav", test_audio.piece(1, 4.0) * 0)
    whole = _wav(tmp_path, seed=14).read_bytes()

    with pytest.raises(audio.AudioError, match="silent"):
        references.stage_reference(recording, [silent.read_bytes()])
    with pytest.raises(audio.AudioError, match="truncated"):
        references.stage_reference(recording, [whole[: len(whole) // 2]])

    assert not ReferenceUpload.objects.exists()
    assert stored_files(Path(settings.MEDIA_ROOT)) == []


def test_an_oversize_file_is_refused_by_its_declared_size_before_it_is_copied(settings: Any) -> None:
    settings.AUDIO_MAX_BYTES = 1000

    with pytest.raises(audio.AudioError, match="the limit is 1000 bytes"):
        references.stage_reference(factories.recording(6), iter(()), declared_size=5000)

    assert not ReferenceUpload.objects.exists()


def test_audio_that_is_another_recordings_reference_fails_with_the_reason_and_leaves_nothing_staged(
    tmp_path: Path, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    first, second = factories.recording(7), factories.recording(8)
    wav = _wav(tmp_path, seed=15)
    with django_capture_on_commit_callbacks(execute=True):
        references.stage_reference(first, _chunks(wav))
    assets_before = stored_files(Path(settings.MEDIA_ROOT))

    with django_capture_on_commit_callbacks(execute=True):
        upload = references.stage_reference(second, _chunks(wav), original_name="same.wav")
    upload.refresh_from_db()

    assert upload.status == ReferenceUpload.Status.FAILED
    assert "already the reference of recording" in upload.error
    assert references.describe(upload).startswith("Failed: This audio is already the reference of recording")
    assert upload.asset is None and not upload.staged_file
    assert stored_files(Path(settings.MEDIA_ROOT)) == assets_before
    assert not AudioAsset.objects.filter(recording=second).exists()


def test_the_task_goes_to_the_scans_queue() -> None:
    routes = queues.task_routes("test-")
    assert routes["fingerprint.tasks.fingerprint_reference_upload"] == {"queue": "test-scans"}


def test_an_upload_whose_message_was_lost_is_fingerprinted_by_the_sweep_and_gives_up_after_three_tries(
    tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    import datetime

    from django.utils import timezone

    recording = factories.recording(4)
    with django_capture_on_commit_callbacks(execute=False):  # the broker never got the message
        lost = references.stage_reference(recording, _chunks(_wav(tmp_path, seed=14)), original_name="lost.wav")
    later = timezone.now() + datetime.timedelta(seconds=references.QUEUED_GRACE_S + 1)

    assert references.recover_stalled(now=timezone.now()) == 0, "a fresh upload is left to its own message"
    tasks.sweep_scans.delay().get()  # the beat sweep: too early for this one as well
    assert references.recover_stalled(now=later) == 1
    lost.refresh_from_db()
    assert lost.status == ReferenceUpload.Status.DONE and lost.asset is not None

    with django_capture_on_commit_callbacks(execute=False):
        stuck = references.stage_reference(factories.recording(5), _chunks(_wav(tmp_path, seed=15)))
    ReferenceUpload.objects.filter(pk=stuck.pk).update(
        status=ReferenceUpload.Status.FINGERPRINTING,
        attempts=references.MAX_ATTEMPTS,
        started_at=timezone.now() - datetime.timedelta(hours=2),
    )
    assert references.recover_stalled(deadline_s=60) == 0
    stuck.refresh_from_db()
    assert stuck.status == ReferenceUpload.Status.FAILED
    assert "did not finish after 3 attempts" in stuck.error
