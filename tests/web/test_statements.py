"""Statements: each role sees only the statements it may, drilled down to lines that add up to the statement,
and downloads (CSV, DDEX DSR) that match it.

The `royalties` fixture makes a real royalty run of this month through rights.runs from imported usage
reports (EUR and JPY) for both sides of the `world`; the other web tests import it from here.
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from rights import royalties as money
from rights import runs, splits, usage
from rights.models import AuditorGrant, RoyaltyRun, Statement
from rights.web import statements as statement_views
from tests.web.conftest import World

pytestmark = pytest.mark.django_db


@dataclass
class Royalties:
    """A finished run of this month, and the statements the tests look at."""

    run: RoyaltyRun
    period: str

    def statement(self, party: Any, currency: str = "EUR") -> Statement:
        return Statement.objects.get(run=self.run, party=party, currency=currency)


def make_royalties(world: World) -> Royalties:
    """Splits on the first recording of each side, usage for every recording, one claimed upload's usage (held
    while its claim waits for review), in EUR and JPY; then the month's run, computed by rights.runs."""
    ours, theirs = world.ours, world.theirs
    splits.set_split(
        recording=ours.recordings[0], shares=[(ours.label_party, "60", "label"), (ours.artist_party, "40", "artist")]
    )
    splits.set_split(
        recording=theirs.recordings[0],
        shares=[(theirs.label_party, "50", "label"), (theirs.artist_party, "50", "artist")],
    )
    held_claim = ours.claims[2]  # on our third recording, waiting for review
    assert held_claim.recording == ours.recordings[2] and held_claim.status == "potential"
    period = f"{timezone.localdate():%Y-%m}"
    o0, o1, o2 = (r.isrc for r in ours.recordings)
    t0, t1, _ = (r.isrc for r in theirs.recordings)
    eur = [
        "isrc,territory,use,quantity,amount,claim_id",
        f"{o0},GB,streaming,1000,10.00,",
        f"{o0},US,streaming,333,3.33,",  # 60/40 of 3.33: the odd cent by largest remainder
        f"{o1},DE,streaming,100,1.01,",  # no split, no owner: the recording's label
        f"{o2},FR,ugc,50,0.50,{held_claim.pk}",
        f"{t0},GB,streaming,700,7.00,",
        f"{t1},US,streaming,10,0.10,",
    ]
    jpy = ["isrc,territory,use,quantity,amount", f"{o0},JP,streaming,1500,1500", f"{t0},JP,streaming,200,200"]
    usage.import_csv(("\n".join(eur) + "\n").encode(), period=period, currency="EUR", file_name="eur.csv")
    usage.import_csv(("\n".join(jpy) + "\n").encode(), period=period, currency="JPY", file_name="jpy.csv")
    run = runs.run_royalties(period)
    assert run.status == RoyaltyRun.Status.DONE
    return Royalties(run, period)


@pytest.fixture
def royalties(world: World) -> Royalties:
    return make_royalties(world)


def body(response: Any) -> str:
    if isinstance(response, StreamingHttpResponse):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def statement_urls(statement: Statement) -> list[str]:
    return [reverse(name, args=[statement.pk]) for name in ("web:statement", "web:statement-csv", "web:statement-dsr")]


def test_the_run_pays_each_party_what_the_tests_expect(world: World, royalties: Royalties) -> None:
    paid = {(s.party_id, s.currency): s.paid_minor for s in royalties.run.statements.all()}
    assert paid == {
        (world.ours.label_party.pk, "EUR"): 600 + 200 + 101,
        (world.ours.artist_party.pk, "EUR"): 400 + 133,
        (world.ours.label_party.pk, "JPY"): 900,
        (world.ours.artist_party.pk, "JPY"): 600,
        (world.theirs.label_party.pk, "EUR"): 350 + 10,
        (world.theirs.artist_party.pk, "EUR"): 350,
        (world.theirs.label_party.pk, "JPY"): 100,
        (world.theirs.artist_party.pk, "JPY"): 100,
    }


def test_an_artist_sees_only_their_own_statements(world: World, royalties: Royalties) -> None:
    response = world.client(world.ours.artist_user).get(reverse("web:statements"))

    assert response.status_code == 200
    shown = {statement for statement, _ in response.context["rows"]}
    assert shown == set(Statement.objects.filter(party=world.ours.artist_party))
    page = response.content.decode()
    assert "5.33 EUR" in page and "600 JPY" in page  # money with each currency's decimals
    assert world.theirs.artist_party.name not in page and world.ours.label_party.name not in page


def test_an_artist_gets_404_on_anothers_statement_and_its_downloads(world: World, royalties: Royalties) -> None:
    client = world.client(world.ours.artist_user)
    for other in (royalties.statement(world.theirs.artist_party), royalties.statement(world.ours.label_party)):
        for url in statement_urls(other):
            assert client.get(url).status_code == 404, url
    for url in statement_urls(royalties.statement(world.ours.artist_party)):
        assert client.get(url).status_code == 200, url


