"""AI services' payouts: a month of a licensed AI service becomes a usage report that royalty runs pay
through splits, to the cent: the training pool per manifest item, the output pool by attribution."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Label, Recording
from generation_audit import payouts
from generation_audit.models import (
    AIService,
    GeneratedOutput,
    OutputAttribution,
    ServiceCall,
    TrainingManifest,
    TrainingManifestEntry,
)
from rights import licensing, runs, splits, usage
from rights.models import RoyaltyRun, Statement, UsageLine, UsageReport
from tests import factories

pytestmark = pytest.mark.django_db

OCT = datetime.datetime(2026, 10, 14, 12, 0, tzinfo=datetime.UTC)
SEP = datetime.datetime(2026, 9, 20, 12, 0, tzinfo=datetime.UTC)


def at(moment: datetime.datetime):  # type: ignore[no-untyped-def]
    return mock.patch("django.utils.timezone.now", return_value=moment)


class Studio:
    """A generation service, its catalogue, splits, manifests and the outputs of two months."""

    def __init__(self) -> None:
        label = Label.objects.create(name="Test Label")
        self.label = factories.party("Harbour Records", label=label)
        self.artist = factories.party("Ada (artist)", kind="artist")
        self.publisher = factories.party("Quill Publishing", kind="publisher")
        self.writer = factories.party("Wren (writer)", kind="writer")
        self.operator = factories.party("Muse AI", kind="service")
        self.r1, self.r2, self.r3 = (factories.recording(i, label=label) for i in (1, 2, 3))
        self.demo = Recording.objects.create(title="Untitled demo", label=label)  # no ISRC: cannot be reported
        self.work = factories.work(1)
        splits.set_split(recording=self.r1, shares=[(self.label, "60", "label"), (self.artist, "40", "artist")])
        splits.set_split(recording=self.r2, shares=[(self.label, "100", "label")])
        splits.set_split(work=self.work, shares=[(self.publisher, "50", "publisher"), (self.writer, "50", "writer")])
        self.licence = licensing.grant_licence(
            reference="MUSE-AI-2026",
            licensor=self.label,
            licensee=self.operator,
            recordings=[self.r1, self.r2, self.r3, self.demo],
            works=[self.work],
            uses=["ai_training", "ai_generation"],
            territories=["WORLD"],
            start_date=datetime.date(2026, 1, 1),
            fee_model="flat",
            flat_fee=Decimal("1000"),  # paid in January, the month it starts: not in October's run
        )
        self.service = AIService.objects.create(
            name="muse",
            kind=AIService.Kind.GENERATION,
            operator=self.operator,
            backend=AIService.Backend.HTTP,
            endpoint="https://muse.example/generate",
            licence=self.licence,
        )
        self._manifest("v0", datetime.date(2026, 5, 1), "passed", [self.r3])
        self.manifest = self._manifest(
            "v1", datetime.date(2026, 9, 1), "passed", [self.r1, self.r2, self.work, self.demo, self.r1]
        )
        self._manifest("v2", datetime.date(2026, 10, 3), "failed", [self.r3])
        self._manifest("v3", datetime.date(2026, 11, 2), "passed", [self.r3])  # trained after October
        with at(OCT):
            self.o1 = self._output("DE", {self.r1: "70", self.r2: "30"})
            self.o2 = self._output("FR", {self.r2: "100"})
            self.o3 = self._output("DE", {self.r1: "50", self.demo: "50"})
        with at(SEP):
            self._output("DE", {self.r3: "100"})  # September's: not October's usage

    def _manifest(self, version: str, day: datetime.date, status: str, items: list) -> TrainingManifest:  # type: ignore[type-arg]
        manifest = TrainingManifest.objects.create(
            service=self.service, model_version=version, trained_on=day, territory="GB", audit_status=status
        )
        for item in items:
            field = "recording" if isinstance(item, Recording) else "work"
            TrainingManifestEntry.objects.create(manifest=manifest, declared_licence=self.licence, **{field: item})
        return manifest

    def _output(self, territory: str, shares: dict[Recording, str]) -> GeneratedOutput:
        call = ServiceCall.objects.create(
            service=self.service,
            operation="generate",
            licensee=self.operator,
            territory=territory,
            licence=self.licence,
            status=ServiceCall.Status.OK,
        )
        output = GeneratedOutput.objects.create(
            call=call, asset=factories.audio_asset("generated"), audit_status=GeneratedOutput.Audit.CLEAR
        )
        for recording, share in shares.items():
            OutputAttribution.objects.create(output=output, recording=recording, share=Decimal(share), similarity=0.9)
        return output


@pytest.fixture
def studio() -> Studio:
    return Studio()


def lines_of(report: UsageReport, use: str) -> dict[tuple[str, str], tuple[int, Decimal]]:
    """(ISRC or ISWC, territory) -> (uses, amount) of the report's lines of one use."""
    found = {}
    for line in UsageLine.objects.filter(report=report, use=use).select_related("recording", "work"):
        code = line.recording.isrc if line.recording else line.work.iswc  # type: ignore[union-attr]
        found[(code, line.territory)] = (line.quantity, line.amount.normalize())
    return found


