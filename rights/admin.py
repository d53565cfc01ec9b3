"""The staff back office for the rights engine. Every button and every save calls rights' verbs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from rights import actions, claims, disputes, holdings, splits, territories
from rights.models import (
    AuditEvent,
    Claim,
    ClaimEvent,
    Dispute,
    Licence,
    Ownership,
    OwnershipConflict,
    Policy,
    PolicyRule,
    ReferenceOverlap,
    RightsHolder,
    RoyaltyRun,
    Split,
    SplitShare,
    Statement,
    UnclaimedMatch,
    UsageReport,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by rights' verbs (runs, imports, the audit trail): staff look, never edit."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(RightsHolder)
class RightsHolderAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "label", "artist", "policy"]
    list_filter = ["kind"]
    search_fields = ["name"]
    filter_horizontal = ["accounts"]
    readonly_fields = ["over_claiming"]

    @admin.display(description="Over-claiming")
    def over_claiming(self, holder: RightsHolder) -> str:
        if not holder.pk:
            return "-"
        figure = next(iter(disputes.over_claiming(holder)), None)
        if figure is None or not figure.decided:
            return "No decided disputes yet."
        return f"Lost {figure.lost} of {figure.decided} decided disputes ({figure.share_lost:.0%})."


class PolicyRuleInline(admin.TabularInline):
    model = PolicyRule
    extra = 0
    fields = [
        "position",
        "action",
        "territories",
        "excluded_territories",
        "min_match_s",
        "max_match_s",
        "min_match_percent",
        "max_match_percent",
        "min_reference_s",
        "max_reference_s",
        "min_reference_percent",
        "max_reference_percent",
        "match_types",
        "review",
    ]


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "label", "owner", "action", "rule_count", "min_confidence", "min_match_s", "always_review"]
    search_fields = ["name", "label__name", "owner__name"]
    inlines = [PolicyRuleInline]

    @admin.display(description="Rules")
    def rule_count(self, policy: Policy) -> int:
        return policy.rules.count()


@admin.register(Ownership)
class OwnershipAdmin(admin.ModelAdmin):
    list_display = ["owner", "asset", "right", "share", "where", "start_date", "end_date", "policy"]
    list_filter = ["right"]
    search_fields = ["owner__name", "recording__title", "recording__isrc", "work__title", "work__iswc"]
    raw_id_fields = ["recording", "work"]

    @admin.display(description="Recording / work")
    def asset(self, row: Ownership) -> str:
        return row.asset_label

    @admin.display(description="Territories")
    def where(self, row: Ownership) -> str:
        return territories.describe(territories.expand(row.territories))

    def save_model(self, request: HttpRequest, obj: Ownership, form: Any, change: bool) -> None:
        # Through the verb, so the right is re-checked for conflicts and the change audited as this user.
        if change:
            fields = {name: form.cleaned_data[name] for name in form.changed_data}
            holdings.change_ownership(
                obj, actor=request.user, note=f"Changed in the admin by {request.user}.", **fields
            )
        else:
            holdings.add_ownership(
                owner=obj.owner,
                recording=obj.recording,
                work=obj.work,
                right=obj.right,
                territories=obj.territories,
                share=obj.share,
                start_date=obj.start_date,
                end_date=obj.end_date,
                policy=obj.policy,
                actor=request.user,
            )

    def delete_model(self, request: HttpRequest, obj: Ownership) -> None:
        holdings.remove_ownership(obj, actor=request.user, note=f"Removed in the admin by {request.user}.")


@admin.register(OwnershipConflict)
class OwnershipConflictAdmin(ReadOnlyAdmin):
    """The conflict queue: fix the ownerships (Ownership screen); the conflict closes itself."""

    list_display = ["__str__", "status", "conflicted_share", "where", "detected_at", "resolved_at", "resolved_by"]
    list_filter = ["status", "right"]
    ordering = ["status", "detected_at"]
    readonly_fields = [
        "recording",
        "work",
        "right",
        "where",
        "start_date",
        "end_date",
        "total_share",
        "conflicted_share",
        "owners",
        "status",
        "detected_at",
        "resolved_at",
        "resolved_by",
        "resolution",
    ]
    fields = readonly_fields

    @admin.display(description="Territories")
    def where(self, conflict: OwnershipConflict) -> str:
        return territories.describe(frozenset(conflict.territories))

    @admin.display(description="Ownerships in conflict")
    def owners(self, conflict: OwnershipConflict) -> str:
        return "; ".join(f"{o.owner.name} {o.share}%" for o in conflict.ownerships.select_related("owner"))


class ClaimEventInline(admin.TabularInline):
    model = ClaimEvent
    fields = ["at", "actor", "from_status", "to_status", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # history is written by rights.actions only


class DisputeInline(admin.TabularInline):
    model = Dispute
    fields = ["kind", "reason", "evidence", "disputant", "opened_at", "deadline", "outcome", "answer"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def _apply(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Claim], verb: str) -> None:
    do = actions.approve_claim if verb == "approved" else actions.release_claim
    done, refused = 0, []
    for claim in queryset:
        try:
            do(claim, request.user, f"{verb.capitalize()} in the admin by {request.user.get_username()}.")
            done += 1
        except claims.TransitionError as exc:
            refused.append(f"claim {claim.pk}: {exc}")
    if done:
        modeladmin.message_user(request, f"{done} claim(s) {verb}.", messages.SUCCESS)
    for line in refused:
        modeladmin.message_user(request, line, messages.WARNING)


@admin.action(description="Approve selected claims (make active)", permissions=["change"])
def approve_claims(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
    _apply(modeladmin, request, queryset, "approved")


@admin.action(description="Release selected claims", permissions=["change"])
def release_claims(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
    _apply(modeladmin, request, queryset, "released")


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "subject",
        "upload",
        "status",
        "action",
        "claimant",
        "confidence",
        "matched_span",
        "deadline",
        "created_at",
    ]
    list_filter = ["status", "action", "match_type", "label"]
    search_fields = [
        "recording__title",
        "recording__isrc",
        "work__title",
        "work__iswc",
        "match__scan__asset__original_name",
        "work_match__scan__asset__original_name",
    ]
    actions = [approve_claims, release_claims]
    inlines = [DisputeInline, ClaimEventInline]
    readonly_fields = [
        "match_type",
        "match",
        "recording",
        "work_match",
        "work",
        "melody",
        "label",
        "policy",
        "claimant",
        "uploader",
        "action",
        "where",
        "owners",
        "status",
        "review_reasons",
        "deadline",
        "upload",
        "matched_span",
        "confidence",
        "created_at",
        "updated_at",
    ]
    fields = readonly_fields
    list_select_related = ["recording", "work", "match__scan__asset", "work_match__scan__asset", "claimant"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # claims come from matches

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a claim is released, never deleted: its history must survive

    @admin.display(description="Recording or work")
    def subject(self, claim: Claim) -> str:
        return f"{claim.subject} ({claim.match_summary})" if claim.is_melody else str(claim.subject)

    @admin.display(description="Melody match")
    def melody(self, claim: Claim) -> str:
        return claim.match_summary or "-"

    @admin.display(description="Upload")
    def upload(self, claim: Claim) -> str:
        return claim.scan.asset.original_name

    @admin.display(description="Confidence")
    def confidence(self, claim: Claim) -> str:
        return f"{claim.source.confidence:.2f}"

    @admin.display(description="Upload span -> reference span")
    def matched_span(self, claim: Claim) -> str:
        m = claim.source
        return f"{m.query_start_s:.1f}-{m.query_end_s:.1f} s -> {m.reference_start_s:.1f}-{m.reference_end_s:.1f} s"

    @admin.display(description="Action per territory")
    def where(self, claim: Claim) -> str:
        return claims.describe_actions(claim.territory_actions)

    @admin.display(description="What each owner's policy decided")
    def owners(self, claim: Claim) -> str:
        return (
            "; ".join(
                f"{o['owner']} ({o['right']} {o['share']}%, policy '{o['policy']}'): {o['decision']}"
                for o in claim.resolution.get("owners", [])
            )
            or "-"
        )


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = ["claim", "kind", "reason", "disputant", "claimant", "opened_at", "deadline", "outcome"]
    list_filter = ["kind", "reason", "outcome"]


@admin.action(description="Mark selected overlaps resolved (both references checked)")
def resolve_overlaps(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ReferenceOverlap]) -> None:
    for overlap in queryset:
        actions.resolve_reference_overlap(overlap, request.user, f"Checked in the admin by {request.user}.")
    modeladmin.message_user(request, f"{queryset.count()} overlap(s) resolved.", messages.SUCCESS)


@admin.register(ReferenceOverlap)
class ReferenceOverlapAdmin(admin.ModelAdmin):
    list_display = ["first", "second", "overlap_s", "scan", "status", "detected_at", "deadline"]
    list_filter = ["status"]
    actions = [resolve_overlaps]
    readonly_fields = [
        "first",
        "second",
        "scan",
        "overlap_s",
        "status",
        "detected_at",
        "deadline",
        "resolved_at",
        "resolution",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(UnclaimedMatch)
class UnclaimedMatchAdmin(ReadOnlyAdmin):
    list_display = ["match", "work_match", "why", "licence", "detail", "created_at"]
    list_filter = ["why"]


@admin.register(Licence)
class LicenceAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "licensor",
        "licensee",
        "uses",
        "territories",
        "start_date",
        "end_date",
        "fee_model",
        "exclusive",
        "revoked_at",
    ]
    list_filter = ["fee_model", "exclusive"]
    search_fields = ["reference", "licensor__name", "licensee__name"]
    filter_horizontal = ["recordings", "works", "catalogue_labels", "catalogue_releases", "artists"]


class SplitShareFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        rows = [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        try:
            splits.validate_shares([(row["party"], row["share"], row.get("role", "")) for row in rows])
        except splits.SplitError as exc:
            raise forms.ValidationError(str(exc)) from None


class SplitShareInline(admin.TabularInline):
    model = SplitShare
    formset = SplitShareFormSet
    extra = 0
    fields = ["party", "share", "role"]


@admin.register(Split)
class SplitAdmin(admin.ModelAdmin):
    list_display = ["__str__", "stream", "start_date", "end_date", "total"]
    list_filter = ["stream"]
    search_fields = ["recording__title", "recording__isrc", "work__title", "shares__party__name"]
    raw_id_fields = ["recording", "work"]
    inlines = [SplitShareInline]

    @admin.display(description="Sum of shares")
    def total(self, split: Split) -> str:
        return f"{sum((s.share for s in split.shares.all()), Decimal(0))}%"


@admin.register(UsageReport)
class UsageReportAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "platform",
        "profile",
        "currency",
        "line_count",
        "total_quantity",
        "total_amount",
        "pool_amount",
        "imported_at",
    ]
    list_filter = ["source_format", "currency"]


class StatementInline(admin.TabularInline):
    model = Statement
    fields = ["party", "currency", "paid_minor", "line_count"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(RoyaltyRun)
class RoyaltyRunAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "status", "usage_lines", "statement_lines", "started_at", "finished_at", "error"]
    list_filter = ["status", "pool_model"]
    readonly_fields = [
        "period",
        "pool_model",
        "status",
        "started_at",
        "finished_at",
        "error",
        "usage_lines",
        "statement_lines",
        "totals",
        "input_digest",
        "result_digest",
        "started_by",
    ]
    inlines = [StatementInline]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "actor_name", "verb", "entity", "entity_id", "short_hash"]
    list_filter = ["entity", "verb"]
    search_fields = ["entity_id", "actor_name"]

    @admin.display(description="Hash")
    def short_hash(self, event: AuditEvent) -> str:
        return event.hash[:12]


from rights import admin_access  # noqa: E402,F401  (auditor grants and audit checks)
