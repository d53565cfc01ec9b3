"""Login, roles and navigation for the web pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse

from rights import roles

View = Callable[..., HttpResponse]

# (role, title, url name): the navigation each role sees, in order; a user with several roles sees
# the union, each page once.
NAVIGATION = [
    (roles.STAFF, "Review queue", "web:review"),
    (roles.STAFF, "Claims", "web:claims"),
    (roles.ARTIST, "My catalogue", "web:artist"),
    (roles.ARTIST, "Splits", "web:artist-splits"),
    (roles.ARTIST, "Claims", "web:claims"),
    (roles.ARTIST, "Statements", "web:statements"),
    (roles.PLATFORM, "Claims", "web:claims"),
    (roles.PLATFORM, "API tokens", "platform:tokens"),
    (roles.PLATFORM, "Webhooks", "platform:webhooks"),
    (roles.AUDITOR, "Claims", "web:claims"),
    (roles.AUDITOR, "Royalty runs", "web:runs"),
    (roles.AUDITOR, "Statements", "web:statements"),
    (roles.STAFF, "Statements", "web:statements"),
    (roles.STAFF, "Royalty runs", "web:runs"),
    (roles.AUDITOR, "Audit trail", "web:audit-trail"),
    (roles.STAFF, "Audit trail", "web:audit-trail"),
    (roles.STAFF, "Charts", "web:charts"),
    (roles.AUDITOR, "Charts", "web:charts"),
]


def viewer_of(request: HttpRequest) -> roles.Viewer:
    """The request's viewer, read once per request."""
    cached = getattr(request, "_viewer", None)
    if cached is None:
        cached = roles.viewer_for(request.user)
        request._viewer = cached  # type: ignore[attr-defined]
    return cached


def role_required(*allowed: str) -> Callable[[View], View]:
    """Log in first; then the user must hold one of `allowed` (any role when none is named), else 403.

    The view gets `request.viewer`.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            viewer = viewer_of(request)
            if not viewer.roles or (allowed and not any(viewer.has(role) for role in allowed)):
                raise PermissionDenied("Your role does not give access to this page.")
            request.viewer = viewer  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the viewer, their role names and the navigation for their roles."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    viewer = viewer_of(request)
    items, seen = [], set()
    for role, title, name in NAVIGATION:
        if not viewer.has(role) or name in seen:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:  # a page not installed in this deployment
            continue
        seen.add(name)
        items.append({"title": title, "url": url, "current": False})
    # The current page is the item with the longest URL the path starts with (/artist/splits/ is
    # "Splits", not also "My catalogue").
    matching = [item for item in items if item["url"] != "/" and request.path.startswith(item["url"])]
    if matching:
        max(matching, key=lambda item: len(item["url"]))["current"] = True
    if request.user.is_staff:
        items.append({"title": "Admin", "url": reverse("admin:index"), "current": False})
    return {"viewer": viewer, "nav": items, "role_names": [roles.ROLE_NAMES[r] for r in viewer.roles]}
