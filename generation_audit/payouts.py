"""A licensed AI service's month as royalty income: a usage report in the CSV format rights.usage
reads, imported with the service's operator as the platform, so a royalty run (rights.runs) pays it
through splits like any platform's report.

Recommendation service: each recommendation served in the month (ServiceCall "recommend", status
ok, response["recommended"]) is one use of that recording in the call's territory, under the call's
licence (use "recommendation"). A per-use licence prices it (rate x uses, exact); under other fee
models the lines carry no amount and the caller's pool (`output_pool`) is the report's pool, which
pool-model runs (pro-rata) share by uses; a flat fee is paid by the licence itself in runs.

Generation service: the training pool is shared equally over the distinct recordings and works of
the service's latest passed training manifest trained by the end of the month (use "ai_training");
the output pool equally over the month's outputs, each output's part over its attributions by
share (use "ai_generation"). These pools are what the operator pays: the lines carry the money
itself and no licence, so a revenue run pays them as they are, to the cent.

Money is computed in minor units by largest remainder (rights.royalties.allocate): the lines sum to
exactly the pools. A recording without ISRC (a work without ISWC) cannot be reported: it is left
out, the pool is shared over the reportable items, and it is listed in `AIUsage.skipped`.

One report per service and month: the CSV is deterministic (the same month gives the same bytes,
which rights.usage refuses twice) and a second report for a service's month is refused even when
the pools differ; delete the first report to report the month again.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from catalog.identifiers import WORLD, IdentifierError, normalize_territory
from catalog.models import Recording, Work
from generation_audit.models import AIService, GeneratedOutput, ServiceCall, TrainingManifest
from rights import royalties, runs, usage
from rights.models import Licence, UsageReport

HEADER = ("isrc", "iswc", "territory", "use", "stream", "quantity", "amount", "licence", "service", "period")

# (isrc, iswc, territory, use, licence reference) -> [uses, amount]
Lines = dict[tuple[str, str, str, str, str], list[Any]]


class PayoutError(ValueError):
    """The month cannot be reported as asked; the message says what to change."""


@dataclass(frozen=True)
class AIUsage:
    """The imported report, and what could not be reported (and why), one sentence each."""

    report: UsageReport
    skipped: tuple[str, ...]


def ai_usage_report(
    service: AIService,
    period: str,
    currency: str,
    *,
    training_pool: Decimal | str | None = None,
    output_pool: Decimal | str | None = None,
    training_territory: str | None = None,
    actor: Any = None,
) -> AIUsage:
    """Report `service`'s usage for the month `period` (YYYY-MM) in `currency` and import it.

    `training_territory`: the country whose splits apply to the training pool when the manifest was
    trained anywhere (WORLD); usage lines name one country. Raises PayoutError, or
    rights.usage.DuplicateReportError when the month was already reported."""
    try:
        first, last, cutoff = runs.month_bounds(period)
        royalties.minor_exponent(currency)
    except ValueError as exc:
        raise PayoutError(str(exc)) from None
    currency = currency.upper()
    start = timezone.make_aware(datetime.datetime.combine(first, datetime.time()))
    name = f"ai-usage-{service.name}-{first:%Y-%m}.csv"
    earlier = UsageReport.objects.filter(platform=service.operator, file_name=name, period_start=first).first()
    if earlier is not None:
        raise usage.DuplicateReportError([(0, f"{service.name} {first:%Y-%m} was already reported ({earlier})")])
    skipped: list[str] = []
    lines, pool_amount = _service_lines(
        service, (first, last, start, cutoff), currency, training_pool, output_pool, training_territory, skipped
    )
    if not lines:
        raise PayoutError(f"service {service.name} has nothing to report for {first:%Y-%m}" + _why(skipped))
    data = _csv(lines, service.name, f"{first:%Y-%m}")
    report = usage.import_csv(
        data,
        period=f"{first:%Y-%m}",
        currency=currency,
        platform=service.operator,
        pool_amount=pool_amount,
        actor=actor,
        file_name=name,
    )
    return AIUsage(report, tuple(skipped))


def _service_lines(
    service: AIService,
    month: tuple[datetime.date, datetime.date, datetime.datetime, datetime.datetime],
    currency: str,
    training_pool: Decimal | str | None,
    output_pool: Decimal | str | None,
    training_territory: str | None,
    skipped: list[str],
) -> tuple[Lines, Decimal | None]:
    """The month's usage lines for the service's kind, and the report's pool (recommendation only)."""
    _, last, start, cutoff = month
    if service.kind == AIService.Kind.RECOMMENDATION:
        if training_pool is not None:
            raise PayoutError(f"service {service.name} recommends: it has no training pool")
        lines = _recommendation_lines(service, start, cutoff, currency, skipped)
        if output_pool is None:
            return lines, None
        return lines, royalties.from_minor(_minor(output_pool, "output pool", currency), currency)
    if training_pool is None and output_pool is None:
        raise PayoutError(f"service {service.name} generates: give a training pool, an output pool, or both")
    lines = {}
    if training_pool is not None:
        pool = _minor(training_pool, "training pool", currency)
        _training_lines(service, last, pool, currency, training_territory, lines, skipped)
    if output_pool is not None:
        pool = _minor(output_pool, "output pool", currency)
        _output_lines(service, start, cutoff, pool, currency, lines, skipped)
    return lines, None


def _why(skipped: list[str]) -> str:
    return f" ({'; '.join(skipped)})" if skipped else ""


def _minor(amount: Decimal | str, what: str, currency: str) -> int:
    """A pool in minor units; refused when negative or finer than the currency's smallest unit."""
    try:
        value = Decimal(str(amount))
    except ArithmeticError:
        raise PayoutError(f"the {what} {amount!r} is not an amount") from None
    if not value.is_finite() or value < 0:
        raise PayoutError(f"the {what} must be an amount >= 0; got {amount!r}")
    units = royalties.to_minor(value, currency)
    if royalties.from_minor(units, currency) != value:
        raise PayoutError(f"the {what} {value} is finer than the smallest unit of {currency}")
    return units


def _add(lines: Lines, key: tuple[str, str, str, str, str], uses: int, amount: Decimal) -> None:
    line = lines.setdefault(key, [0, Decimal(0)])
    line[0] += uses
    line[1] += amount


# --- recommendation ------------------------------------------------------------------------------


def _recommendation_lines(
    service: AIService, start: datetime.datetime, cutoff: datetime.datetime, currency: str, skipped: list[str]
) -> Lines:
    """One use per recommendation served in the month, by recording, territory and licence."""
    calls = ServiceCall.objects.filter(
        service=service,
        operation="recommend",
        status=ServiceCall.Status.OK,
        created_at__gte=start,
        created_at__lt=cutoff,
    ).order_by("pk")
    served: Counter[tuple[int, str, int | None]] = Counter()
    for territory, licence_id, response in calls.values_list("territory", "licence_id", "response").iterator():
        for recording_id, _similarity in (response or {}).get("recommended", []):
            served[(int(recording_id), territory, licence_id)] += 1
    recordings = Recording.objects.in_bulk({key[0] for key in served})
    licences = Licence.objects.in_bulk({key[2] for key in served if key[2] is not None})
    lines: Lines = {}
    for (recording_id, territory, licence_id), uses in sorted(served.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        recording = recordings.get(recording_id)
        reason = _unreportable(recording, recording_id)
        if reason or recording is None:
            skipped.append(f"{reason}: {uses} recommendation(s) in {territory} not reported")
            continue
        licence = licences.get(licence_id) if licence_id is not None else None
        amount = Decimal(0)
        if licence is not None and licence.fee_model == Licence.FeeModel.PER_USE:
            if licence.currency.upper() != currency:
                raise PayoutError(
                    f"licence {licence.reference} is priced in {licence.currency}: report in that currency"
                )
            amount = (licence.per_use_rate or Decimal(0)) * uses
        key = (recording.isrc or "", "", territory, "recommendation", licence.reference if licence else "")
        _add(lines, key, uses, amount)
    return lines


def _unreportable(recording: Recording | None, recording_id: int) -> str:
    """Why a recording cannot be on a usage line ('' when it can)."""
    if recording is None:
        return f"recording {recording_id} is no longer in the catalogue"
    if not recording.isrc:
        return f"recording {recording_id} ({recording.title}) has no ISRC"
    return ""


# --- generation ----------------------------------------------------------------------------------


def _training_lines(
    service: AIService,
    last: datetime.date,
    pool: int,
    currency: str,
    territory: str | None,
    lines: Lines,
    skipped: list[str],
) -> None:
    """The training pool, equally over the distinct recordings and works of the latest passed manifest."""
    manifest = (
        TrainingManifest.objects.filter(
            service=service, audit_status=TrainingManifest.Audit.PASSED, trained_on__lte=last
        )
        .order_by("-trained_on", "-pk")
        .first()
    )
    if manifest is None:
        raise PayoutError(f"service {service.name} has no passed training manifest trained by {last}")
    where = _country(manifest.territory if manifest.territory.upper() != WORLD else territory, manifest)
    items: list[tuple[str, str]] = []
    seen: set[tuple[str, int | None]] = set()
    for entry in manifest.entries.select_related("recording", "work").order_by("pk"):
        item = ("r", entry.recording_id) if entry.recording_id else ("w", entry.work_id)
        if item in seen:
            continue
        seen.add(item)
        identifier = _identifier(entry.recording, entry.work)
        if identifier is None:
            skipped.append(f"{entry}: no {'ISRC' if entry.recording_id else 'ISWC'}; left out of the training pool")
        else:
            items.append(identifier)
    if not items:
        raise PayoutError(f"manifest {manifest.model_version} names nothing reportable" + _why(skipped))
    for (isrc, iswc), part in zip(items, royalties.allocate(pool, [1] * len(items)), strict=True):
        _add(lines, (isrc, iswc, where, "ai_training", ""), 1, royalties.from_minor(part, currency))


def _country(territory: str | None, manifest: TrainingManifest) -> str:
    """The one country training usage is reported in."""
    if not territory:
        raise PayoutError(
            f"manifest {manifest.model_version} was trained anywhere (WORLD) and a usage line names one "
            "country: give the training territory whose splits apply"
        )
    try:
        code = normalize_territory(territory)
    except IdentifierError as exc:
        raise PayoutError(f"training territory: {exc}") from None
    if code == WORLD:
        raise PayoutError("the training territory must be one country, not WORLD")
    return code


def _identifier(recording: Recording | None, work: Work | None) -> tuple[str, str] | None:
    """(isrc, iswc) of a manifest item, or None when it has no code to report it by."""
    if recording is not None:
        return (recording.isrc, "") if recording.isrc else None
    return ("", work.iswc) if work is not None and work.iswc else None


def _output_lines(
    service: AIService,
    start: datetime.datetime,
    cutoff: datetime.datetime,
    pool: int,
    currency: str,
    lines: Lines,
    skipped: list[str],
) -> None:
    """The output pool, equally over the month's outputs, each part over its attributions by share."""
    outputs = list(
        GeneratedOutput.objects.filter(
            call__service=service,
            call__status=ServiceCall.Status.OK,
            call__created_at__gte=start,
            call__created_at__lt=cutoff,
        )
        .select_related("call")
        .prefetch_related("attributions__recording")
        .order_by("pk")
    )
    pending = [o.pk for o in outputs if o.audit_status == GeneratedOutput.Audit.PENDING]
    if pending:
        raise PayoutError(
            f"{len(pending)} output(s) of the month are still being audited (first: {pending[0]}): "
            "report the month once their attribution is done"
        )
    shared: list[tuple[GeneratedOutput, list[tuple[str, Decimal]]]] = []
    for output in outputs:
        parts = _attributed(output, skipped)
        if parts:
            shared.append((output, parts))
    if not shared:
        raise PayoutError("no output of the month is attributed to a reportable recording" + _why(skipped))
    for (output, parts), amount in zip(shared, royalties.allocate(pool, [1] * len(shared)), strict=True):
        shares = royalties.allocate(amount, [share for _, share in parts])
        for (isrc, _), minor in zip(parts, shares, strict=True):
            _add(
                lines, (isrc, "", output.call.territory, "ai_generation", ""), 1, royalties.from_minor(minor, currency)
            )


def _attributed(output: GeneratedOutput, skipped: list[str]) -> list[tuple[str, Decimal]]:
    """(ISRC, share) of an output's reportable attributions, by recording id; the rest are noted."""
    parts = []
    attributions = sorted(output.attributions.all(), key=lambda a: a.recording_id)
    for attribution in attributions:
        reason = _unreportable(attribution.recording, attribution.recording_id)
        if reason:
            skipped.append(f"{reason}: its {attribution.share} % of output {output.pk} is shared over the rest")
        elif attribution.share > 0:
            parts.append((attribution.recording.isrc or "", attribution.share))
    if not parts:
        why = "is attributed to no reportable recording" if attributions else "has no attribution"
        skipped.append(f"output {output.pk} {why}; left out of the output pool")
    return parts


# --- the file ------------------------------------------------------------------------------------


def _csv(lines: Lines, service: str, period: str) -> bytes:
    """The report as CSV bytes, rows sorted: the same lines always give the same bytes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    rows: Iterable[tuple[tuple[str, str, str, str, str], list[Any]]] = sorted(
        lines.items(), key=lambda kv: (kv[0][3], kv[0])
    )
    for (isrc, iswc, territory, use, licence), (uses, amount) in rows:
        stream = "master" if isrc else "publishing"
        writer.writerow((isrc, iswc, territory, use, stream, uses, format(amount, "f"), licence, service, period))
    return out.getvalue().encode()
