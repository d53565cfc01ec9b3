"""Webhooks: signed event notifications POSTed to the URLs a platform registers.

What a platform receives
------------------------
::

    POST <endpoint url>
    Content-Type: application/json
    X-ContentID-Event: scan.completed
    X-ContentID-Delivery: 6f1c…  (the event id: the same on every retry of one event; dedupe on it)
    X-ContentID-Signature: t=1767225600,v1=5257a869…

    {"created": "2026-01-01T00:00:00+00:00", "data": {...}, "event": "scan.completed", "id": "6f1c…"}

``v1`` is the hex HMAC-SHA256, keyed with the endpoint's secret, of ``f"{t}."`` followed by the raw
body bytes; ``t`` is when the attempt was signed, in Unix seconds. A receiver recomputes it over the
bytes it received (before parsing the JSON), compares in constant time, and refuses a ``t`` more
than five minutes from its own clock, so a captured request cannot be replayed later. ``verify()``
does exactly that. (Several ``v1=`` values may appear while a secret is being rotated; one matching
is enough.)

Any 2xx answer delivers the event. Anything else (another status, a redirect, a timeout, a refused
connection) is retried after ``settings.WEBHOOK_RETRY_DELAYS_S`` (30 s, 2 min, 10 min, 1 h, 6 h,
24 h by default); when those run out the delivery is failed. Every attempt is logged on its
WebhookDelivery row, and staff can send any delivery again from the admin.

Events: ``scan.completed`` and ``scan.failed`` (sent from here, on ``fingerprint.signals.scan_finished``);
``claim.created``, ``claim.updated``, ``dispute.opened`` and ``dispute.answered`` (rights.webhook_events).

Targets are checked before each attempt with fingerprint.fetching's SSRF policy: only http(s), and
no private, loopback, link-local or otherwise non-public address unless the host (or ``host:port``)
is in ``settings.FETCH_ALLOWED_HOSTS``; the connection goes to the address that was checked, so a
second DNS answer cannot send it elsewhere. Redirects are not followed (they count as failures).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fingerprint import fetching
from fingerprint.models import Scan, WebhookDelivery, WebhookEndpoint

SIGNATURE_HEADER = "X-ContentID-Signature"
EVENT_HEADER = "X-ContentID-Event"
DELIVERY_HEADER = "X-ContentID-Delivery"
DEFAULT_RETRY_DELAYS_S = (30, 120, 600, 3600, 6 * 3600, 24 * 3600)
# A first attempt is queued on commit; the sweep only takes it over when that task seems lost.
FIRST_ATTEMPT_GRACE = datetime.timedelta(minutes=2)
SWEEP_BATCH = 500
RESPONSE_SNIPPET_BYTES = 512

# Fixed namespace for the event ids derived from what happened (uuid5), so one occurrence is sent once.
EVENT_NAMESPACE = uuid.UUID("5d0f3b1e-8c7a-4f53-9a55-3c2e1a0b7d41")


class WebhookTargetError(ValueError):
    """The endpoint URL may not be called (scheme, unresolvable, or a private address not allowed)."""


# --- signing ---------------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 keyed with `secret` over f"{timestamp}." + `body` (timestamp in Unix seconds)."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The X-ContentID-Signature value: ``t=<unix seconds>,v1=<hex>``."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, tolerance_s: int = 300, now: float | None = None) -> bool:
    """For receivers: True when `header` signs `body` with `secret` and its timestamp is within
    `tolerance_s` seconds of `now` (Unix seconds; default the current time)."""
    timestamp: int | None = None
    candidates = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def encode(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed for a payload (compact, keys sorted)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, cls=DjangoJSONEncoder).encode()


# --- emitting --------------------------------------------------------------------------------------


def event_id_for(key: str) -> uuid.UUID:
    """A stable event id for one occurrence named by `key` (e.g. "claim-event:12")."""
    return uuid.uuid5(EVENT_NAMESPACE, key)


def _queue(delivery_id: int) -> None:
    from fingerprint import tasks  # tasks import this module

    transaction.on_commit(lambda: tasks.deliver_webhook.delay(delivery_id))


def emit(
    platform_id: int, event: str, data: dict[str, Any], event_id: uuid.UUID | None = None
) -> list[WebhookDelivery]:
    """Record `event` for every active endpoint of the platform that wants it and queue each delivery
    after commit. With an `event_id`, emitting the same event again sends nothing more."""
    endpoints = [e for e in WebhookEndpoint.objects.filter(platform_id=platform_id, active=True) if e.wants(event)]
    if not endpoints:
        return []
    now = timezone.now()
    event_id = event_id or uuid.uuid4()
    payload = {
        "id": str(event_id),
        "event": event,
        "created": now.isoformat(),
        "data": json.loads(json.dumps(data, cls=DjangoJSONEncoder)),
    }
    deliveries = []
    for endpoint in endpoints:
        delivery, created = WebhookDelivery.objects.get_or_create(
            endpoint=endpoint,
            event_id=event_id,
            defaults={"event": event, "payload": payload, "next_attempt_at": now},
        )
        if created:
            _queue(delivery.pk)
        deliveries.append(delivery)
    return deliveries


def resend(delivery_id: int) -> WebhookDelivery:
    """Send a delivery's event again (whatever became of it) as a new delivery with a fresh event id."""
    original = WebhookDelivery.objects.get(pk=delivery_id)
    now = timezone.now()
    event_id = uuid.uuid4()
    copy = WebhookDelivery.objects.create(
        endpoint_id=original.endpoint_id,
        event_id=event_id,
        event=original.event,
        payload={**original.payload, "id": str(event_id)},
        next_attempt_at=now,
        log=[{"at": now.isoformat(), "note": f"resend of delivery {original.pk} (event {original.event_id})"}],
    )
    _queue(copy.pk)
    return copy


