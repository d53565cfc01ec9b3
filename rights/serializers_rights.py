"""API shapes of policies, licences, splits, usage reports and statements (rights endpoints)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from catalog.models import Recording, Work
from rights import royalties
from rights.models import Licence, Policy, PolicyRule, RightsHolder, Split, SplitShare, Statement, UsageReport


class PartyRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = RightsHolder
        fields = ["id", "name", "kind"]


class PolicyRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = PolicyRule
        exclude = ["policy"]


class PolicySerializer(serializers.ModelSerializer):
    rules = PolicyRuleSerializer(many=True, read_only=True)
    label = serializers.CharField(source="label.name", read_only=True, allow_null=True, default=None)
    owner = PartyRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Policy
        fields = ["id", "name", "label", "owner", "action", "min_confidence", "min_match_s", "always_review", "rules"]


class LicenceSerializer(serializers.ModelSerializer):
    licensor = PartyRefSerializer(read_only=True)
    licensee = PartyRefSerializer(read_only=True)
    recordings = serializers.SlugRelatedField(many=True, read_only=True, slug_field="isrc")
    works = serializers.SlugRelatedField(many=True, read_only=True, slug_field="iswc")

    class Meta:
        model = Licence
        exclude = ["catalogue_labels", "catalogue_releases"]


class SplitShareSerializer(serializers.ModelSerializer):
    party = serializers.PrimaryKeyRelatedField(queryset=RightsHolder.objects.all())
    party_name = serializers.CharField(source="party.name", read_only=True)
    share = serializers.DecimalField(max_digits=7, decimal_places=4, help_text="Percent, e.g. 62.5.")

    class Meta:
        model = SplitShare
        fields = ["party", "party_name", "share", "role"]


class SplitSerializer(serializers.ModelSerializer):
    """A split of master (recording) or publishing (work) income; shares must sum to exactly 100 %."""

    recording = serializers.PrimaryKeyRelatedField(queryset=Recording.objects.all(), required=False, allow_null=True)
    work = serializers.PrimaryKeyRelatedField(queryset=Work.objects.all(), required=False, allow_null=True)
    shares = SplitShareSerializer(many=True)
    territories = serializers.ListField(child=serializers.CharField(max_length=5), required=False, default=list)

    class Meta:
        model = Split
        fields = [
            "id",
            "recording",
            "work",
            "stream",
            "territories",
            "start_date",
            "end_date",
            "note",
            "shares",
            "created_at",
        ]
        read_only_fields = ["id", "stream", "created_at"]


class UsageReportSerializer(serializers.ModelSerializer):
    platform = PartyRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = UsageReport
        fields = [
            "id",
            "platform",
            "source_format",
            "profile",
            "file_name",
            "sha256",
            "period_start",
            "period_end",
            "currency",
            "line_count",
            "total_amount",
            "total_quantity",
            "imported_at",
        ]
        read_only_fields = fields


class UsageReportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A CSV usage report, or a DDEX DSR flat file (format dsr).")
    format = serializers.ChoiceField(choices=["csv", "dsr"], default="csv")
    period = serializers.RegexField(r"^\d{4}-\d{2}$", required=False, help_text="YYYY-MM (CSV only).")
    currency = serializers.CharField(max_length=3, required=False, help_text="ISO 4217 (CSV only).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["format"] == "csv" and not (attrs.get("period") and attrs.get("currency")):
            raise serializers.ValidationError("A CSV report needs its period (YYYY-MM) and currency.")
        return attrs


class StatementSerializer(serializers.ModelSerializer):
    party = PartyRefSerializer(read_only=True)
    period = serializers.DateField(source="run.period", read_only=True)
    run_status = serializers.CharField(source="run.status", read_only=True)
    paid = serializers.SerializerMethodField(help_text="Paid amount as a decimal string in the currency's units.")

    class Meta:
        model = Statement
        fields = ["id", "run", "period", "run_status", "party", "currency", "paid", "paid_minor", "line_count"]
        read_only_fields = fields

    def get_paid(self, statement: Statement) -> str:
        return str(royalties.from_minor(statement.paid_minor, statement.currency))
