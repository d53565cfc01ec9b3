from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.api import router

admin.site.site_header = "Content ID back office"
admin.site.site_title = "Content ID"

# Unknown URLs under /api/ answer in JSON like the API (other paths keep Django's page).
handler404 = "fingerprint.api_errors.not_found"

urlpatterns = [
    path("", include("rights.web.urls")),
    path("platform/", include("fingerprint.web.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include(router.urls)),
]
