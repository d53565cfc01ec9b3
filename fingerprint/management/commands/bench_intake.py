"""Load benchmark of the platform API: concurrent clients POST small uploads to a running server on
loopback; prints accepted per second, p50/p95 submit latency, end-to-end completion time and the
count lost (accepted but never finished), which must be 0.

By default it starts the server (gunicorn) and Celery workers itself against the configured
PostgreSQL and broker; `--url` and `--token` aim it at a server already running instead.

The client shares the machine's cores with the server, so it is kept light: every body is built
before the clock starts, each client thread holds one keep-alive connection (http.client), and the
responses are only parsed for their scan ids (about 0.35 ms of CPU per upload, against ~6 ms in the
server). The server is started with --preload and its imports done before it forks (GUNICORN_CONFIG),
so the figures are of a warm server. The Celery worker keeps identifying during the run, at low
priority, for the end-to-end figure. Each result line carries the load average: the machine is shared.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from config import queues
from fingerprint.models import ApiToken, Platform, Scan

BOUNDARY = "contentid-bench-boundary"


def small_upload(index: int, seconds: float = 2.0, rate: int = 16000) -> bytes:
    """A distinct, non-silent 16-bit mono WAV: a few partials and noise, seeded by `index`."""
    rng = np.random.default_rng(index)
    t = np.arange(int(seconds * rate)) / rate
    signal_ = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) for f in rng.uniform(110, 2000, size=4))
    signal_ = signal_ / 4 * 0.6 + rng.normal(0, 0.02, t.size)
    pcm = (np.clip(signal_, -1, 1) * 32000).astype("<i2").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buffer.getvalue()


def multipart(files: list[tuple[str, bytes]]) -> bytes:
    """A multipart/form-data body with one part per file (a batch when there are several)."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
        for name, content in files
    ]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


