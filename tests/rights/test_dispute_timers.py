"""Disputes, appeals and the claim timers, with frozen time (every verb takes `now`)."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings

from rights import actions, disputes, tasks
from rights.models import Claim, Dispute
from tests import factories

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 10, 1, 12, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def people():  # type: ignore[no-untyped-def]
    User = get_user_model()
    return User.objects.create_user("staff", password="x-not-used-1"), User.objects.create_user(
        "uploader", password="x-not-used-2"
    )


def _claim(status: str = "active", index: int = 1) -> Claim:
    """A claim made at T0 for the label's party (the first party of the label claims)."""
    recording = factories.recording(index)
    if index == 1:
        factories.party("Label 1", label=recording.label)
    claim = actions.claim_match(factories.match(recording), now=T0)
    assert claim is not None and claim.claimant is not None
    if status == "active":
        claim = actions.approve_claim(claim, None)
    return claim


def test_an_unreviewed_potential_claim_expires_after_30_days() -> None:
    claim = _claim(status="potential")
    assert claim.deadline == T0 + 30 * DAY

    assert disputes.enforce_timers(now=T0 + 30 * DAY - datetime.timedelta(seconds=1)).total == 0
    report = disputes.enforce_timers(now=T0 + 30 * DAY)

    claim.refresh_from_db()
    assert report.expired_potential == 1
    assert claim.status == "released" and claim.deadline is None
    assert claim.events.last().reason == "Expired: not reviewed within 30 days."
    assert disputes.enforce_timers(now=T0 + 60 * DAY).total == 0  # idempotent


@override_settings(RIGHTS_TIMERS={"potential_claim_days": 3})
def test_timers_are_configurable() -> None:
    claim = _claim(status="potential")

    assert claim.deadline == T0 + 3 * DAY


def test_a_dispute_nobody_answers_in_30_days_releases_the_claim(people) -> None:  # type: ignore[no-untyped-def]
    _, uploader = people
    claim = _claim()
    dispute = disputes.dispute_claim(
        claim, reason="original", evidence="I composed and recorded this myself.", actor=uploader, now=T0
    )
    claim.refresh_from_db()
    assert claim.status == "disputed" and claim.deadline == T0 + 30 * DAY

    disputes.enforce_timers(now=T0 + 29 * DAY)
    claim.refresh_from_db()
    assert claim.status == "disputed"

    report = disputes.enforce_timers(now=T0 + 30 * DAY)
    claim.refresh_from_db()
    dispute.refresh_from_db()
    assert report.disputes_expired == 1
    assert claim.status == "released"
    assert dispute.outcome == "expired" and dispute.winner == "uploader"
    assert claim.events.last().reason == "Released: the claimant did not answer the dispute within 30 days."


def test_an_upheld_dispute_can_be_appealed_and_an_unanswered_appeal_releases_after_7_days(people) -> None:  # type: ignore[no-untyped-def]
    staff, uploader = people
    claim = _claim()
    disputes.dispute_claim(claim, reason="licensed", evidence="Licence 42 from the label.", actor=uploader, now=T0)
    disputes.uphold_dispute(claim, staff, "Licence 42 covers sync, not UGC.", now=T0 + 2 * DAY)
    claim.refresh_from_db()
    assert claim.status == "disputed"  # escrow continues while the uploader may appeal
    assert claim.deadline == T0 + 32 * DAY

    appeal = disputes.appeal_claim(
        claim, reason="licensed", evidence="Clause 3 covers UGC.", actor=uploader, now=T0 + 5 * DAY
    )
    claim.refresh_from_db()
    assert claim.status == "appealed" and claim.deadline == T0 + 12 * DAY

    disputes.enforce_timers(now=T0 + 12 * DAY)
    claim.refresh_from_db()
    appeal.refresh_from_db()
    assert claim.status == "released" and appeal.outcome == "expired"
    assert [(e.from_status, e.to_status) for e in claim.events.order_by("at", "pk")] == [
        ("", "potential"),
        ("potential", "active"),
        ("active", "disputed"),
        ("disputed", "disputed"),
        ("disputed", "appealed"),
        ("appealed", "released"),
    ]


