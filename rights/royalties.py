"""Exact money allocation: Decimal in, integer minor units out, the parts always summing to the whole.

Pure functions, no Django. Amounts are integers in the currency's smallest unit (cents, yen...);
shares and weights are Decimals or integers. The method is largest remainder (Hamilton): every part
gets the floor of its exact quota, and the units left over go one each to the largest remainders,
ties to the earlier position. So no unit is created or lost, every part is within one unit of its
exact quota, and the same inputs always give the same parts.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TypeVar

import numpy as np

K = TypeVar("K", bound=Hashable)
U = TypeVar("U", bound=Hashable)

# ISO 4217 currencies whose minor unit is not 1/100 (the rest use 2 decimals).
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}


def minor_exponent(currency: str) -> int:
    """Decimals of the currency's smallest unit (ISO 4217): JPY 0, EUR 2, KWD 3."""
    code = currency.upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"currency must be a 3-letter ISO 4217 code; got {currency!r}")
    return _EXPONENTS.get(code, 2)


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in minor units, rounded half to even when it has more decimals than the currency."""
    exponent = minor_exponent(currency)
    return int((Decimal(amount).scaleb(exponent)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def from_minor(units: int, currency: str) -> Decimal:
    """Minor units back to a Decimal amount with the currency's decimals (1234 EUR cents -> 12.34)."""
    exponent = minor_exponent(currency)
    return Decimal(units).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def int_weights(weights: Sequence[int | Decimal]) -> list[int]:
    """Weights as integers in the same proportions (Decimals scaled by a power of ten, exactly)."""
    if all(isinstance(w, int) for w in weights):
        return list(weights)  # type: ignore[arg-type]
    decimals = [Decimal(w) for w in weights]
    places = max((-d.as_tuple().exponent for d in decimals if d.is_finite()), default=0)  # type: ignore[operator]
    places = max(places, 0)
    return [int(d.scaleb(places)) for d in decimals]


def allocate(total: int, weights: Sequence[int | Decimal]) -> list[int]:
    """Split `total` minor units in proportion to `weights` by largest remainder.

    Weights must be >= 0 and, unless `total` is 0, not all 0. A negative total (a refund) is
    split like its absolute value, negated.
    """
    if total < 0:
        return [-part for part in allocate(-total, weights)]
    ints = int_weights(weights)
    if any(w < 0 for w in ints):
        raise ValueError("weights must not be negative")
    weight_sum = sum(ints)
    if weight_sum == 0:
        if total == 0:
            return [0] * len(ints)
        raise ValueError("cannot allocate a non-zero amount over weights that are all zero")
    return allocate_ints(total, ints, weight_sum)


def allocate_ints(total: int, weights: Sequence[int], weight_sum: int) -> list[int]:
    """`allocate` for a non-negative total and pre-checked integer weights with their sum (hot loop)."""
    split = [divmod(total * weight, weight_sum) for weight in weights]
    parts = [quota for quota, _ in split]
    left = total - sum(parts)
    if left:
        remainders = [remainder for _, remainder in split]
        # A stable sort, reversed: the largest remainders first, ties to the earlier position.
        for index in sorted(range(len(parts)), key=remainders.__getitem__, reverse=True)[:left]:
            parts[index] += 1
    return parts


def allocate_each(totals: Sequence[int], weights: Sequence[int], weight_sum: int) -> list[list[int]]:
    """`allocate_ints` for many totals over the same integer weights at once: the same parts, exactly.

    Vectorised with numpy in 64-bit integers; when a product could overflow it falls back to Python's
    unbounded integers, so the result never depends on the route taken.
    """
    if not totals:
        return []
    biggest = max(abs(t) for t in totals)
    if biggest * max(weights) >= 2**62 or weight_sum >= 2**62:
        return [
            allocate_ints(t, weights, weight_sum) if t >= 0 else [-p for p in allocate_ints(-t, weights, weight_sum)]
            for t in totals
        ]
    signed = np.asarray(totals, dtype=np.int64)
    amounts = np.abs(signed)
    quotas, remainders = np.divmod(amounts[:, None] * np.asarray(weights, dtype=np.int64)[None, :], weight_sum)
    left = amounts - quotas.sum(axis=1)
    order = np.argsort(-remainders, axis=1, kind="stable")  # largest remainder first, ties to the earlier party
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(order.shape[1]), order.shape), axis=1)
    quotas += rank < left[:, None]
    return (quotas * np.sign(signed)[:, None]).tolist()


def allocate_by_shares(total: int, shares: Sequence[Decimal]) -> list[int]:
    """Split `total` by percentage shares that sum to exactly 100."""
    if sum(shares, Decimal(0)) != 100:
        raise ValueError(f"shares must sum to exactly 100; they sum to {sum(shares, Decimal(0))}")
    return allocate(total, shares)


def hold(total: int, held_percent: Decimal) -> tuple[int, int]:
    """(held, rest): `held_percent` of `total` held back (an ownership conflict), exactly."""
    if held_percent <= 0:
        return 0, total
    if held_percent >= 100:
        return total, 0
    held, rest = allocate(total, [held_percent, Decimal(100) - held_percent])
    return held, rest


def pro_rata(pool: int, plays: Mapping[K, int]) -> dict[K, int]:
    """Pro-rata pool: payout_t = pool * plays_t / all plays, exactly, in a stable key order."""
    keys = sorted(plays, key=repr)
    return dict(zip(keys, allocate(pool, [plays[k] for k in keys]), strict=True))


def user_centric(pool: int, plays_by_user: Mapping[U, Mapping[K, int]]) -> dict[K, int]:
    """User-centric pool: each user pays an equal part of the pool (largest remainder over users in a
    stable order), and each user's part is shared over what that user played. Users with no plays
    are left out of the pool."""
    users = sorted((u for u, plays in plays_by_user.items() if sum(plays.values()) > 0), key=repr)
    result: dict[K, int] = {}
    if not users:
        if pool:
            raise ValueError("cannot share a pool when nobody played anything")
        return result
    for user, payment in zip(users, allocate(pool, [1] * len(users)), strict=True):
        for key, amount in pro_rata(payment, plays_by_user[user]).items():
            result[key] = result.get(key, 0) + amount
    return result
