"""The rights engine's settings, with the defaults of DOMAIN.md when config/settings.py says nothing."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

# DOMAIN.md, "Policies and claims" (YouTube's published timers, research §1.4).
DEFAULT_TIMERS: dict[str, int] = {
    "potential_claim_days": 30,  # an unreviewed potential claim expires (is released)
    "dispute_answer_days": 30,  # the claimant answers a dispute, or the claim is released
    "appeal_answer_days": 7,  # the claimant answers an appeal, or the claim is released
    "appeal_window_days": 30,  # after an upheld dispute the uploader may appeal; then the claim is reinstated
    "reference_overlap_days": 30,  # staff act on a reference overlap
}


def timer(name: str) -> datetime.timedelta:
    """One timer as a timedelta (settings.RIGHTS_TIMERS overrides DEFAULT_TIMERS)."""
    days = {**DEFAULT_TIMERS, **getattr(settings, "RIGHTS_TIMERS", {})}[name]
    return datetime.timedelta(days=days)


def reference_overlap_min_s() -> float:
    """Seconds of one upload span that must match two references before they count as overlapping."""
    return float(getattr(settings, "RIGHTS_REFERENCE_OVERLAP_MIN_S", 3.0))


def provenance_hook() -> Callable[[Any], list[str]] | None:
    """settings.RIGHTS_PROVENANCE_HOOK: dotted path to f(match) -> review reasons from AI-provenance
    findings (generation_audit provides it; rights never imports generation_audit)."""
    path = getattr(settings, "RIGHTS_PROVENANCE_HOOK", "")
    return import_string(path) if path else None
