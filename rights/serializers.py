from __future__ import annotations

from typing import Any

from django.apps import apps
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fingerprint.models import ApiToken, Scan
from fingerprint.serializers import (
    MatchSerializer,
    RecordingRefSerializer,
    ScanSerializer,
    WorkMatchSerializer,
    WorkRefSerializer,
)
from rights.models import Claim, ClaimEvent, Dispute


class ClaimSerializer(serializers.HyperlinkedModelSerializer):
    """A claim on one of the platform's uploads: what is done with it where, and where it stands.

    A recording claim names the recording (`match_type` recording); a melody claim, made because the upload
    performs a registered composition (a cover), names the work and its work match instead."""

    url = serializers.HyperlinkedIdentityField(view_name="claim-detail")
    recording = RecordingRefSerializer(read_only=True, allow_null=True)
    work = WorkRefSerializer(read_only=True, allow_null=True)
    scan = serializers.IntegerField(source="scan.pk", read_only=True)
    match = serializers.IntegerField(source="match_id", read_only=True, allow_null=True)
    work_match = serializers.IntegerField(source="work_match_id", read_only=True, allow_null=True)
    claimant = serializers.CharField(source="claimant.name", read_only=True, allow_null=True, default=None)
    territory_actions = serializers.JSONField(
        read_only=True, help_text="Action (block, monetize, track) -> the territories where it applies."
    )

    class Meta:
        model = Claim
        fields = [
            "id",
            "url",
            "status",
            "action",
            "territory_actions",
            "match_type",
            "recording",
            "work",
            "scan",
            "match",
            "work_match",
            "claimant",
            "deadline",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ClaimEventSerializer(serializers.ModelSerializer):
    """One step of the claim's history."""

    by = serializers.SerializerMethodField(help_text="system, uploader (the platform) or staff.")

    class Meta:
        model = ClaimEvent
        fields = ["at", "from_status", "to_status", "reason", "by"]

    @extend_schema_field(serializers.ChoiceField(choices=["system", "uploader", "staff"]))
    def get_by(self, event: ClaimEvent) -> str:
        if event.actor_id is None:
            return "system"
        return "uploader" if event.actor_id in self.context.get("uploader_users", ()) else "staff"


class DisputeSerializer(serializers.ModelSerializer):
    """A dispute (or appeal) of the claim, and the claimant's answer."""

    class Meta:
        model = Dispute
        fields = ["id", "kind", "reason", "evidence", "outcome", "opened_at", "deadline", "answered_at", "answer"]
        read_only_fields = fields


def uploader_user_ids(claim: Claim) -> set[int]:
    """The logins that act for the claim's uploading platform (its members and token holders)."""
    platform_id = claim.scan.platform_id
    if platform_id is None:
        return set()
    members = claim.scan.platform.members.values_list("pk", flat=True)
    holders = ApiToken.objects.filter(platform_id=platform_id).values_list("user_id", flat=True)
    return set(members) | set(holders)


class ClaimDetailSerializer(ClaimSerializer):
    """A claim with the match (or, for a melody claim, the work match) it was made from, its history and its
    disputes."""

    match = MatchSerializer(read_only=True, allow_null=True)
    work_match = WorkMatchSerializer(read_only=True, allow_null=True)
    events = serializers.SerializerMethodField()
    disputes = DisputeSerializer(many=True, read_only=True)

    class Meta(ClaimSerializer.Meta):
        fields = [*ClaimSerializer.Meta.fields, "review_reasons", "events", "disputes"]
        read_only_fields = fields

    @extend_schema_field(ClaimEventSerializer(many=True))
    def get_events(self, claim: Claim) -> list[dict[str, Any]]:
        context = {**self.context, "uploader_users": uploader_user_ids(claim)}
        events = claim.events.order_by("at", "pk")
        return ClaimEventSerializer(events, many=True, context=context).data


class DisputeRequestSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Dispute.Reason.choices)
    evidence = serializers.CharField(
        max_length=20000, help_text="Licence numbers, links, or an explanation: what the claimant should consider."
    )


class AppealRequestSerializer(serializers.Serializer):
    evidence = serializers.CharField(max_length=20000, help_text="Why the upheld dispute is wrong.")
    reason = serializers.ChoiceField(
        choices=Dispute.Reason.choices, required=False, help_text="Defaults to the dispute's reason."
    )


# --- a scan, with what rights and provenance know of it ---------------------------------------------


class FindingSerializer(serializers.Serializer):
    detector = serializers.CharField()
    detector_version = serializers.CharField()
    score = serializers.FloatField(help_text="0..1: the calibrated probability that the audio is AI-generated.")
    label = serializers.CharField()
    strength = serializers.CharField()
    evidence = serializers.JSONField()