# --- delivering ------------------------------------------------------------------------------------


def retry_delays() -> tuple[float, ...]:
    return tuple(getattr(settings, "WEBHOOK_RETRY_DELAYS_S", DEFAULT_RETRY_DELAYS_S))


def timeout_s() -> float:
    return float(getattr(settings, "WEBHOOK_TIMEOUT_S", 10))


def due_deliveries(now: datetime.datetime | None = None) -> list[int]:
    """Pending deliveries whose next attempt is due (first attempts only once their queued task seems lost)."""
    now = now or timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    retry = Q(attempts__gt=0) | Q(created_at__lte=now - FIRST_ATTEMPT_GRACE)
    rows = WebhookDelivery.objects.filter(due, retry, status=WebhookDelivery.Status.PENDING)
    return list(rows.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:SWEEP_BATCH])


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def deliver(delivery_id: int, now: datetime.datetime | None = None) -> WebhookDelivery:
    """Make one attempt at a pending delivery if it is due; a delivery not due, or delivered, is left
    as it is. Two workers never make the same attempt: the first to take the row leases it."""
    now = now or timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    lease = now + datetime.timedelta(seconds=3 * timeout_s() + 60)  # a worker that dies frees it after this
    pending = WebhookDelivery.objects.filter(due, pk=delivery_id, status=WebhookDelivery.Status.PENDING)
    taken = pending.update(next_attempt_at=lease)
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if not taken:
        return delivery
    if delivery.endpoint.active:
        outcome = _attempt(delivery)
    else:
        outcome = _Outcome(None, "the endpoint is deactivated", 0.0)
    return _record(delivery.pk, delivery.attempts, outcome, now, final=not delivery.endpoint.active)


def _record(
    delivery_id: int, attempts_before: int, outcome: _Outcome, now: datetime.datetime, final: bool = False
) -> WebhookDelivery:
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.status != WebhookDelivery.Status.PENDING or delivery.attempts != attempts_before:
            return delivery  # recorded by another worker after our lease ran out
        delivery.attempts += 1
        entry: dict[str, Any] = {
            "attempt": delivery.attempts,
            "at": now.isoformat(),
            "status_code": outcome.status_code,
            "seconds": round(outcome.seconds, 3),
        }
        if outcome.error:
            entry["error"] = outcome.error
        delivery.log = [*delivery.log, entry]
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        delays = retry_delays()
        if outcome.ok:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif final or delivery.attempts > len(delays):
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + datetime.timedelta(seconds=delays[delivery.attempts - 1])
        delivery.save()
    return delivery


