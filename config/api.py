"""The one API router: every app's viewsets under /api/v1/."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from catalog.api import RecordingViewSet
from fingerprint.api import ScanViewSet

router = DefaultRouter()
router.register("recordings", RecordingViewSet, basename="recording")
router.register("scans", ScanViewSet, basename="scan")
