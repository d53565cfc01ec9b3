"""Builders for small DSR-shaped flat files (tab-separated) used by the rights tests."""

from __future__ import annotations


def record(*cells: object) -> str:
    return "\t".join(str(c) for c in cells)


def basic_audio(
    usages: list[tuple[str, str, int, str]],
    *,
    period: tuple[str, str] = ("2026-10-01", "2026-10-31"),
    profile: str = "BasicAudio",
    currency: str = "EUR",
    pool: str = "1000.00",
    extra: list[str] | None = None,
    foot: int | None = None,
    ugc_claims: list[str] | None = None,
) -> bytes:
    """HEAD, one summary, one block per ISRC (AS01) with its usage (SU01), FOOT.

    usages: (isrc, territory, plays, net revenue).
    """
    lines = [
        "# DSR-shaped test file",
        record("HEAD", "1.4", profile, "1.0", "MSG-1", "2026-11-02T10:00:00", *period, "DPID-PLATFORM", "Platform"),
        record(
            "SY01",
            "S1",
            "AdvertisementSupportedModel",
            "Stream",
            "GB",
            currency,
            sum(u[2] for u in usages if isinstance(u[2], int)),
            pool,
        ),
    ]
    for index, (isrc, territory, plays, revenue) in enumerate(usages, start=1):
        claim = ugc_claims[index - 1] if ugc_claims else ""
        lines.append(record("AS01", f"B{index}", f"R{index}", isrc, f"Title {index}", "Artist", "PT3M"))
        lines.append(
            record(
                "SU01",
                f"B{index}",
                "S1",
                f"T{index}",
                f"R{index}",
                "Stream",
                territory,
                plays,
                revenue,
                f"user{index % 2}",
                claim,
                "",
            )
        )
    lines += extra or []
    records = len(lines) - 2  # everything between HEAD and FOOT, less the comment
    lines.append(record("FOOT", foot if foot is not None else records, 1, len(usages)))
    return ("\n".join(lines) + "\n").encode()
