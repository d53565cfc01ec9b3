"""Per-platform request rates: one budget for uploads, one for everything else ("reads").

The budget is the platform's, shared by all its tokens and members; callers acting for no platform
are counted per user (or per address when anonymous). Rates come from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] and are read on each request (DRF reads them once, at
import), so a settings override takes effect at once. Over the rate: 429 with Retry-After.

Requests are counted, not logged: DRF's SimpleRateThrottle keeps a list of every request's time in
the cache and reads, rewrites and pickles it whole on each request; at 200 uploads a second that is
12,000 timestamps (~100 KB) through the shared (Redis) cache per request, and two concurrent
requests overwrite each other's entry, so both are counted as one. Here each window is one integer
that the cache increments atomically, and the rate is judged over a sliding window: this window's
count plus the previous window's, weighted by how much of it the sliding window still covers.
"""

from __future__ import annotations

import math
from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from fingerprint.permissions import platform_of


class PlatformRateThrottle(SimpleRateThrottle):
    """A sliding-window request counter keyed on the caller's platform id, with its rate read at
    request time."""

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

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window, elapsed = divmod(now, self.duration)
        current_key, previous_key = f"{key}:{int(window)}", f"{key}:{int(window) - 1}"
        count = self._increment(current_key)
        previous = self.cache.get(previous_key, 0)
        if count + previous * (1 - elapsed / self.duration) <= self.num_requests:
            return True
        # Refused requests do not use up the budget (as with DRF's own throttles).
        self.cache.decr(current_key)
        self._wait_s = self._seconds_until_allowed(count - 1, previous, elapsed)
        return False

    def _seconds_until_allowed(self, count: int, previous: int, elapsed: float) -> float:
        """When one more request fits, given this window's `count` and the previous window's."""
        limit, duration = self.num_requests, self.duration
        room = limit - count - 1  # what the previous window's weighted count must fall to
        if previous > 0 and room >= 0:  # later in this window, as the previous one slides out
            return max(0.0, duration * (1 - room / previous) - elapsed)
        # In the next window, once enough of this one's count has slid out.
        return duration - elapsed + max(0.0, duration * (1 - (limit - 1) / count) if count else 0.0)

    def _increment(self, key: str) -> int:
        try:
            return self.cache.incr(key)
        except ValueError:  # this window's first request (in this cache)
            # Kept for two windows: the next window weighs this one's count.
            if self.cache.add(key, 1, timeout=2 * self.duration):
                return 1
            return self.cache.incr(key)  # a concurrent request made it first

    def wait(self) -> float:
        """Seconds until the window turns; whole seconds, at least one (Retry-After is an integer)."""
        # Never more than one window: the weighted estimate assumes the previous window's requests
        # were spread evenly, so after a burst it can ask for longer than the burst really counts.
        wait_s = min(getattr(self, "_wait_s", self.duration), self.duration)
        return float(max(1, math.ceil(wait_s - 1e-6)))  # 20.000000000000004 s is 20 s


class UploadsThrottle(PlatformRateThrottle):
    """Submissions of files or URLs (POST /scans)."""

    scope = "uploads"


class ReadsThrottle(PlatformRateThrottle):
    """Every other API request: reads, and the small writes (disputes, webhooks)."""

    scope = "reads"
