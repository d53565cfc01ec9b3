"""Nothing a platform submits is lost: not when a worker is killed mid-scan, not when the broker is
down while uploads arrive, not when a scan gets stuck. Real Redis, real worker processes."""

from __future__ import annotations

import contextlib
import datetime
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from config.celery import app as celery_app
from fingerprint import intake
from fingerprint.management.commands.bench_intake import BOUNDARY, multipart
from fingerprint.models import Match, Platform, Scan
from rights.models import Claim
from tests import audio as test_audio
from tests import factories
from tests.workers import Workers, wait_until


class TcpProxy:
    """A TCP forwarder to the broker that can be taken down and brought back on the same port:
    the outage is a real refused connection, not a mock."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def broker(url: str) -> Iterator[None]:
    """Point this process's Celery app at another broker URL (fresh connections), then back.
    (The write/read URLs are set: Celery lets the CELERY_BROKER_URL variable win over broker_url.)"""
    previous = (celery_app.conf.broker_write_url, celery_app.conf.broker_read_url)

    def reset() -> None:
        celery_app._pool = None
        with contextlib.suppress(AttributeError, KeyError):
            celery_app.__dict__["amqp"]._producer_pool = None

    celery_app.conf.broker_write_url = celery_app.conf.broker_read_url = url
    reset()
    try:
        yield
    finally:
        celery_app.conf.broker_write_url, celery_app.conf.broker_read_url = previous
        reset()


def _platform() -> tuple[Platform, object]:
    user = get_user_model().objects.create_user("uploader", password="not-used-1")
    platform = Platform.objects.create(name="Tube")
    platform.members.add(user)
    return platform, user


def _uploads(tmp_path: Path, count: int, seconds: float = 12.0) -> list[Path]:
    """Noisy MP3 excerpts of registered pieces 3 and 4, alternating."""
    paths = []
    for i in range(count):
        seed = 3 + i % 2
        clip = test_audio.add_noise(test_audio.excerpt(test_audio.piece(seed), 2.0 + i, seconds), 15.0, seed=i)
        paths.append(test_audio.write(tmp_path / f"upload-{i}.mp3", clip, bitrate=128000))
    return paths


def _all_final_and_claimed() -> bool:
    """Every scan finished, and every match's claim made (claims follow in a task of their own)."""
    if Scan.objects.exclude(status__in=Scan.FINAL).exists():
        return False
    return Match.objects.filter(claim__isnull=True).count() == 0


def _assert_each_scan_done_once(scans: list[Scan]) -> None:
    for scan in scans:
        scan.refresh_from_db()
        assert scan.status == Scan.Status.DONE, f"scan {scan.pk}: {scan.status} {scan.error}"
        matches = list(Match.objects.filter(scan=scan))
        assert len(matches) == 1, f"scan {scan.pk} has {len(matches)} matches"
        assert Claim.objects.filter(match=matches[0]).count() == 1


@pytest.mark.celery_worker
def test_a_worker_killed_mid_scan_is_replaced_and_every_scan_completes_exactly_once(
    tmp_path: Path, real_workers: Workers
) -> None:
    # A killed worker's unacknowledged message comes back after the visibility timeout (short here).
    real_workers.env.update(
        CELERY_VISIBILITY_TIMEOUT_S="6", CELERY_UNACKED_RESTORE_INTERVAL_S="1", CELERY_UNACKED_RESTORE_THROTTLE="1"
    )
    for seed in (3, 4):
        factories.registered_recording(tmp_path, seed=seed)
    platform, user = _platform()
    uploads = _uploads(tmp_path, 4, seconds=20.0)
    first = real_workers.start()

    scans = [intake.accept_file(u, original_name=u.name, platform=platform, submitted_by=user) for u in uploads]
    assert wait_until(lambda: Scan.objects.filter(status=Scan.Status.RUNNING).exists(), 120, real_workers, 0.02), (
        real_workers.log_text()
    )
    running = Scan.objects.filter(status=Scan.Status.RUNNING).values_list("pk", flat=True).first()
    real_workers.kill(first)  # mid-scan: the message is neither acknowledged nor rejected
    assert Scan.objects.get(pk=running).status == Scan.Status.RUNNING

    real_workers.start()
    finished = wait_until(_all_final_and_claimed, 180, real_workers)
    assert finished, real_workers.log_text()
    _assert_each_scan_done_once(scans)
    assert Scan.objects.get(pk=running).attempts >= 2  # it really was run again


@pytest.mark.celery_worker
def test_uploads_accepted_while_the_broker_is_down_are_all_identified_after_it_returns(
    tmp_path: Path, real_workers: Workers
) -> None:
    from urllib.parse import urlsplit

    for seed in (3, 4):
        factories.registered_recording(tmp_path, seed=seed)
    platform, user = _platform()
    real = urlsplit(celery_app.conf.broker_write_url)
    proxy = TcpProxy((real.hostname or "127.0.0.1", real.port or 6379))
    proxy.start()
    proxied_url = celery_app.conf.broker_write_url.replace(real.netloc, f"{real.hostname}:{proxy.port}")
    with broker(proxied_url):
        proxy.stop()  # the broker is unreachable while the uploads arrive
        scans = [
            intake.accept_file(path, original_name=path.name, platform=platform, submitted_by=user)
            for path in _uploads(tmp_path, 3)
        ]
        for scan in scans:
            scan.refresh_from_db()
            assert scan.asset_id is not None and Path(scan.asset.file.path).exists()  # stored
            assert scan.status == Scan.Status.QUEUED and scan.dispatched_at is None  # in the outbox
        proxy.start()  # the broker is back
        assert intake.relay_outbox(min_age_s=0) == 3
    proxy.stop()

    real_workers.start()
    assert wait_until(_all_final_and_claimed, 180, real_workers), real_workers.log_text()
    _assert_each_scan_done_once(scans)


