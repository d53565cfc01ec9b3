"""Who an API caller is to the rights engine, and the permissions the rights endpoints share.

A platform's API token acts for that platform only (its uploads, its claims, its usage reports),
whoever the token's user is. A logged-in session acts with all of its user's roles (rights.roles).
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from fingerprint.permissions import token_of
from rights import roles
from rights.models import RightsHolder

_CACHE_ATTR = "_contentid_viewer"


def viewer_of(request: Request) -> roles.Viewer:
    """The caller's viewer, read once per request."""
    cached = getattr(request, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    token = token_of(request)
    if token is not None:
        parties = RightsHolder.objects.filter(platform_id=token.platform_id).values_list("pk", flat=True)
        viewer = roles.Viewer(user=request.user, platforms=frozenset({token.platform_id}), parties=frozenset(parties))
    else:
        viewer = roles.viewer_for(request.user)
    setattr(request, _CACHE_ATTR, viewer)
    return viewer


class HasRole(BasePermission):
    """Reads need any role; writes need one of the view's `write_roles` (auditors are never among them)."""

    message = "Your role does not allow this."

    def has_permission(self, request: Request, view: Any) -> bool:
        viewer = viewer_of(request)
        if not viewer.roles:
            return False
        if request.method in SAFE_METHODS:
            return True
        return any(viewer.has(role) for role in getattr(view, "write_roles", ()))
