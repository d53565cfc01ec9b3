"""Usage reports from CSV and DDEX DSR flat files: all rows or none, errors with their line numbers."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from rights import usage
from rights.models import UsageLine, UsageReport
from tests import factories
from tests.rights import dsr

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():  # type: ignore[no-untyped-def]
    return [factories.recording(i) for i in (1, 2, 3)]


def test_a_dsr_file_is_imported_with_its_period_currency_and_pool(catalogue) -> None:  # type: ignore[no-untyped-def]
    data = dsr.basic_audio([("GBTST2600001", "GB", 1000, "3.50"), ("GB-TST-26-00002", "IE", 250, "0.8775")])

    report = usage.import_dsr(data, file_name="platform_2026-10.tsv")

    assert (report.profile, report.currency, str(report.period_start), str(report.period_end)) == (
        "BasicAudio",
        "EUR",
        "2026-10-01",
        "2026-10-31",
    )
    assert report.pool_amount == Decimal("1000.00")
    assert (report.line_count, report.total_quantity, report.total_amount) == (2, 1250, Decimal("4.3775"))
    lines = list(
        UsageLine.objects.order_by("row_number").values_list(
            "row_number", "recording", "territory", "quantity", "amount", "use", "user_ref"
        )
    )
    assert lines == [
        (5, catalogue[0].pk, "GB", 1000, Decimal("3.5"), "streaming", "user1"),
        (7, catalogue[1].pk, "IE", 250, Decimal("0.8775"), "streaming", "user0"),
    ]


def test_a_dsr_file_with_a_malformed_row_is_rejected_with_the_row_number_and_imports_nothing(catalogue) -> None:  # type: ignore[no-untyped-def]
    data = dsr.basic_audio(
        [
            ("GBTST2600001", "GB", 1000, "3.50"),
            ("GBTST2600002", "GB", "lots", "1.00"),
            ("GBTST2600003", "XX", 5, "0.10"),
        ]
    )

    with pytest.raises(usage.UsageImportError) as refused:
        usage.import_dsr(data)

    assert refused.value.errors == [
        (7, "quantity 'lots' is not a number"),
        (9, "Territory 'XX' is not an ISO 3166-1 alpha-2 country code"),
    ]
    assert "line 7: quantity 'lots' is not a number" in str(refused.value)
    assert not UsageReport.objects.exists() and not UsageLine.objects.exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            dsr.basic_audio([("GBTST2600001", "GB", 1, "1")], foot=9),
            (6, "FOOT declares 9 records but the report has 3"),
        ),
        (
            dsr.basic_audio([("GBTST2600001", "GB", 1, "1")]).rsplit(b"FOOT", 1)[0],
            (5, "no FOOT record: the file is truncated"),
        ),
        (
            dsr.basic_audio([("GBTST2600001", "GB", 1, "1")], profile="Radio"),
            (2, "profile 'Radio' is not supported (BasicAudio or UGC)"),
        ),
        (dsr.basic_audio([("GBTST26ABCDE", "GB", 1, "1")]), (5, "ISRC designation code must be 5 digits")),
        (dsr.basic_audio([("GBTST2699999", "GB", 1, "1")]), (5, "ISRC GBTST2699999 is not in the catalogue")),
        (dsr.basic_audio([("GBTST2600001", "GB", 1, "-1")]), (5, "amount must not be negative")),
        (
            dsr.basic_audio(
                [("GBTST2600001", "GB", 1, "1")],
                extra=[dsr.record("SU01", "B1", "S9", "T", "R1", "Stream", "GB", 1, 1)],
            ),
            (6, "SummaryRecordId 'S9' is not declared"),
        ),
        (
            dsr.basic_audio([("GBTST2600001", "GB", 1, "1")], extra=[dsr.record("XX01", "B1")]),
            (6, "unknown record type XX01"),
        ),
    ],
)
def test_structural_errors_are_reported_with_their_line(catalogue, data: bytes, error: tuple[int, str]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(usage.UsageImportError) as refused:
        usage.import_dsr(data)

    line, message = error
    assert any(n == line and message in m for n, m in refused.value.errors), refused.value.errors
    assert not UsageReport.objects.exists()


def test_the_same_file_is_never_imported_twice(catalogue) -> None:  # type: ignore[no-untyped-def]
    data = dsr.basic_audio([("GBTST2600001", "GB", 1, "1")])
    first = usage.import_dsr(data)

    with pytest.raises(usage.UsageImportError, match=f"already imported as report {first.pk}"):
        usage.import_dsr(data)


def test_a_ugc_dsr_carries_the_claim_each_usage_earned_on(catalogue) -> None:  # type: ignore[no-untyped-def]
    from rights import actions

    claim = actions.claim_match(factories.match(catalogue[0]))
    data = dsr.basic_audio([("GBTST2600001", "US", 10, "0.05")], profile="UGC", ugc_claims=[str(claim.pk)])  # type: ignore[union-attr]

    usage.import_dsr(data)

    line = UsageLine.objects.get()
    assert (line.use, line.claim) == ("ugc", claim)


CSV = (
    "isrc,territory,use,quantity,amount,user,claim_id,licence\n"
    "GBTST2600001,GB,streaming,100,1.25,u1,,\n"
    "GBTST2600002,DE,download,3,2.97,u2,,\n"
)


def test_a_csv_report_is_imported_for_its_month(catalogue) -> None:  # type: ignore[no-untyped-def]
    report = usage.import_csv(CSV.encode(), period="2026-10", currency="usd")

    assert (report.currency, str(report.period_start), str(report.period_end), report.line_count) == (
        "USD",
        "2026-10-01",
        "2026-10-31",
        2,
    )
    assert list(UsageLine.objects.values_list("row_number", "use", "amount")) == [
        (2, "streaming", Decimal("1.25")),
        (3, "download", Decimal("2.97")),
    ]


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        (CSV + "GBTST2600003,GB,streaming,1,abc,,,\n", [(4, "amount 'abc' is not a number")]),
        (CSV + "GBTST2600003,GB,karaoke,1,1,,,\n", [(4, "use 'karaoke' is not one of streaming")]),
        (CSV + "GBTST2600003,GB,streaming,1,1,,999,\n", [(4, "claim 999 does not exist")]),
        (CSV + "GBTST2600003,GB,streaming,1,1,,,NOPE\n", [(4, "licence 'NOPE' does not exist")]),
        (CSV + ",GB,streaming,1,1,,,\n", [(4, "give an ISRC (recording) or an ISWC (work)")]),
        ("isrc,quantity,amount\nGBTST2600001,1,1\n", [(1, "the header lacks column(s): territory")]),
    ],
)
def test_a_csv_row_error_names_the_line_and_imports_nothing(catalogue, text: str, errors) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(usage.UsageImportError) as refused:
        usage.import_csv(text.encode(), period="2026-10", currency="EUR")

    assert [(n, m[: len(e[1])]) for (n, m), e in zip(refused.value.errors, errors, strict=True)] == errors
    assert not UsageLine.objects.exists() and not UsageReport.objects.exists()


def test_the_import_command_prints_each_problem(catalogue, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    path.write_text(CSV + "GBTST2600003,GB,streaming,x,1,,,\n")
    err = io.StringIO()

    with pytest.raises(CommandError, match="Nothing imported"):
        call_command(
            "import_usage", str(path), "--format", "csv", "--period", "2026-10", "--currency", "EUR", stderr=err
        )

    assert "line 4: quantity must be a whole number" in err.getvalue() or "line 4: quantity 'x'" in err.getvalue()


def test_a_dsr_with_only_head_summary_and_foot_is_a_no_usage_report(catalogue) -> None:  # type: ignore[no-untyped-def]
    data = (
        dsr.record("HEAD", "1.4", "BasicAudio", "1.0", "MSG-0", "2026-11-02", "2026-10-01", "2026-10-31")
        + "\n"
        + dsr.record("SY01", "S1", "SubscriptionModel", "Stream", "GB", "GBP", 0, "0.00")
        + "\n"
        + dsr.record("FOOT", 1, 1, 0)
        + "\n"
    ).encode()

    report = usage.import_dsr(data)

    assert (report.line_count, report.currency, report.pool_amount) == (0, "GBP", Decimal("0.00"))
