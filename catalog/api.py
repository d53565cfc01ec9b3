from __future__ import annotations

from rest_framework import permissions, viewsets

from catalog.models import Recording
from catalog.serializers import RecordingSerializer


class RecordingViewSet(viewsets.ReadOnlyModelViewSet):
    """The catalogue's recordings (label staff)."""

    queryset = Recording.objects.select_related("label").order_by("pk")
    serializer_class = RecordingSerializer
    permission_classes = [permissions.IsAdminUser]
    filterset_fields = ["isrc", "external_id", "label"]
