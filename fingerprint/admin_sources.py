"""Back office for crawled sources (editable by staff, "Crawl now") and their fetches (read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from fingerprint.models import Fetch, Source


class SourceForm(forms.ModelForm):
    class Meta:
        model = Source
        fields = ["name", "kind", "urls", "active", "interval_minutes"]

    def clean_urls(self) -> str:
        value = self.cleaned_data["urls"]
        lines = Source(urls=value).url_list()
        if not lines:
            raise ValidationError("Give at least one URL (one per line).")
        validate = URLValidator(schemes=["http", "https"])
        errors = []
        for line in lines:
            try:
                validate(line)
            except ValidationError:
                errors.append(f"{line[:200]!r} is not an http or https URL.")
            if len(line) > 2000:
                errors.append(f"{line[:60]!r}... is longer than 2000 characters.")
        if errors:
            raise ValidationError(errors)
        return value

    def clean_interval_minutes(self) -> int:
        value = self.cleaned_data["interval_minutes"]
        if value < 1:
            raise ValidationError("Crawl at most once a minute.")
        return value


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    form = SourceForm
    list_display = ["name", "kind", "active", "interval_minutes", "last_crawled_at", "next_crawl_at", "fetch_link"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "urls"]
    readonly_fields = ["last_crawled_at", "next_crawl_at", "created_by", "created_at"]
    actions = ["crawl_now"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Source]:
        return super().get_queryset(request).annotate(fetch_count=Count("fetches"))

    @admin.display(description="Fetches", ordering="fetch_count")
    def fetch_link(self, source: Source) -> str:
        url = reverse("admin:fingerprint_fetch_changelist") + f"?source__id__exact={source.pk}"
        return format_html('<a href="{}">{}</a>', url, getattr(source, "fetch_count", 0))

    def save_model(self, request: HttpRequest, obj: Source, form: forms.ModelForm, change: bool) -> None:
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Crawl now")
    def crawl_now(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        from fingerprint import tasks

        ids = list(queryset.values_list("pk", flat=True))
        for source_id in ids:
            transaction.on_commit(lambda pk=source_id: tasks.crawl_source.delay(pk))
        self.message_user(
            request,
            f"Crawl queued for {len(ids)} source{'s' if len(ids) != 1 else ''}; each fetch appears under Fetches.",
            messages.SUCCESS,
        )


@admin.register(Fetch)
class FetchAdmin(admin.ModelAdmin):
    """Every fetch and its outcome: an audit record, so nobody edits or deletes it here."""

    list_display = ["fetched_at", "outcome", "url", "http_status", "source", "scan_link", "short_detail"]
    list_filter = ["outcome", "source"]
    list_select_related = ["source"]
    search_fields = ["url", "final_url", "sha256"]
    date_hierarchy = "fetched_at"
    readonly_fields = [f.name for f in Fetch._meta.fields]

    @admin.display(description="Scan", ordering="scan")
    def scan_link(self, fetch: Fetch) -> str:
        if fetch.scan_id is None:
            return "-"
        url = reverse("admin:fingerprint_scan_change", args=[fetch.scan_id])
        return format_html('<a href="{}">Scan {}</a>', url, fetch.scan_id)

    @admin.display(description="Detail")
    def short_detail(self, fetch: Fetch) -> str:
        return fetch.detail if len(fetch.detail) <= 120 else fetch.detail[:117] + "..."

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Fetch | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Fetch | None = None) -> bool:
        return False
