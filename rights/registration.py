"""Registration verbs: an artist adds a work (composition) or a recording (master) to the catalogue, and
says which AI uses of their likeness may be licensed.

Identifiers are validated and stored in their normal form; a malformed or already registered one is
refused with a message that says why, and nothing is written. The registering artist is credited:
as a writer of the work, as a performer of the recording.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import IntegrityError, transaction

from catalog import identifiers
from catalog.models import AILikenessUse, Artist, ArtistAIConsent, Recording, Work
from rights.audit import acting_as

__all__ = ["RegistrationError", "register_recording", "register_work", "set_ai_consent"]


class RegistrationError(ValueError):
    """Refused; `field` names the form field the message belongs next to (empty: the whole form)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _title(value: str) -> str:
    title = (value or "").strip()
    if not title:
        raise RegistrationError("A title is required.", "title")
    if len(title) > 300:
        raise RegistrationError(f"The title is {len(title)} characters; at most 300.", "title")
    return title


def _normalized(value: str, normalize: Callable[[str], str], field: str) -> str:
    try:
        return normalize(value)
    except identifiers.IdentifierError as exc:
        raise RegistrationError(str(exc), field) from None


def _iswc_taken(iswc: str, artist: Artist) -> RegistrationError:
    existing = Work.objects.filter(iswc=iswc).first()
    shown = identifiers.format_iswc(iswc)
    # Name the existing work only to one of its own writers: a stranger learns no more than "taken".
    if existing is not None and existing.writers.filter(pk=artist.pk).exists():
        return RegistrationError(f"ISWC {shown} is already registered: it is your work “{existing.title}”.", "iswc")
    return RegistrationError(
        f"ISWC {shown} is already registered to another work; ask your label if you think that is a mistake.", "iswc"
    )


def _isrc_taken(isrc: str, artist: Artist) -> RegistrationError:
    existing = Recording.objects.filter(isrc=isrc).first()
    shown = identifiers.format_isrc(isrc)
    if existing is not None and existing.artists.filter(pk=artist.pk).exists():
        return RegistrationError(
            f"ISRC {shown} is already registered: it is your recording “{existing.title}”.", "isrc"
        )
    return RegistrationError(
        f"ISRC {shown} is already registered to another recording; ask your label if you think that is a mistake.",
        "isrc",
    )


def register_work(*, artist: Artist, title: str, iswc: str = "") -> Work:
    """Create a work written by `artist`. The ISWC is optional (societies often assign it later); when
    given it must be valid and not registered yet."""
    title = _title(title)
    normal = _normalized(iswc, identifiers.normalize_iswc, "iswc") if (iswc or "").strip() else None
    if normal and Work.objects.filter(iswc=normal).exists():
        raise _iswc_taken(normal, artist)
    try:
        with transaction.atomic():
            work = Work.objects.create(title=title, iswc=normal)
            work.writers.add(artist)
    except IntegrityError:  # registered by someone else between the check and the insert
        if normal is None:
            raise
        raise _iswc_taken(normal, artist) from None
    return work


def register_recording(*, artist: Artist, title: str, isrc: str, works: Iterable[Work] = ()) -> Recording:
    """Create a recording performed by `artist`, released under the artist's label, optionally
    embedding some works. The ISRC is required: it is how usage reports name the recording."""
    title = _title(title)
    if not (isrc or "").strip():
        raise RegistrationError("An ISRC is required (12 characters, e.g. US-RC1-76-07839).", "isrc")
    normal = _normalized(isrc, identifiers.normalize_isrc, "isrc")
    if Recording.objects.filter(isrc=normal).exists():
        raise _isrc_taken(normal, artist)
    works = list(works)
    try:
        with transaction.atomic():
            recording = Recording.objects.create(title=title, isrc=normal, label=artist.label)
            recording.artists.add(artist)
            if works:
                recording.works.add(*works)
    except IntegrityError:
        raise _isrc_taken(normal, artist) from None
    return recording


def set_ai_consent(*, artist: Artist, use: str, opted_in: bool, note: str = "", by: Any = None) -> ArtistAIConsent:
    """The artist's consent to licensing their likeness for one AI use (catalog.AILikenessUse). An opt-out
    takes effect at once: rights.licensing refuses every licence's cover of that use from then on.
    Audited (rights.audit records every consent row change), with `by` as the actor."""
    if use not in AILikenessUse.values:
        raise RegistrationError(f"Unknown AI use {use!r}: one of {', '.join(AILikenessUse.values)}.", "use")
    note = note.strip()[:300]
    with acting_as(by), transaction.atomic():
        consent = ArtistAIConsent.objects.select_for_update().filter(artist=artist, use=use).first()
        if consent is None:
            return ArtistAIConsent.objects.create(artist=artist, use=use, opted_in=opted_in, note=note, changed_by=by)
        if (consent.opted_in, consent.note) != (opted_in, note):  # an unchanged form writes nothing
            consent.opted_in, consent.note, consent.changed_by = opted_in, note, by
            consent.save()
    return consent
