from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from catalog import identifiers
from catalog.models import Artist, ArtistAIConsent, AudioAsset, Label, Recording, Release, Work


class IdentifierSearchMixin:
    """Also find rows by an identifier typed in display form ('US-RC1-76-07839', 'T-034.524.680-1')."""

    identifier_search: tuple[str, ...] = ()  # pairs of (field, normaliser name in catalog.identifiers)

    def get_search_results(self, request, queryset, search_term):  # type: ignore[no-untyped-def]
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)  # type: ignore[misc]
        for field, normaliser in self.identifier_search:
            try:
                normal = getattr(identifiers, normaliser)(search_term)
            except identifiers.IdentifierError:
                continue
            results |= queryset.filter(**{field: normal})
        return results, may_have_duplicates


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


class ArtistAIConsentInline(admin.TabularInline):
    """The artist's AI-likeness consent, one row per use; who changed it last is recorded."""

    model = ArtistAIConsent
    fields = ["use", "opted_in", "note", "changed_by", "changed_at"]
    readonly_fields = ["changed_by", "changed_at"]
    extra = 0


@admin.register(Artist)
class ArtistAdmin(IdentifierSearchMixin, admin.ModelAdmin):
    identifier_search = (("isni", "normalize_isni"), ("ipi", "normalize_ipi"))
    list_display = ["name", "isni", "ipi", "label"]
    search_fields = ["name", "isni", "ipi"]
    list_filter = ["label"]
    inlines = [ArtistAIConsentInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for consent in formset.save(commit=False):
            consent.changed_by = request.user
            consent.save()
        for gone in formset.deleted_objects:
            gone.delete()


@admin.register(Work)
class WorkAdmin(IdentifierSearchMixin, admin.ModelAdmin):
    identifier_search = (("iswc", "normalize_iswc"),)
    list_display = ["title", "iswc"]
    search_fields = ["title", "iswc"]
    filter_horizontal = ["writers"]


class ReferenceAssetInline(admin.TabularInline):
    model = AudioAsset
    fields = ["original_name", "format", "codec", "sample_rate", "channels", "duration_s", "sha256", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        # Reference audio is registered through fingerprinting, which also indexes it.
        return False


@admin.register(Recording)
class RecordingAdmin(IdentifierSearchMixin, admin.ModelAdmin):
    identifier_search = (("isrc", "normalize_isrc"),)
    list_display = ["title", "isrc", "external_id", "label", "duration_s"]
    search_fields = ["title", "isrc", "external_id", "artists__name"]
    list_filter = ["label"]
    filter_horizontal = ["artists", "works"]
    inlines = [ReferenceAssetInline]


@admin.register(Release)
class ReleaseAdmin(IdentifierSearchMixin, admin.ModelAdmin):
    identifier_search = (("upc", "normalize_upc"),)
    list_display = ["title", "upc", "label", "release_date"]
    search_fields = ["title", "upc"]
    filter_horizontal = ["recordings"]


@admin.register(AudioAsset)
class AudioAssetAdmin(admin.ModelAdmin):
    list_display = ["original_name", "kind", "recording", "work", "format", "duration_s", "created_at"]
    list_filter = ["kind", "format"]
    search_fields = ["original_name", "sha256", "recording__title", "recording__isrc", "work__title", "work__iswc"]
    readonly_fields = [f.name for f in AudioAsset._meta.fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False
