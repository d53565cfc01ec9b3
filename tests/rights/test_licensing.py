"""`is_licensed`: is this use by this licensee of this recording, here, now, licensed? And why not."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from catalog.models import Release
from rights import licensing
from rights.models import UsageLine, UsageReport
from tests import factories

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def deal():  # type: ignore[no-untyped-def]
    """A streaming + recommendation licence for two territories in 2026, for one recording."""
    label, platform = factories.party("Label"), factories.party("Platform", kind="platform")
    recording = factories.recording(1)
    licence = licensing.grant_licence(
        reference="STREAM-2026",
        licensor=label,
        licensee=platform,
        uses=["streaming", "recommendation"],
        territories=["GB", "IE"],
        start_date=D(2026, 1, 1),
        end_date=D(2026, 12, 31),
        fee_model="revenue_share",
        revenue_share="60",
        recordings=[recording],
    )
    return licence, platform, recording


@pytest.mark.parametrize(
    ("use", "territory", "day", "licensed", "why"),
    [
        ("streaming", "GB", D(2026, 6, 1), True, "licence STREAM-2026 covers streaming in GB on 2026-06-01"),
        ("streaming", "ie", D(2026, 1, 1), True, "covers streaming in IE"),  # first day, lower case
        ("streaming", "IE", D(2026, 12, 31), True, "covers"),  # last day is inclusive
        ("streaming", "FR", D(2026, 6, 1), False, "does not cover territory FR"),
        ("download", "GB", D(2026, 6, 1), False, "does not grant download (grants recommendation, streaming)"),
        ("streaming", "GB", D(2027, 1, 1), False, "is not in its term on 2027-01-01 (2026-01-01 to 2026-12-31)"),
        ("ai_training", "GB", D(2026, 6, 1), False, "does not grant ai_training"),
    ],
)
def test_a_use_is_licensed_only_inside_the_licence(deal, use, territory, day, licensed, why) -> None:  # type: ignore[no-untyped-def]
    licence, platform, recording = deal

    answer = licensing.is_licensed(platform, use, territory, day, recording=recording)

    assert answer.licensed is licensed and bool(answer) is licensed
    assert answer.licence == (licence if licensed else None)
    assert why in answer.reason


def test_another_licensee_or_nobody_is_not_licensed(deal) -> None:  # type: ignore[no-untyped-def]
    _, _, recording = deal
    stranger = factories.party("Stranger", kind="platform")

    assert licensing.is_licensed(stranger, "streaming", "GB", D(2026, 6, 1), recording=recording).reason == (
        f"no licence of this licensee covers {recording}"
    )
    assert not licensing.is_licensed(None, "streaming", "GB", recording=recording)


def test_a_revoked_licence_stops_on_the_day_it_was_revoked(deal) -> None:  # type: ignore[no-untyped-def]
    licence, platform, recording = deal
    licensing.revoke_licence(licence, D(2026, 7, 1))

    assert licensing.is_licensed(platform, "streaming", "GB", D(2026, 6, 30), recording=recording)
    answer = licensing.is_licensed(platform, "streaming", "GB", D(2026, 7, 1), recording=recording)
    assert not answer and "was revoked from 2026-07-01" in answer.reason


def test_a_catalogue_slice_covers_every_recording_of_the_label_and_release() -> None:
    label, platform = factories.party("Label"), factories.party("AI service", kind="service")
    first, second = factories.recording(1), factories.recording(2)
    other_label = factories.Label.objects.create(name="Other")  # type: ignore[attr-defined]
    elsewhere = factories.recording(3, label=other_label)
    on_release = factories.recording(4, label=other_label)
    release = Release.objects.create(title="Compilation")
    release.recordings.add(on_release)
    licensing.grant_licence(
        reference="AI-TRAIN",
        licensor=label,
        licensee=platform,
        uses=["ai_training"],
        territories=["WORLD"],
        start_date=D(2026, 1, 1),
        fee_model="flat",
        flat_fee="100000",
        catalogue_labels=[first.label],
        catalogue_releases=[release],
    )

    assert [
        bool(licensing.is_licensed(platform, "ai_training", "US", D(2026, 3, 1), recording=r))
        for r in (first, second, elsewhere, on_release)
    ] == [True, True, False, True]


def test_a_monthly_cap_on_uses_is_enforced(deal) -> None:  # type: ignore[no-untyped-def]
    licence, platform, recording = deal
    licence.cap_uses = 100
    licence.save()
    report = UsageReport.objects.create(
        sha256="x" * 64, source_format="csv", period_start=D(2026, 6, 1), period_end=D(2026, 6, 30), currency="EUR"
    )
    UsageLine.objects.create(
        report=report, row_number=2, recording=recording, territory="GB", quantity=100, licence=licence
    )

    assert not licensing.is_licensed(platform, "streaming", "GB", D(2026, 6, 15), recording=recording)
    assert (
        "has used its cap of 100 uses this month"
        in licensing.is_licensed(platform, "streaming", "GB", D(2026, 6, 15), recording=recording).reason
    )
    assert licensing.is_licensed(platform, "streaming", "GB", D(2026, 7, 1), recording=recording)


def test_a_work_licence_answers_for_the_work() -> None:
    publisher, service = factories.party("Publisher", kind="publisher"), factories.party("Sync house")
    work = factories.work(1)
    licensing.grant_licence(
        reference="SYNC-1",
        licensor=publisher,
        licensee=service,
        uses=["sync"],
        territories=["WORLD"],
        start_date=D(2026, 1, 1),
        fee_model="flat",
        flat_fee="12000",
        works=[work],
    )

    assert licensing.is_licensed(service, "sync", "JP", D(2030, 1, 1), work=work)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"uses": ["karaoke"]}, "Name the uses granted from: streaming"),
        ({"territories": ["EU"]}, "'EU' is not an ISO 3166-1 alpha-2 country code"),
        ({"fee_model": "per_use"}, "A per-use rate licence needs per use rate"),
        ({"fee_model": "minimum_guarantee", "minimum_guarantee": "100"}, "give the share"),
        ({"end_date": D(2025, 1, 1)}, "cannot end before it starts"),
    ],
)
def test_an_invalid_licence_is_refused(fields, message) -> None:  # type: ignore[no-untyped-def]
    base = {
        "reference": "BAD",
        "licensor": factories.party("L"),
        "licensee": factories.party("P"),
        "uses": ["streaming"],
        "territories": ["GB"],
        "start_date": D(2026, 1, 1),
        "fee_model": "flat",
        "flat_fee": "1",
    }

    with pytest.raises(ValidationError, match=message):
        licensing.grant_licence(**{**base, **fields})
