"""How uploads arrive and are never lost: files and URLs from platforms, audio fetched from sources.

Every accepted upload is stored and its Scan committed before the caller is answered. The scan is
then handed to the broker after commit; `Scan.dispatched_at` is the outbox: when the broker is down
the hand-off fails quietly, the scan stays undispatched, and `relay_outbox` queues it again once the
broker is back (the beat sweep, a worker starting, or `manage.py sweep_scans`). A scan whose worker
died is re-queued by `recover_stuck_scans` a bounded number of times and then failed with the reason.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import functools
import hashlib
import logging
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import Field, Model
from django.utils import timezone

from catalog.checksums import sha256_file
from catalog.models import AudioAsset
from fingerprint import audio
from fingerprint.models import Platform, Scan, Source, Submission

logger = logging.getLogger(__name__)

__all__ = [
    "SubmissionConflict",
    "accept_file",
    "accept_url",
    "dispatch",
    "open_submission",
    "recover_stuck_scans",
    "relay_outbox",
    "request_digest",
    "sha256_file",
]


class SubmissionConflict(ValueError):
    """An Idempotency-Key already used for a request with other content."""


def request_digest(parts: Iterable[str]) -> str:
    """sha256 over a request's item descriptors (file hashes, URLs), in order."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def open_submission(platform: Platform, key: str, digest: str) -> tuple[Submission, bool]:
    """The submission for this Idempotency-Key: (existing or new, created). A key reused for other
    content raises SubmissionConflict, so a client bug cannot silently return unrelated scans.

    Meant to run inside the request's own transaction (the API does), so the submission commits with
    its scans: one durable commit per request, and a request that fails leaves no submission behind.
    New keys are the common case: one statement inserts, and only a key seen before is looked up."""
    key = key.strip()
    if not key or len(key) > 255:
        raise SubmissionConflict("The Idempotency-Key must be 1 to 255 characters.")
    submission = Submission(platform=platform, idempotency_key=key, request_digest=digest)
    if _insert_unless_conflicting(submission):
        return submission, True
    # Used before, or by a concurrent request (whose commit the insert waited for).
    existing = Submission.objects.get(platform=platform, idempotency_key=key)
    if existing.request_digest != digest:
        raise SubmissionConflict(
            f"The Idempotency-Key {key!r} was already used for a request with different content; "
            "use a new key for new content."
        )
    return existing, False


def _insert_unless_conflicting(obj: Model) -> bool:
    """INSERT `obj` unless that would break a unique constraint; True (and its pk set) if inserted.

    One statement (INSERT … ON CONFLICT DO NOTHING RETURNING, PostgreSQL and SQLite alike) where
    a save in a savepoint costs three round trips and an IntegrityError to recover from; when a
    concurrent transaction holds the conflicting row, the database waits for its commit first, so a
    False means the other row is there to be read."""
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: each use of the proxy is a lookup
    sql, fields = _insert_statement(type(obj), db.vendor)
    values = [field.get_db_prep_save(field.pre_save(obj, True), db) for field in fields]
    with db.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding, obj._state.db = False, db.alias
    return True


def _stored_asset(path: Path, sha256: str, original_name: str) -> tuple[AudioAsset, bool]:
    """The upload asset for these bytes and whether this call stored it: reused when the content is
    already stored (it was validated then), otherwise validated (AudioError before anything is
    stored) and stored. Call inside a transaction; a rollback leaves the caller to delete the file."""
    existing = AudioAsset.objects.filter(kind=AudioAsset.Kind.UPLOAD, sha256=sha256).first()
    if existing is not None:
        return existing, False
    asset = _new_upload_asset(path, sha256, original_name)
    try:
        with transaction.atomic():
            asset.save()
    except IntegrityError:  # stored by a concurrent request meanwhile: keep theirs, drop our copy
        _delete_stored_file(asset)
        return AudioAsset.objects.get(kind=AudioAsset.Kind.UPLOAD, sha256=sha256), False
    except BaseException:
        _delete_stored_file(asset)
        raise
    return asset, True


@functools.cache
def _insert_statement(model: type[Model], vendor: str) -> tuple[str, list[Field]]:
    """The INSERT of _insert_unless_conflicting for `model` (composed once per process)."""
    meta, quote = model._meta, connections[DEFAULT_DB_ALIAS].ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    return sql, fields


