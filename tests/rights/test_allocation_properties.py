"""Exact allocation (largest remainder in minor units): properties for random splits, amounts and currencies."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rights import royalties

CURRENCIES = ["EUR", "USD", "GBP", "JPY", "KRW", "KWD", "BHD", "CLF"]


@st.composite
def percent_shares(draw: st.DrawFn) -> list[Decimal]:
    """2 to 8 shares with up to 4 decimals summing to exactly 100."""
    n = draw(st.integers(min_value=2, max_value=8))
    cuts = sorted(draw(st.lists(st.integers(1, 999_999), min_size=n - 1, max_size=n - 1, unique=True)))
    bounds = [0, *cuts, 1_000_000]
    return [Decimal(hi - lo).scaleb(-4) for lo, hi in itertools.pairwise(bounds)]


@settings(max_examples=300, deadline=None)
@given(
    shares=percent_shares(),
    amount=st.decimals(min_value=0, max_value=10**9, places=4),
    currency=st.sampled_from(CURRENCIES),
)
def test_a_split_always_sums_exactly_and_each_part_is_within_one_unit(shares, amount, currency) -> None:  # type: ignore[no-untyped-def]
    total = royalties.to_minor(amount, currency)

    parts = royalties.allocate_by_shares(total, shares)

    assert sum(parts) == total  # no unit created or lost
    for part, share in zip(parts, shares, strict=True):
        exact = Decimal(total) * share / 100
        assert exact - 1 < part < exact + 1
    assert parts == royalties.allocate_by_shares(total, shares)  # deterministic


@settings(max_examples=300, deadline=None)
@given(
    weights=st.lists(st.integers(0, 10**6), min_size=1, max_size=40).filter(lambda w: sum(w) > 0),
    total=st.integers(-(10**12), 10**12),
)
def test_allocation_by_any_weights_sums_exactly(weights: list[int], total: int) -> None:
    parts = royalties.allocate(total, weights)

    assert sum(parts) == total
    assert all(p == 0 for p, w in zip(parts, weights, strict=True) if w == 0)


@settings(max_examples=200, deadline=None)
@given(
    plays=st.dictionaries(st.integers(1, 10_000), st.integers(0, 10**6), min_size=1, max_size=50).filter(
        lambda p: sum(p.values()) > 0
    ),
    pool=st.integers(0, 10**11),
)
def test_a_pro_rata_pool_pays_out_exactly_the_pool(plays: dict[int, int], pool: int) -> None:
    payouts = royalties.pro_rata(pool, plays)

    assert sum(payouts.values()) == pool
    assert payouts == royalties.pro_rata(pool, dict(reversed(list(plays.items()))))  # order of input irrelevant


@settings(max_examples=200, deadline=None)
@given(
    users=st.dictionaries(
        st.text(min_size=1, max_size=5),
        st.dictionaries(st.integers(1, 50), st.integers(1, 1000), min_size=1, max_size=10),
        min_size=1,
        max_size=20,
    ),
    pool=st.integers(0, 10**9),
)
def test_a_user_centric_pool_pays_out_exactly_the_pool(users: dict[str, dict[int, int]], pool: int) -> None:
    assert sum(royalties.user_centric(pool, users).values()) == pool


def test_user_centric_gives_each_listener_an_equal_say() -> None:
    # A plays track 1 a thousand times; B plays track 2 once. Pro-rata gives track 1 almost everything;
    # user-centric gives each user's 5.00 to what that user played.
    plays = {"A": {1: 1000}, "B": {2: 1}}

    assert royalties.user_centric(1000, plays) == {1: 500, 2: 500}
    assert royalties.pro_rata(1000, {1: 1000, 2: 1}) == {1: 999, 2: 1}


@pytest.mark.parametrize(
    ("total", "shares", "parts"),
    [
        (100, ["33.3333", "33.3333", "33.3334"], [33, 33, 34]),
        (1, ["50", "50"], [1, 0]),  # a tie goes to the earlier party
        (2, ["33.3334", "33.3333", "33.3333"], [1, 1, 0]),
        (10001, ["70", "20", "10"], [7001, 2000, 1000]),
        (-100, ["33.3333", "33.3333", "33.3334"], [-33, -33, -34]),
    ],
)
def test_largest_remainder_table(total: int, shares: list[str], parts: list[int]) -> None:
    assert royalties.allocate_by_shares(total, [Decimal(s) for s in shares]) == parts


@pytest.mark.parametrize(
    ("amount", "currency", "minor", "back"),
    [
        ("12.345", "EUR", 1234, "12.34"),  # half to even
        ("12.355", "EUR", 1236, "12.36"),
        ("1500", "JPY", 1500, "1500"),
        ("1.2345", "KWD", 1234, "1.234"),
    ],
)
def test_minor_units_follow_iso_4217(amount: str, currency: str, minor: int, back: str) -> None:
    assert royalties.to_minor(Decimal(amount), currency) == minor
    assert royalties.from_minor(minor, currency) == Decimal(back)


def test_allocation_refuses_shares_that_do_not_sum_to_100_and_all_zero_weights() -> None:
    with pytest.raises(ValueError, match="sum to exactly 100"):
        royalties.allocate_by_shares(100, [Decimal(50), Decimal("49.99")])
    with pytest.raises(ValueError, match="all zero"):
        royalties.allocate(5, [0, 0])
    assert royalties.allocate(0, [0, 0]) == [0, 0]


@settings(max_examples=200, deadline=None)
@given(
    totals=st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=30),
    weights=st.lists(st.integers(0, 10**6), min_size=1, max_size=8).filter(lambda w: sum(w) > 0),
)
def test_the_vectorised_allocation_gives_exactly_the_same_parts(totals: list[int], weights: list[int]) -> None:
    expected = [royalties.allocate(total, weights) for total in totals]

    assert royalties.allocate_each(totals, weights, sum(weights)) == expected


def test_the_vectorised_allocation_falls_back_to_exact_integers_when_numbers_are_huge() -> None:
    totals, weights = [10**17 + 7, 3], [333_333, 333_333, 333_334]

    assert royalties.allocate_each(totals, weights, 10**6) == [royalties.allocate(t, weights) for t in totals]
