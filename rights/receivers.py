from __future__ import annotations

from typing import Any


def queue_claims_for_scan(sender: Any, scan_id: int, **kwargs: Any) -> None:
    """A scan's matches are committed: turn them into claims (in a worker when one runs)."""
    from rights import tasks

    tasks.claim_scan_matches.delay(scan_id)
