"""The home page: what needs each role's attention, with links to the pages that act on it."""

from __future__ import annotations

import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from rights import review, roles
from rights.models import AuditCheck, Claim
from rights.web.access import role_required


def _links(*names: str) -> dict[str, str]:
    """URLs of the pages the cards link to (a page not installed in this deployment gets none)."""
    links = {}
    for name in names:
        try:
            links[name.replace("-", "_")] = reverse(f"web:{name}")
        except NoReverseMatch:
            links[name.replace("-", "_")] = ""
    return links


@role_required()
def home(request: HttpRequest) -> HttpResponse:
    viewer: roles.Viewer = request.viewer  # type: ignore[attr-defined]
    now = timezone.now()
    context: dict[str, object] = {"links": _links("review", "claims", "artist", "runs", "audit-trail")}
    if viewer.is_staff:
        queue = roles.claims_to_review(viewer).filter(status=Claim.Status.POTENTIAL)
        context["staff"] = {
            "potential": queue.count(),
            "expiring": queue.filter(deadline__lte=now + datetime.timedelta(days=1)).count(),
            "disputed": roles.claims_to_review(viewer)
            .filter(status__in=[Claim.Status.DISPUTED, Claim.Status.APPEALED])
            .count(),
            # The same scopes as the queue's sections, so the cards and the queue agree.
            "conflicts": review.conflicts_to_review(viewer).count(),
            "overlaps": review.overlaps_to_review(viewer).count(),
        }
    if viewer.is_artist:
        context["artist"] = {
            "works": roles.works_for(roles.Viewer(user=viewer.user, artists=viewer.artists)).count(),
            "recordings": roles.recordings_for(roles.Viewer(user=viewer.user, artists=viewer.artists)).count(),
            "claims": roles.claims_for(viewer).count(),
        }
    if viewer.is_platform:
        platform_claims = Claim.objects.filter(Claim.on_scans(platform__in=viewer.platforms))
        context["platform"] = {
            "uploads": roles.scans_for(roles.Viewer(user=viewer.user, platforms=viewer.platforms)).count(),
            "claims": platform_claims.count(),
            "disputed": platform_claims.filter(status__in=[Claim.Status.DISPUTED, Claim.Status.APPEALED]).count(),
        }
    if viewer.is_auditor or viewer.is_staff:
        context["audit"] = {"runs": roles.runs_for(viewer).count(), "last_check": AuditCheck.objects.first()}
    return render(request, "rights/home.html", context)
