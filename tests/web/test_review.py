"""The staff review queue: what it lists, its filters, single and bulk decisions, and who may act."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from rights import review, roles
from rights.models import Claim, ClaimEvent, OwnershipConflict, ReferenceOverlap
from tests.web.conftest import World


def queue_ids(client: Client, **params: Any) -> list[int]:
    response = client.get("/review/", params)
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'<tr data-claim="(\d+)"', response.content.decode())]


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def ids(claims: list[Claim]) -> list[int]:
    return [claim.pk for claim in claims]


# --- what the queue shows ----------------------------------------------------------------------------


def test_staff_see_only_their_labels_potential_claims_most_urgent_first(world: World) -> None:
    ours = world.ours.claims
    Claim.objects.filter(pk=ours[1].pk).update(deadline=timezone.now() + datetime.timedelta(hours=3))
    review.decide_claim(ours[3], review.APPROVE, world.ours.staff)  # decided: no longer in the queue

    listed = queue_ids(world.client(world.ours.staff))

    assert listed == [ours[1].pk, ours[0].pk, ours[2].pk]
    assert not set(listed) & set(ids(world.theirs.claims))
    assert set(queue_ids(world.client(world.superuser))) == set(ids(ours[:3] + world.theirs.claims))


def test_each_row_shows_recording_upload_confidence_span_reasons_and_countdown(world: World) -> None:
    claim = world.ours.claims[0]
    Claim.objects.filter(pk=claim.pk).update(deadline=timezone.now() + datetime.timedelta(hours=5, minutes=30))

    page = world.client(world.ours.staff).get("/review/").content.decode()
    row = re.search(rf'<tr data-claim="{claim.pk}".*?</tr>', page, re.S).group(0)

    assert claim.recording.title in row
    assert claim.match.scan.display_name in row and "OursTube" in row
    assert ">0.55<" in row
    assert "upload 5.0\u201325.0 s" in row and "reference 10.0\u201330.0 s" in row
    assert "policy requires review" in row and "low confidence (0.55 &lt; 0.90)" in row
    countdown = re.search(r'<time datetime="([^"]+)" data-deadline class="bad">([^<]+)</time>', row)
    assert countdown is not None, "a claim expiring within 24 h is marked red"
    assert countdown.group(2) in ("5 h 30 min left", "5 h 29 min left")
    assert datetime.datetime.fromisoformat(countdown.group(1)) == Claim.objects.get(pk=claim.pk).deadline
    other = re.search(rf'<tr data-claim="{world.ours.claims[1].pk}".*?</tr>', page, re.S).group(0)
    assert re.search(r"<time [^>]*data-deadline>29 d 23 h left</time>", other), "a month away is not red"
    assert "<kbd>j</kbd>" in page and "<kbd>a</kbd>" in page and "<kbd>r</kbd>" in page


def test_time_left_reads_days_hours_and_minutes() -> None:
    now = timezone.now()
    assert review.time_left(now + datetime.timedelta(days=2, hours=4, minutes=5), now) == "2 d 4 h left"
    assert review.time_left(now + datetime.timedelta(hours=3, minutes=12), now) == "3 h 12 min left"
    assert review.time_left(now + datetime.timedelta(seconds=20), now) == "1 min left"
    assert review.time_left(now - datetime.timedelta(minutes=1), now) == "expired"


def test_reason_kinds_are_read_from_the_reason_texts() -> None:
    assert review.reason_kind("low confidence (0.55 < 0.90)") == "confidence"
    assert review.reason_kind("short match (2.0 s < 5.0 s)") == "short"
    assert review.reason_kind("ownership conflict: 150.0000% of master asserted") == "conflict"
    assert review.reason_kind("reference overlap with Track 7") == "overlap"
    assert review.reason_kind("AI-provenance finding: watermark found") == "provenance"
    assert review.reason_kind("rule 2 of policy 'Ours' routes to review") == "policy"
    assert review.reason_kind("policy requires review") == "policy"


# --- filters -----------------------------------------------------------------------------------------


def test_filter_by_reason(world: World) -> None:
    conflicted, overlapping, *rest = world.ours.claims
    Claim.objects.filter(pk=conflicted.pk).update(review_reasons=["ownership conflict: 150.0000% of master asserted"])
    Claim.objects.filter(pk=overlapping.pk).update(review_reasons=["reference overlap with Track 9"])
    client = world.client(world.ours.staff)

    assert queue_ids(client, reason="conflict") == [conflicted.pk]
    assert queue_ids(client, reason="overlap") == [overlapping.pk]
    assert queue_ids(client, reason="confidence") == ids(rest)
    assert queue_ids(client, reason="provenance") == []


def test_filter_by_confidence_range(world: World) -> None:
    client = world.client(world.ours.staff)  # confidences 0.55, 0.56, 0.57, 0.58
    claims = world.ours.claims

    assert queue_ids(client, min_confidence="0.565") == ids(claims[2:])
    assert queue_ids(client, max_confidence="0.555") == ids(claims[:1])
    assert queue_ids(client, min_confidence="0.555", max_confidence="0.575") == ids(claims[1:3])


def test_filter_by_owner_offers_only_claimants_in_the_queue(world: World) -> None:
    claim = world.ours.claims[2]
    Claim.objects.filter(pk=claim.pk).update(claimant=world.ours.artist_party)
    client = world.client(world.ours.staff)

    page = client.get("/review/").content.decode()
    owner_select = re.search(r'<select name="owner".*?</select>', page, re.S).group(0)
    assert "Ours Artist" in owner_select and "Ours Records" in owner_select
    assert "Theirs" not in owner_select
    assert queue_ids(client, owner=world.ours.artist_party.pk) == [claim.pk]
    assert claim.pk not in queue_ids(client, owner=world.ours.label_party.pk)


def test_filter_by_territory(world: World) -> None:
    german, *rest = world.ours.claims
    Claim.objects.filter(pk=german.pk).update(territory_actions={"block": ["DE"], "monetize": ["FR"]})
    Claim.objects.filter(pk__in=ids(rest)).update(territory_actions={"monetize": ["FR", "US"]})
    client = world.client(world.ours.staff)

    assert queue_ids(client, territory="de") == [german.pk]
    assert queue_ids(client, territory="US") == ids(rest)
    response = client.get("/review/", {"territory": "XX"})
    assert "is not an ISO 3166-1 alpha-2 country code" in response.content.decode()
    assert len(re.findall(r'<tr data-claim="', response.content.decode())) == 4, "an invalid filter is ignored"


def test_filter_by_age(world: World) -> None:
    old, expiring, *recent = world.ours.claims
    now = timezone.now()
    Claim.objects.filter(pk=old.pk).update(created_at=now - datetime.timedelta(days=10))
    Claim.objects.filter(pk=expiring.pk).update(deadline=now + datetime.timedelta(hours=2))
    client = world.client(world.ours.staff)

    assert queue_ids(client, age="older") == [old.pk]
    assert set(queue_ids(client, age="week")) == {expiring.pk, *ids(recent)}
    assert set(queue_ids(client, age="today")) == {expiring.pk, *ids(recent)}
    assert queue_ids(client, age="expiring") == [expiring.pk]


def test_open_conflicts_and_overlaps_of_own_labels_are_listed(world: World) -> None:
    now = timezone.now()

    def conflict(recording: Any, signature: str) -> OwnershipConflict:
        return OwnershipConflict.objects.create(
            recording=recording, right="master", territories=["DE"], start_date=datetime.date(2020, 1, 1),
            total_share=Decimal("150"), conflicted_share=Decimal("50"), signature=signature, detected_at=now,
        )  # fmt: skip

    conflict(world.ours.recordings[0], "ours")
    conflict(world.theirs.recordings[0], "theirs")
    a, b = sorted(world.ours.recordings[:2], key=lambda r: r.pk)
    ReferenceOverlap.objects.create(first=a, second=b, scan=world.ours.claims[0].match.scan, overlap_s=12.5)
    c, d = sorted(world.theirs.recordings[:2], key=lambda r: r.pk)
    ReferenceOverlap.objects.create(first=c, second=d, scan=world.theirs.claims[0].match.scan, overlap_s=7.0)
    client = world.client(world.ours.staff)

    page = client.get("/review/", {"reason": "conflict"}).content.decode()
    conflicts = page[page.index('id="conflicts-heading"') :]
    assert world.ours.recordings[0].title in conflicts and "150.00 %" in conflicts
    assert world.theirs.recordings[0].title not in conflicts
    assert 'id="overlaps-heading"' not in page, "a reason filter shows only its own section"

    page = client.get("/review/", {"reason": "overlap"}).content.decode()
    overlaps = page[page.index('id="overlaps-heading"') :]
    assert "12.5 s" in overlaps and "7.0 s" not in overlaps
    assert 'id="conflicts-heading"' not in page

    assert set(review.conflicts_to_review(roles.viewer_for(world.ours.staff))) == set(
        OwnershipConflict.objects.filter(signature="ours")
    )


# --- deciding one claim --------------------------------------------------------------------------------


@pytest.mark.parametrize(("decision", "status"), [("approve", "active"), ("release", "released")])
def test_deciding_one_claim_records_who_and_returns_to_the_filtered_queue(
    world: World, decision: str, status: str
) -> None:
    claim = world.ours.claims[0]
    client = world.client(world.ours.staff)

    response = client.post(f"/review/{claim.pk}/{decision}/", {"query": "reason=confidence&age=week"})

    assert response.status_code == 302 and response["Location"] == "/review/?reason=confidence&age=week"
    claim.refresh_from_db()
    assert claim.status == status
    event = ClaimEvent.objects.filter(claim=claim).order_by("-pk").first()
    assert (event.actor, event.from_status, event.to_status) == (world.ours.staff, "potential", status)
    assert messages_of(response) == [f"Claim {claim.pk} ({claim.recording.title}) {review.PAST_TENSE[decision]}."]
    assert claim.pk not in queue_ids(client)


def test_a_claim_already_decided_gives_a_clear_message_not_an_error(world: World) -> None:
    claim = world.ours.claims[0]
    client = world.client(world.ours.staff)
    client.post(f"/review/{claim.pk}/approve/", follow=True)  # the queue page shows (and uses up) its message

    again = client.post(f"/review/{claim.pk}/release/")
    assert again.status_code == 302
    assert messages_of(again) == [
        f"Claim {claim.pk} is no longer waiting for review (it is active); nothing was changed."
    ]

    as_json = client.post(f"/review/{claim.pk}/approve/", HTTP_ACCEPT="application/json")
    assert as_json.status_code == 409
    assert as_json.json()["gone"] is True and "no longer waiting for review" in as_json.json()["message"]
    claim.refresh_from_db()
    assert claim.status == "active" and claim.events.count() == 2


def test_deciding_from_the_page_script_answers_json(world: World) -> None:
    claim = world.ours.claims[1]
    response = world.client(world.ours.staff).post(f"/review/{claim.pk}/approve/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    message = f"Claim {claim.pk} ({claim.recording.title}) approved."
    assert response.json() == {"ok": True, "message": message, "status": "active", "gone": True}
    assert Claim.objects.get(pk=claim.pk).status == "active"


# --- bulk decisions ------------------------------------------------------------------------------------


def test_bulk_approve_asks_with_the_count_then_reports_it(world: World) -> None:
    chosen = world.ours.claims[:3]
    client = world.client(world.ours.staff)
    form = {"claim": ids(chosen), "decision": "approve", "query": "reason=confidence"}

    page = client.get("/review/").content.decode()
    assert 'data-confirm-template="Approve {n} claims?"' in page

    asked = client.post("/review/", form)  # no script: a page asks first
    assert asked.status_code == 200
    assert "Approve 3 claims?" in asked.content.decode()
    assert all(c.status == "potential" for c in Claim.objects.filter(pk__in=ids(chosen)))

    done = client.post("/review/", {**form, "confirmed": "1"})

    assert done.status_code == 302 and done["Location"] == "/review/?reason=confidence"
    assert messages_of(done) == ["3 claims approved"]
    for claim in Claim.objects.filter(pk__in=ids(chosen)):
        assert claim.status == "active"
        assert claim.events.order_by("-pk").first().actor == world.ours.staff
    assert queue_ids(client) == [world.ours.claims[3].pk]


def test_bulk_release_reports_claims_it_could_not_change(world: World) -> None:
    decided, waiting = world.ours.claims[:2]
    foreign = world.theirs.claims[0]
    review.decide_claim(decided, review.APPROVE, world.ours.staff)
    client = world.client(world.ours.staff)

    response = client.post(
        "/review/", {"claim": [decided.pk, waiting.pk, foreign.pk], "decision": "release", "confirmed": "1"}
    )

    assert messages_of(response) == [
        "1 claim released; 2 not changed",
        f"Claim {decided.pk} is no longer waiting for review (it is active); nothing was changed.",
        f"Claim {foreign.pk} is not one you can decide.",
    ]
    assert Claim.objects.get(pk=waiting.pk).status == "released"
    assert Claim.objects.get(pk=foreign.pk).status == "potential"
    assert Claim.objects.get(pk=decided.pk).status == "active"


def test_bulk_without_checked_claims_says_so(world: World) -> None:
    response = world.client(world.ours.staff).post("/review/", {"decision": "approve", "confirmed": "1"})
    assert response.status_code == 302
    assert messages_of(response) == ["No claims were checked."]


# --- who may act ---------------------------------------------------------------------------------------


def test_staff_of_another_label_get_404_and_change_nothing(world: World) -> None:
    foreign = world.theirs.claims[0]
    client = world.client(world.ours.staff)

    for decision in ("approve", "release"):
        assert client.post(f"/review/{foreign.pk}/{decision}/").status_code == 404
    assert client.post(f"/review/{foreign.pk}/approve/", HTTP_ACCEPT="application/json").status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "potential" and foreign.events.count() == 1


@pytest.mark.parametrize("who", ["artist_user", "platform_user", "auditor"])
def test_other_roles_get_403_on_the_queue_and_on_every_action(world: World, who: str) -> None:
    claim = world.ours.claims[0]
    client = world.client(getattr(world.ours, who))

    assert client.get("/review/").status_code == 403
    assert client.post(f"/review/{claim.pk}/approve/").status_code == 403
    assert client.post(f"/review/{claim.pk}/release/").status_code == 403
    assert client.post("/review/", {"claim": [claim.pk], "decision": "approve", "confirmed": "1"}).status_code == 403
    assert Claim.objects.get(pk=claim.pk).status == "potential"


def test_a_user_without_a_role_gets_403(world: World) -> None:
    assert world.client(world.nobody).get("/review/").status_code == 403


def test_anonymous_users_are_sent_to_log_in(world: World) -> None:
    claim = world.ours.claims[0]
    client = Client()

    page = client.get("/review/?reason=conflict")
    assert page.status_code == 302 and page["Location"].startswith("/login/?next=/review/")
    action = client.post(f"/review/{claim.pk}/approve/")
    assert action.status_code == 302 and action["Location"].startswith("/login/")
    assert Claim.objects.get(pk=claim.pk).status == "potential"


def test_the_decide_functions_respect_the_viewers_scope(world: World) -> None:
    viewer = roles.viewer_for(world.theirs.staff)
    outcome = review.decide_claims(viewer, ids(world.ours.claims[:1] + world.theirs.claims), "approve", viewer.user)

    assert outcome.done == ids(world.theirs.claims)
    assert list(outcome.errors) == [world.ours.claims[0].pk]
    assert outcome.message == "2 claims approved; 1 not changed"
