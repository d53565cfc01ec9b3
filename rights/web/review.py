"""The review queue of label staff: potential claims of their labels with filters, one-key decisions and bulk
decisions; and the open ownership conflicts and reference overlaps that touch their labels.

Everything works as plain GET forms and POST forms; review.js adds keyboard shortcuts and decides rows in
place. The queries and decisions live in rights.review so the API and the admin can reuse them.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from catalog.identifiers import IdentifierError, normalize_territory
from rights import claims, review, roles
from rights.models import Claim, RightsHolder
from rights.web.access import role_required

PAGE_SIZE = 50


class QueueFilterForm(forms.Form):
    """The queue's filters (a GET form: a filtered queue is a link staff can share)."""

    reason = forms.ChoiceField(
        label="Reason",
        required=False,
        choices=[("", "Any reason"), *((kind, label) for kind, (label, _) in review.REASON_KINDS.items())],
    )
    min_confidence = forms.FloatField(
        label="Confidence from",
        required=False,
        min_value=0,
        max_value=1,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    max_confidence = forms.FloatField(
        label="Confidence to",
        required=False,
        min_value=0,
        max_value=1,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    owner = forms.TypedChoiceField(label="Owner", required=False, coerce=int, empty_value=None)
    territory = forms.CharField(
        label="Territory",
        required=False,
        max_length=2,
        widget=forms.TextInput(attrs={"size": "3", "placeholder": "DE", "autocapitalize": "characters"}),
    )
    age = forms.ChoiceField(label="Age", required=False, choices=[("", "Any age"), *review.AGES.items()])

    def __init__(self, *args: Any, owners: list[RightsHolder], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Any owner"), *((str(o.pk), o.name) for o in owners)]

    def clean_territory(self) -> str:
        code = self.cleaned_data["territory"].strip()
        if not code:
            return ""
        try:
            normalised = normalize_territory(code)
        except IdentifierError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if normalised == "WORLD":
            raise forms.ValidationError("Name one country (claims list concrete territories).")
        return normalised

    def filters(self) -> review.QueueFilters:
        """The filters that are valid (an invalid field is shown with its error and ignored)."""
        data = getattr(self, "cleaned_data", {})
        return review.QueueFilters(
            reason=data.get("reason") or "",
            min_confidence=data.get("min_confidence"),
            max_confidence=data.get("max_confidence"),
            owner=data.get("owner"),
            territory=data.get("territory") or "",
            age=data.get("age") or "",
        )


def _admin_url(name: str, pk: int) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def _row(claim: Claim, now: Any) -> dict[str, Any]:
    match = claim.source
    return {
        "claim": claim,
        "match": match,
        "upload": match.scan.display_name,
        "platform": match.scan.platform,
        "reasons": [{"text": text, "kind": review.reason_kind(text)} for text in claim.review_reasons],
        "time_left": review.time_left(claim.deadline, now),
        "expires_soon": review.expires_soon(claim.deadline, now),
        "territories": claims.describe_actions(claim.territory_actions),
        "detail_url": reverse("web:claim", args=[claim.pk]),
        "audio_url": reverse("web:claim-audio", args=[claim.pk, "upload"]),
        "approve_url": reverse("web:review-decide", args=[claim.pk, review.APPROVE]),
        "release_url": reverse("web:review-decide", args=[claim.pk, review.RELEASE]),
    }


def _queue_page(request: HttpRequest, viewer: roles.Viewer) -> HttpResponse:
    now = timezone.now()
    pending = roles.claims_to_review(viewer).filter(status=Claim.Status.POTENTIAL)
    owners = list(RightsHolder.objects.filter(claims_made__in=pending).distinct().order_by("name"))
    form = QueueFilterForm(request.GET, owners=owners)
    form.is_valid()  # errors are shown next to their fields; the valid filters still apply
    filters = form.filters()
    page = Paginator(review.review_queue(viewer, filters, now), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    show_conflicts = filters.reason in ("", "conflict")
    show_overlaps = filters.reason in ("", "overlap")
    conflicts = list(review.conflicts_to_review(viewer)) if show_conflicts else []
    overlaps = list(review.overlaps_to_review(viewer)) if show_overlaps else []
    context = {
        "form": form,
        "page": page,
        "rows": [_row(claim, now) for claim in page.object_list],
        "total_pending": pending.count(),
        "query": query.urlencode(),
        "filtered": any(value not in (None, "") for value in vars(filters).values()),
        "show_conflicts": show_conflicts,
        "show_overlaps": show_overlaps,
        "conflicts": [
            {"conflict": c, "admin_url": _admin_url("admin:rights_ownershipconflict_change", c.pk)} for c in conflicts
        ],
        "overlaps": [
            {
                "overlap": o,
                "time_left": review.time_left(o.deadline, now),
                "expires_soon": review.expires_soon(o.deadline, now),
                "admin_url": _admin_url("admin:rights_referenceoverlap_change", o.pk),
            }
            for o in overlaps
        ],
    }
    return render(request, "rights/review/queue.html", context)


def _back_to_queue(query: str) -> HttpResponse:
    """Back to the queue with the filters the person had (re-encoded, so only a query string survives)."""
    clean = QueryDict(query.lstrip("?")).urlencode()
    return redirect(reverse("web:review") + (f"?{clean}" if clean else ""))


def _bulk(request: HttpRequest, viewer: roles.Viewer) -> HttpResponse:
    """Decide the checked claims; without the `confirmed` flag (no JS to ask first) show a page that asks."""
    decision = request.POST.get("decision", "")
    query = request.POST.get("query", "")
    if decision not in review.DECISIONS:
        messages.error(request, "Choose approve or release.")
        return _back_to_queue(query)
    try:
        ids = [int(value) for value in request.POST.getlist("claim")]
    except ValueError:
        ids = []
    if not ids:
        messages.error(request, "No claims were checked.")
        return _back_to_queue(query)
    if request.POST.get("confirmed") != "1":
        chosen = review.review_queue(viewer).filter(pk__in=ids)
        return render(
            request,
            "rights/review/confirm_bulk.html",
            {"decision": decision, "claims": chosen, "count": len(ids), "ids": ids, "query": query},
        )
    outcome = review.decide_claims(viewer, ids, decision, request.user, request.POST.get("reason", ""))
    if outcome.done:
        messages.success(request, outcome.message)
    else:
        messages.warning(request, outcome.message)
    for error in outcome.errors.values():
        messages.error(request, error)
    return _back_to_queue(query)


@require_http_methods(["GET", "HEAD", "POST"])
@role_required(roles.STAFF)
def review_queue(request: HttpRequest) -> HttpResponse:
    viewer: roles.Viewer = request.viewer  # type: ignore[attr-defined]
    if request.method == "POST":
        return _bulk(request, viewer)
    return _queue_page(request, viewer)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_POST
@role_required(roles.STAFF)
def review_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    """Approve or release one claim. Staff of another label get 404 (the claim is not theirs to know of).

    Answers JSON to review.js (`gone`: the row no longer belongs in the queue), a redirect otherwise.
    """
    if decision not in review.DECISIONS:
        raise Http404("Unknown decision.")
    viewer: roles.Viewer = request.viewer  # type: ignore[attr-defined]
    claim = get_object_or_404(roles.claims_to_review(viewer), pk=pk)
    try:
        decided = review.decide_claim(claim, decision, request.user, request.POST.get("reason", ""))
    except review.ReviewError as exc:
        if _wants_json(request):
            return JsonResponse({"ok": False, "message": str(exc), "gone": True}, status=409)
        messages.error(request, str(exc))
    else:
        message = f"Claim {claim.pk} ({claim.subject.title}) {review.PAST_TENSE[decision]}."
        if _wants_json(request):
            return JsonResponse({"ok": True, "message": message, "status": decided.status, "gone": True})
        messages.success(request, message)
    return _back_to_queue(request.POST.get("query", ""))
