"""Platform webhooks: signed, retried with backoff, logged, resendable, and only to their own platform.

Deliveries go over real HTTP to a receiver listening on loopback (allowed explicitly, as the SSRF
guard refuses loopback otherwise).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from fingerprint import intake, tasks, webhooks
from fingerprint.models import Platform, Scan, WebhookDelivery, WebhookEndpoint
from fingerprint.signals import scan_finished
from tests import audio as test_audio
from tests import factories

BASE_DIR = Path(__file__).resolve().parents[2]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers `fail_status` to the first
    `fail_first` of them, 200 afterwards."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.fail_first = 0
        self.fail_status = 500
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with owner._lock:
                    owner.requests.append(Received(self.path, dict(self.headers.items()), body))
                    failing = len(owner.requests) <= owner.fail_first
                answer = b"receiver is down" if failing else b"ok"
                self.send_response(owner.fail_status if failing else 200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def events(self, path: str | None = None) -> list[str]:
        return [r.payload["event"] for r in self.requests if path is None or r.path == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):  # type: ignore[no-untyped-def]
    r = Receiver()
    settings.FETCH_ALLOWED_HOSTS = [f"127.0.0.1:{r.port}"]
    settings.WEBHOOK_RETRY_DELAYS_S = (0, 0, 0)
    settings.WEBHOOK_TIMEOUT_S = 5
    yield r
    r.stop()


@pytest.fixture
def endpoint(db, receiver: Receiver) -> WebhookEndpoint:
    platform = Platform.objects.create(name="Streamly")
    return WebhookEndpoint.objects.create(platform=platform, url=receiver.url())


def _emit(capture, endpoint: WebhookEndpoint, event: str = "scan.completed", **kw) -> list[WebhookDelivery]:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        return webhooks.emit(endpoint.platform_id, event, {"scan_id": 1, "status": "done"}, **kw)


def _retry_until_settled() -> None:
    for _ in range(10):
        if not tasks.retry_due_webhooks():
            return
    raise AssertionError("deliveries still due after 10 sweeps")


# --- signatures ------------------------------------------------------------------------------------


def test_a_delivery_is_signed_with_the_endpoint_secret_and_nothing_else_verifies(
    endpoint: WebhookEndpoint, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    (delivery,) = _emit(django_capture_on_commit_callbacks, endpoint)

    (request,) = receiver.requests
    header = request.headers[webhooks.SIGNATURE_HEADER]
    assert webhooks.verify(endpoint.secret, header, request.body)
    assert not webhooks.verify("another-secret", header, request.body)
    assert not webhooks.verify(endpoint.secret, header, request.body.replace(b'"done"', b'"fail"'))
    timestamp = int(header.split(",")[0].removeprefix("t="))
    assert abs(timestamp - time.time()) < 60
    assert not webhooks.verify(endpoint.secret, header, request.body, now=timestamp + 301)  # a replay, later
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers[webhooks.EVENT_HEADER] == "scan.completed"
    assert request.headers[webhooks.DELIVERY_HEADER] == str(delivery.event_id)
    assert request.payload["id"] == str(delivery.event_id)
    assert request.payload["data"] == {"scan_id": 1, "status": "done"}
    assert request.body == webhooks.encode(delivery.payload)


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"a":1}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert webhooks.sign("s3cret", 1700000000, body) == expected
    header = webhooks.signature_header("s3cret", 1700000000, body)
    assert header == f"t=1700000000,v1={expected}"
    assert webhooks.verify("s3cret", header, body, now=1700000000 + 300)
    assert not webhooks.verify("s3cret", header, body, now=1700000000 + 301)
    assert not webhooks.verify("s3cret", header, body, now=1700000000 - 301)  # from the future
    assert webhooks.verify("s3cret", f"t=1700000000,v1={'0' * 64},v1={expected}", body, now=1700000000)
    assert not webhooks.verify("s3cret", "garbage", body)
    assert not webhooks.verify("s3cret", f"v1={expected}", body)


# --- retries, backoff, failure ---------------------------------------------------------------------


def test_a_receiver_failing_twice_gets_the_event_delivered_once_after_three_attempts(
    endpoint: WebhookEndpoint, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    receiver.fail_first = 2

    (delivery,) = _emit(django_capture_on_commit_callbacks, endpoint)
    _retry_until_settled()

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 3 and delivery.delivered_at is not None
    assert [entry["status_code"] for entry in delivery.log] == [500, 500, 200]
    assert [entry["attempt"] for entry in delivery.log] == [1, 2, 3]
    assert all(entry["seconds"] >= 0 and entry["at"] for entry in delivery.log)
    assert delivery.log[0]["error"] == "HTTP 500: receiver is down"
    assert (delivery.last_status_code, delivery.last_error) == (200, "")
    assert len(receiver.requests) == 3
    assert {r.headers[webhooks.DELIVERY_HEADER] for r in receiver.requests} == {str(delivery.event_id)}
    assert tasks.retry_due_webhooks() == 0


def test_when_the_retries_run_out_the_delivery_fails_with_the_last_error(
    endpoint: WebhookEndpoint, receiver: Receiver, settings, django_capture_on_commit_callbacks
) -> None:
    settings.WEBHOOK_RETRY_DELAYS_S = (0, 0)
    receiver.fail_first, receiver.fail_status = 99, 503

    (delivery,) = _emit(django_capture_on_commit_callbacks, endpoint)
    _retry_until_settled()

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 3 and len(delivery.log) == 3 and len(receiver.requests) == 3
    assert delivery.last_status_code == 503 and delivery.last_error == "HTTP 503: receiver is down"
    assert delivery.next_attempt_at is None and delivery.delivered_at is None


def test_an_unreachable_receiver_is_logged_with_the_error(
    endpoint: WebhookEndpoint, receiver: Receiver, settings, django_capture_on_commit_callbacks
) -> None:
    receiver.stop()  # nothing listens on the allowed port any more
    settings.WEBHOOK_RETRY_DELAYS_S = ()

    (delivery,) = _emit(django_capture_on_commit_callbacks, endpoint)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.last_status_code is None
    assert delivery.last_error.startswith("ConnectionRefusedError")
    assert delivery.log[0]["status_code"] is None and delivery.log[0]["error"] == delivery.last_error


def test_attempts_follow_the_configured_backoff(endpoint: WebhookEndpoint, receiver: Receiver, settings) -> None:
    settings.WEBHOOK_RETRY_DELAYS_S = (30, 120)
    receiver.fail_first = 99
    (delivery,) = webhooks.emit(endpoint.platform_id, "scan.failed", {"scan_id": 7})  # queued only on commit
    t0 = delivery.next_attempt_at + datetime.timedelta(minutes=5)

    assert webhooks.deliver(delivery.pk, now=t0).next_attempt_at == t0 + datetime.timedelta(seconds=30)
    assert webhooks.deliver(delivery.pk, now=t0 + datetime.timedelta(seconds=29)).attempts == 1  # not due yet
    assert webhooks.due_deliveries(t0 + datetime.timedelta(seconds=29)) == []
    assert webhooks.due_deliveries(t0 + datetime.timedelta(seconds=30)) == [delivery.pk]
    second = webhooks.deliver(delivery.pk, now=t0 + datetime.timedelta(seconds=30))
    assert second.attempts == 2 and second.next_attempt_at == t0 + datetime.timedelta(seconds=150)
    third = webhooks.deliver(delivery.pk, now=t0 + datetime.timedelta(seconds=150))
    assert third.attempts == 3 and third.status == WebhookDelivery.Status.FAILED
    assert len(receiver.requests) == 3


def test_an_attempt_another_worker_has_taken_is_not_made_twice(endpoint: WebhookEndpoint, receiver: Receiver) -> None:
    (delivery,) = webhooks.emit(endpoint.platform_id, "scan.failed", {"scan_id": 7})
    now = datetime.datetime.now(datetime.UTC)
    # Another worker took the row a moment ago: it holds the lease until its attempt is recorded.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=now + datetime.timedelta(seconds=60))

    assert webhooks.deliver(delivery.pk, now=now).attempts == 0
    assert receiver.requests == []
    assert webhooks.deliver(delivery.pk, now=now + datetime.timedelta(seconds=61)).status == "delivered"
    assert webhooks.deliver(delivery.pk, now=now + datetime.timedelta(seconds=62)).attempts == 1  # done: no resend
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_one_delivery_send_it_once(receiver: Receiver) -> None:
    if connection.vendor != "postgresql":
        # The in-memory SQLite test database refuses concurrent writers outright ("table is locked").
        pytest.skip("real concurrency needs PostgreSQL; set DATABASE_URL")
    platform = Platform.objects.create(name="Streamly")
    endpoint = WebhookEndpoint.objects.create(platform=platform, url=receiver.url())
    (delivery,) = webhooks.emit(platform.pk, "scan.failed", {"scan_id": 7})
    start = threading.Barrier(4)
    results: list[WebhookDelivery | BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            results.append(webhooks.deliver(delivery.pk))
        except BaseException as exc:  # reported below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(delivery.log)) == ("delivered", 1, 1)
    assert endpoint.deliveries.count() == 1


def test_a_first_attempt_whose_task_was_lost_is_picked_up_by_the_sweep(endpoint: WebhookEndpoint) -> None:
    (delivery,) = webhooks.emit(endpoint.platform_id, "scan.failed", {"scan_id": 7})  # never committed: no task
    now = datetime.datetime.now(datetime.UTC)

    assert webhooks.due_deliveries(now) == []  # its own task may still be on the way
    assert webhooks.due_deliveries(now + webhooks.FIRST_ATTEMPT_GRACE) == [delivery.pk]


# --- resend, filters, isolation --------------------------------------------------------------------


def test_resending_makes_a_new_delivery_with_a_fresh_event_id(
    endpoint: WebhookEndpoint, receiver: Receiver, settings, django_capture_on_commit_callbacks
) -> None:
    settings.WEBHOOK_RETRY_DELAYS_S = ()
    receiver.fail_first = 1
    (failed,) = _emit(django_capture_on_commit_callbacks, endpoint)
    failed.refresh_from_db()
    assert failed.status == WebhookDelivery.Status.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        again = webhooks.resend(failed.pk)

    again.refresh_from_db()
    assert again.pk != failed.pk and again.event_id != failed.event_id
    assert again.status == WebhookDelivery.Status.DELIVERED and again.attempts == 1
    assert again.event == failed.event and again.endpoint == failed.endpoint
    assert again.payload == {**failed.payload, "id": str(again.event_id)}
    assert f"resend of delivery {failed.pk}" in again.log[0]["note"]
    assert again.log[1]["status_code"] == 200
    assert receiver.requests[-1].payload["id"] == str(again.event_id)
    assert receiver.requests[-1].headers[webhooks.DELIVERY_HEADER] == str(again.event_id)


def test_an_endpoint_gets_only_the_events_it_asked_for(
    endpoint: WebhookEndpoint, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    endpoint.events = ["scan.failed"]
    endpoint.save()
    everything = WebhookEndpoint.objects.create(platform=endpoint.platform, url=receiver.url("/all"))
    WebhookEndpoint.objects.create(platform=endpoint.platform, url=receiver.url("/off"), active=False)

    _emit(django_capture_on_commit_callbacks, endpoint, "scan.completed")
    _emit(django_capture_on_commit_callbacks, endpoint, "scan.failed")

    assert receiver.events("/hooks") == ["scan.failed"]
    assert receiver.events("/all") == ["scan.completed", "scan.failed"]
    assert receiver.events("/off") == []
    assert WebhookDelivery.objects.filter(endpoint=everything).count() == 2


def test_a_platform_never_receives_another_platforms_events(
    db, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    a = Platform.objects.create(name="A")
    b = Platform.objects.create(name="B")
    WebhookEndpoint.objects.create(platform=a, url=receiver.url("/a"))
    WebhookEndpoint.objects.create(platform=b, url=receiver.url("/b"))

    with django_capture_on_commit_callbacks(execute=True):
        webhooks.emit(a.pk, "scan.completed", {"scan_id": 1})

    assert receiver.events("/a") == ["scan.completed"]
    assert receiver.events("/b") == []
    assert not WebhookDelivery.objects.filter(endpoint__platform=b).exists()


def test_the_same_event_emitted_twice_is_sent_once(
    endpoint: WebhookEndpoint, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    event_id = uuid.uuid4()

    first = _emit(django_capture_on_commit_callbacks, endpoint, event_id=event_id)
    second = _emit(django_capture_on_commit_callbacks, endpoint, event_id=event_id)

    assert [d.pk for d in first] == [d.pk for d in second]
    assert len(receiver.requests) == 1


# --- the SSRF guard --------------------------------------------------------------------------------


def test_loopback_is_refused_unless_allowed(
    endpoint: WebhookEndpoint, receiver: Receiver, settings, django_capture_on_commit_callbacks
) -> None:
    settings.FETCH_ALLOWED_HOSTS = []

    (delivery,) = _emit(django_capture_on_commit_callbacks, endpoint)

    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.attempts == 1
    assert "127.0.0.1, a private or reserved address" in delivery.last_error


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://user:pw@example.org/hook",
        "http:///nohost",
    ],
)
def test_the_target_check_refuses(url: str, settings) -> None:  # type: ignore[no-untyped-def]
    settings.FETCH_ALLOWED_HOSTS = []
    with pytest.raises(webhooks.WebhookTargetError):
        webhooks._check_target(url)


def test_the_target_check_lets_public_and_allowed_hosts_through(settings) -> None:  # type: ignore[no-untyped-def]
    settings.FETCH_ALLOWED_HOSTS = ["127.0.0.1:9999"]
    target = webhooks._check_target("http://127.0.0.1:9999/in?x=1")
    assert (target.host, target.port, target.address, target.path) == ("127.0.0.1", 9999, "127.0.0.1", "/in?x=1")
    assert webhooks._check_target("https://93.184.215.14/hook").port == 443
    with pytest.raises(webhooks.WebhookTargetError):
        webhooks._check_target("http://127.0.0.1:9998/in")  # another port of an allowed host


# --- scan events -----------------------------------------------------------------------------------


@pytest.fixture
def scan_receivers() -> None:
    """What FingerprintConfig.ready() connects (idempotent: a second connect is a no-op)."""
    webhooks.connect_receivers()


def test_the_fingerprint_app_connects_the_scan_receivers_at_startup() -> None:
    code = (
        "import django; django.setup(); from fingerprint.signals import scan_finished; "
        "print(any(r[0][0] == 'fingerprint.webhooks.scan_finished' for r in scan_finished.receivers))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"


@pytest.mark.django_db
def test_a_platforms_scan_sends_scan_completed_with_its_matches(
    tmp_path: Path, receiver: Receiver, scan_receivers, django_capture_on_commit_callbacks
) -> None:
    recording = factories.registered_recording(tmp_path, seed=3)
    platform = Platform.objects.create(name="Streamly")
    user = get_user_model().objects.create_user("streamly-bot", password="x-not-used-1")
    endpoint = WebhookEndpoint.objects.create(platform=platform, url=receiver.url(), events=["scan.completed"])
    clip = test_audio.write(tmp_path / "clip.wav", test_audio.excerpt(test_audio.piece(3), 8.0, 10.0))

    with django_capture_on_commit_callbacks(execute=True):
        scan = intake.accept_file(clip, original_name="clip.wav", platform=platform, submitted_by=user)

    scan.refresh_from_db()
    assert scan.status == Scan.Status.DONE, scan.error
    (request,) = receiver.requests
    assert webhooks.verify(endpoint.secret, request.headers[webhooks.SIGNATURE_HEADER], request.body)
    data = request.payload["data"]
    assert request.payload["event"] == "scan.completed"
    assert (data["scan_id"], data["status"], data["original_name"]) == (scan.pk, "done", "clip.wav")
    (match,) = data["matches"]
    assert match["recording"] == {"id": recording.pk, "isrc": recording.isrc, "title": recording.title}
    assert abs(match["reference_start_s"] - match["query_start_s"] - 8.0) < 0.5
    assert match["pitch_factor"] == pytest.approx(1.0, abs=0.02)
    assert match["tempo_factor"] == pytest.approx(1.0, abs=0.02)
    assert 0 < match["confidence"] <= 1
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.DELIVERED


@pytest.mark.django_db
def test_a_failed_scan_sends_scan_failed_and_a_scan_of_no_platform_sends_nothing(
    receiver: Receiver, scan_receivers, django_capture_on_commit_callbacks
) -> None:
    platform = Platform.objects.create(name="Streamly")
    WebhookEndpoint.objects.create(platform=platform, url=receiver.url())
    failed = Scan.objects.create(platform=platform, status=Scan.Status.FAILED, error="The file is empty (0 bytes).")
    staff_scan = Scan.objects.create(status=Scan.Status.FAILED, error="not a platform's")

    with django_capture_on_commit_callbacks(execute=True):
        scan_finished.send(sender=Scan, scan_id=failed.pk)
        scan_finished.send(sender=Scan, scan_id=staff_scan.pk)
        scan_finished.send(sender=Scan, scan_id=failed.pk)  # the same finish told twice

    (request,) = receiver.requests
    assert request.payload["event"] == "scan.failed"
    assert request.payload["data"]["scan_id"] == failed.pk
    assert request.payload["data"]["error"] == "The file is empty (0 bytes)."


# --- admin -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_see_deliveries_read_only_and_resend_them_from_the_admin(
    client, endpoint: WebhookEndpoint, receiver: Receiver, settings, django_capture_on_commit_callbacks
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.WEBHOOK_RETRY_DELAYS_S = ()
    receiver.fail_first = 1
    (failed,) = _emit(django_capture_on_commit_callbacks, endpoint)
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-not-used-1"))

    listing = client.get("/admin/fingerprint/webhookdelivery/?status__exact=failed")
    detail = client.get(f"/admin/fingerprint/webhookdelivery/{failed.pk}/change/")
    endpoints = client.get("/admin/fingerprint/webhookendpoint/")
    filtered = client.get(f"/admin/fingerprint/webhookdelivery/?endpoint__id__exact={endpoint.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/fingerprint/webhookdelivery/",
            {"action": "resend_deliveries", "_selected_action": [failed.pk]},
            follow=True,
        )

    assert listing.status_code == detail.status_code == endpoints.status_code == filtered.status_code == 200
    assert "HTTP 500: receiver is down" in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()
    assert "1 delivery(ies) queued again" in response.content.decode()
    again = WebhookDelivery.objects.exclude(pk=failed.pk).get()
    assert again.status == WebhookDelivery.Status.DELIVERED
    assert client.get("/admin/fingerprint/webhookendpoint/add/").status_code == 200
    change = client.get(f"/admin/fingerprint/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret in change
