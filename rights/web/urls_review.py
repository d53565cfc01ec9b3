"""URLs of the review pages (included in rights.web.urls, namespace `web`)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
