"""The web pages' URLs (namespace `web`): home and login here, each area's pages in its own module.

Platform settings live in fingerprint.web (namespace `platform`).
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from rights.web import home, urls_artist, urls_audit, urls_review

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    *urls_review.urlpatterns,
    *urls_artist.urlpatterns,
    *urls_audit.urlpatterns,
]
