"""The upload intake's hot path stays lean (few statements, one commit, no broker wait in the request)
without giving up what it promises: one asset per content, one scan per platform and content, and
nothing lost when a concurrent request with the same bytes wins the race or a hand-off never happens."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import AudioAsset
from config.celery import app as celery_app
from fingerprint import intake
from fingerprint.models import Scan, Submission
from tests import audio as test_audio
from tests.api import builders
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db


def _clip(seed: int) -> bytes:
    samples = test_audio.add_noise(test_audio.piece(seed, 3.0), snr_db=20.0, seed=seed).astype(np.float32)
    return test_audio.audio.encode(samples, test_audio.SR, "wav")


def _post(caller: builders.Caller, data: bytes, key: str | None = None) -> dict:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    response = caller.client.post(
        "/api/v1/scans/", {"file": SimpleUploadedFile("clip.wav", data)}, format="multipart", **headers
    )
    assert response.status_code == 202, response.json()
    return response.json()


def test_a_new_upload_costs_a_handful_of_statements_and_no_broker_publish_in_the_request(
    django_assert_max_num_queries, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:
    caller = builders.platform("Tube")
    _post(caller, _clip(1), key="warm-up")  # the token's last_used_at is written once a minute, not per request
    handed: list[list[int]] = []
    celery_app.conf.task_always_eager = False  # a real broker: the autouse tasks_in_process fixture restores it
    monkeypatch.setattr(intake._dispatcher, "hand_off", lambda ids: handed.append(list(ids)))

    # Token lookup, submission insert, content lookup, asset insert, scan insert; BEGIN and COMMIT are
    # not counted, and here the request's transaction is a savepoint in the test's (two more).
    with django_capture_on_commit_callbacks(execute=True), django_assert_max_num_queries(7):
        body = _post(caller, _clip(2), key="k-2")

    assert handed == [[body["items"][0]["id"]]]  # queued for the dispatcher thread, once committed
    assert Scan.objects.get(pk=body["items"][0]["id"]).dispatched_at is None  # in the outbox until sent


def test_the_dispatcher_sends_what_several_requests_committed_together(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[list[int]] = []
    monkeypatch.setattr(intake, "dispatch_batch", lambda ids: sent.append(list(ids)) or True)
    dispatcher = intake._Dispatcher()
    monkeypatch.setattr(dispatcher, "LINGER_S", 0.2)

    dispatcher.hand_off([1, 2])
    dispatcher.hand_off([3])
    dispatcher.stop()

    assert sent == [[1, 2, 3]]


def test_scans_whose_hand_off_was_lost_are_relayed_from_the_outbox_in_batches(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:
    caller = builders.platform("Tube")
    celery_app.conf.task_always_eager = False  # a real broker: the autouse tasks_in_process fixture restores it
    monkeypatch.setattr(intake._dispatcher, "hand_off", lambda ids: None)  # the process died before sending
    with django_capture_on_commit_callbacks(execute=True):
        ids = [_post(caller, _clip(seed))["items"][0]["id"] for seed in (3, 4, 5)]
    assert not Scan.objects.filter(pk__in=ids, dispatched_at__isnull=False).exists()
    batches: list[list[int]] = []
    monkeypatch.setattr(intake, "RELAY_CHUNK", 2)
    monkeypatch.setattr(intake, "dispatch_batch", lambda scan_ids: batches.append(scan_ids) or True)

    assert intake.relay_outbox(min_age_s=0) == 3

    assert batches == [ids[:2], ids[2:]]  # a backlog goes out a chunk per message, not a publish per scan


def test_losing_the_race_to_a_concurrent_request_with_the_same_bytes_returns_its_scan_and_keeps_one_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lookup found nothing, then another request stored the same bytes and scanned them for the
    same platform before this one inserted: its rows stand, this request's copy of the file is removed."""
    caller = builders.platform("Tube")
    data = _clip(6)
    real_new_asset = intake._new_upload_asset
    theirs: dict[str, Scan] = {}

    def stored_then_beaten(path: Path, sha256: str, original_name: str) -> AudioAsset:
        ours = real_new_asset(path, sha256, original_name)
        if not theirs:  # the concurrent request commits its asset and scan now
            other = real_new_asset(path, sha256, "theirs.wav")
            other.save()
            theirs["scan"] = Scan.objects.create(asset=other, platform=caller.platform, original_name="theirs.wav")
        return ours

    monkeypatch.setattr(intake, "_new_upload_asset", stored_then_beaten)

    body = _post(caller, data, key="k")

    assert body["items"][0]["id"] == theirs["scan"].pk
    assert AudioAsset.objects.filter(kind="upload").count() == 1 and Scan.objects.count() == 1
    assert len(stored_files(Path(django_settings.MEDIA_ROOT))) == 1  # our duplicate file was removed
    assert Submission.objects.get(idempotency_key="k").request_digest


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_the_same_key_and_bytes_get_one_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite's test database locks the table)")
    caller = builders.platform("Tube")
    data = _clip(7)
    monkeypatch.setattr(intake, "dispatch", lambda scan_id: True)  # identification is not what is tested
    barrier = threading.Barrier(4)
    answers: list[int] = []

    def submit() -> None:
        from django.db import connection
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {caller.key}")
        try:
            barrier.wait()
            answers.append(
                _post(builders.Caller(**{**vars(caller), "client": client}), data, key="same")["items"][0]["id"]
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 4 and len(set(answers)) == 1
    assert Scan.objects.count() == 1 and Submission.objects.count() == 1
    assert AudioAsset.objects.filter(kind="upload").count() == 1
    assert len(stored_files(Path(django_settings.MEDIA_ROOT))) == 1


def test_stored_files_are_flushed_to_disk_before_commit_once_per_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushed: list[list[Path]] = []
    real_flush = intake._flush_files
    monkeypatch.setattr(intake, "_flush_files", lambda paths: flushed.append(list(paths)) or real_flush(paths))
    monkeypatch.setattr(intake, "dispatch", lambda scan_id: True)
    clips = []
    for seed in (8, 9, 10):
        clips.append(tmp_path / f"clip-{seed}.wav")
        clips[-1].write_bytes(_clip(seed))

    alone = intake.accept_file(clips[0])  # outside a batch: flushed at once
    assert flushed == [[Path(alone.asset.file.path)]]
    flushed.clear()
    from django.db import transaction

    with transaction.atomic(), intake.one_dispatch_per_batch():
        scans = [intake.accept_file(clip) for clip in clips[1:]]
        assert flushed == []  # not yet: the batch's files go together, at its end

    assert flushed == [[Path(scan.asset.file.path) for scan in scans]]
