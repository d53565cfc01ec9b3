"""Platform settings URLs (namespace `platform`, mounted at /platform/)."""

from __future__ import annotations

from django.urls import path

from fingerprint.web import views

app_name = "platform"

urlpatterns = [
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/new/", views.token_new, name="token-new"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("webhooks/", views.webhooks_list, name="webhooks"),
    path("webhooks/new/", views.webhook_new, name="webhook-new"),
    path("webhooks/<int:pk>/created/", views.webhook_created, name="webhook-created"),
    path("webhooks/<int:pk>/edit/", views.webhook_edit, name="webhook-edit"),
    path("webhooks/<int:pk>/disable/", views.webhook_disable, name="webhook-disable"),
    path("webhooks/<int:pk>/enable/", views.webhook_enable, name="webhook-enable"),
    path("webhooks/<int:pk>/deliveries/", views.webhook_deliveries, name="webhook-deliveries"),
    path("deliveries/<int:pk>/resend/", views.delivery_resend, name="delivery-resend"),
]