class ProvenanceSerializer(serializers.Serializer):
    """The AI-provenance check of the scan's audio: the latest finished run, else the latest run."""

    run = serializers.IntegerField()
    status = serializers.CharField()
    finished_at = serializers.DateTimeField(allow_null=True)
    ai_generated = serializers.BooleanField(
        allow_null=True, help_text="The combined verdict (generation_audit.verdict); null until the run is done."
    )
    score = serializers.FloatField(allow_null=True, help_text="0..1, combined; rises with confidence it is generated.")
    verdict_version = serializers.CharField(help_text="The version of the rules that combined the findings.")
    findings = FindingSerializer(many=True)


def provenance_of(asset_id: int | None) -> dict[str, Any] | None:
    """The provenance run shown for an asset (read through the app registry: rights does not import
    generation_audit, which imports rights)."""
    if asset_id is None:
        return None
    runs = apps.get_model("generation_audit", "ProvenanceRun").objects.filter(asset_id=asset_id)
    run = (
        runs.filter(status="done").order_by("-created_at", "-pk").first() or runs.order_by("-created_at", "-pk").first()
    )
    if run is None:
        return None
    findings = [
        {
            "detector": f.detector,
            "detector_version": f.detector_version,
            "score": f.score,
            "label": f.label,
            "strength": f.strength,
            "evidence": f.evidence,
        }
        for f in run.findings.order_by("detector")
    ]
    return {
        "run": run.pk,
        "status": run.status,
        "finished_at": run.finished_at,
        "ai_generated": run.ai_generated,
        "score": run.score,
        "verdict_version": run.verdict_version,
        "findings": findings,
    }


class ArtistLikenessSerializer(serializers.Serializer):
    """A registered artist the upload sounds like while using none of the catalogue (an imitation candidate)."""

    artist = serializers.IntegerField()
    artist_name = serializers.CharField()
    similarity = serializers.FloatField(help_text="Cosine to the artist's style profile.")
    exclusivity = serializers.FloatField(help_text="Share of other artists' tracks less like the artist than this.")


class ImitationSerializer(serializers.Serializer):
    """'Possible AI imitation of artist X': a likeness on audio judged AI-generated, with the uploader's
    AI-likeness licence cover for the artist."""

    artist = serializers.IntegerField()
    headline = serializers.CharField()
    status = serializers.CharField(help_text="open, licensed, confirmed or dismissed.")
    licence_note = serializers.CharField()
    licensed_territories = serializers.ListField(child=serializers.CharField())


class ScanDetailSerializer(ScanSerializer):
    """A scan with its matches, the AI-provenance findings on its audio, the artists it sounds like and any
    possible AI imitation of them, and the claims made on it."""

    provenance = serializers.SerializerMethodField()
    artist_likeness = serializers.SerializerMethodField()
    imitations = serializers.SerializerMethodField()
    claims = serializers.SerializerMethodField()

    class Meta(ScanSerializer.Meta):
        fields = [*ScanSerializer.Meta.fields, "provenance", "artist_likeness", "imitations", "claims"]
        read_only_fields = fields

    @extend_schema_field(ArtistLikenessSerializer(many=True))
    def get_artist_likeness(self, scan: Scan) -> list[dict[str, Any]]:
        return [
            {
                "artist": m.artist_id,
                "artist_name": m.artist.name,
                "similarity": m.similarity,
                "exclusivity": m.exclusivity,
            }
            for m in scan.artist_matches.select_related("artist")
        ]

    @extend_schema_field(ImitationSerializer(many=True))
    def get_imitations(self, scan: Scan) -> list[dict[str, Any]]:
        reports = apps.get_model("generation_audit", "ImitationReport").objects.filter(scan=scan)
        return [
            {
                "artist": r.artist_id,
                "headline": r.headline,
                "status": r.status,
                "licence_note": r.licence_note,
                "licensed_territories": r.licensed_territories,
            }
            for r in reports.select_related("artist").order_by("pk")
        ]

    @extend_schema_field(ProvenanceSerializer(allow_null=True))
    def get_provenance(self, scan: Scan) -> dict[str, Any] | None:
        return provenance_of(scan.asset_id)

    @extend_schema_field(ClaimSerializer(many=True))
    def get_claims(self, scan: Scan) -> list[dict[str, Any]]:
        claims = Claim.objects.filter(Claim.on_scans(pk=scan.pk)).with_sources().select_related("claimant")
        return ClaimSerializer(claims.order_by("pk"), many=True, context=self.context).data