def _attempt(delivery: WebhookDelivery) -> _Outcome:
    body = encode(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ContentID-Webhooks/1",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.event_id),
        SIGNATURE_HEADER: signature_header(delivery.endpoint.secret, int(time.time()), body),
    }
    started = time.monotonic()
    try:
        status, snippet = _post(delivery.endpoint.url, body, headers, timeout_s())
    except (OSError, ValueError, http.client.HTTPException) as exc:  # timeouts and TLS errors are OSErrors
        return _Outcome(None, f"{type(exc).__name__}: {exc}"[:1000], time.monotonic() - started)
    seconds = time.monotonic() - started
    if 200 <= status < 300:
        return _Outcome(status, "", seconds)
    return _Outcome(status, f"HTTP {status}: {snippet.decode('utf-8', 'replace')}"[:1000], seconds)


# --- the outbound request (the SSRF guard) ---------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    address: str  # the checked IP the connection goes to
    path: str


def _check_target(url: str) -> _Target:
    """Where a webhook URL may be sent: http(s) to a public address, or to a host (or host:port) listed
    in settings.FETCH_ALLOWED_HOSTS. Raises WebhookTargetError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookTargetError(f"Only http and https URLs are called, not {parts.scheme or 'none'!r}.")
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except (ValueError, UnicodeError) as exc:
        raise WebhookTargetError(f"Not a valid URL: {exc}") from exc
    if not host or parts.username or parts.password:
        raise WebhookTargetError("The URL needs a host and no credentials.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookTargetError(f"{host} cannot be resolved: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    # One policy for every outbound request: fingerprint.fetching decides what is public and allowed.
    refused = [a for a in addresses if not fetching.address_is_public(a)]
    if refused and not fetching.host_allowed(host, port):
        raise WebhookTargetError(f"{host} resolves to {refused[0]}, a private or reserved address.")
    path = parts.path or "/"
    return _Target(parts.scheme, host, port, addresses[0], f"{path}?{parts.query}" if parts.query else path)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address while naming the host in the request."""

    def __init__(self, target: _Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The TLS variant: the certificate is checked against the host name (SNI), not the address."""

    def __init__(self, target: _Target, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self._tls)
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    """POST `body` to a checked `url` (no redirects followed); the status and the start of the answer."""
    target = _check_target(url)
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = kind(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(RESPONSE_SNIPPET_BYTES)
    finally:
        connection.close()


# --- fingerprint's own events ----------------------------------------------------------------------


def scan_event(scan: Scan) -> tuple[str, dict[str, Any]]:
    """The event name and data for a finished scan (scan.completed with its matches, or scan.failed)."""
    base = {
        "scan_id": scan.pk,
        "status": scan.status,
        "original_name": scan.original_name or (scan.asset.original_name if scan.asset_id else ""),
        "source_url": scan.source_url,
        "finished_at": scan.finished_at,
    }
    if scan.status == Scan.Status.FAILED:
        return "scan.failed", {**base, "error": scan.error}
    matches = [
        {
            "match_id": m.pk,
            "recording": {"id": m.recording_id, "isrc": m.recording.isrc, "title": m.recording.title},
            "query_start_s": m.query_start_s,
            "query_end_s": m.query_end_s,
            "reference_start_s": m.reference_start_s,
            "reference_end_s": m.reference_end_s,
            "pitch_factor": m.pitch_factor,
            "tempo_factor": m.tempo_factor,
            "confidence": m.confidence,
        }
        for m in scan.matches.select_related("recording").order_by("query_start_s", "pk")
    ]
    return "scan.completed", {**base, "engine_version": scan.engine_version, "matches": matches}


def emit_scan_finished(scan_id: int) -> list[WebhookDelivery]:
    """Tell the scan's platform that it finished (nothing for scans no platform submitted)."""
    scan = Scan.objects.select_related("asset").filter(pk=scan_id).first()
    if scan is None or scan.platform_id is None or scan.status not in Scan.FINAL:
        return []
    event, data = scan_event(scan)
    finished = scan.finished_at.isoformat() if scan.finished_at else ""
    return emit(scan.platform_id, event, data, event_id=event_id_for(f"scan:{scan.pk}:{scan.status}:{finished}"))


def _on_scan_finished(sender: Any, scan_id: int, **kwargs: Any) -> None:
    emit_scan_finished(scan_id)


def connect_receivers() -> None:
    """Send scan events when scans finish; called once from FingerprintConfig.ready()."""
    from fingerprint.signals import scan_finished

    scan_finished.connect(_on_scan_finished, dispatch_uid="fingerprint.webhooks.scan_finished")
