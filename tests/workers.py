"""Real Celery worker processes for tests that need one: started against CELERY_BROKER_URL, sharing
the test's PostgreSQL database and data directory, on queues of their own (a unique prefix)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from config import queues
from config.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parents[1]


def worker_database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def require_real_worker_setup() -> None:
    if not os.environ.get("CELERY_BROKER_URL"):
        pytest.skip("CELERY_BROKER_URL is not set: the real-worker test needs a broker (CI sets Redis)")
    if connection.vendor != "postgresql":
        pytest.skip("a worker process cannot share the in-memory SQLite test database; set DATABASE_URL to PostgreSQL")


class Workers:
    """Worker processes on this test's own queues; tasks sent from the test go to them."""

    def __init__(self, log_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.prefix = f"test-{uuid.uuid4().hex[:8]}-"
        self.queues = queues.queue_names(self.prefix)
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "CONTENTID_MEDIA_DIR": str(django_settings.MEDIA_ROOT),
            "CONTENTID_INDEX_DIR": str(django_settings.FINGERPRINT_INDEX_DIR),
            "CELERY_QUEUE_PREFIX": self.prefix,
            **(extra_env or {}),
        }
        self.env.pop("CELERY_DEFAULT_QUEUE", None)
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self, pool: str = "solo") -> subprocess.Popen[bytes]:
        log_path = self.log_dir / f"worker-{len(self.processes)}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", f"--pool={pool}",
                 "-Q", ",".join(self.queues.values()), "--loglevel=INFO",
                 "--without-heartbeat", "--without-gossip", "--without-mingle",
                 "-n", f"{self.prefix}{len(self.processes)}@%h"],
                cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.processes.append(process)
        self.logs.append(log_path)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no warm shutdown, no chance to hand the task back (as when a machine dies)."""
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def log_text(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')}" for p in self.logs if p.exists())

    def assert_alive(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                assert process.poll() is None, f"a worker died:\n{self.log_text()}"

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until(condition, timeout_s: float, workers: Workers | None = None, poll_s: float = 0.25) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        if workers is not None:
            workers.assert_alive()
        time.sleep(poll_s)
    return bool(condition())


def _rebuild_router() -> None:
    """Celery caches the routing table and the router built from it: rebuild both from the conf."""
    celery_app.amqp.flush_routes()
    celery_app.amqp.router = celery_app.amqp.Router()


@pytest.fixture
def real_workers(transactional_db, isolated_data_dir: Path):  # type: ignore[no-untyped-def]
    """A Workers handle (none started yet); the test's own tasks are routed to its queues."""
    require_real_worker_setup()
    workers = Workers(isolated_data_dir)
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue, celery_app.conf.task_routes)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = workers.queues["default"]
    celery_app.conf.task_routes = queues.task_routes(workers.prefix)
    _rebuild_router()
    try:
        yield workers
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue, celery_app.conf.task_routes = previous
        _rebuild_router()
        workers.stop_all()
