"""Who may use the platform settings pages: members of a platform act for it; a superuser for all.

The fingerprint app never imports rights, so this does not use rights.roles: platform membership
(`Platform.members`) is the whole rule here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from fingerprint.models import Platform

View = Callable[..., HttpResponse]


def platforms_of(user: Any) -> QuerySet[Platform]:
    """The platforms `user` acts for: those they are a member of (every one for a superuser)."""
    if not user.is_authenticated:
        return Platform.objects.none()
    if user.is_superuser:
        return Platform.objects.all()
    return Platform.objects.filter(members=user)


def platform_member_required(view: View) -> View:
    """Log in first; then the user must act for at least one platform, else 403.

    The view gets `request.platforms`, the list of those platforms (ordered by name).
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        platforms = list(platforms_of(request.user))
        if not platforms:
            raise PermissionDenied("Only members of a platform account can manage its API tokens and webhooks.")
        request.platforms = platforms  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped
