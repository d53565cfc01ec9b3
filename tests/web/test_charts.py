"""The charts page: staff and auditors only, every chart drawn from the viewer's own claims, matches and
statements, each as inline SVG with its numbers as a table."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rights import dashboards, roles
from rights.models import AuditorGrant, Claim
from tests.web.conftest import World
from tests.web.test_statements import Royalties, royalties  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


def panels(response: object) -> dict[str, object]:
    context = response.context  # type: ignore[attr-defined]
    return {panel.slug: panel for panel in [*context["claim_panels"], *context["royalty_panels"]]}


def test_only_staff_and_auditors_see_the_charts(world: World) -> None:
    url = reverse("web:charts")
    for user in (world.ours.staff, world.ours.auditor, world.superuser):
        assert world.client(user).get(url).status_code == 200
    for user in (world.ours.artist_user, world.ours.platform_user, world.nobody):
        assert world.client(user).get(url).status_code == 403
    assert Client().get(url)["Location"] == f"/login/?next={url}"
    assert world.client(world.ours.auditor).post(url).status_code == 403
    AuditorGrant.objects.filter(user=world.ours.auditor).update(
        expires_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    assert world.client(world.ours.auditor).get(url).status_code == 403


def test_every_chart_is_inline_svg_with_its_numbers_as_a_table(world: World, royalties: Royalties) -> None:  # noqa: F811
    response = world.client(world.ours.auditor).get(reverse("web:charts"))

    found = panels(response)
    assert set(found) == {"claims-per-day", "match-confidence", "top-recordings", "royalties-eur", "royalties-jpy"}
    for panel in found.values():
        root = ET.fromstring(str(panel.svg))  # type: ignore[attr-defined]
        assert root.get("role") == "img" and root.get("aria-label")
        assert panel.rows  # type: ignore[attr-defined]
    page = response.content.decode()
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 5
    assert page.count("<details>") == 5 and "Match confidence as a table" in page


def test_the_charts_count_only_the_viewers_claims_matches_and_money(world: World, royalties: Royalties) -> None:  # noqa: F811
    found = panels(world.client(world.ours.auditor).get(reverse("web:charts")))

    today = f"{timezone.localdate():%Y-%m-%d}"
    assert found["claims-per-day"].rows == [[today, "4", "0", "0", "0", "0", "0", "4"]]  # type: ignore[attr-defined]
    assert found["match-confidence"].rows[5] == ["0.5 to under 0.6", "4"]  # type: ignore[attr-defined]
    assert sum(int(row[1]) for row in found["match-confidence"].rows) == 4  # type: ignore[attr-defined]
    titles = {row[0] for row in found["top-recordings"].rows}  # type: ignore[attr-defined]
    assert titles == {r.title for r in world.ours.recordings}
    assert found["royalties-eur"].rows == [  # type: ignore[attr-defined]
        [world.ours.label_party.name, "9.01 EUR"],
        [world.ours.artist_party.name, "5.33 EUR"],
    ]
    assert found["royalties-jpy"].rows == [  # type: ignore[attr-defined]
        [world.ours.label_party.name, "900 JPY"],
        [world.ours.artist_party.name, "600 JPY"],
    ]
    bars = ET.fromstring(str(found["royalties-eur"].svg)).iter(f"{SVG}rect")  # type: ignore[attr-defined]
    assert sum("bar" in (rect.get("class") or "") for rect in bars) == 2


def test_without_a_royalty_run_the_royalties_chart_says_so(world: World) -> None:
    response = world.client(world.ours.auditor).get(reverse("web:charts"))
    page = response.content.decode()

    assert "No finished royalty run yet." in page
    assert "No statements to show for this run." in page
    assert panels(response)["royalties"].rows == []  # type: ignore[attr-defined]


def test_the_dashboard_queries_follow_the_viewers_scope(world: World) -> None:
    ours = roles.viewer_for(world.ours.staff)
    everyone = roles.viewer_for(world.superuser)
    artist = roles.viewer_for(world.ours.artist_user)

    assert dashboards.claims_per_day(ours).total == 4
    assert dashboards.claims_per_day(everyone).total == 6
    assert dashboards.claims_per_day(ours).counts[Claim.Status.POTENTIAL][-1] == 4  # made today
    tomorrow = timezone.localdate() + datetime.timedelta(days=31)
    assert dashboards.claims_per_day(ours, today=tomorrow).total == 0  # older than 30 days: left out
    bins = dashboards.confidence_histogram(everyone)
    assert bins.edges[0] == Decimal("0.0") and bins.edges[-1] == Decimal("1.0") and len(bins.counts) == 10
    assert bins.counts[5] == 6
    assert [r.matches for r in dashboards.top_matched_recordings(artist)] == [2, 1, 1]
    assert dashboards.royalties_by_party(ours, None) == {}