def test_an_upheld_dispute_nobody_appeals_is_reinstated(people) -> None:  # type: ignore[no-untyped-def]
    staff, uploader = people
    claim = _claim()
    disputes.dispute_claim(claim, reason="fair_use", evidence="Review.", actor=uploader, now=T0)
    disputes.uphold_dispute(claim, staff, "Not a review: the whole track plays.", now=T0 + DAY)

    report = disputes.enforce_timers(now=T0 + 31 * DAY)

    claim.refresh_from_db()
    assert report.reinstated == 1 and claim.status == "active" and claim.deadline is None


@pytest.mark.parametrize(
    ("decision", "status", "outcome"),
    [("reinstate", "active", "upheld"), ("takedown", "takedown", "takedown"), ("release", "released", "released")],
)
def test_the_claimant_answers_an_appeal(people, decision: str, status: str, outcome: str) -> None:  # type: ignore[no-untyped-def]
    staff, uploader = people
    claim = _claim()
    disputes.dispute_claim(claim, reason="misidentified", evidence="Different song.", actor=uploader, now=T0)
    disputes.uphold_dispute(claim, staff, "Same melody and master.", now=T0)
    disputes.appeal_claim(claim, reason="misidentified", evidence="Listen at 0:30.", actor=uploader, now=T0)

    claim = disputes.answer_appeal(claim, decision, staff, "Checked at 0:30.", now=T0 + DAY)

    assert claim.status == status
    assert claim.disputes.get(kind="appeal").outcome == outcome
    assert claim.events.last().actor == staff


@pytest.mark.parametrize(
    ("setup", "call", "message"),
    [
        (
            "potential",
            lambda c, u: disputes.dispute_claim(c, reason="original", evidence="x", actor=u),
            "Only an active claim can be disputed; this one is potential",
        ),
        (
            "active",
            lambda c, u: disputes.dispute_claim(c, reason="because", evidence="x", actor=u),
            "Unknown reason 'because'",
        ),
        ("active", lambda c, u: disputes.dispute_claim(c, reason="original", evidence="  ", actor=u), "Give evidence"),
        (
            "active",
            lambda c, u: disputes.appeal_claim(c, reason="original", evidence="x", actor=u),
            "Only a dispute the claimant upheld can be appealed",
        ),
    ],
)
def test_disputes_and_appeals_are_refused_when_the_claim_does_not_allow_them(people, setup, call, message) -> None:  # type: ignore[no-untyped-def]
    claim = _claim(status=setup)

    with pytest.raises(disputes.DisputeError, match=message):
        call(claim, people[1])
    assert not Dispute.objects.exists()


def test_the_over_claiming_figure_is_the_share_of_disputes_lost(people) -> None:  # type: ignore[no-untyped-def]
    staff, uploader = people
    won, lost_release, lost_appeal, pending = (_claim(index=i) for i in (1, 2, 3, 4))
    for claim in (won, lost_release, lost_appeal, pending):
        disputes.dispute_claim(claim, reason="original", evidence="Mine.", actor=uploader, now=T0)
    disputes.uphold_dispute(won, staff, "Ours.", now=T0)
    disputes.appeal_claim(won, reason="original", evidence="Mine!", actor=uploader, now=T0)
    disputes.answer_appeal(won, "reinstate", staff, "Ours, see the ISRC.", now=T0)
    disputes.release_disputed_claim(lost_release, staff, "Sorry, our mistake.", now=T0)
    disputes.uphold_dispute(lost_appeal, staff, "Ours.", now=T0)
    disputes.appeal_claim(lost_appeal, reason="original", evidence="Mine!", actor=uploader, now=T0)
    disputes.enforce_timers(now=T0 + 8 * DAY)  # the appeal went unanswered

    [figure] = disputes.over_claiming()

    assert (figure.claimant, figure.decided, figure.lost) == ("Label 1", 3, 2)
    assert figure.share_lost == pytest.approx(2 / 3)


def test_the_beat_task_and_the_command_enforce_timers_at_the_current_time() -> None:
    from config import settings as project_settings

    claim = _claim(status="potential")
    entry = project_settings.CELERY_BEAT_SCHEDULE["enforce-claim-timers"]
    assert entry["task"] == "rights.tasks.enforce_claim_timers"

    with mock.patch("django.utils.timezone.now", return_value=T0 + 31 * DAY):
        assert tasks.enforce_claim_timers.delay().get() == 1
        out = __import__("io").StringIO()
        call_command("enforce_claim_timers", stdout=out)

    claim.refresh_from_db()
    assert claim.status == "released"
    assert "0 potential claim(s) expired" in out.getvalue()
