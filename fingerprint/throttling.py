"""Per-platform request rates: one budget for uploads, one for everything else ("reads").

The budget is the platform's, shared by all its tokens and members; callers acting for no platform
are counted per user (or per address when anonymous). Rates come from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] and are read on each request (DRF reads them once, at
import), so a settings override takes effect at once. Over the rate: 429 with Retry-After.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from fingerprint.permissions import platform_of


class PlatformRateThrottle(SimpleRateThrottle):
    """A SimpleRateThrottle keyed on the caller's platform id, with its rate read at request time."""

    scope = ""

    def get_rate(self) -> str | None:
        return (api_settings.DEFAULT_THROTTLE_RATES or {}).get(self.scope)

    def get_cache_key(self, request: Request, view: Any) -> str:
        platform = platform_of(request)
        if platform is not None:
            ident = f"platform:{platform.pk}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"address:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class UploadsThrottle(PlatformRateThrottle):
    """Submissions of files or URLs (POST /scans)."""

    scope = "uploads"


class ReadsThrottle(PlatformRateThrottle):
    """Every other API request: reads, and the small writes (disputes, webhooks)."""

    scope = "reads"
