"""Ownership over 100 % is a conflict: found per territory and dates, open until staff fix the ownerships."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from rights import holdings, ownership
from rights.models import OwnershipConflict
from tests import factories

D = Decimal
JAN, APR, JUN, DEC = (datetime.date(2026, m, d) for m, d in ((1, 1), (4, 1), (6, 30), (12, 31)))


@pytest.mark.parametrize(
    ("shares", "conflicted"),
    [
        (["60", "40"], "0"),
        (["70", "60"], "30"),
        (["100", "100"], "100"),
        (["50", "50", "50"], "100"),
        (["90", "20"], "10"),
        # 100.5 % in all: any of the four may be the one asserting 0.5 too much, so 0.5 of each is held.
        (["33.3333", "33.3333", "33.3334", "0.5"], "1.5"),
    ],
)
def test_the_conflicted_share_is_what_no_owner_is_undisputedly_entitled_to(shares: list[str], conflicted: str) -> None:
    assert ownership.conflicted_share([D(s) for s in shares]) == D(conflicted)


def stake(i: int, share: str, where: set[str], start: datetime.date = JAN, end: datetime.date | None = None):  # type: ignore[no-untyped-def]
    return ownership.Stake(i, D(share), frozenset(where), start, end)


def test_conflicts_are_found_only_where_territories_and_dates_overlap() -> None:
    found = ownership.find_conflicts(
        [
            stake(1, "100", {"DE", "FR", "US"}),
            stake(2, "50", {"FR", "US", "JP"}, start=APR, end=JUN),
        ]
    )

    assert found == [ownership.Conflict((1, 2), frozenset({"FR", "US"}), APR, JUN, D(150), D(50))]


def test_shares_that_add_up_to_exactly_100_are_not_a_conflict() -> None:
    assert ownership.find_conflicts([stake(1, "60", {"GB"}), stake(2, "40", {"GB"})]) == []


def test_different_sets_of_owners_make_separate_conflicts() -> None:
    found = ownership.find_conflicts(
        [
            stake(1, "80", {"DE", "FR"}),
            stake(2, "30", {"DE"}),
            stake(3, "30", {"FR"}, end=JUN),
        ]
    )

    assert [(c.ownership_ids, sorted(c.territories), c.start, c.end) for c in found] == [
        ((1, 2), ["DE"], JAN, None),
        ((1, 3), ["FR"], JAN, JUN),
    ]


@pytest.mark.django_db
def test_a_second_owner_asserting_too_much_opens_a_conflict_that_a_correction_resolves() -> None:
    staff = get_user_model().objects.create_user("bob", password="x-not-used-1")
    recording = factories.recording(1)
    first = holdings.add_ownership(
        owner=factories.party("Label A"), recording=recording, right="master", territories=["WORLD"], share="100"
    )
    second = holdings.add_ownership(
        owner=factories.party("Label B"),
        recording=recording,
        right="master",
        territories=["DE", "AT"],
        share="40",
        start_date=JAN,
    )

    conflict = OwnershipConflict.objects.get()
    assert conflict.status == "open"
    assert sorted(conflict.territories) == ["AT", "DE"]
    assert (conflict.total_share, conflict.conflicted_share) == (D(140), D(40))
    assert set(conflict.ownerships.all()) == {first, second}
    assert "140.0000% of master" in str(conflict)

    holdings.change_ownership(first, actor=staff, note="Label A confirms 60 % in DACH.", share="60")

    conflict.refresh_from_db()
    assert conflict.status == "resolved" and conflict.resolved_by == staff
    assert conflict.resolution == "Label A confirms 60 % in DACH."
    assert not OwnershipConflict.objects.open().exists()


@pytest.mark.django_db
def test_a_conflict_on_a_work_right_is_separate_from_other_rights() -> None:
    work = factories.work(1)
    for name in ("P1", "P2"):
        holdings.add_ownership(
            owner=factories.party(name, kind="publisher"),
            work=work,
            right="performance",
            territories=["GB"],
            share="60",
        )
    holdings.add_ownership(
        owner=factories.party("P3", kind="publisher"), work=work, right="mechanical", territories=["GB"], share="100"
    )

    assert list(OwnershipConflict.objects.values_list("right", flat=True)) == ["performance"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"right": "performance"}, "A recording carries the master right"),
        ({"territories": ["XX"]}, "'XX' is not an ISO 3166-1 alpha-2 country code"),
        ({"territories": []}, "Name at least one territory"),
        ({"share": "120"}, "less than or equal to 100"),
        ({"end_date": datetime.date(2000, 1, 1), "start_date": JAN}, "cannot end before it starts"),
    ],
)
def test_an_invalid_ownership_is_refused_with_the_rule_it_broke(fields: dict, message: str) -> None:  # type: ignore[type-arg]
    base = {
        "owner": factories.party("L"),
        "recording": factories.recording(1),
        "right": "master",
        "territories": ["WORLD"],
        "share": "50",
    }

    with pytest.raises(ValidationError, match=message):
        holdings.add_ownership(**{**base, **fields})
