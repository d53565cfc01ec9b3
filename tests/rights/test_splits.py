"""Splits: Decimal shares summing to exactly 100 %, validated before anything is written."""

from __future__ import annotations

import datetime

import pytest

from rights import splits
from rights.models import Split, SplitShare
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def parties():  # type: ignore[no-untyped-def]
    return (
        factories.party("Label"),
        factories.party("Artist", kind="artist"),
        factories.party("Producer", kind="artist"),
    )


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        (["50", "30", "20.0001"], "Shares sum to 100.0001 %, over 100 %"),
        (["50", "30", "19.9999"], "Shares sum to 99.9999 %, under 100 %"),
        (["50", "50", "0"], "Producer: a share must be above 0 %"),
        (["50", "49.99999", "0.00001"], "at most 4 decimals"),
        (["fifty", "30", "20"], "'fifty' is not a number"),
    ],
)
def test_it_rejects_splits_that_do_not_sum_to_exactly_100_percent(parties, shares, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(splits.SplitError, match=message):
        splits.set_split(
            recording=factories.recording(1), shares=[(p, s, "") for p, s in zip(parties, shares, strict=True)]
        )

    assert not Split.objects.exists() and not SplitShare.objects.exists()


def test_a_valid_split_is_stored_with_exact_decimals(parties) -> None:  # type: ignore[no-untyped-def]
    recording = factories.recording(1)

    split = splits.set_split(
        recording=recording,
        shares=[
            (parties[0], "33.3333", "label"),
            (parties[1], "33.3333", "artist"),
            (parties[2], "33.3334", "producer"),
        ],
    )

    assert split.stream == "master"
    assert [str(s.share) for s in split.shares.order_by("pk")] == ["33.3333", "33.3333", "33.3334"]


def test_a_party_cannot_appear_twice(parties) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(splits.SplitError, match="Label appears twice"):
        splits.set_split(recording=factories.recording(1), shares=[(parties[0], "50", ""), (parties[0], "50", "")])


def test_overlapping_splits_are_refused_but_territory_and_dated_ones_coexist(parties) -> None:  # type: ignore[no-untyped-def]
    label, artist, _ = parties
    recording = factories.recording(1)
    world = splits.set_split(
        recording=recording, shares=[(label, "80", ""), (artist, "20", "")], end_date=datetime.date(2026, 6, 30)
    )

    with pytest.raises(splits.SplitError, match=f"overlaps split {world.pk}"):
        splits.set_split(recording=recording, shares=[(label, "100", "")])
    later = splits.set_split(
        recording=recording, shares=[(label, "70", ""), (artist, "30", "")], start_date=datetime.date(2026, 7, 1)
    )
    japan = splits.set_split(recording=recording, territories=["JP"], shares=[(artist, "100", "")])

    assert splits.split_for(recording=recording, territory="GB", day=datetime.date(2026, 3, 1)) == world
    assert splits.split_for(recording=recording, territory="GB", day=datetime.date(2026, 8, 1)) == later
    assert splits.split_for(recording=recording, territory="JP", day=datetime.date(2026, 8, 1)) == japan


def test_a_work_split_shares_publishing_income(parties) -> None:  # type: ignore[no-untyped-def]
    split = splits.set_split(
        work=factories.work(1), shares=[(parties[1], "50", "writer"), (parties[2], "50", "publisher")]
    )

    assert split.stream == "publishing"
