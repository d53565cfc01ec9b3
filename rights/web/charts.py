"""Charts for label staff and auditors: claims per day, match confidence, top matched recordings, royalties
by party. Drawn on the server as inline SVG (rights.charts) from the viewer's data (rights.dashboards), each
with its numbers as a table too."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe

from rights import charts, dashboards, roles
from rights.models import Claim, RoyaltyRun
from rights.web.access import role_required
from rights.web.audit import read_only

STATE_COLOURS = {
    Claim.Status.POTENTIAL: "#9a6700",
    Claim.Status.ACTIVE: "#116329",
    Claim.Status.RELEASED: "#6e7781",
    Claim.Status.DISPUTED: "#a40e26",
    Claim.Status.APPEALED: "#8250df",
    Claim.Status.TAKEDOWN: "#1b1f24",
}


def short_state(label: str) -> str:
    """'Potential (needs review)' -> 'Potential': legends stay short, the table keeps the state's value."""
    return label.split(" (")[0]


@dataclass
class Panel:
    """One chart and the same numbers as a table."""

    slug: str
    heading: str
    svg: SafeString
    note: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    numeric_from: int = 1  # columns from this one on are numbers (right-aligned)


def claims_panel(viewer: roles.Viewer) -> Panel:
    daily = dashboards.claims_per_day(viewer)
    names = {state: short_state(label) for state, label in dashboards.CLAIM_STATES}
    svg = charts.stacked_bar_chart(
        "Claims per day by state, last 30 days",
        [f"{day:%d %b}" for day in daily.days],
        [(names[state], counts) for state, counts in daily.counts.items()],
        x_axis="Day the claim was made",
        y_axis="Claims",
        colors={names[state]: colour for state, colour in STATE_COLOURS.items()},
        column_titles=[f"{day:%A %d %B %Y}" for day in daily.days],
        chart_id="claims-per-day",
    )
    states = [state for state, _ in dashboards.CLAIM_STATES]
    rows = []
    for n, day in enumerate(daily.days):
        per_state = [daily.counts[state][n] for state in states]
        if any(per_state):
            rows.append([f"{day:%Y-%m-%d}", *map(str, per_state), str(sum(per_state))])
    return Panel(
        "claims-per-day",
        "Claims per day",
        mark_safe(svg),  # rights.charts escapes every text it draws
        f"{daily.total} claims made in the last 30 days, by the state each is in now. Days without claims are "
        "left out of the table.",
        ["Day", *(names[state] for state in states), "All"],
        rows,
    )


def confidence_panel(viewer: roles.Viewer) -> Panel:
    bins = dashboards.confidence_histogram(viewer)
    edges = [str(edge) for edge in bins.edges]
    svg = charts.histogram(
        "Claims by match confidence",
        edges,
        bins.counts,
        x_axis="Confidence of the match (0 to 1)",
        y_axis="Claims",
        chart_id="match-confidence",
    )
    last = len(bins.counts) - 1
    rows = [
        [f"{edges[n]} to {'' if n == last else 'under '}{edges[n + 1]}", str(count)]
        for n, count in enumerate(bins.counts)
    ]
    return Panel(
        "match-confidence",
        "Match confidence",
        mark_safe(svg),  # rights.charts escapes every text it draws
        f"{sum(bins.counts)} claims, by how sure the fingerprint match behind each was.",
        ["Confidence", "Claims"],
        rows,
    )


def top_recordings_panel(viewer: roles.Viewer) -> Panel:
    top = dashboards.top_matched_recordings(viewer)
    svg = charts.bar_chart(
        "Most matched recordings",
        [(f"{r.title} ({r.isrc})" if r.isrc else r.title, r.matches) for r in top],
        value_axis="Matches in uploads",
        category_axis="Recording",
        chart_id="top-recordings",
    )
    return Panel(
        "top-recordings",
        "Most matched recordings",
        mark_safe(svg),  # rights.charts escapes every text it draws
        f"The {len(top)} recordings heard in the most uploads." if top else "No recording has been matched yet.",
        ["Recording", "ISRC", "Matches"],
        [[r.title, r.isrc, str(r.matches)] for r in top],
        numeric_from=2,
    )


def royalties_panels(viewer: roles.Viewer, run: RoyaltyRun | None) -> list[Panel]:
    by_currency = dashboards.royalties_by_party(viewer, run)
    if not by_currency:
        svg = charts.no_data("Royalties by party", "royalties", "No statements to show for this run.")
        return [Panel("royalties", "Royalties by party", mark_safe(svg), "", ["Party", "Paid"])]
    panels = []
    for currency, parties in by_currency.items():
        svg = charts.bar_chart(
            f"Royalties by party, {currency}",
            [(p.name, p.minor) for p in parties],
            value_axis=f"Paid ({currency})",
            category_axis="Party",
            value_text=lambda minor, currency=currency: charts.format_money(minor, currency),
            chart_id=f"royalties-{currency}",
        )
        panels.append(
            Panel(
                f"royalties-{currency.lower()}",
                f"Royalties by party ({currency})",
                mark_safe(svg),  # rights.charts escapes every text it draws
                f"What the statements you may read paid each party in {currency}, largest first (at most 12).",
                ["Party", "Paid"],
                [[p.name, charts.format_money(p.minor, currency)] for p in parties],
            )
        )
    return panels


@role_required(roles.STAFF, roles.AUDITOR)
@read_only
def charts_page(request: HttpRequest) -> HttpResponse:
    viewer: roles.Viewer = request.viewer  # type: ignore[attr-defined]
    done_runs = list(
        roles.runs_for(viewer).filter(status=RoyaltyRun.Status.DONE).order_by("-period", "-started_at", "-pk")[:60]
    )
    wanted = request.GET.get("run", "")
    selected = next((r for r in done_runs if str(r.pk) == wanted), done_runs[0] if done_runs else None)
    context = {
        "claim_panels": [claims_panel(viewer), confidence_panel(viewer), top_recordings_panel(viewer)],
        "royalty_panels": royalties_panels(viewer, selected),
        "runs": done_runs,
        "selected_run": selected,
    }
    return render(request, "rights/charts/charts.html", context)