@pytest.mark.celery_worker
def test_a_worker_starting_after_an_outage_queues_what_the_api_accepted_meanwhile(
    tmp_path: Path, real_workers: Workers
) -> None:
    factories.registered_recording(tmp_path, seed=3)
    platform, _user = _platform()
    with broker("redis://127.0.0.1:1/0"):  # nothing listens on port 1: connection refused
        scan = intake.accept_file(_uploads(tmp_path, 1)[0], original_name="clip.mp3", platform=platform)
    scan.refresh_from_db()
    assert scan.dispatched_at is None
    Scan.objects.filter(pk=scan.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=1))

    real_workers.start()  # worker_ready relays the outbox
    assert wait_until(_all_final_and_claimed, 120, real_workers), real_workers.log_text()
    _assert_each_scan_done_once([scan])


@pytest.mark.django_db
def test_a_scan_stuck_running_past_its_deadline_is_run_again(
    tmp_path: Path, settings, django_capture_on_commit_callbacks
) -> None:
    factories.registered_recording(tmp_path, seed=3)
    platform, _user = _platform()
    scan = intake.accept_file(_uploads(tmp_path, 1)[0], platform=platform)  # callbacks not run: never dispatched
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.SCAN_DEADLINE_S + 60)
    Scan.objects.filter(pk=scan.pk).update(status=Scan.Status.RUNNING, started_at=long_ago, attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        assert intake.recover_stuck_scans() == (1, 0)

    scan.refresh_from_db()
    assert scan.status == Scan.Status.DONE and scan.attempts == 2
    assert scan.matches.count() == 1


@pytest.mark.django_db
def test_a_scan_that_keeps_getting_stuck_is_failed_with_the_reason_for_staff_and_platform(
    tmp_path: Path, settings, client
) -> None:
    platform, _user = _platform()
    scan = intake.accept_file(_uploads(tmp_path, 1)[0], platform=platform)
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.SCAN_DEADLINE_S + 60)
    Scan.objects.filter(pk=scan.pk).update(
        status=Scan.Status.RUNNING, started_at=long_ago, attempts=settings.SCAN_MAX_ATTEMPTS
    )

    assert intake.recover_stuck_scans() == (0, 1)

    scan.refresh_from_db()
    assert scan.status == Scan.Status.FAILED
    assert f"Gave up after {settings.SCAN_MAX_ATTEMPTS} attempts" in scan.error
    assert scan.finished_at is not None

    from fingerprint.models import ApiToken

    _, key = ApiToken.issue(platform, _user)
    seen_by_platform = client.get(f"/api/v1/scans/{scan.pk}", HTTP_AUTHORIZATION=f"Bearer {key}").json()
    assert seen_by_platform["status"] == "failed" and "Gave up after" in seen_by_platform["error"]
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw-not-used-1")
    client.force_login(staff)
    assert "Gave up after" in client.get(f"/admin/fingerprint/scan/{scan.pk}/change/").content.decode()


@pytest.mark.django_db
def test_a_scan_in_progress_within_its_deadline_is_left_alone(tmp_path: Path) -> None:
    platform, _user = _platform()
    scan = intake.accept_file(_uploads(tmp_path, 1)[0], platform=platform)
    Scan.objects.filter(pk=scan.pk).update(status=Scan.Status.RUNNING, started_at=timezone.now(), attempts=1)

    assert intake.recover_stuck_scans() == (0, 0)
    assert Scan.objects.get(pk=scan.pk).status == Scan.Status.RUNNING


@pytest.mark.celery_worker
def test_a_batch_posted_over_http_is_identified_by_a_real_worker_and_readable_through_the_api(
    tmp_path: Path, real_workers: Workers, live_server
) -> None:
    import json
    import urllib.request

    from fingerprint.models import ApiToken

    for seed in (3, 4):
        factories.registered_recording(tmp_path, seed=seed)
    platform, user = _platform()
    _, key = ApiToken.issue(platform, user)
    uploads = _uploads(tmp_path, 3)
    files = [(path.name, path.read_bytes()) for path in uploads] + [("notes.mp3", b"not audio at all " * 100)]
    body = multipart(files)
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    real_workers.start()

    request = urllib.request.Request(
        f"{live_server.url}/api/v1/scans",
        data=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": content_type, "Idempotency-Key": "batch-1"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 202
        answer = json.loads(response.read())
    assert answer["accepted"] == 3 and answer["rejected"] == 1
    assert answer["items"][3]["code"] == "unsupported_format" and answer["items"][3]["status_code"] == 422
    scan_ids = [item["id"] for item in answer["items"][:3]]

    assert wait_until(_all_final_and_claimed, 180, real_workers), real_workers.log_text()
    _assert_each_scan_done_once(list(Scan.objects.filter(pk__in=scan_ids)))
    read = urllib.request.Request(
        f"{live_server.url}/api/v1/scans/{scan_ids[0]}", headers={"Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(read, timeout=30) as response:
        detail = json.loads(response.read())
    assert detail["status"] == "done" and len(detail["matches"]) == 1 and len(detail["claims"]) == 1
