"""Back office for platform webhooks: the endpoints, and every delivery with its attempts (resendable)."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from fingerprint import webhooks
from fingerprint.models import WebhookDelivery, WebhookEndpoint


def _pretty(value: object) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["id", "platform", "url", "events_sent", "active", "created_at", "deliveries"]
    list_filter = ["active", "platform"]
    search_fields = ["url", "platform__name"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> list[str]:
        fields = ["platform", "url", "events", "active"]
        # The secret is generated when the endpoint is saved, then shown for staff to pass on.
        return fields if obj is None else [*fields, "secret", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> list[str]:
        return [] if obj is None else ["secret", "created_at"]

    @admin.display(description="Events")
    def events_sent(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events) or "all"

    @admin.display(description="Deliveries")
    def deliveries(self, obj: WebhookEndpoint) -> str:
        url = reverse("admin:fingerprint_webhookdelivery_changelist") + f"?endpoint__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj.deliveries.count())


@admin.action(description="Resend selected deliveries", permissions=["resend"])
def resend_deliveries(
    modeladmin: WebhookDeliveryAdmin, request: HttpRequest, queryset: QuerySet[WebhookDelivery]
) -> None:
    sent = [webhooks.resend(pk) for pk in queryset.order_by("pk").values_list("pk", flat=True)]
    modeladmin.message_user(request, f"{len(sent)} delivery(ies) queued again as new deliveries.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Read-only: a delivery's record is its history. Staff can only send one again."""

    list_display = [
        "id",
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "event", "endpoint__platform"]
    search_fields = ["event_id", "endpoint__url", "event"]
    list_select_related = ["endpoint__platform"]
    fields = [
        "endpoint",
        "event",
        "event_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
        "payload_json",
        "log_json",
    ]
    readonly_fields = fields
    actions = [resend_deliveries]

    @admin.display(description="Payload")
    def payload_json(self, obj: WebhookDelivery) -> str:
        return _pretty(obj.payload)

    @admin.display(description="Attempts log")
    def log_json(self, obj: WebhookDelivery) -> str:
        return _pretty(obj.log)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("fingerprint.change_webhookdelivery")