def test_the_training_pool_is_shared_equally_over_the_latest_passed_manifest_to_the_cent(studio: Studio) -> None:
    result = payouts.ai_usage_report(studio.service, "2026-10", "EUR", training_pool="100.00")

    # v1 (the latest passed manifest trained by October): r1 (named twice, paid once), r2, the work;
    # 100.00 over three items: the odd cent to the first.
    assert lines_of(result.report, "ai_training") == {
        ("GBTST2600001", "GB"): (1, Decimal("33.34")),
        ("GBTST2600002", "GB"): (1, Decimal("33.33")),
        (studio.work.iswc, "GB"): (1, Decimal("33.33")),
    }
    assert result.report.total_amount == Decimal("100.00")
    assert result.report.platform == studio.operator
    assert any("Untitled demo" in reason and "ISRC" in reason for reason in result.skipped)


def test_the_output_pool_is_shared_equally_per_output_then_by_attribution_shares(studio: Studio) -> None:
    result = payouts.ai_usage_report(studio.service, "2026-10", "EUR", output_pool="10.00")

    # Three October outputs: 3.34, 3.33, 3.33. o1 70/30 -> 2.34 + 1.00; o2 -> 3.33 to r2 in FR;
    # o3's demo half cannot be reported, so its whole 3.33 goes to r1.
    assert lines_of(result.report, "ai_generation") == {
        ("GBTST2600001", "DE"): (2, Decimal("5.67")),
        ("GBTST2600002", "DE"): (1, Decimal("1")),
        ("GBTST2600002", "FR"): (1, Decimal("3.33")),
    }
    assert result.report.total_amount == Decimal("10.00")
    assert any(f"output {studio.o3.pk}" in reason and "no ISRC" in reason for reason in result.skipped)


def test_a_royalty_run_pays_both_pools_through_the_splits_exactly(studio: Studio) -> None:
    payouts.ai_usage_report(studio.service, "2026-10", "EUR", training_pool="100.00", output_pool="10.00")

    run = runs.run_royalties("2026-10")

    paid = {s.party.name: s.paid_minor for s in Statement.objects.filter(run=run).select_related("party")}
    # r1: 33.34 and 5.67 split 60/40; r2: 33.33 + 1.00 + 3.33 to the label; the work 33.33 split 50/50.
    assert paid == {
        "Harbour Records": 2000 + 340 + 3333 + 100 + 333,
        "Ada (artist)": 1334 + 227,
        "Quill Publishing": 1667,
        "Wren (writer)": 1666,
    }
    assert sum(paid.values()) == 11000  # the two pools, every cent
    assert run.status == RoyaltyRun.Status.DONE and run.totals["EUR"] == {"paid": 11000}


def test_a_month_is_reported_once_and_always_as_the_same_file(studio: Studio) -> None:
    first = payouts.ai_usage_report(studio.service, "2026-10", "EUR", training_pool="100.00", output_pool="10.00")
    sha256 = first.report.sha256

    with pytest.raises(usage.DuplicateReportError):
        payouts.ai_usage_report(studio.service, "2026-10", "EUR", training_pool="100.00", output_pool="10.00")
    with pytest.raises(usage.DuplicateReportError):  # other pools: still the same month
        payouts.ai_usage_report(studio.service, "2026-10", "EUR", training_pool="50.00")
    assert UsageReport.objects.count() == 1

    first.report.delete()  # staff withdraw the report to report the month again
    again = payouts.ai_usage_report(studio.service, "2026-10", "EUR", training_pool="100.00", output_pool="10.00")
    assert again.report.sha256 == sha256  # the same month, the same bytes: rights.usage refuses a copy


