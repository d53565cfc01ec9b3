from __future__ import annotations

from django.core.validators import URLValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Recording, Work
from fingerprint.models import Match, Scan, WebhookDelivery, WebhookEndpoint, WorkMatch

# The events fingerprint.webhooks and rights.webhook_events send.
WEBHOOK_EVENTS = (
    "scan.completed",
    "scan.failed",
    "claim.created",
    "claim.updated",
    "dispute.opened",
    "dispute.answered",
)


class RecordingRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Recording
        fields = ["id", "isrc", "title"]


class WorkRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Work
        fields = ["id", "iswc", "title"]


class WorkMatchSerializer(serializers.ModelSerializer):
    """A registered composition performed in the upload (a cover): where, in which key, at which tempo."""

    work = WorkRefSerializer(read_only=True)

    class Meta:
        model = WorkMatch
        fields = [
            "id",
            "work",
            "query_start_s",
            "query_end_s",
            "reference_start_s",
            "reference_end_s",
            "transpose_semitones",
            "tempo_ratio",
            "confidence",
            "score",
            "engine_version",
        ]
        read_only_fields = fields


class MatchSerializer(serializers.ModelSerializer):
    """Where a registered recording is heard in the upload, how it was altered, and how sure the match is."""

    recording = RecordingRefSerializer(read_only=True)
    offset_s = serializers.FloatField(read_only=True, help_text="Reference time minus upload time (s).")

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
            "confidence",
            "score",
            "engine_version",
        ]


class ScanSerializer(serializers.HyperlinkedModelSerializer):
    """A scan: its status (queued, running, done, failed), why it failed, the recordings it matched, and the
    registered compositions it performs (work matches: covers, in another key or tempo)."""

    url = serializers.HyperlinkedIdentityField(view_name="scan-detail")
    source_url = serializers.CharField(read_only=True, help_text="The URL the audio was fetched from, if any.")
    file_name = serializers.SerializerMethodField()
    sha256 = serializers.SerializerMethodField(help_text="Of the audio, once stored (a URL scan: after its fetch).")
    duration_s = serializers.SerializerMethodField()
    idempotency_key = serializers.SerializerMethodField(help_text="The Idempotency-Key it was submitted under.")
    matches = MatchSerializer(many=True, read_only=True)
    work_matches = WorkMatchSerializer(many=True, read_only=True)

    class Meta:
        model = Scan
        fields = [
            "id",
            "url",
            "status",
            "error",
            "file_name",
            "source_url",
            "sha256",
            "duration_s",
            "idempotency_key",
            "engine_version",
            "created_at",
            "started_at",
            "finished_at",
            "matches",
            "work_matches",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_file_name(self, scan: Scan) -> str:
        if scan.original_name:
            return scan.original_name
        return scan.asset.original_name if scan.asset_id else ""

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_sha256(self, scan: Scan) -> str | None:
        return scan.asset.sha256 if scan.asset_id else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_duration_s(self, scan: Scan) -> float | None:
        return scan.asset.duration_s if scan.asset_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_idempotency_key(self, scan: Scan) -> str | None:
        return scan.submission.idempotency_key if scan.submission_id else None


# --- submitting ----------------------------------------------------------------------------------


class ScanUploadSerializer(serializers.Serializer):
    """Documents the multipart form of POST /scans: one or more audio files."""

    files = serializers.ListField(
        child=serializers.FileField(),
        help_text="One or more audio or video files (WAV, AIFF, MP3, FLAC, Ogg, M4A/MP4/MOV, ADTS AAC, WebM/Matroska, "
        "MPEG-TS/PS, AVI, FLV, WMA/ASF, AC-3, CAF; sniffed from the content). "
        "A single file may also be sent in the field `file`.",
    )


class ScanUrlsSerializer(serializers.Serializer):
    """Documents the JSON form of POST /scans: URLs of audio to fetch."""

    urls = serializers.ListField(
        child=serializers.CharField(), min_length=1, help_text="http(s) URLs of audio files to fetch and scan."
    )


class SubmissionItemSerializer(serializers.Serializer):
    """One submitted file or URL: the scan it became, or why it was refused."""

    index = serializers.IntegerField(help_text="Position in the request (files, or urls), from 0.")
    name = serializers.CharField(help_text="The file's name, or the URL.")
    accepted = serializers.BooleanField()
    id = serializers.IntegerField(allow_null=True, help_text="The scan's id (null when refused).")
    url = serializers.CharField(allow_null=True, help_text="The scan's URL (null when refused).")
    status = serializers.CharField(allow_null=True, help_text="The scan's status (null when refused).")
    code = serializers.CharField(allow_null=True, help_text="Why it was refused, e.g. too_large, silent.")
    detail = serializers.CharField(allow_null=True, help_text="Why it was refused, for people.")
    status_code = serializers.IntegerField(allow_null=True, help_text="413 or 422 when refused.")


class SubmissionSerializer(serializers.Serializer):
    """The answer to POST /scans when at least one item was accepted (202): every item, in order."""

    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    replayed = serializers.BooleanField(
        help_text="True when the Idempotency-Key was seen before: the scans are the first request's."
    )
    items = SubmissionItemSerializer(many=True)


class SubmissionRefusedSerializer(serializers.Serializer):
    """The answer to POST /scans when nothing was accepted (413 or 422), with each item's reason."""

    code = serializers.CharField()
    detail = serializers.CharField()
    accepted = serializers.IntegerField(required=False)
    rejected = serializers.IntegerField(required=False)
    items = SubmissionItemSerializer(many=True, required=False)


# --- webhooks ------------------------------------------------------------------------------------


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """A URL of the platform's that receives signed event notifications."""

    url = serializers.CharField(
        max_length=2000,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Where events are POSTed (http or https).",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WEBHOOK_EVENTS),
        required=False,
        help_text="Events to send; empty or absent sends every event.",
    )
    secret = serializers.CharField(read_only=True, help_text="Signs each delivery (X-ContentID-Signature).")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "active", "secret", "created_at"]
        read_only_fields = ["id", "secret", "created_at"]

    def validate_events(self, events: list[str]) -> list[str]:
        return sorted(set(events))


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One event sent (or being sent) to one endpoint, with every attempt's outcome."""

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event",
            "payload",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "log",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields
