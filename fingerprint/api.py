from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import viewsets

from fingerprint.models import Scan
from fingerprint.serializers import ScanSerializer


class ScanViewSet(viewsets.ReadOnlyModelViewSet):
    """Scans and their matches: staff see all, anyone else only the scans they submitted."""

    serializer_class = ScanSerializer
    filterset_fields = ["status"]

    def get_queryset(self) -> QuerySet[Scan]:
        scans = Scan.objects.select_related("asset").prefetch_related("matches").order_by("-pk")
        user = self.request.user
        return scans if user.is_staff else scans.filter(submitted_by=user)
