"""Validation and normalisation of music-industry identifiers.

Pure functions, no Django: every ``normalize_*`` function takes the value as a
person typed it (surrounding whitespace, lower case and the usual separators
are accepted), returns the compact canonical form, and raises
:class:`IdentifierError` with a message that names the identifier and the
rule the value broke. The ``format_*`` functions normalise first and return
the display form.

Covered: ISRC (recordings), ISWC (musical works), ISNI (parties), IPI name
numbers (parties in collective rights management), UPC-A / EAN-13 (releases)
and ISO 3166-1 alpha-2 territories plus ``WORLD``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import pycountry
from stdnum import ean as _ean
from stdnum import isni as _isni
from stdnum import isrc as _isrc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError
from stdnum.iso7064 import mod_11_2

__all__ = [
    "WORLD",
    "IdentifierError",
    "expand_territories",
    "format_isni",
    "format_isrc",
    "format_iswc",
    "iswc_check_digit",
    "normalize_ipi",
    "normalize_isni",
    "normalize_isrc",
    "normalize_iswc",
    "normalize_territory",
    "normalize_upc",
]

WORLD = "WORLD"

_DIGITS_RE = re.compile(r"[0-9]+")
_ISRC_CHARS_RE = re.compile(r"[A-Z0-9]*")
_ISNI_CHARS_RE = re.compile(r"[0-9]{15}[0-9X]")


class IdentifierError(ValueError):
    """Raised with a message that says which rule the value broke."""


def _require_text(value: object, name: str) -> str:
    """Return ``value`` stripped, or raise if it is not a non-empty string."""
    if not isinstance(value, str):
        raise IdentifierError(f"{name} must be a string; got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise IdentifierError(f"{name} is empty")
    return text


def _remove(text: str, separators: str) -> str:
    """Remove every character of ``separators`` from ``text``."""
    return text.translate({ord(ch): None for ch in separators})


def _is_digits(text: str) -> bool:
    """True when ``text`` is one or more ASCII digits (not other Unicode digits)."""
    return _DIGITS_RE.fullmatch(text) is not None


# ---------------------------------------------------------------------------
# ISRC
# ---------------------------------------------------------------------------

_ISRC_SHAPE = "2-letter country, 3-character registrant, 2-digit year, 5-digit designation"


def normalize_isrc(value: str) -> str:
    """Validate an ISRC (ISO 3901) and return it compact: 12 characters, upper case.

    Accepts surrounding whitespace, lower case, hyphens and spaces
    (``'us-rc1-76-07839'`` -> ``'USRC17607839'``). The ISRC has no check
    digit, so this checks the syntax ``CC XXX YY NNNNN``: a 2-letter country
    code that python-stdnum knows (ISO 3166-1 plus the codes the ISRC agency
    added, such as ``UK``, ``QM``, ``QZ``), a 3-character alphanumeric
    registrant, a 2-digit year and a 5-digit designation. Whether the
    registrant exists is not checked.
    """
    text = _require_text(value, "ISRC")
    if not text.isascii():
        raise IdentifierError(f"ISRC may contain only ASCII letters, digits, hyphens and spaces; got {value.strip()!r}")
    number = _isrc.compact(text)
    if _ISRC_CHARS_RE.fullmatch(number) is None:
        raise IdentifierError(f"ISRC may contain only letters, digits, hyphens and spaces; got {value.strip()!r}")
    if len(number) != 12:
        raise IdentifierError(f"ISRC must be 12 characters ({_ISRC_SHAPE}); got {len(number)}")
    country, year, designation = number[0:2], number[5:7], number[7:12]
    if not country.isalpha():
        raise IdentifierError(f"ISRC country code must be 2 letters; got {country!r}")
    # The registrant (characters 3-5) is any [A-Z0-9]{3}: checked above.
    if not _is_digits(year):
        raise IdentifierError(f"ISRC year must be 2 digits; got {year!r}")
    if not _is_digits(designation):
        raise IdentifierError(f"ISRC designation code must be 5 digits; got {designation!r}")
    try:
        return _isrc.validate(number)
    except InvalidComponent:
        raise IdentifierError(
            f"ISRC country code {country!r} is not an ISO 3166-1 code or an ISRC agency code"
        ) from None
    except ValidationError as exc:  # pragma: no cover - checked above
        raise IdentifierError(f"ISRC {number!r} is not valid ({_ISRC_SHAPE}): {exc.message}") from None


def format_isrc(value: str) -> str:
    """Return the ISRC in display form ``CC-XXX-YY-NNNNN`` (normalises first)."""
    number = normalize_isrc(value)
    return f"{number[0:2]}-{number[2:5]}-{number[5:7]}-{number[7:12]}"


# ---------------------------------------------------------------------------
# ISWC
# ---------------------------------------------------------------------------


def iswc_check_digit(nine_digits: str) -> int:
    """Return the ISWC check digit for the 9-digit work number.

    C = (10 - (1 + sum of i * d_i for i = 1..9) mod 10) mod 10, where the
    leading ``1`` is the weight of the ``T`` prefix.
    ``iswc_check_digit('034524680')`` is ``1``.
    """
    if not isinstance(nine_digits, str) or len(nine_digits) != 9 or not _is_digits(nine_digits):
        raise IdentifierError(f"ISWC work number must be exactly 9 digits; got {nine_digits!r}")
    total = 1 + sum(i * int(d) for i, d in enumerate(nine_digits, start=1))
    return (10 - total % 10) % 10


def normalize_iswc(value: str) -> str:
    """Validate an ISWC (ISO 15707) and return it compact: ``'T'`` + 10 digits.

    Accepts the display form ``T-034.524.680-1``, the compact form
    ``T0345246801`` and loose forms such as ``t 034 524 680 1`` (hyphens,
    dots and spaces are removed, case is ignored). The ``T`` prefix is
    required, then 9 digits of work number and 1 check digit, which must
    match :func:`iswc_check_digit`.
    """
    text = _require_text(value, "ISWC")
    compact = _remove(text.upper(), " -.")
    if not compact.startswith("T"):
        raise IdentifierError(f"ISWC must start with the prefix 'T' (T-DDD.DDD.DDD-C); got {text!r}")
    digits = compact[1:]
    if not _is_digits(digits):
        raise IdentifierError(f"ISWC must be 'T' followed by digits only (T-DDD.DDD.DDD-C); got {text!r}")
    if len(digits) != 10:
        raise IdentifierError(
            f"ISWC must be 'T' followed by 10 digits (9-digit work number and 1 check digit); got {len(digits)} digits"
        )
    expected = iswc_check_digit(digits[:9])
    given = int(digits[9])
    if given != expected:
        raise IdentifierError(
            f"ISWC check digit is {given}, expected {expected} for T-{digits[0:3]}.{digits[3:6]}.{digits[6:9]}"
        )
    return "T" + digits


def format_iswc(value: str) -> str:
    """Return the ISWC in display form ``T-DDD.DDD.DDD-C`` (normalises first)."""
    number = normalize_iswc(value)
    return f"T-{number[1:4]}.{number[4:7]}.{number[7:10]}-{number[10]}"


# ---------------------------------------------------------------------------
# ISNI
# ---------------------------------------------------------------------------


def normalize_isni(value: str) -> str:
    """Validate an ISNI (ISO 27729) and return it compact: 16 characters.

    15 digits and an ISO 7064 MOD 11-2 check character (a digit or ``X``).
    Spaces and hyphens are removed and a lower-case ``x`` is accepted
    (``'0000 0001 2103 2683'`` -> ``'0000000121032683'``).
    """
    text = _require_text(value, "ISNI")
    number = _isni.compact(text)
    if len(number) != 16:
        raise IdentifierError(f"ISNI must be 16 characters (15 digits and a check character); got {len(number)}")
    if _ISNI_CHARS_RE.fullmatch(number) is None:
        raise IdentifierError(f"ISNI must be 15 digits followed by a check digit or 'X'; got {text!r}")
    try:
        return _isni.validate(number)
    except InvalidChecksum:
        expected = mod_11_2.calc_check_digit(number[:15])
        raise IdentifierError(
            f"ISNI check character is {number[15]}, expected {expected} for "
            f"{number[0:4]} {number[4:8]} {number[8:12]} {number[12:15]} "
            "(ISO 7064 MOD 11-2)"
        ) from None
    except ValidationError as exc:  # pragma: no cover - checked above
        raise IdentifierError(f"ISNI {number!r} is not valid: {exc.message}") from None


def format_isni(value: str) -> str:
    """Return the ISNI in display form: four groups of four (normalises first)."""
    number = normalize_isni(value)
    return " ".join((number[0:4], number[4:8], number[8:12], number[12:16]))


# ---------------------------------------------------------------------------
# IPI name number
# ---------------------------------------------------------------------------


def _ipi_check_digits(nine_digits: str) -> str:
    """Return the 2 check digits of an IPI name number's first 9 digits.

    t = (sum of d_i * (10 - i) for i = 0..8) mod 101; the check is 0 when t is
    0, else (101 - t) mod 100, written with 2 digits.
    """
    total = sum(int(d) * (10 - i) for i, d in enumerate(nine_digits)) % 101
    check = 0 if total == 0 else (101 - total) % 100
    return f"{check:02d}"


def normalize_ipi(value: str) -> str:
    """Validate an IPI name number and return it as 11 digits.

    A 9-digit CAE number (the pre-2001 form, e.g. ``210512631`` as BMI shows
    it) gets two leading zeros. Spaces, hyphens and dots are removed.

    The last two digits are a mod-101 check on the first nine:
    t = (sum of d_i * (10 - i) for i = 0..8) mod 101, check = 0 if t == 0
    else (101 - t) mod 100. The algorithm is the one django-music-publisher
    uses; it was confirmed here against real published numbers: Benny Hill's
    IPI name number ``00014107338`` and BMI's CAE/IPI ``210512631`` for the
    publisher BIPO HIP HOP MUSIC. There is no official CISAC text for it in
    this project, so treat it as well-tested rather than normative.
    """
    text = _require_text(value, "IPI name number")
    number = _remove(text, " -.")
    if not _is_digits(number):
        raise IdentifierError(f"IPI name number must contain only digits; got {text!r}")
    if len(number) == 9:
        number = "00" + number
    if len(number) != 11:
        raise IdentifierError(f"IPI name number must be 11 digits (or a 9-digit CAE number); got {len(number)}")
    expected = _ipi_check_digits(number[:9])
    if number[9:] != expected:
        raise IdentifierError(
            f"IPI name number check digits are {number[9:]}, expected {expected} for {number[:9]} (mod 101)"
        )
    return number


# ---------------------------------------------------------------------------
# UPC / EAN
# ---------------------------------------------------------------------------


def normalize_upc(value: str) -> str:
    """Validate a release barcode and return its digits.

    Accepts UPC-A (12 digits) or EAN-13 (13 digits); spaces and hyphens are
    removed and the digits are returned as given (a UPC-A is not padded to
    13). The last digit is the GS1 mod-10 check digit: weights 3 and 1
    alternating from the right of the payload. EAN-8 and GTIN-14 are refused.
    """
    text = _require_text(value, "UPC/EAN")
    number = _ean.compact(text)
    if not _is_digits(number):
        raise IdentifierError(f"UPC/EAN must contain only digits; got {text!r}")
    if len(number) not in (12, 13):
        raise IdentifierError(f"UPC/EAN must be 12 digits (UPC-A) or 13 digits (EAN-13); got {len(number)}")
    kind = "UPC-A" if len(number) == 12 else "EAN-13"
    try:
        return _ean.validate(number)
    except InvalidChecksum:
        expected = _ean.calc_check_digit(number[:-1])
        raise IdentifierError(
            f"{kind} check digit is {number[-1]}, expected {expected} for {number[:-1]} (GS1 mod 10)"
        ) from None
    except ValidationError as exc:  # pragma: no cover - checked above
        raise IdentifierError(f"{kind} {number!r} is not valid: {exc.message}") from None


# ---------------------------------------------------------------------------
# Territories
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _all_alpha2() -> frozenset[str]:
    """All ISO 3166-1 alpha-2 codes known to pycountry."""
    return frozenset(country.alpha_2 for country in pycountry.countries)


def normalize_territory(value: str) -> str:
    """Return an ISO 3166-1 alpha-2 code in upper case, or ``'WORLD'``.

    Surrounding whitespace and case are ignored. Only codes pycountry lists
    as officially assigned are accepted (so ``UK`` and ``XK`` are refused;
    use ``GB``); alpha-3 codes and names are refused.
    """
    text = _require_text(value, "Territory")
    code = text.upper()
    if code == WORLD:
        return WORLD
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise IdentifierError(f"Territory must be an ISO 3166-1 alpha-2 code (2 letters) or 'WORLD'; got {text!r}")
    if code not in _all_alpha2():
        raise IdentifierError(f"Territory {code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def expand_territories(codes: Iterable[str]) -> frozenset[str]:
    """Normalise territory codes and expand ``'WORLD'`` to every alpha-2 code.

    Each code goes through :func:`normalize_territory`. If any of them is
    ``WORLD`` the result is every ISO 3166-1 alpha-2 code from pycountry
    (``WORLD`` itself is not in the result); otherwise it is the set of the
    normalised codes. Passing a single string is a programming error and
    raises ``TypeError`` rather than iterating over its characters.
    """
    if isinstance(codes, str):
        raise TypeError("expand_territories() takes an iterable of territory codes, not a single string")
    normalised = {normalize_territory(code) for code in codes}
    if WORLD in normalised:
        return _all_alpha2()
    return frozenset(normalised)
