from __future__ import annotations

from rest_framework import serializers

from catalog.models import Recording


class RecordingSerializer(serializers.ModelSerializer):
    label = serializers.StringRelatedField()

    class Meta:
        model = Recording
        fields = ["id", "title", "isrc", "external_id", "label", "duration_s", "created_at"]
