"""Licence terms as pure values, and the one predicate that decides whether they cover a use.

No Django import; rights.licensing wraps it with the database look-ups.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass

from rights import territories as territory_lists


class Use(enum.StrEnum):
    """The uses a licence can grant."""

    STREAMING = "streaming"
    DOWNLOAD = "download"
    SYNC = "sync"
    SAMPLING = "sampling"
    BROADCAST = "broadcast"
    UGC = "ugc"
    AI_TRAINING = "ai_training"
    AI_GENERATION = "ai_generation"
    RECOMMENDATION = "recommendation"
    # An artist's likeness, licensed per artist (Licence.artists) and only while the artist consents to
    # that use (catalog.ArtistAIConsent, whose use is the suffix).
    AI_LIKENESS_VOICE = "ai_likeness_voice"
    AI_LIKENESS_STYLE = "ai_likeness_style"
    AI_LIKENESS_NAME = "ai_likeness_name"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").replace("ai ", "AI ").replace("ugc", "UGC")


USES: tuple[str, ...] = tuple(use.value for use in Use)
LIKENESS_PREFIX = "ai_likeness_"
LIKENESS_USES: tuple[str, ...] = tuple(use for use in USES if use.startswith(LIKENESS_PREFIX))


def likeness_aspect(use: str) -> str:
    """The artist-consent use (catalog.AILikenessUse value) behind a likeness licence use; '' for others."""
    return use.removeprefix(LIKENESS_PREFIX) if use in LIKENESS_USES else ""


@dataclass(frozen=True)
class LicenceTerms:
    """What a licence grants: uses, territories (WORLD allowed), the term (inclusive dates), revocation,
    and a cap on uses per calendar month."""

    uses: frozenset[str]
    territories: tuple[str, ...]
    excluded_territories: tuple[str, ...] = ()
    start: datetime.date = datetime.date.min
    end: datetime.date | None = None
    revoked_from: datetime.date | None = None
    cap_uses: int | None = None

    def in_term(self, day: datetime.date) -> bool:
        if day < self.start or (self.end is not None and day > self.end):
            return False
        return self.revoked_from is None or day < self.revoked_from


def refusal(terms: LicenceTerms, use: str, territory: str, day: datetime.date, uses_this_month: int = 0) -> str:
    """Why these terms do not cover the use; '' when they do.

    `uses_this_month` is how many uses the licensee has already made under the licence this
    calendar month (for the cap).
    """
    if use not in terms.uses:
        return f"does not grant {use} (grants {', '.join(sorted(terms.uses))})"
    if not terms.in_term(day):
        if terms.revoked_from is not None and day >= terms.revoked_from:
            return f"was revoked from {terms.revoked_from.isoformat()}"
        end = terms.end.isoformat() if terms.end else "open-ended"
        return f"is not in its term on {day.isoformat()} ({terms.start.isoformat()} to {end})"
    if territory not in territory_lists.expand(terms.territories, terms.excluded_territories):
        return f"does not cover territory {territory}"
    if terms.cap_uses is not None and uses_this_month >= terms.cap_uses:
        return f"has used its cap of {terms.cap_uses} uses this month"
    return ""
