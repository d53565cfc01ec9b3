"""Royalty runs and the audit trail, for label staff and auditors.

These pages only read, with one exception: "Verify now" on the audit trail. Every amount shown is
recomputed from what the viewer may read (rights.dashboards); a run's own totals, which add up every
label's money, are shown only to a viewer of every label.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from rights import audit, dashboards, roles
from rights.audit import entity_name
from rights.charts import format_money
from rights.models import (
    AuditCheck,
    AuditEvent,
    Claim,
    ClaimEvent,
    Dispute,
    Licence,
    Ownership,
    OwnershipConflict,
    Policy,
    PolicyRule,
    RightsHolder,
    RoyaltyRun,
    Split,
    SplitShare,
    StatementLine,
    UnclaimedMatch,
)
from rights.web.access import role_required

RUNS_PER_PAGE = 25
STATEMENTS_PER_PAGE = 50
CHECKS_PER_PAGE = 20
LATEST_EVENTS = 50


def read_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page that only reads: any method but GET or HEAD is refused (403). Auditors write nothing, and
    nothing here is written by anyone, so there is no form to post."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied("This page only reads.")
        return view(request, *args, **kwargs)

    return wrapped


@dataclass(frozen=True)
class CurrencyTotals:
    """A run's money in one currency that the viewer may read, formatted."""

    currency: str
    paid: str
    held: str
    returned: str
    unallocated: str | None  # only a viewer of every label sees money nobody owns


def currency_totals(totals: dict[str, dict[str, int]], all_labels: bool) -> list[CurrencyTotals]:
    return [
        CurrencyTotals(
            currency,
            format_money(kinds.get("paid", 0), currency),
            format_money(kinds.get("held", 0), currency),
            format_money(kinds.get("returned", 0), currency),
            format_money(kinds.get("unallocated", 0), currency) if all_labels else None,
        )
        for currency, kinds in totals.items()
    ]


def verify_command(run: RoyaltyRun) -> str:
    """The command that re-computes the run's period and compares its digest."""
    return f"python manage.py run_royalties --period {run.period:%Y-%m} --verify"


