"""The claims a user can see (roles.claims_for), filtered by status and paginated; each links to its page."""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from rights import roles
from rights.models import Claim
from rights.web.access import role_required

PAGE_SIZE = 25
# "disputed" covers appealed claims too: both wait on the claimant, and the home page links it that way.
STATUS_GROUPS = {"disputed": [Claim.Status.DISPUTED, Claim.Status.APPEALED]}
STATUS_CHOICES = [
    ("", "Any status"),
    (Claim.Status.POTENTIAL, "Potential (needs review)"),
    (Claim.Status.ACTIVE, "Active"),
    ("disputed", "Disputed or appealed"),
    (Claim.Status.APPEALED, "Appealed only"),
    (Claim.Status.RELEASED, "Released"),
    (Claim.Status.TAKEDOWN, "Taken down"),
]


class ClaimFilterForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    q = forms.CharField(label="Recording, work or upload", required=False, max_length=100)


@require_safe
@role_required()
def claim_list(request: HttpRequest) -> HttpResponse:
    viewer: roles.Viewer = request.viewer  # type: ignore[attr-defined]
    form = ClaimFilterForm(request.GET)
    claims = roles.claims_for(viewer).with_sources().select_related("claimant")
    if form.is_valid():
        status = form.cleaned_data["status"]
        if status:
            claims = claims.filter(status__in=STATUS_GROUPS.get(status, [status]))
        text = form.cleaned_data["q"].strip()
        if text:
            claims = claims.filter(
                Q(recording__title__icontains=text)
                | Q(work__title__icontains=text)
                | Claim.on_scans(original_name__icontains=text)
            )
    page = Paginator(claims.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "rights/claims/list.html",
        {"form": form, "page": page, "query": query.urlencode(), "can_review": viewer.is_staff},
    )
