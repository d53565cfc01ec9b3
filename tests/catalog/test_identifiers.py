"""Tests for catalog.identifiers (pure functions, no database).

Real published examples: ISRC US-RC1-76-07839; ISWC T-034.524.680-1 and
T-010.171.314-7 (Benny Hill, "Ernie"); ISNI 0000 0001 2103 2683 and
0000 0001 2281 955X (python-stdnum's documented example); IPI name number
00014107338 (Benny Hill) and CAE 210512631 (BMI, BIPO HIP HOP MUSIC);
EAN-13 4006381333931; UPC-A 036000291452. Every other check digit below was
computed by hand (working in the comments).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pycountry
import pytest

from catalog.identifiers import (
    IdentifierError,
    expand_territories,
    format_isni,
    format_isrc,
    format_iswc,
    iswc_check_digit,
    normalize_ipi,
    normalize_isni,
    normalize_isrc,
    normalize_iswc,
    normalize_territory,
    normalize_upc,
)


def test_identifier_error_is_a_value_error() -> None:
    assert issubclass(IdentifierError, ValueError)


# --------------------------------------------------------------------------- ISRC


@pytest.mark.parametrize(
    ("raw", "normalised", "display"),
    [
        ("US-RC1-76-07839", "USRC17607839", "US-RC1-76-07839"),
        ("USRC17607839", "USRC17607839", "US-RC1-76-07839"),
        ("  us-rc1-76-07839\n", "USRC17607839", "US-RC1-76-07839"),
        ("us rc1 76 07839", "USRC17607839", "US-RC1-76-07839"),
        ("gb-aye-06-01498", "GBAYE0601498", "GB-AYE-06-01498"),
        # Agency codes that are not ISO 3166-1 countries are kept by stdnum.
        ("QM-24S-19-00001", "QM24S1900001", "QM-24S-19-00001"),
        ("UK-ABC-00-12345", "UKABC0012345", "UK-ABC-00-12345"),
        # Registrant may be all digits.
        ("FR-123-99-00000", "FR1239900000", "FR-123-99-00000"),
    ],
)
def test_isrc_valid(raw: str, normalised: str, display: str) -> None:
    assert normalize_isrc(raw) == normalised
    assert format_isrc(raw) == display


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (
            "US-RC1-76-0783",
            (
                "ISRC must be 12 characters (2-letter country, 3-character "
                "registrant, 2-digit year, 5-digit designation); got 11"
            ),
        ),
        ("US-RC1-76-078391", "ISRC must be 12 characters"),
        ("XX-RC1-76-07839", "ISRC country code 'XX' is not"),
        ("1S-RC1-76-07839", "ISRC country code must be 2 letters"),
        ("US-RC1-7A-07839", "ISRC year must be 2 digits"),
        ("US-RC1-76-0783A", "ISRC designation code must be 5 digits"),
        ("US.RC1.76.07839", "ISRC may contain only"),
        ("US-RÇ1-76-07839", "ISRC may contain only ASCII"),
        ("   ", "ISRC is empty"),
        (None, "ISRC must be a string"),
    ],
)
def test_isrc_invalid(raw: str, fragment: str) -> None:
    with pytest.raises(IdentifierError, match=_literal(fragment)):
        normalize_isrc(raw)


def test_format_isrc_rejects_invalid() -> None:
    with pytest.raises(IdentifierError, match="ISRC year must be 2 digits"):
        format_isrc("US-RC1-XX-07839")


# --------------------------------------------------------------------------- ISWC


@pytest.mark.parametrize(
    ("nine_digits", "check"),
    [
        # 1 + (0*1 + 3*2 + 4*3 + 5*4 + 2*5 + 4*6 + 6*7 + 8*8 + 0*9) = 179 -> 1
        ("034524680", 1),
        # 1 + (0 + 2 + 0 + 4 + 35 + 6 + 21 + 8 + 36) = 113 -> 7
        ("010171314", 7),
        # 1 + (1 + 4 + 9 + 16 + 25 + 36 + 49 + 64 + 81) = 286 -> 4
        ("123456789", 4),
        # 1 + 0 = 1 -> 9
        ("000000000", 9),
    ],
)
def test_iswc_check_digit(nine_digits: str, check: int) -> None:
    assert iswc_check_digit(nine_digits) == check


@pytest.mark.parametrize("bad", ["03452468", "0345246801", "03452468A", "", "T03452468"])
def test_iswc_check_digit_rejects_non_nine_digits(bad: str) -> None:
    with pytest.raises(IdentifierError, match="ISWC work number must be exactly 9 digits"):
        iswc_check_digit(bad)


@pytest.mark.parametrize(
    ("raw", "normalised", "display"),
    [
        ("T-034.524.680-1", "T0345246801", "T-034.524.680-1"),
        ("T0345246801", "T0345246801", "T-034.524.680-1"),
        ("t 034 524 680 1", "T0345246801", "T-034.524.680-1"),
        (" T-034524680-1 ", "T0345246801", "T-034.524.680-1"),
        ("T-010.171.314-7", "T0101713147", "T-010.171.314-7"),
        ("T-123.456.789-4", "T1234567894", "T-123.456.789-4"),
        ("T-000.000.000-9", "T0000000009", "T-000.000.000-9"),
    ],
)
def test_iswc_valid(raw: str, normalised: str, display: str) -> None:
    assert normalize_iswc(raw) == normalised
    assert format_iswc(raw) == display


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("T-034.524.680-3", "ISWC check digit is 3, expected 1 for T-034.524.680"),
        ("T-123.456.789-0", "ISWC check digit is 0, expected 4 for T-123.456.789"),
        ("034.524.680-1", "ISWC must start with the prefix 'T'"),
        ("0345246801", "ISWC must start with the prefix 'T'"),
        ("X-034.524.680-1", "ISWC must start with the prefix 'T'"),
        ("T-034.524.680", "ISWC must be 'T' followed by 10 digits"),
        ("T-034.524.680-12", "got 11 digits"),
        ("T-034.524.68A-1", "ISWC must be 'T' followed by digits only"),
        ("T", "ISWC must be 'T' followed by digits only"),
        ("", "ISWC is empty"),
    ],
)
def test_iswc_invalid(raw: str, fragment: str) -> None:
    with pytest.raises(IdentifierError, match=_literal(fragment)):
        normalize_iswc(raw)


def test_format_iswc_rejects_invalid() -> None:
    with pytest.raises(IdentifierError, match="ISWC check digit"):
        format_iswc("T0345246802")


# --------------------------------------------------------------------------- ISNI


@pytest.mark.parametrize(
    ("raw", "normalised", "display"),
    [
        ("0000 0001 2103 2683", "0000000121032683", "0000 0001 2103 2683"),
        ("0000000121032683", "0000000121032683", "0000 0001 2103 2683"),
        (" 0000-0001-2103-2683 ", "0000000121032683", "0000 0001 2103 2683"),
        ("0000 0001 2281 955X", "000000012281955X", "0000 0001 2281 955X"),
        ("000000012281955x", "000000012281955X", "0000 0001 2281 955X"),
    ],
)
def test_isni_valid(raw: str, normalised: str, display: str) -> None:
    assert normalize_isni(raw) == normalised
    assert format_isni(raw) == display


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        # MOD 11-2 over 000000012103268 gives 3 (c = (2c + d) mod 11 ends at 10;
        # (1 - 2 * 10) mod 11 = 3).
        ("0000 0001 2103 2684", "ISNI check character is 4, expected 3"),
        ("0000 0001 2103 268X", "ISNI check character is X, expected 3"),
        ("0000 0001 2281 9551", "ISNI check character is 1, expected X"),
        (
            "0000 0001 2103 268",
            "ISNI must be 16 characters (15 digits and a check character); got 15",
        ),
        ("0000 0001 2103 26830", "got 17"),
        (
            "0000 0001 2103 X683",
            "ISNI must be 15 digits followed by a check digit or 'X'",
        ),
        ("", "ISNI is empty"),
    ],
)
def test_isni_invalid(raw: str, fragment: str) -> None:
    with pytest.raises(IdentifierError, match=_literal(fragment)):
        normalize_isni(raw)


# --------------------------------------------------------------------------- IPI


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        # Benny Hill. 0*10+0*9+0*8+1*7+4*6+1*5+0*4+7*3+3*2 = 63; 101 - 63 = 38.
        ("00014107338", "00014107338"),
        ("000 141 073 38", "00014107338"),
        # 9-digit CAE from BMI's repertoire.
        # 2*8+1*7+5*5+1*4+2*3+6*2 = 70; 101 - 70 = 31.
        ("210512631", "00210512631"),
        (" 210-512-631 ", "00210512631"),
    ],
)
def test_ipi_valid(raw: str, normalised: str) -> None:
    assert normalize_ipi(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (
            "00014107339",
            "IPI name number check digits are 39, expected 38 for 000141073",
        ),
        ("210512632", "IPI name number check digits are 32, expected 31"),
        (
            "0001410733",
            "IPI name number must be 11 digits (or a 9-digit CAE number); got 10",
        ),
        ("000141073380", "got 12"),
        ("0001410733A", "IPI name number must contain only digits"),
        ("", "IPI name number is empty"),
    ],
)
def test_ipi_invalid(raw: str, fragment: str) -> None:
    with pytest.raises(IdentifierError, match=_literal(fragment)):
        normalize_ipi(raw)


# --------------------------------------------------------------------------- UPC / EAN


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        # 0 3 6 0 0 0 2 9 1 4 5 from the right, weights 3,1,...: 58 -> 2
        ("036000291452", "036000291452"),
        ("0 36000 29145 2", "036000291452"),
        # 4 0 0 6 3 8 1 3 3 3 9 3 from the right, weights 3,1,...: 89 -> 1
        ("4006381333931", "4006381333931"),
        (" 400-6381-33393-1 ", "4006381333931"),
        # UPC-A with a leading 0 as EAN-13: same check digit.
        ("0036000291452", "0036000291452"),
    ],
)
def test_upc_valid(raw: str, normalised: str) -> None:
    assert normalize_upc(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("036000291453", "UPC-A check digit is 3, expected 2 for 03600029145"),
        ("4006381333932", "EAN-13 check digit is 2, expected 1 for 400638133393"),
        ("73513537", "UPC/EAN must be 12 digits (UPC-A) or 13 digits (EAN-13); got 8"),
        ("98412345678908", "got 14"),
        ("03600029145X", "UPC/EAN must contain only digits"),
        ("", "UPC/EAN is empty"),
        (36000291452, "UPC/EAN must be a string; got int"),
    ],
)
def test_upc_invalid(raw: str, fragment: str) -> None:
    with pytest.raises(IdentifierError, match=_literal(fragment)):
        normalize_upc(raw)


# ----------------------------------------------------------------- territories


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("GB", "GB"),
        (" gb ", "GB"),
        ("us", "US"),
        ("WORLD", "WORLD"),
        ("world", "WORLD"),
        (" World ", "WORLD"),
    ],
)
def test_territory_valid(raw: str, normalised: str) -> None:
    assert normalize_territory(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("XX", "Territory 'XX' is not an ISO 3166-1 alpha-2 country code"),
        ("UK", "Territory 'UK' is not an ISO 3166-1 alpha-2 country code"),
        ("USA", "Territory must be an ISO 3166-1 alpha-2 code (2 letters) or 'WORLD'"),
        ("U1", "Territory must be an ISO 3166-1 alpha-2 code"),
        ("", "Territory is empty"),
    ],
)
def test_territory_invalid(raw: str, fragment: str) -> None:
    with pytest.raises(IdentifierError, match=_literal(fragment)):
        normalize_territory(raw)


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (["us", "GB"], frozenset({"US", "GB"})),
        (("FR", "fr", " FR "), frozenset({"FR"})),
        ([], frozenset()),
    ],
)
def test_expand_territories_plain(codes: list[str], expected: frozenset[str]) -> None:
    assert expand_territories(codes) == expected


@pytest.mark.parametrize("codes", [["WORLD"], ["FR", "world"], ("World",)])
def test_expand_territories_world(codes: Iterable[str]) -> None:
    result = expand_territories(codes)
    assert isinstance(result, frozenset)
    assert result == frozenset(c.alpha_2 for c in pycountry.countries)
    assert "WORLD" not in result
    assert {"US", "GB", "FR", "JP"} <= result


def test_expand_territories_rejects_unknown_code() -> None:
    with pytest.raises(IdentifierError, match="Territory 'ZZ' is not"):
        expand_territories(["US", "zz"])


def test_expand_territories_rejects_single_string() -> None:
    with pytest.raises(TypeError, match="not a single string"):
        expand_territories("US")


def _literal(fragment: str) -> str:
    """Escape a message fragment for pytest.raises(match=...)."""
    return re.escape(fragment)