def _new_upload_asset(path: Path, sha256: str, original_name: str) -> AudioAsset:
    """Validate the file (AudioError, nothing stored) and store it under its content address; the
    row is not saved yet. The stored bytes are flushed to disk before the caller commits the row, so
    a scan answered with 202 never points at a file a power cut could take back."""
    from fingerprint import actions  # actions imports this module

    info = actions.validate_upload(path)
    asset = actions._new_asset(path, sha256, info, AudioAsset.Kind.UPLOAD, original_name, None)
    try:
        _flush_to_disk(asset)
    except BaseException:
        _delete_stored_file(asset)
        raise
    return asset


def _flush_to_disk(asset: AudioAsset) -> None:
    """fsync the stored file and then its directory (the new name): both must survive a crash for
    the committed row to find its file. Inside a batch (one_dispatch_per_batch) the flush waits for
    the batch's end, just before its commit, and covers every file of the batch at once: on a
    journalling filesystem the first fsync's journal commit carries the others' data and names, so
    fifty files cost about one flush, not fifty. Storages without local paths keep their own promises."""
    try:
        path = Path(asset.file.path)
    except NotImplementedError:
        # A remote storage (S3 and the like) has no local file to fsync: its save returned only once
        # the object was stored, which is the durability it promises.
        return
    pending = getattr(_batch, "files_to_flush", None)
    if pending is not None:
        pending.append(path)
    else:
        _flush_files([path])


def _flush_files(paths: list[Path]) -> None:
    directories = dict.fromkeys(path.parent for path in paths)
    for target, flags in [(path, os.O_RDONLY) for path in paths] + [
        (directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)) for directory in directories
    ]:
        try:
            fd = os.open(target, flags)
        except FileNotFoundError:  # a file removed since (its row lost a race): nothing to keep
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _delete_stored_file(asset: AudioAsset) -> None:
    from fingerprint import actions

    actions._delete_file(asset)


def accept_file(
    path: str | Path,
    *,
    original_name: str = "",
    platform: Platform | None = None,
    submitted_by: object | None = None,
    submission: Submission | None = None,
    source: Source | None = None,
    source_url: str = "",
    sha256: str | None = None,
) -> Scan:
    """Validate and store one uploaded file and create its Scan, queued after commit.

    The same content from the same platform returns that platform's existing scan. Unusable audio
    raises audio.AudioError (with a code) and stores nothing. The asset and the scan are written in
    one transaction (the caller's, when it has one: one durable commit per upload or batch).
    `sha256` saves hashing the file again when the caller already did (the API does, for its
    Idempotency-Key digest).

    New bytes, the common case, cost three statements: a lookup (no stored asset means no earlier
    scan of them either) and two inserts that give way, without an error, to rows a concurrent
    request with the same bytes committed first.
    """
    path = Path(path)
    audio.check_file(path, settings.AUDIO_MAX_BYTES)  # before hashing: an oversize file is not read at all
    sha256 = sha256 or sha256_file(path)
    asset = _stored_upload(sha256)
    if asset is not None:
        existing = _platform_scan(asset, platform, source)
        if existing is not None:
            return existing
    ours: AudioAsset | None = None  # a file this call stored, deleted again unless its row commits
    if asset is None:
        asset = ours = _new_upload_asset(path, sha256, original_name)  # AudioError: nothing stored
    try:
        # Inside the caller's transaction this adds no savepoint round trips; only a database error
        # can escape it (unusable audio was refused above), and that dooms the request anyway.
        with transaction.atomic(savepoint=False):
            if ours is not None and not _insert_unless_conflicting(ours):
                _delete_stored_file(ours)  # the same bytes were stored meanwhile: theirs stand
                ours = None
                asset = AudioAsset.objects.get(kind=AudioAsset.Kind.UPLOAD, sha256=sha256)
            scan = Scan(
                asset=asset,
                platform=platform,
                submitted_by=submitted_by,
                submission=submission,
                source=source,
                source_url=source_url,
                original_name=original_name[:255],
            )
            if not _insert_unless_conflicting(scan):
                # The same platform sent the same bytes concurrently and that request committed first.
                existing = _platform_scan(asset, platform, source)
                if existing is None:
                    raise IntegrityError(f"Scan of asset {asset.pk} conflicts with a row that cannot be found.")
                return existing
    except BaseException:
        if ours is not None:
            _delete_stored_file(ours)  # its row is rolled back with the transaction: no file without a row
        raise
    queue_after_commit(scan.pk)
    return scan


