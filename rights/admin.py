"""The staff back office for policies and claims. Every button calls rights.actions."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from rights import actions, claims
from rights.models import Claim, ClaimEvent, Policy


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "label", "action", "min_confidence", "min_match_s", "always_review"]
    search_fields = ["name", "label__name"]


class ClaimEventInline(admin.TabularInline):
    model = ClaimEvent
    fields = ["at", "actor", "from_status", "to_status", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # history is written by rights.actions only


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
    list_display = ["id", "recording", "upload", "status", "action", "confidence", "matched_span", "created_at"]
    list_filter = ["status", "action", "label"]
    search_fields = ["recording__title", "recording__isrc", "match__scan__asset__original_name"]
    actions = [approve_claims, release_claims]
    inlines = [ClaimEventInline]
    readonly_fields = [
        "match",
        "recording",
        "label",
        "policy",
        "action",
        "status",
        "review_reasons",
        "upload",
        "matched_span",
        "confidence",
        "created_at",
        "updated_at",
    ]
    fields = readonly_fields
    list_select_related = ["recording", "match__scan__asset"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # claims come from matches

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a claim is released, never deleted: its history must survive

    @admin.display(description="Upload")
    def upload(self, claim: Claim) -> str:
        return claim.match.scan.asset.original_name

    @admin.display(description="Confidence")
    def confidence(self, claim: Claim) -> str:
        return f"{claim.match.confidence:.2f}"

    @admin.display(description="Upload span -> reference span")
    def matched_span(self, claim: Claim) -> str:
        m = claim.match
        return f"{m.query_start_s:.1f}-{m.query_end_s:.1f} s -> {m.reference_start_s:.1f}-{m.reference_end_s:.1f} s"
