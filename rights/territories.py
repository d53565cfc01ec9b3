"""Territory lists as the rights engine stores them: normalised codes, WORLD kept as written.

Pure functions, no Django. Stored lists keep `WORLD` (so an ownership 'WORLD' stays readable and
follows pycountry's list); evaluation expands it with catalog.identifiers.expand_territories.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from catalog.identifiers import WORLD, expand_territories, normalize_territory


def normalize_list(codes: Iterable[str]) -> list[str]:
    """Validate and normalise a list of territory codes; sorted, without duplicates.

    Raises catalog.identifiers.IdentifierError naming the bad code.
    """
    if isinstance(codes, str):
        codes = [part for part in codes.replace(";", ",").split(",") if part.strip()]
    normalised = {normalize_territory(code) for code in codes}
    if WORLD in normalised:
        return [WORLD]
    return sorted(normalised)


@functools.lru_cache(maxsize=4096)
def _expand(codes: tuple[str, ...]) -> frozenset[str]:
    return expand_territories(codes)


def expand(included: Iterable[str], excluded: Iterable[str] = ()) -> frozenset[str]:
    """The concrete alpha-2 codes of `included` (empty means everywhere) minus `excluded`."""
    inc = tuple(sorted(included)) or (WORLD,)
    exc = tuple(sorted(excluded))
    return _expand(inc) - (_expand(exc) if exc else frozenset())


def everywhere() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code."""
    return _expand((WORLD,))


def describe(codes: frozenset[str] | set[str]) -> str:
    """A short human form: 'WORLD', 'WORLD except DE, FR', or 'DE, FR'."""
    world = everywhere()
    if codes == world:
        return WORLD
    missing = world - codes
    if len(missing) < len(codes) and len(missing) <= 10:
        return f"WORLD except {', '.join(sorted(missing))}"
    if len(codes) > 12:
        return f"{len(codes)} territories"
    return ", ".join(sorted(codes))
