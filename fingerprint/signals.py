"""Signals other apps listen to, so that `fingerprint` never imports them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after a scan's matches are committed; kwargs: scan_id. Rights turns matches into claims.
scan_identified = Signal()
