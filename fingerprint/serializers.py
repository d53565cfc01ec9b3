from __future__ import annotations

from rest_framework import serializers

from fingerprint.models import Match, Scan


class MatchSerializer(serializers.ModelSerializer):
    offset_s = serializers.FloatField(read_only=True)

    class Meta:
        model = Match
        fields = [
            "id",
            "recording",
            "query_start_s",
            "query_end_s",
            "reference_start_s",
            "reference_end_s",
            "offset_s",
            "pitch_factor",
            "tempo_factor",
            "score",
            "confidence",
            "engine_version",
        ]


class ScanSerializer(serializers.ModelSerializer):
    matches = MatchSerializer(many=True, read_only=True)
    file_name = serializers.CharField(source="asset.original_name", read_only=True)

    class Meta:
        model = Scan
        fields = ["id", "file_name", "status", "error", "engine_version", "created_at", "finished_at", "matches"]