def _stored_upload(sha256: str) -> AudioAsset | None:
    """The upload asset with these bytes, if stored. Asked on every upload and nearly always
    answered "none", so the question is one plain indexed SELECT rather than an ORM query (whose
    compilation costs more than the database's answer); the asset is loaded only when there is one."""
    table, pk = AudioAsset._meta.db_table, AudioAsset._meta.pk.column
    quote = connection.ops.quote_name
    kind, digest = (quote(AudioAsset._meta.get_field(name).column) for name in ("kind", "sha256"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote(pk)} FROM {quote(table)} WHERE {kind} = %s AND {digest} = %s",
            [AudioAsset.Kind.UPLOAD.value, sha256],
        )
        row = cursor.fetchone()
    return None if row is None else AudioAsset.objects.get(pk=row[0])


def _platform_scan(asset: AudioAsset, platform: Platform | None, source: Source | None) -> Scan | None:
    """The caller's earlier scan of this upload (the platform's own; for staff, any staff scan)."""
    if source is not None:
        return None  # a crawl dedupes by URL and content itself, and records why
    return asset.scans.filter(platform=platform, source_url="").order_by("pk").first()


def accept_url(
    url: str,
    *,
    platform: Platform | None = None,
    submitted_by: object | None = None,
    submission: Submission | None = None,
) -> Scan:
    """Create a Scan for audio at `url`; the fetch (SSRF-guarded) and identification run in a task."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"Not an http(s) URL: {url[:200]!r}.")
    if len(url) > 2000:
        raise ValueError("The URL is longer than 2,000 characters.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValueError("The URL contains control characters.")
    scan = Scan.objects.create(platform=platform, submitted_by=submitted_by, submission=submission, source_url=url)
    queue_after_commit(scan.pk)
    return scan


def fetch_scan_audio(scan: Scan) -> Scan:
    """Fetch a URL scan's audio and attach it as the scan's asset; a refused fetch or unusable audio
    fails the scan with the reason. Returns the scan (refreshed)."""
    from fingerprint import fetching  # outbound HTTP lives there only
    from fingerprint.models import Fetch

    try:
        fetched = fetching.fetch_to_file(scan.source_url, max_bytes=settings.AUDIO_MAX_BYTES)
    except fetching.FetchRefused as exc:
        Fetch.objects.create(
            scan=scan,
            url=scan.source_url,
            final_url=exc.final_url or "",
            outcome=exc.outcome,
            http_status=exc.http_status,
            detail=exc.detail,
        )
        return fail_scan(scan, f"Could not fetch {scan.source_url}: {exc.detail}")
    try:
        try:
            name = Path(urlsplit(fetched.final_url).path).name or "download"
            asset, _ = _stored_asset(fetched.path, fetched.sha256, name)
        except audio.AudioError as exc:
            Fetch.objects.create(
                scan=scan,
                url=scan.source_url,
                final_url=fetched.final_url,
                outcome=Fetch.Outcome.NOT_AUDIO,
                http_status=fetched.http_status,
                sha256=fetched.sha256,
                size_bytes=fetched.size_bytes,
                detail=str(exc),
            )
            return fail_scan(scan, f"The audio at {scan.source_url} is unusable: {exc}")
    finally:
        fetched.path.unlink(missing_ok=True)
    Fetch.objects.create(
        scan=scan,
        url=scan.source_url,
        final_url=fetched.final_url,
        outcome=Fetch.Outcome.SCANNED,
        http_status=fetched.http_status,
        sha256=fetched.sha256,
        size_bytes=fetched.size_bytes,
    )
    Scan.objects.filter(pk=scan.pk, asset__isnull=True).update(
        asset=asset, original_name=scan.original_name or asset.original_name
    )
    scan.refresh_from_db()
    return scan


def fail_scan(scan: Scan, reason: str) -> Scan:
    """Mark a scan failed with a reason people can read, and announce it after commit."""
    from fingerprint.signals import scan_finished

    Scan.objects.filter(pk=scan.pk).exclude(status__in=Scan.FINAL).update(
        status=Scan.Status.FAILED, error=reason, finished_at=timezone.now()
    )
    transaction.on_commit(lambda: scan_finished.send(sender=Scan, scan_id=scan.pk))
    scan.refresh_from_db()
    return scan


_batch = threading.local()


@contextlib.contextmanager
def one_dispatch_per_batch(in_background: bool = False) -> Iterator[None]:
    """Scans accepted inside are handed to the broker together after commit, as one fan-out message
    (a multipart batch of 50 files costs one publish, not 50), and the files stored inside are
    flushed to disk together at its end. Use it inside the transaction that commits the scans.

    `in_background` (the API): the hand-off leaves the request altogether. After commit the ids go
    to this process's dispatcher thread, which publishes whatever several requests committed in one
    message and marks them in one UPDATE; the caller is answered without waiting for the broker. The
    scans are committed with no `dispatched_at`, so if the process dies before the thread sends them,
    the outbox relay does (as for a broker outage). In-process (eager) tasks are run as before."""
    if getattr(_batch, "scan_ids", None) is not None:  # already inside a batch: it collects these too
        yield
        return
    _batch.scan_ids, _batch.files_to_flush = collected, stored = [], []
    try:
        yield
    finally:
        _batch.scan_ids = _batch.files_to_flush = None
    _flush_files(stored)  # before the caller commits the rows that point at them (see _flush_to_disk)
    if collected:
        if in_background and not _tasks_run_in_process():
            transaction.on_commit(lambda: _dispatcher.hand_off(collected))
        else:
            transaction.on_commit(lambda: dispatch_batch(collected))


def _tasks_run_in_process() -> bool:
    from fingerprint import tasks

    return bool(tasks.identify_scan.app.conf.task_always_eager)


class _Dispatcher:
    """A thread per process that hands committed scans to the broker in batches (see
    one_dispatch_per_batch). It waits a moment after the first id so that the uploads committed
    meanwhile go in the same message; that moment is nothing next to a scan's own run time."""

    LINGER_S = 0.1
    MAX_BATCH = 500
    IDLE_S = 1.0  # with nothing to send for this long, the thread lets its database connection go

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._queue: queue.SimpleQueue[list[int] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def hand_off(self, scan_ids: list[int]) -> None:
        if self._pid != os.getpid():  # first use in this process (a forked server worker starts its own)
            self._start()
        self._queue.put(list(scan_ids))

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._queue = queue.SimpleQueue()  # a parent's queue and thread do not survive a fork
            self._thread = threading.Thread(target=self._run, name="scan-dispatcher", daemon=True)
            self._thread.start()
            self._pid = os.getpid()
            atexit.register(self.stop)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Send what is still waiting, then end the thread (at exit; what it cannot send stays in
        the outbox for the relay)."""
        thread = self._thread
        if thread is None or self._pid != os.getpid() or not thread.is_alive():
            return
        self._queue.put(None)
        thread.join(timeout_s)

    def _run(self) -> None:
        from django.db import close_old_connections

        while True:
            try:
                first = self._queue.get(timeout=self.IDLE_S)
            except queue.Empty:
                connection.close()  # idle: hold no database session (tests drop their database)
                continue
            if first is None:
                connection.close()
                return
            time.sleep(self.LINGER_S)
            scan_ids, stopping = list(first), False
            while len(scan_ids) < self.MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                scan_ids += more
            close_old_connections()
            try:
                dispatch_batch(scan_ids)
            except Exception:  # a database error marking them: they were sent; the relay may send again
                logger.exception("Could not hand %d scans to the broker from the dispatcher", len(scan_ids))
                connection.close()
            if stopping:
                self._queue.put(None)


_dispatcher = _Dispatcher()


def queue_after_commit(scan_id: int) -> None:
    collected = getattr(_batch, "scan_ids", None)
    if collected is not None:
        collected.append(scan_id)
    else:
        transaction.on_commit(lambda: dispatch(scan_id))


def dispatch_batch(scan_ids: list[int]) -> bool:
    """Hand several scans to the broker in one message that a worker fans out; False (all left in
    the outbox) when the broker is down."""
    if len(scan_ids) == 1:
        return dispatch(scan_ids[0])
    from fingerprint import tasks

    if tasks.dispatch_scans.app.conf.task_always_eager:
        tasks.dispatch_scans.apply_async((scan_ids,))
    else:
        try:
            tasks.dispatch_scans.apply_async((scan_ids,), retry=False)
        except Exception as exc:  # see dispatch()
            logger.warning("%d scans kept in the outbox: the broker is unreachable (%s)", len(scan_ids), exc)
            return False
    with _without_waiting_for_disk():
        Scan.objects.filter(pk__in=scan_ids, dispatched_at__isnull=True).update(dispatched_at=timezone.now())
    return True


def dispatch(scan_id: int) -> bool:
    """Hand the scan to the broker; False (and the scan left in the outbox) when the broker is down."""
    from fingerprint import tasks  # tasks import actions, which import this module

    if tasks.identify_scan.app.conf.task_always_eager:  # in-process: let the task's own errors surface
        tasks.identify_scan.apply_async((scan_id,))
    else:
        try:
            tasks.identify_scan.apply_async((scan_id,), retry=False)
        except Exception as exc:  # kombu's OperationalError, a refused connection, a timeout
            logger.warning("Scan %s kept in the outbox: the broker is unreachable (%s)", scan_id, exc)
            return False
    with _without_waiting_for_disk():
        Scan.objects.filter(pk=scan_id, dispatched_at__isnull=True).update(dispatched_at=timezone.now())
    return True


@contextlib.contextmanager
def _without_waiting_for_disk() -> Iterator[None]:
    """A transaction whose commit PostgreSQL may flush a moment later (synchronous_commit off): for
    bookkeeping whose loss in a database crash is harmless (a dispatch mark: the relay resends, and
    the task is idempotent), so the API does not wait for a second disk flush per upload."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


RELAY_CHUNK = 100


def relay_outbox(min_age_s: float = 2.0, limit: int = 5000) -> int:
    """Queue every scan whose hand-off to the broker failed; returns how many went through.

    `min_age_s` leaves just-committed scans to their own on-commit hand-off."""
    cutoff = timezone.now() - datetime.timedelta(seconds=min_age_s)
    pending = Scan.objects.filter(status=Scan.Status.QUEUED, dispatched_at__isnull=True, created_at__lte=cutoff)
    scan_ids = list(pending.order_by("pk").values_list("pk", flat=True)[:limit])
    sent = 0
    # A backlog (a long outage) goes out as a few fan-out messages, not one publish per scan.
    for start in range(0, len(scan_ids), RELAY_CHUNK):
        chunk = scan_ids[start : start + RELAY_CHUNK]
        if not dispatch_batch(chunk):
            break  # still down: the rest stay in the outbox for the next sweep
        sent += len(chunk)
    return sent


def recover_stuck_scans(now: datetime.datetime | None = None) -> tuple[int, int]:
    """Re-queue scans whose worker died (running past the deadline, or queued long ago and never
    started); fail those that used all their attempts, with the reason. Returns (requeued, failed)."""
    now = now or timezone.now()
    running_cutoff = now - datetime.timedelta(seconds=settings.SCAN_DEADLINE_S)
    queued_cutoff = now - datetime.timedelta(seconds=settings.SCAN_QUEUED_DEADLINE_S)
    stuck_running = Scan.objects.filter(status=Scan.Status.RUNNING, started_at__lt=running_cutoff)
    stuck_queued = Scan.objects.filter(status=Scan.Status.QUEUED, dispatched_at__lt=queued_cutoff)
    requeued = failed = 0
    for scan in list(stuck_running) + list(stuck_queued):
        if scan.attempts >= settings.SCAN_MAX_ATTEMPTS:
            reason = (
                f"Gave up after {scan.attempts} attempts: the scan did not finish within "
                f"{settings.SCAN_DEADLINE_S} s each time (a worker stopped, or the audio is too costly)."
            )
            if Scan.objects.filter(pk=scan.pk, status=scan.status).update(
                status=Scan.Status.FAILED, error=reason, finished_at=now
            ):
                from fingerprint.signals import scan_finished

                transaction.on_commit(lambda pk=scan.pk: scan_finished.send(sender=Scan, scan_id=pk))
                failed += 1
            continue
        # A run counts its own attempt when it starts; a scan never started counts its re-queues.
        attempts = scan.attempts + (1 if scan.status == Scan.Status.QUEUED else 0)
        if Scan.objects.filter(pk=scan.pk, status=scan.status).update(
            status=Scan.Status.QUEUED, dispatched_at=None, attempts=attempts
        ):
            logger.warning("Scan %s was stuck (%s since %s): queued again", scan.pk, scan.status, scan.started_at)
            if dispatch(scan.pk):
                requeued += 1
    return requeued, failed