@dataclass
class Results:
    latencies_s: list[float] = field(default_factory=list)
    scan_ids: list[int] = field(default_factory=list)
    refused: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(host: str, port: int, token: str, bodies: list[tuple[int, bytes]], results: Results) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    for index, body in bodies:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Idempotency-Key": f"bench-{index}-{uuid.uuid4().hex}",
        }
        started = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/scans/", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            with results.lock:
                results.errors.append(f"upload {index}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=60)
            continue
        elapsed = time.perf_counter() - started
        with results.lock:
            results.latencies_s.append(elapsed)
            if response.status == 202:
                results.scan_ids += [item["id"] for item in json.loads(payload)["items"] if item.get("id")]
            else:
                results.refused[response.status] = results.refused.get(response.status, 0) + 1
                if len(results.errors) < 5:
                    results.errors.append(f"upload {index}: HTTP {response.status} {payload[:200]!r}")
    conn.close()


# A gunicorn config file for the bench's server (written next to its logs). With --preload the
# application is loaded once in the master; this hook then does, also once and before any worker is
# forked, what each worker would otherwise do on its first requests: import the URLconf and every
# view module behind it (rights, fingerprint, scipy: seconds of CPU), load the translation catalogue
# and the broker transport. Without it each worker pays that inside the measured interval, on the
# same two cores, which is warm-up and not the intake's cost. Nothing here opens a database or
# broker connection, so nothing is shared across the fork.
GUNICORN_CONFIG = """
def on_starting(server):
    import kombu.transport.redis  # noqa: F401
    from django.conf import settings
    from django.urls import get_resolver, reverse
    from django.utils import translation

    get_resolver().url_patterns
    reverse("scan-list")
    translation.activate(settings.LANGUAGE_CODE)
    translation.deactivate()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_server(host: str, port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2)
            conn.request("GET", "/api/v1/schema/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    raise CommandError(f"The server on {host}:{port} did not answer within {timeout_s:.0f} s.")


class Command(BaseCommand):
    help = (
        "Load-test the platform API: N small uploads from concurrent clients to a server on loopback; "
        "prints accepted/s, p50/p95 submit latency, end-to-end completion time and the count lost."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--uploads", type=int, default=2000)
        # Eight: on the 2-core build machine the server saturates (210-240 uploads/s) from four clients
        # on, and every client past that adds only queueing: p95 26 ms at 4, 52-58 at 8, 84 at 12 and
        # 122 at 16, for the same throughput (README, "Load test").
        parser.add_argument("--clients", type=int, default=8, help="Concurrent client connections.")
        parser.add_argument("--batch", type=int, default=1, help="Files per request (a multipart batch).")
        parser.add_argument("--server-workers", type=int, default=3, help="gunicorn worker processes.")
        # Eight threads a worker: a request spends much of its time waiting (its commit's and its file's
        # fsync), so 3 x 4 threads left 4 of 16 clients queued behind requests doing no work.
        parser.add_argument("--server-threads", type=int, default=8, help="Threads per gunicorn worker.")
        parser.add_argument("--celery-concurrency", type=int, default=2, help="Scan worker processes.")
        parser.add_argument("--url", help="A server already running (then --token is needed); none is started.")
        parser.add_argument("--token", help="A platform API key for --url.")
        parser.add_argument("--completion-timeout", type=float, default=1800.0)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql" or not os.environ.get("CELERY_BROKER_URL"):
            raise CommandError(
                "bench_intake needs the production setup: set DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL "
                "(Redis), as .ci/run does; SQLite cannot take concurrent writers and in-process tasks would run "
                "inside the requests."
            )
        processes: list[subprocess.Popen[bytes]] = []
        try:
            if options["url"]:
                if not options["token"]:
                    raise CommandError("--url needs --token (a platform API key).")
                parts = urlsplit(options["url"])
                host, port, token = parts.hostname or "127.0.0.1", parts.port or 80, options["token"]
                platform = ApiToken.objects.get(prefix=token[: ApiToken.PREFIX_LENGTH]).platform
            else:
                platform, token = self._platform_and_token()
                host, port = "127.0.0.1", _free_port()
                processes += self._start_services(port, options)
            _wait_for_server(host, port)
            self._run(platform, host, port, token, options)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()

    def _platform_and_token(self) -> tuple[Platform, str]:
        name = f"bench-{uuid.uuid4().hex[:8]}"
        user = get_user_model().objects.create_user(name, password=None)
        platform = Platform.objects.create(name=name)
        platform.members.add(user)
        _, raw_key = ApiToken.issue(platform, user, "bench_intake")
        return platform, raw_key

    def _start_services(self, port: int, options: dict[str, Any]) -> list[subprocess.Popen[bytes]]:
        log_dir = Path(settings.DATA_DIR) / "bench"
        log_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "DJANGO_DEBUG": "0",
            # Persistent database connections, as a production server runs (README).
            "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "60"),
            "CONTENTID_THROTTLE_UPLOADS": "100000/min",
            "CONTENTID_THROTTLE_READS": "100000/min",
        }
        config = log_dir / "gunicorn_bench.py"
        config.write_text(GUNICORN_CONFIG)
        server = [
            sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", str(options["server_workers"]), "--threads", str(options["server_threads"]),
            "--worker-class", "gthread", "--log-level", "warning", "--preload", "--config", str(config),
        ]  # fmt: skip
        names = queues.queue_names(settings.CELERY_QUEUE_PREFIX)
        # The workers run at low CPU priority: on this one machine they share the cores with the server,
        # and the figure asked for is how fast the API accepts (in production they are other machines).
        worker = [
            "nice", "-n", "15", sys.executable, "-m", "celery", "-A", "config", "worker",
            "-Q", ",".join(names.values()),
            "--concurrency", str(options["celery_concurrency"]), "--loglevel", "WARNING",
            "--without-gossip", "--without-mingle", "-n", f"bench-{port}@%h",
        ]  # fmt: skip
        self.stdout.write(f"Starting gunicorn on 127.0.0.1:{port} and a Celery worker (logs in {log_dir})")
        return [
            subprocess.Popen(cmd, env=env, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT)
            for cmd, log in ((server, (log_dir / "server.log").open("w")), (worker, (log_dir / "worker.log").open("w")))
        ]

    def _run(self, platform: Platform, host: str, port: int, token: str, options: dict[str, Any]) -> None:
        count, clients, batch = options["uploads"], options["clients"], max(1, options["batch"])
        self.stdout.write(f"Preparing {count} distinct 2 s WAV uploads, {batch} per request…")
        seed = uuid.uuid4().int % 10**9  # new content each run: nothing is deduplicated against an earlier run
        files = [(f"bench-{i}.wav", small_upload(seed + i)) for i in range(count)]
        bodies = [(i // batch, multipart(files[i : i + batch])) for i in range(0, count, batch)]
        shares = [bodies[c::clients] for c in range(clients)]
        results = Results()
        threads = [threading.Thread(target=_client, args=(host, port, token, share, results)) for share in shares]
        self.stdout.write(f"Submitting from {clients} concurrent clients to http://{host}:{port}/api/v1/scans")
        load_before = os.getloadavg()[0]  # the machine is shared: a figure means little without its load
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        submit_s = time.perf_counter() - started
        accepted = len(results.scan_ids)
        latencies = np.array(results.latencies_s) * 1000
        self.stdout.write(
            f"accepted {accepted}/{count} in {submit_s:.1f} s: {accepted / submit_s:.0f} accepted uploads/s; "
            f"{len(latencies)} requests of {batch} file(s), latency p50 {np.percentile(latencies, 50):.0f} ms, "
            f"p95 {np.percentile(latencies, 95):.0f} ms, "
            f"max {latencies.max():.0f} ms; load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
        )
        if results.refused or results.errors:
            self.stdout.write(f"refused by status: {results.refused}; client errors: {len(results.errors)}")
            for line in results.errors[:5]:
                self.stdout.write(f"  {line}")
        self._await_completion(results.scan_ids, started, options["completion_timeout"])

    def _await_completion(self, scan_ids: list[int], started: float, timeout_s: float) -> None:
        self.stdout.write("Waiting for every accepted scan to finish…")
        deadline = time.monotonic() + timeout_s
        unique = set(scan_ids)
        while time.monotonic() < deadline:
            pending = Scan.objects.filter(pk__in=unique).exclude(status__in=Scan.FINAL).count()
            if pending == 0:
                break
            time.sleep(1.0)
        end_to_end_s = time.perf_counter() - started
        final = Scan.objects.filter(pk__in=unique, status__in=Scan.FINAL)
        done = final.filter(status=Scan.Status.DONE).count()
        failed = final.filter(status=Scan.Status.FAILED).count()
        lost = len(unique) - done - failed
        self.stdout.write(
            f"end to end: {len(unique)} scans final in {end_to_end_s:.1f} s ({done} done, {failed} failed); lost {lost}"
        )
        if lost:
            raise CommandError(f"{lost} accepted uploads did not finish within {timeout_s:.0f} s.")
