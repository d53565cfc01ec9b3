"""Who the API caller acts for, and the scoping every API queryset goes through.

A request made with a platform's API token acts for that platform only, whoever the token's user is.
A logged-in session (the browsable API) acts for the platforms its user is a member of; staff
sessions see everything. Anyone else sees nothing.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from fingerprint.models import ApiToken, Platform

_CACHE_ATTR = "_contentid_platform"
M = TypeVar("M", bound=Model)


def token_of(request: Request) -> ApiToken | None:
    """The API token the request authenticated with, if any."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


def sees_everything(request: Request) -> bool:
    """Staff logged in with a session see every platform's data; a token always acts for its platform."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff and token_of(request) is None)


def platform_of(request: Request) -> Platform | None:
    """The one platform the caller acts for: the token's, or a session user's only platform; else None."""
    if hasattr(request, _CACHE_ATTR):
        return getattr(request, _CACHE_ATTR)
    token = token_of(request)
    platform: Platform | None = None
    if token is not None:
        platform = token.platform
    else:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            memberships = list(Platform.objects.filter(members=user).order_by("pk")[:2])
            platform = memberships[0] if len(memberships) == 1 else None
    setattr(request, _CACHE_ATTR, platform)
    return platform


def scope(queryset: QuerySet[M], request: Request, platform_field: str) -> QuerySet[M]:
    """`queryset` cut down to what the caller may see; `platform_field` leads from the model to its Platform."""
    if sees_everything(request):
        return queryset
    token = token_of(request)
    if token is not None:
        return queryset.filter(**{platform_field: token.platform_id})
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return queryset.none()
    return queryset.filter(**{f"{platform_field}__in": Platform.objects.filter(members=user).values("pk")})


class ActsForPlatform(BasePermission):
    """Only a caller acting for exactly one platform may submit uploads or manage webhooks."""

    message = "This account acts for no platform (or for several): use the API token of the platform you submit for."

    def has_permission(self, request: Request, view: Any) -> bool:
        return platform_of(request) is not None
