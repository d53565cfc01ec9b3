"""Signals other apps listen to, so that `fingerprint` never imports them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after a scan's matches are committed; kwargs: scan_id. Rights turns matches into claims.
scan_identified = Signal()
# Sent after a scan reaches done or failed (committed); kwargs: scan_id. Webhooks tell the platform.
scan_finished = Signal()
