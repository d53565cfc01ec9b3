"""Royalty runs and the audit trail: staff and auditors only, every total recomputed from what the viewer may
read, and "Verify now" recording a check that tells an intact trail from a tampered one."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rights import audit, roles
from rights.models import AuditCheck, AuditEvent, AuditorGrant, Statement
from rights.web.audit import events_for
from tests.web.conftest import World
from tests.web.test_statements import Royalties, royalties  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

PAGES = ["web:runs", "web:audit-trail"]


def run_url(made: Royalties) -> str:
    return reverse("web:run", args=[made.run.pk])


def test_staff_and_auditors_read_the_pages_and_no_other_role_does(world: World, royalties: Royalties) -> None:  # noqa: F811
    urls = [reverse(name) for name in PAGES] + [run_url(royalties)]
    for user in (world.ours.staff, world.ours.auditor, world.theirs.auditor, world.superuser):
        for url in urls:
            assert world.client(user).get(url).status_code == 200, (user, url)
    for user in (world.ours.artist_user, world.ours.platform_user, world.nobody):
        for url in urls:
            assert world.client(user).get(url).status_code == 403, (user, url)


def test_anonymous_visitors_are_sent_to_log_in(world: World, royalties: Royalties) -> None:  # noqa: F811
    for url in [reverse(name) for name in PAGES] + [run_url(royalties)]:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"] == f"/login/?next={url}", url


def test_an_expired_grant_gives_no_access(world: World, royalties: Royalties) -> None:  # noqa: F811
    AuditorGrant.objects.filter(user=world.ours.auditor).update(
        expires_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    client = world.client(world.ours.auditor)
    for url in [reverse(name) for name in PAGES] + [run_url(royalties)]:
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("web:audit-verify")).status_code == 403
    assert not AuditCheck.objects.exists()


def test_the_runs_page_shows_only_the_money_the_viewer_may_read(world: World, royalties: Royalties) -> None:  # noqa: F811
    ours = world.client(world.ours.auditor).get(reverse("web:runs")).content.decode()
    theirs = world.client(world.theirs.auditor).get(reverse("web:runs")).content.decode()
    root = world.client(world.superuser).get(reverse("web:runs")).content.decode()

    # Ours: 9.01 + 5.33 EUR paid, 0.50 EUR held for a claim under review, 900 + 600 JPY (no decimals).
    assert 'paid <span class="num">14.34 EUR</span> · held 0.50 EUR' in ours
    assert 'paid <span class="num">1,500 JPY</span>' in ours
    assert 'paid <span class="num">7.10 EUR</span> · held 0.00 EUR' in theirs
    assert "21.44 EUR" not in ours and "21.44 EUR" not in theirs
    # Only a viewer of every label gets the run's own totals, unallocated money included.
    assert 'paid <span class="num">21.44 EUR</span> · held 0.50 EUR' in root and "unallocated" in root
    for page in (ours, theirs, root):
        assert royalties.run.result_digest in page and royalties.run.input_digest in page
        assert "Reported revenue per line" in page and royalties.period in page


def test_a_run_shows_the_viewers_statements_and_held_money(world: World, royalties: Royalties) -> None:  # noqa: F811
    response = world.client(world.ours.auditor).get(run_url(royalties))

    shown = {statement for statement, _ in response.context["statement_rows"]}
    assert shown == set(Statement.objects.filter(party__in=[world.ours.label_party, world.ours.artist_party]))
    page = response.content.decode()
    assert world.theirs.label_party.name not in page and world.theirs.artist_party.name not in page
    assert "Claim waiting for review" in page and "0.50 EUR" in page
    assert f"run_royalties --period {royalties.period} --verify" in page
    assert royalties.run.result_digest in page
    assert "usage lines" not in page  # the run's own line counts are everyone's

    theirs = world.client(world.theirs.auditor).get(run_url(royalties)).content.decode()
    assert "None of your money is held" in theirs and world.ours.label_party.name not in theirs


def test_verify_now_records_a_check_and_shows_the_trail_intact(world: World) -> None:
    client = world.client(world.ours.auditor)

    response = client.post(reverse("web:audit-verify"), follow=True)

    check = AuditCheck.objects.get()
    assert check.ok and check.events == AuditEvent.objects.count() > 0
    assert check.checked_by == world.ours.auditor.username
    assert response.redirect_chain == [(reverse("web:audit-trail"), 302)]
    page = response.content.decode()
    assert '<span class="figure ok" id="trail-state">Intact</span>' in page
    assert f"The audit trail is intact: {check.events} events checked." in page


def test_a_tampered_event_shows_the_trail_broken_with_the_problem(world: World) -> None:
    victim = AuditEvent.objects.filter(entity="rights.claim").order_by("seq").first()
    assert victim is not None
    AuditEvent.objects.filter(pk=victim.pk).update(actor_name="someone-else")  # bypasses the signals, like SQL would

    page = world.client(world.ours.staff).post(reverse("web:audit-verify"), follow=True).content.decode()

    check = AuditCheck.objects.get()
    assert not check.ok
    assert '<span class="figure bad" id="trail-state">Broken</span>' in page
    assert f"event #{victim.seq} (created rights.claim {victim.entity_id}) was edited: its hash differs" in page
    assert check.problems == [p.message for p in audit.verify()[1]]


def test_the_history_lists_every_check(world: World) -> None:
    audit.check_and_record(None)
    audit.check_and_record(world.ours.staff)

    response = world.client(world.ours.auditor).get(reverse("web:audit-trail"))

    assert list(response.context["checks"]) == list(AuditCheck.objects.all())
    assert response.content.decode().count(">Intact</td>") == 2


def test_verifying_is_the_only_write_and_only_by_post(world: World, royalties: Royalties) -> None:  # noqa: F811
    auditor = world.client(world.ours.auditor)
    for url in [reverse(name) for name in PAGES] + [run_url(royalties)]:
        assert auditor.post(url).status_code == 403, url
    assert auditor.get(reverse("web:audit-verify")).status_code == 405
    for user in (world.ours.artist_user, world.ours.platform_user):
        assert world.client(user).post(reverse("web:audit-verify")).status_code == 403
    assert not AuditCheck.objects.exists()


def test_verify_needs_the_csrf_token(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.ours.auditor)

    assert client.post(reverse("web:audit-verify")).status_code == 403
    assert not AuditCheck.objects.exists()


def keys(events: Any) -> set[tuple[str, str]]:
    return {(e.entity, e.entity_id) for e in events}


def test_the_latest_events_are_those_of_the_viewers_labels(world: World) -> None:
    ours = keys(events_for(roles.viewer_for(world.ours.auditor)))
    staff = keys(events_for(roles.viewer_for(world.ours.staff)))
    everyone = keys(events_for(roles.viewer_for(world.superuser)))

    our_claims = {("rights.claim", str(c.pk)) for c in world.ours.claims}
    their_claims = {("rights.claim", str(c.pk)) for c in world.theirs.claims}
    assert our_claims <= ours and not their_claims & ours
    assert ("rights.rightsholder", str(world.ours.label_party.pk)) in ours
    assert ("rights.rightsholder", str(world.theirs.label_party.pk)) not in ours
    assert ours == staff and ours < everyone
    assert keys(events_for(roles.viewer_for(world.ours.artist_user))) == set()

    page = world.client(world.ours.auditor).get(reverse("web:audit-trail")).content.decode()
    assert f"rights.claim {world.ours.claims[0].pk}<" in page
    assert f"rights.claim {world.theirs.claims[0].pk}<" not in page