def test_outputs_still_being_audited_hold_the_output_pool_back(studio: Studio) -> None:
    GeneratedOutput.objects.filter(pk=studio.o2.pk).update(audit_status=GeneratedOutput.Audit.PENDING)

    with pytest.raises(payouts.PayoutError, match="still being audited"):
        payouts.ai_usage_report(studio.service, "2026-10", "EUR", output_pool="10.00")
    assert not UsageReport.objects.exists()


def test_a_pool_finer_than_the_currency_is_refused(studio: Studio) -> None:
    with pytest.raises(payouts.PayoutError, match="smallest unit of EUR"):
        payouts.ai_usage_report(studio.service, "2026-10", "EUR", training_pool="10.005")


def test_a_manifest_trained_anywhere_needs_the_country_whose_splits_apply(studio: Studio) -> None:
    TrainingManifest.objects.filter(pk=studio.manifest.pk).update(territory="WORLD")

    with pytest.raises(payouts.PayoutError, match="training territory"):
        payouts.ai_usage_report(studio.service, "2026-10", "EUR", training_pool="100.00")
    result = payouts.ai_usage_report(studio.service, "2026-10", "EUR", training_pool="9.00", training_territory="se")

    assert {territory for _, territory in lines_of(result.report, "ai_training")} == {"SE"}


def test_recommendations_under_a_flat_fee_licence_carry_the_callers_pool_for_pro_rata_runs(studio: Studio) -> None:
    flat = licensing.grant_licence(
        reference="TUNEFINDER-2026",
        licensor=studio.label,
        licensee=studio.operator,
        recordings=[studio.r1, studio.r2],
        uses=["recommendation"],
        territories=["WORLD"],
        start_date=datetime.date(2026, 1, 1),
        fee_model="flat",
        flat_fee=Decimal("500"),
    )
    service = AIService.objects.create(
        name="tunefinder",
        kind=AIService.Kind.RECOMMENDATION,
        operator=studio.operator,
        backend=AIService.Backend.BUILTIN_RECOMMENDER,
        licence=flat,
    )
    with at(OCT):
        for recommended in ([[studio.r1.pk, 0.9], [studio.r2.pk, 0.8]], [[studio.r1.pk, 0.7]]):
            ServiceCall.objects.create(
                service=service,
                operation="recommend",
                licensee=studio.operator,
                territory="DE",
                licence=flat,
                status=ServiceCall.Status.OK,
                response={"recommended": recommended},
            )

    result = payouts.ai_usage_report(service, "2026-10", "EUR", output_pool="3.00")
    run = runs.run_royalties("2026-10", model="pro_rata")

    assert lines_of(result.report, "recommendation") == {
        ("GBTST2600001", "DE"): (2, Decimal("0")),
        ("GBTST2600002", "DE"): (1, Decimal("0")),
    }
    assert result.report.pool_amount == Decimal("3.00")
    # 3.00 by uses: r1 2.00 (60/40), r2 1.00 to the label.
    paid = {s.party.name: s.paid_minor for s in Statement.objects.filter(run=run).select_related("party")}
    assert paid == {"Harbour Records": 120 + 100, "Ada (artist)": 80}


def test_the_command_imports_the_month_and_says_what_was_left_out(studio: Studio) -> None:
    out = io.StringIO()

    call_command(
        "ai_usage_report",
        "--service=muse",
        "--period=2026-10",
        "--currency=EUR",
        "--training-pool=100.00",
        "--output-pool=10.00",
        stdout=out,
    )

    text = out.getvalue()
    assert "6 lines" in text and "110 EUR" in text
    assert "Not reported (2):" in text and "Untitled demo" in text
    with pytest.raises(CommandError, match="already reported"):
        call_command("ai_usage_report", "--service=muse", "--period=2026-10", "--currency=EUR", "--output-pool=1")
    with pytest.raises(CommandError, match="No AI service"):
        call_command("ai_usage_report", "--service=nobody", "--period=2026-10", "--currency=EUR")
