"""Statements: the list a viewer may read, one statement drilled down to its usage lines, and its downloads.

Artists read their own statements, label staff and auditors those of their labels' parties (rights.roles).
A statement nobody may read answers 404, for the page and for both downloads alike.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse

from rights import exports, roles, royalties
from rights.charts import format_money
from rights.models import Statement, StatementLine
from rights.web.access import role_required
from rights.web.audit import read_only

STATEMENTS_PER_PAGE = 50
LINES_PER_PAGE = 50


def visible_statement(viewer: roles.Viewer, pk: int) -> Statement:
    """The statement if the viewer may read it, else 404 (whether or not it exists)."""
    return get_object_or_404(roles.statements_for(viewer).select_related("run", "party"), pk=pk)


@role_required()
@read_only
def statements(request: HttpRequest) -> HttpResponse:
    viewer: roles.Viewer = request.viewer  # type: ignore[attr-defined]
    queryset = (
        Statement.objects.filter(pk__in=roles.statements_for(viewer).values("pk"))
        .select_related("run", "party")
        .order_by("-run__period", "-run__started_at", "-run_id", "party__name", "party_id", "currency")
    )
    page = Paginator(queryset, STATEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(s, format_money(s.paid_minor, s.currency)) for s in page.object_list]
    return render(request, "rights/statements/list.html", {"page": page, "rows": rows})


# --- one statement, drilled down ----------------------------------------------------------------------


def paying_lines(statement: Statement) -> tuple[array, int]:
    """The statement lines of the run that pay the statement's party in its currency, in export order
    (recording, then line), and the sum of what they pay the party: equal to the statement, to the unit.

    Lines keep their payees as JSON lists: PostgreSQL finds the party's lines with a containment test;
    other databases (SQLite in development) get the run's paid lines in that currency and look in Python.
    Only ids are kept (8 bytes a line), so a label's statement of a large run stays small in memory.
    """
    party = statement.party_id
    lines = StatementLine.objects.filter(
        run_id=statement.run_id, kind=StatementLine.Kind.PAID, currency=statement.currency
    )
    if connection.vendor == "postgresql":
        lines = lines.filter(parties__contains=[party])
    ids, total = array("q"), 0
    rows = lines.order_by("recording_id", "pk").values_list("pk", "parties", "amounts").iterator(chunk_size=5000)
    for pk, parties, amounts in rows:
        paid = sum(amount for who, amount in zip(parties, amounts, strict=True) if who == party)
        if paid:  # the run skips a party's zero parts (the statement does not count them either)
            ids.append(pk)
            total += paid
    return ids, total


def claim_url(claim_id: int | None) -> str:
    """The claim's detail page, where this deployment has one."""
    if claim_id is None:
        return ""
    try:
        return reverse("web:claim", args=[claim_id])
    except NoReverseMatch:
        return ""


def revenue_text(amount: Decimal | None, currency: str) -> str:
    """A reported amount with at least the currency's decimals, and more only where the report had them."""
    if amount is None:
        return ""
    places = royalties.minor_exponent(currency)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        return f"{amount.normalize():f}"
    return f"{amount.quantize(Decimal(1).scaleb(-places)):f}"


@dataclass(frozen=True)
class DrillRow:
    """One statement line as the party sees it: where the money came from, and their part of it."""

    line: StatementLine
    amount_minor: int
    amount: str
    share: str
    revenue: str
    claim_url: str


def drill_rows(statement: Statement, ids: Iterable[int]) -> list[DrillRow]:
    ids = list(ids)
    lines = StatementLine.objects.filter(pk__in=ids).select_related(
        "usage_line__report", "recording", "work", "claim", "split", "licence"
    )
    by_pk = {line.pk: line for line in lines}
    party, currency = statement.party_id, statement.currency
    rows = []
    for pk in ids:
        line = by_pk.get(pk)
        if line is None:  # the run was deleted while the page was being made
            continue
        parts = [(amount, share) for who, amount, share in line.parts() if who == party]
        amount = sum(amount for amount, _ in parts)
        shares = ", ".join(f"{Decimal(share).normalize():f} %" for _, share in parts if share is not None)
        usage = line.usage_line
        rows.append(
            DrillRow(
                line,
                amount,
                format_money(amount, currency),
                shares,
                revenue_text(usage.amount, usage.report.currency) if usage else "",
                claim_url(line.claim_id),
            )
        )
    return rows


@role_required()
@read_only
def statement(request: HttpRequest, pk: int) -> HttpResponse:
    viewer: roles.Viewer = request.viewer  # type: ignore[attr-defined]
    the_statement = visible_statement(viewer, pk)
    ids, total = paying_lines(the_statement)
    page = Paginator(ids, LINES_PER_PAGE).get_page(request.GET.get("page"))
    rows = drill_rows(the_statement, page.object_list)
    currency = the_statement.currency
    return render(
        request,
        "rights/statements/detail.html",
        {
            "statement": the_statement,
            "run": the_statement.run,
            "paid": format_money(the_statement.paid_minor, currency),
            "page": page,
            "rows": rows,
            "page_total": format_money(sum(row.amount_minor for row in rows), currency),
            "lines_total_minor": total,
            "lines_total": format_money(total, currency),
            "lines_match": total == the_statement.paid_minor,
            "line_count": len(ids),
        },
    )


# --- downloads -------------------------------------------------------------------------------------------


def _attachment(chunks: Iterator[str], content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse((chunk.encode() for chunk in chunks), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@role_required()
@read_only
def statement_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The statement's amounts, one row per usage line, with the trail of each (rights.exports CSV)."""
    the_statement = visible_statement(request.viewer, pk)  # type: ignore[attr-defined]
    chunks = exports.statement_csv(the_statement.run, the_statement.party, currency=the_statement.currency)
    return _attachment(chunks, "text/csv; charset=utf-8", f"{exports.statement_file_stem(the_statement)}.csv")


@role_required()
@read_only
def statement_dsr(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The party's statement for the run as a DDEX DSR-shaped flat file (tab-separated, HEAD to FOOT); DSR
    carries one summary record per currency, so it covers every currency of the party in the run."""
    the_statement = visible_statement(request.viewer, pk)  # type: ignore[attr-defined]
    chunks = exports.statement_dsr(the_statement.run, the_statement.party)
    name = f"{exports.statement_file_stem(the_statement, with_currency=False)}-dsr.tsv"
    return _attachment(chunks, "text/tab-separated-values; charset=utf-8", name)
