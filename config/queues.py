"""The Celery queues and which task goes to which: one queue per kind of work, so each can run on
the machines suited to it. A prefix keeps several deployments (or test runs) on one broker apart."""

from __future__ import annotations

KINDS = ("ingest", "scans", "gpu", "rights")


def queue_names(prefix: str = "") -> dict[str, str]:
    """ingest: URL fetches, source crawls, webhook deliveries, the scan sweep; scans: decode,
    fingerprint, identify; gpu: reference embeddings and index rebuilds; rights: claims, timers,
    royalties, provenance; default: anything unrouted."""
    names = {kind: prefix + kind for kind in KINDS}
    names["default"] = prefix + "contentid"
    return names


def task_routes(prefix: str = "") -> dict[str, dict[str, str]]:
    queues = queue_names(prefix)
    return {
        "fingerprint.tasks.identify_scan": {"queue": queues["scans"]},
        "fingerprint.tasks.fingerprint_reference_upload": {"queue": queues["scans"]},
        "fingerprint.tasks.sweep_scans": {"queue": queues["ingest"]},
        "fingerprint.tasks.dispatch_scans": {"queue": queues["ingest"]},
        "fingerprint.tasks.crawl_*": {"queue": queues["ingest"]},
        "fingerprint.tasks.*webhook*": {"queue": queues["ingest"]},
        "fingerprint.tasks.rebuild_index": {"queue": queues["gpu"]},
        "rights.tasks.*": {"queue": queues["rights"]},
        "generation_audit.tasks.*": {"queue": queues["rights"]},
    }
