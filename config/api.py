"""The one API router: every app's viewsets under /api/v1/."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from catalog.api import RecordingViewSet
from fingerprint.api import WebhookDeliveryViewSet, WebhookEndpointViewSet
from rights.api import ClaimViewSet, ScanViewSet
from rights.api_rights import LicenceViewSet, PolicyViewSet, SplitViewSet, StatementViewSet, UsageReportViewSet

# Paths work with and without the trailing slash (`POST /api/v1/scans` as platforms write it).
router = DefaultRouter()
router.trailing_slash = "/?"  # a regex: DRF's constructor only takes on/off
router.register("recordings", RecordingViewSet, basename="recording")
# The scan detail adds provenance findings and claims, which only rights may compose.
router.register("scans", ScanViewSet, basename="scan")
router.register("claims", ClaimViewSet, basename="claim")
router.register("webhooks", WebhookEndpointViewSet, basename="webhookendpoint")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhookdelivery")
router.register("policies", PolicyViewSet, basename="policy")
router.register("licences", LicenceViewSet, basename="licence")
router.register("splits", SplitViewSet, basename="split")
router.register("usage-reports", UsageReportViewSet, basename="usagereport")
router.register("statements", StatementViewSet, basename="statement")