@role_required(roles.STAFF, roles.AUDITOR)
@read_only
def runs(request: HttpRequest) -> HttpResponse:
    viewer: roles.Viewer = request.viewer  # type: ignore[attr-defined]
    queryset = roles.runs_for(viewer).select_related("started_by").order_by("-period", "-started_at", "-pk")
    page = Paginator(queryset, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    totals = dashboards.visible_run_totals(viewer, page.object_list)
    rows = [(run, currency_totals(totals[run.pk], viewer.all_labels)) for run in page.object_list]
    return render(request, "rights/audit/runs.html", {"page": page, "rows": rows, "all_labels": viewer.all_labels})


@role_required(roles.STAFF, roles.AUDITOR)
@read_only
def run(request: HttpRequest, pk: int) -> HttpResponse:
    viewer: roles.Viewer = request.viewer  # type: ignore[attr-defined]
    the_run = get_object_or_404(roles.runs_for(viewer).select_related("started_by"), pk=pk)
    statements = (
        dashboards.visible_statements(viewer)
        .filter(run=the_run)
        .select_related("party")
        .order_by("party__name", "party_id", "currency")
    )
    page = Paginator(statements, STATEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    statement_rows = [(s, format_money(s.paid_minor, s.currency)) for s in page.object_list]
    totals = dashboards.visible_run_totals(viewer, [the_run])[the_run.pk]
    hold_names, kind_names = dict(StatementLine.Hold.choices), dict(StatementLine.Kind.choices)
    holds = [
        {
            "currency": currency,
            "reason": hold_names[hold] if hold else kind_names[kind],
            "lines": lines,
            "amount": format_money(minor, currency),
        }
        for currency, kind, hold, lines, minor in dashboards.visible_holds(viewer, the_run)
    ]
    return render(
        request,
        "rights/audit/run.html",
        {
            "run": the_run,
            "page": page,
            "statement_rows": statement_rows,
            "totals": currency_totals(totals, viewer.all_labels),
            "holds": holds,
            "verify_command": verify_command(the_run),
            "findings": the_run.totals.get("findings", []) if viewer.all_labels else [],
            "all_labels": viewer.all_labels,
        },
    )


# --- the audit trail ---------------------------------------------------------------------------------


def _ids(queryset: QuerySet[Any]) -> QuerySet[Any]:
    """The rows' primary keys as text, the type of AuditEvent.entity_id (for a subquery)."""
    return queryset.annotate(entity_key=Cast("pk", CharField())).values("entity_key")


def events_for(viewer: roles.Viewer) -> QuerySet[AuditEvent]:
    """Audit events about rows of the viewer's labels (as staff or auditor), newest first.

    An event is shown when the row it is about still exists and belongs to one of those labels: claims and
    their history and disputes, ownerships the labels' parties hold, conflicts and splits on their recordings
    (and works), licences they granted or hold, their policies and parties. Events about deleted rows, and
    about anything shared with another label, are left out rather than risk showing another label's change.
    """
    events = AuditEvent.objects.order_by("-seq")
    if viewer.all_labels:
        return events
    labels = viewer.staff_labels | viewer.audited_labels
    if not labels:
        return events.none()
    parties = RightsHolder.objects.filter(Q(label__in=labels) | Q(artist__label__in=labels))
    splits = Split.objects.filter(Q(recording__label__in=labels) | Q(work__recordings__label__in=labels))
    policies = Policy.objects.filter(Q(label__in=labels) | Q(owner__in=parties.values("pk")))
    scoped: list[tuple[type[Any], QuerySet[Any]]] = [
        (Claim, Claim.objects.filter(label__in=labels)),
        (ClaimEvent, ClaimEvent.objects.filter(claim__label__in=labels)),
        (Dispute, Dispute.objects.filter(claim__label__in=labels)),
        (UnclaimedMatch, UnclaimedMatch.objects.filter(match__recording__label__in=labels)),
        (Ownership, Ownership.objects.filter(owner__in=parties.values("pk"))),
        (OwnershipConflict, OwnershipConflict.objects.filter(recording__label__in=labels)),
        (Split, splits),
        (SplitShare, SplitShare.objects.filter(split__in=splits.values("pk"))),
        (Licence, Licence.objects.filter(Q(licensor__in=parties.values("pk")) | Q(licensee__in=parties.values("pk")))),
        (Policy, policies),
        (PolicyRule, PolicyRule.objects.filter(policy__in=policies.values("pk"))),
        (RightsHolder, parties),
    ]
    q = Q(pk__in=[])
    for model, rows in scoped:
        q |= Q(entity=entity_name(model), entity_id__in=_ids(rows))
    return events.filter(q)


@role_required(roles.STAFF, roles.AUDITOR)
@read_only
def audit_trail(request: HttpRequest) -> HttpResponse:
    viewer: roles.Viewer = request.viewer  # type: ignore[attr-defined]
    checks = Paginator(AuditCheck.objects.all(), CHECKS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "rights/audit/trail.html",
        {
            "latest": AuditCheck.objects.first(),
            "checks": checks,
            "events": list(events_for(viewer)[:LATEST_EVENTS]),
            "all_labels": viewer.all_labels,
        },
    )


@role_required(roles.STAFF, roles.AUDITOR)
@require_POST
def verify_audit_trail(request: HttpRequest) -> HttpResponse:
    """Walk the hash chain now and record the outcome (an AuditCheck).

    Auditors may do this although they write nothing else: a verification only reads the trail and changes
    no one's data; the AuditCheck row it leaves is the record that the trail was checked, when and by whom,
    which is exactly what an auditor is there to produce.
    """
    checked, problems = audit.check_and_record(request.user)
    if problems:
        messages.error(request, f"The audit trail is broken: {len(problems)} problem(s) in {checked} events.")
    else:
        messages.success(request, f"The audit trail is intact: {checked} events checked.")
    return redirect("web:audit-trail")