def test_an_auditor_sees_their_labels_statements_and_not_the_others(world: World, royalties: Royalties) -> None:
    client = world.client(world.ours.auditor)

    response = client.get(reverse("web:statements"))

    shown = {statement for statement, _ in response.context["rows"]}
    ours = {world.ours.label_party.pk, world.ours.artist_party.pk}
    assert shown == set(Statement.objects.filter(party__in=ours))
    assert world.theirs.label_party.name not in response.content.decode()
    for url in statement_urls(royalties.statement(world.theirs.label_party, "JPY")):
        assert client.get(url).status_code == 404, url
    for url in statement_urls(royalties.statement(world.ours.label_party, "JPY")):
        assert client.get(url).status_code == 200, url


def test_an_expired_grant_gives_no_access(world: World, royalties: Royalties) -> None:
    AuditorGrant.objects.filter(user=world.ours.auditor).update(
        expires_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    client = world.client(world.ours.auditor)

    assert client.get(reverse("web:statements")).status_code == 403
    for url in statement_urls(royalties.statement(world.ours.label_party)):
        assert client.get(url).status_code == 403, url


def test_a_grant_expiring_today_still_gives_access(world: World, royalties: Royalties) -> None:
    AuditorGrant.objects.filter(user=world.ours.auditor).update(expires_on=timezone.localdate())

    response = world.client(world.ours.auditor).get(statement_urls(royalties.statement(world.ours.label_party))[0])

    assert response.status_code == 200


def test_anonymous_visitors_are_sent_to_log_in(world: World, royalties: Royalties) -> None:
    from django.test import Client

    for url in [reverse("web:statements"), *statement_urls(royalties.statement(world.ours.artist_party))]:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), url


def test_a_platform_user_has_no_statements_to_read(world: World, royalties: Royalties) -> None:
    client = world.client(world.ours.platform_user)

    response = client.get(reverse("web:statements"))

    assert response.status_code == 200 and response.context["rows"] == []
    assert client.get(statement_urls(royalties.statement(world.ours.artist_party))[0]).status_code == 404


def test_the_drill_down_adds_up_to_the_statement_over_every_page(
    world: World, royalties: Royalties, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statement_views, "LINES_PER_PAGE", 2)  # the label's 3 EUR lines span two pages
    statement = royalties.statement(world.ours.label_party)
    client = world.client(world.ours.staff)
    url = reverse("web:statement", args=[statement.pk])

    first = client.get(url)
    pages = first.context["page"].paginator.num_pages
    rows = [row for n in range(1, pages + 1) for row in client.get(url, {"page": n}).context["rows"]]

    assert pages == 2 and len(rows) == statement.line_count == 3
    assert sum(row.amount_minor for row in rows) == statement.paid_minor == 901
    assert first.context["lines_total_minor"] == statement.paid_minor and first.context["lines_match"]
    page = first.content.decode()
    assert "9.01 EUR" in page and "equal to the statement" in page
    traced = {(row.line.usage_line.territory, row.line.usage_line.quantity, row.share) for row in rows}
    assert traced == {("GB", 1000, "60 %"), ("US", 333, "60 %"), ("DE", 100, "100 %")}  # DE: no split, the label
    assert {row.line.recording for row in rows} == {world.ours.recordings[0], world.ours.recordings[1]}


def test_the_csv_download_parses_and_adds_up_to_the_statement(world: World, royalties: Royalties) -> None:
    statement = royalties.statement(world.ours.artist_party)

    response = world.client(world.ours.artist_user).get(reverse("web:statement-csv", args=[statement.pk]))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == (
        f'attachment; filename="statement-{royalties.period}-run{royalties.run.pk}-ours-artist-EUR.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert len(rows) == statement.line_count == 2
    assert {row["currency"] for row in rows} == {"EUR"}  # the JPY statement is another statement
    assert sum(int(row["amount_minor"]) for row in rows) == statement.paid_minor
    assert sum(Decimal(row["amount"]) for row in rows) == money.from_minor(statement.paid_minor, "EUR")
    assert {row["isrc"].replace("-", "") for row in rows} == {world.ours.recordings[0].isrc}


def test_the_dsr_download_is_a_flat_file_from_head_to_foot(world: World, royalties: Royalties) -> None:
    statement = royalties.statement(world.ours.label_party, "JPY")

    response = world.client(world.ours.auditor).get(reverse("web:statement-dsr", args=[statement.pk]))

    assert response.status_code == 200
    assert (
        response["Content-Disposition"].startswith("attachment; filename=")
        and "-dsr.tsv" in response["Content-Disposition"]
    )
    lines = body(response).splitlines()
    assert lines[0].startswith("HEAD\t") and lines[-1].startswith("FOOT\t")
    summaries = {cells[5]: Decimal(cells[7]) for cells in (line.split("\t") for line in lines) if cells[0] == "SY01"}
    assert summaries == {"EUR": Decimal("9.01"), "JPY": Decimal("900")}


def test_nothing_is_written_through_the_statement_pages(world: World, royalties: Royalties) -> None:
    statement = royalties.statement(world.ours.label_party)
    client = world.client(world.ours.auditor)

    for url in [reverse("web:statements"), *statement_urls(statement)]:
        assert client.post(url).status_code == 403, url


def test_a_claim_links_to_its_page_where_there_is_one(world: World, royalties: Royalties) -> None:
    assert statement_views.claim_url(None) == ""
    try:
        expected = reverse("web:claim", args=[7])
    except Exception:  # the claim pages are not installed: no link rather than an error
        expected = ""
    assert statement_views.claim_url(7) == expected
