"""Royalty runs: allocate a month's income through claims, licences and splits, exactly, streaming.

For every usage report of the month (one currency each), money is allocated in three exact steps,
all largest remainder in minor units (rights.royalties):
1. the report's pool over its assets (recordings / works): by reported revenue (after licence fee
   terms) for the revenue model, by plays for pro-rata; for user-centric, over users equally;
2. each asset's (or user's) amount over its usage lines (by revenue or plays);
3. each line's amount: held in escrow (disputed claim), held for review (potential claim), returned
   (released claim), part held for an open ownership conflict, the rest over the split's parties
   (no split: the owners' shares; no owner: the label; nobody: unallocated).
Then money held by earlier runs whose cause was settled this month is released to the winner, and
licence flat fees and minimum-guarantee top-ups are added. Lines stream from the database and
statement lines stream back (COPY on PostgreSQL), so memory does not grow with the number of lines.

A run is deterministic: the same database gives the same statement lines; `result_digest` lets an
auditor re-run a period (`run_royalties --verify`) and compare.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from rights import claims, royalties
from rights.allocation import HELD, LINE_FIELDS, PAID, RETURNED, Context, Line, Payees, Writer, route, states_at
from rights.models import (
    Dispute,
    Licence,
    OwnershipConflict,
    RoyaltyRun,
    Statement,
    StatementLine,
    UsageLine,
    UsageReport,
)

AMOUNT_PLACES = UsageLine._meta.get_field("amount").decimal_places


class RunError(ValueError):
    """A run could not be made (bad period or model)."""


def month_bounds(period: str | datetime.date) -> tuple[datetime.date, datetime.date, datetime.datetime]:
    """(first day, last day, cutoff): the cutoff is the start of the next month, in the project's time zone."""
    if isinstance(period, str):
        try:
            first = datetime.datetime.strptime(period, "%Y-%m").date()
        except ValueError:
            raise RunError(f"period must be YYYY-MM; got {period!r}") from None
    else:
        first = period.replace(day=1)
    nxt = (first + datetime.timedelta(days=32)).replace(day=1)
    cutoff = timezone.make_aware(datetime.datetime.combine(nxt, datetime.time()))
    return first, nxt - datetime.timedelta(days=1), cutoff


def payable(licence: Licence | None, amount: Decimal, quantity: int) -> Decimal:
    """What a reported use is worth to the licensor under the licence's fee terms (revenue model)."""
    if licence is None:
        return amount
    if licence.fee_model in (Licence.FeeModel.REVENUE_SHARE, Licence.FeeModel.MINIMUM_GUARANTEE):
        return amount * (licence.revenue_share or Decimal(0)) / Decimal(100)
    if licence.fee_model == Licence.FeeModel.PER_USE:
        return Decimal(quantity) * (licence.per_use_rate or Decimal(0))
    return Decimal(0)  # flat fee: paid once, not per use


# --- allocation of one report -----------------------------------------------------------------------


def _weight(model: str, licence: Licence | None, amount: Decimal, quantity: int) -> Decimal | int:
    return payable(licence, amount, quantity) if model == RoyaltyRun.PoolModel.REVENUE else quantity


def _asset_weights(report: UsageReport, model: str, ctx: Context) -> dict[tuple[int | None, int | None], Decimal | int]:
    """Step 1 weights, aggregated in the database per (recording, work, licence)."""
    weights: dict[tuple[int | None, int | None], Decimal | int] = defaultdict(int)
    grouped = (
        UsageLine.objects.filter(report=report)
        .values_list("recording_id", "work_id", "licence_id")
        .annotate(amount=Sum("amount"), quantity=Sum("quantity"))
        .order_by()
    )
    for rec, work, licence_id, amount, quantity in grouped:
        licence = ctx.licences.get(licence_id) if licence_id else None
        weights[(rec, work)] += _weight(model, licence, amount or Decimal(0), int(quantity or 0))
    return weights


def _pool(report: UsageReport, model: str, weights: dict[Any, Decimal | int]) -> int:
    if model != RoyaltyRun.PoolModel.REVENUE and report.pool_amount is not None:
        return royalties.to_minor(report.pool_amount, report.currency)
    if model == RoyaltyRun.PoolModel.REVENUE:
        return royalties.to_minor(sum((Decimal(w) for w in weights.values()), Decimal(0)), report.currency)
    return royalties.to_minor(report.total_amount, report.currency)


def _lines(report: UsageReport, order: tuple[str, ...]) -> Iterator[Line]:
    """The report's usage lines as tuples (LINE_FIELDS), streamed from a server-side cursor."""
    if connection.vendor != "postgresql":
        qs = UsageLine.objects.filter(report=report).order_by(*order).values_list(*LINE_FIELDS)
        yield from qs.iterator(chunk_size=20000)
        return
    columns = ", ".join("id" if f == "pk" else f for f in LINE_FIELDS)
    ordering = ", ".join("id" if f == "pk" else f for f in order)
    connection.ensure_connection()
    with connection.connection.cursor(name=f"usage_lines_{report.pk}") as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {UsageLine._meta.db_table} WHERE report_id = %s ORDER BY {ordering}", [report.pk]
        )
        while batch := cursor.fetchmany(20000):
            yield from batch


def _grouped(lines: Iterator[tuple[Any, ...]], key: Callable[[tuple[Any, ...]], Any]) -> Iterator[tuple[Any, list]]:
    current, group = object(), []
    for line in lines:
        k = key(line)
        if k != current and group:
            yield current, group
            group = []
        current = k
        group.append(line)
    if group:
        yield current, group


def _spread(total: int, group: list[tuple[Any, ...]], model: str, ctx: Context) -> list[int]:
    """Step 2: an asset's (or a user's) amount over its lines."""
    if model == RoyaltyRun.PoolModel.REVENUE and not any(line[10] for line in group):
        weights: list[Any] = [int(line[7].scaleb(AMOUNT_PLACES)) for line in group]  # exact: the column's scale
    elif model == RoyaltyRun.PoolModel.REVENUE:
        weights = [_weight(model, ctx.licences.get(line[10]) if line[10] else None, line[7], line[6]) for line in group]
    else:
        weights = [line[6] for line in group]
    try:
        return royalties.allocate(total, weights)
    except ValueError:  # all weights zero: share equally
        return royalties.allocate(total, [1] * len(group))


def _uniform(ctx: Context, group: list[Line]) -> Payees | None:
    """The shared payees of a group of lines of one asset that need no per-line routing, if any."""
    first = group[0]
    if any(line[9] is not None or line[10] is not None or line[3] != first[3] for line in group):
        return None
    key = ("w", first[2]) if first[3] == "publishing" and first[2] else ("r", first[1])
    return ctx.uniform_payees(key)


def allocate_report(
    report: UsageReport, model: str, ctx: Context, out: Writer, licence_minor: dict[int, int], findings: list[str]
) -> int:
    """Allocate one report; returns how many usage lines it had."""
    currency = report.currency
    claim_ids = set(UsageLine.objects.filter(report=report, claim__isnull=False).values_list("claim_id", flat=True))
    ctx.load_claim_states(claim_ids)
    count = 0
    if model == RoyaltyRun.PoolModel.USER_CENTRIC:
        users = UsageLine.objects.filter(report=report, quantity__gt=0).values("user_ref").distinct().count()
        pool = _pool(report, model, {})
        payments = iter(royalties.allocate(pool, [1] * users)) if users else iter(())
        lines = (line for line in _lines(report, ("user_ref", "pk")) if line[6] > 0)
        groups = _grouped(lines, key=lambda line: line[8])
    else:
        weights = _asset_weights(report, model, ctx)
        pool = _pool(report, model, weights)
        keys = sorted(weights, key=lambda k: (k[0] or 0, k[1] or 0))
        try:
            per_asset = dict(zip(keys, royalties.allocate(pool, [weights[k] for k in keys]), strict=True))
        except ValueError:
            per_asset = dict(zip(keys, royalties.allocate(pool, [1] * len(keys)), strict=True)) if keys else {}
        payments = None
        groups = _grouped(_lines(report, ("recording_id", "work_id", "pk")), key=lambda line: (line[1], line[2]))
    for group_key, group in groups:
        total = next(payments) if payments is not None else per_asset.get(group_key, 0)
        amounts = _spread(total, group, model, ctx)
        payees = _uniform(ctx, group) if payments is None else None
        if payees is not None:  # one asset, same payees everywhere, no claims or licences: vectorised
            count += len(group)
            out.add_group(payees, group, amounts, currency)
            continue
        for line, amount in zip(group, amounts, strict=True):
            count += 1
            licence = line[10]
            if licence is not None:
                licence_minor[licence] += amount
                why = ctx.licence_finding(licence, line[5], line[4])
                if why and len(findings) < 50:
                    findings.append(f"usage line {line[0]}: licence {ctx.licences[licence].reference} {why}")
            route(ctx, out, line, amount, currency)
    return count


# --- releases of earlier holds, licence fees ----------------------------------------------------------


def _latest_runs_before(first: datetime.date) -> list[int]:
    latest: dict[datetime.date, int] = {}
    for pk, period in (
        RoyaltyRun.objects.filter(status=RoyaltyRun.Status.DONE, period__lt=first)
        .order_by("period", "started_at", "pk")
        .values_list("pk", "period")
    ):
        latest[period] = pk
    return sorted(latest.values())


def release_holds(ctx: Context, out: Writer) -> None:
    """Money held by earlier runs whose cause was settled this month goes to whoever won."""
    runs = _latest_runs_before(ctx.first)
    if not runs:
        return
    start = timezone.make_aware(datetime.datetime.combine(ctx.first, datetime.time()))
    held = StatementLine.objects.filter(run_id__in=runs, kind=HELD).order_by("run_id", "pk")
    lines = UsageLine.objects.in_bulk(set(held.exclude(usage_line=None).values_list("usage_line_id", flat=True)))
    held_claims = set(held.exclude(claim=None).values_list("claim_id", flat=True))
    ctx.load_claim_states(held_claims)
    at_start = states_at(held_claims, start)
    settled_conflicts = set(
        OwnershipConflict.objects.filter(resolved_at__gte=start, resolved_at__lt=ctx.cutoff).values_list(
            "pk", flat=True
        )
    )
    for row in held.iterator(chunk_size=5000):
        usage = lines.get(row.usage_line_id)
        if usage is None:
            continue
        line = tuple(getattr(usage, f) for f in LINE_FIELDS)
        if row.hold == "conflict" and row.conflict_id in settled_conflicts:
            route(ctx, out, line, row.amount_minor, row.currency, "conflict_release")
        elif row.hold in ("escrow", "review") and row.claim_id is not None:
            _release_claim_hold(ctx, out, row, line, at_start.get(row.claim_id, ""))


HOLDING_STATES = (claims.POTENTIAL, claims.DISPUTED, claims.APPEALED)


def _release_claim_hold(ctx: Context, out: Writer, row: StatementLine, line: Line, state_at_start: str) -> None:
    """Release a claim hold once: in the month the claim left the held states."""
    state = ctx.claim_state.get(row.claim_id)  # type: ignore[arg-type]
    if state_at_start not in HOLDING_STATES or state in HOLDING_STATES:
        return  # settled in an earlier month (already released), or still held
    source = "escrow_release"
    if state in (claims.ACTIVE, claims.TAKEDOWN):
        dispute = (
            Dispute.objects.filter(claim_id=row.claim_id).exclude(outcome="pending").order_by("-answered_at").first()
        )
        route(ctx, out, line, row.amount_minor, row.currency, source, dispute.pk if dispute else None)
        return
    dispute = Dispute.objects.filter(claim_id=row.claim_id).order_by("-opened_at", "-pk").first()
    winner = dispute.disputant_id if dispute is not None and row.hold == "escrow" else None
    kind = PAID if winner is not None else RETURNED
    out.add(
        kind,
        "",
        source,
        row.currency,
        row.amount_minor,
        row.usage_line_id,
        row.recording_id,
        row.work_id,
        row.claim_id,
        row.licence_id,
        dispute.pk if dispute else None,
        party=winner,
    )


def licence_income(ctx: Context, out: Writer, licence_minor: dict[int, int]) -> None:
    """Flat fees of licences starting this month, and minimum-guarantee top-ups, through the recordings'
    splits (equal parts per covered recording; a licence covering no recording pays its licensor)."""
    for licence in sorted(ctx.licences.values(), key=lambda lic: lic.pk):
        due = 0
        source = ""
        if (
            licence.fee_model == Licence.FeeModel.FLAT
            and licence.flat_fee
            and ctx.first <= licence.start_date <= ctx.last
        ):
            due, source = royalties.to_minor(licence.flat_fee, licence.currency), "flat_fee"
        elif (
            licence.fee_model == Licence.FeeModel.MINIMUM_GUARANTEE
            and licence.minimum_guarantee
            and licence.terms().in_term(ctx.last)
        ):
            due = royalties.to_minor(licence.minimum_guarantee, licence.currency) - licence_minor.get(licence.pk, 0)
            source = "minimum_guarantee"
        if due <= 0:
            continue
        recordings = sorted(set(licence.recordings.values_list("pk", flat=True)))
        if not recordings:
            out.add(PAID, "", source, licence.currency, due, licence=licence.pk, party=licence.licensor_id)
            continue
        for rec, part in zip(recordings, royalties.allocate(due, [1] * len(recordings)), strict=True):
            line = (None, rec, None, "master", "", "", 0, Decimal(0), "", None, licence.pk)
            route(ctx, out, line, part, licence.currency, source)


# --- the run ---------------------------------------------------------------------------------------


def _input_digest(first: datetime.date, model: str, reports: list[UsageReport], ctx: Context) -> str:
    data = {
        "period": first.isoformat(),
        "model": model,
        "reports": [[r.pk, r.sha256, str(r.pool_amount)] for r in reports],
        "splits": [
            [
                s.pk,
                s.territories,
                str(s.start_date),
                str(s.end_date),
                [[party, str(share)] for party, share in s.shares],
            ]
            for group in ctx.splits.values()
            for s in group
        ],
        "conflicts": sorted([c.pk, str(c.conflicted_share)] for group in ctx.conflicts.values() for c in group),
        "licences": sorted(
            [lic.pk, lic.fee_model, str(lic.revenue_share), str(lic.per_use_rate)] for lic in ctx.licences.values()
        ),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class RunResult:
    run: RoyaltyRun | None
    usage_lines: int
    statement_lines: int
    result_digest: str
    totals: dict[str, dict[str, int]]
    findings: list[str]


def compute(period: str | datetime.date, model: str, out: Writer) -> tuple[int, str, list[str]]:
    """Allocate the period into `out`; returns (usage lines, input digest, findings)."""
    if model not in RoyaltyRun.PoolModel.values:
        raise RunError(f"pool model must be one of {', '.join(RoyaltyRun.PoolModel.values)}")
    first, last, cutoff = month_bounds(period)
    ctx = Context(first, last, cutoff)
    reports = list(UsageReport.objects.filter(period_start__gte=first, period_start__lte=last).order_by("pk"))
    licence_minor: dict[int, int] = defaultdict(int)
    findings: list[str] = []
    count = 0
    for report in reports:
        count += allocate_report(report, model, ctx, out, licence_minor, findings)
    release_holds(ctx, out)
    licence_income(ctx, out, licence_minor)
    return count, _input_digest(first, model, reports, ctx), findings


def run_royalties(period: str | datetime.date, model: str = "revenue", actor: Any = None) -> RoyaltyRun:
    """Make a royalty run for the month: statement lines and statements, in one transaction. A failed run
    leaves its row (status failed, the error) and no lines. Earlier runs of the month become superseded."""
    first, _, _ = month_bounds(period)
    run = RoyaltyRun.objects.create(
        period=first,
        pool_model=model,
        started_at=timezone.now(),
        started_by=actor if getattr(actor, "pk", None) else None,
    )
    try:
        with transaction.atomic():
            out = Writer(run.pk)
            count, input_digest, findings = compute(first, model, out)
            out.close()
            _statements(run, out)
            RoyaltyRun.objects.filter(period=first, status=RoyaltyRun.Status.DONE).update(
                status=RoyaltyRun.Status.SUPERSEDED
            )
            run.status = RoyaltyRun.Status.DONE
            run.usage_lines, run.statement_lines = count, out.count
            run.totals = {cur: dict(kinds) for cur, kinds in out.totals.items()} | (
                {"findings": findings} if findings else {}
            )
            run.input_digest, run.result_digest = input_digest, out.digest.hexdigest()
            run.finished_at = timezone.now()
            run.save()
    except Exception as exc:
        RoyaltyRun.objects.filter(pk=run.pk).update(
            status=RoyaltyRun.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    return run


def verify_run(run: RoyaltyRun) -> tuple[bool, str]:
    """Re-compute a done run's period from the database without writing; (same result?, the new digest).

    Holds released by later months are not part of the comparison (they belong to those months), so
    re-run a period before running the months after it, or compare against the latest run of the period.
    """
    out = Writer(run.pk, write=False)
    with transaction.atomic():  # the usage lines stream from a server-side cursor
        compute(run.period, run.pool_model, out)
        out.close()
    digest = out.digest.hexdigest()
    return digest == run.result_digest, digest


def _statements(run: RoyaltyRun, out: Writer) -> None:
    """One statement per party and currency, from the totals the writer added up."""
    Statement.objects.bulk_create(
        [
            Statement(run=run, party_id=party, currency=currency, paid_minor=total, line_count=n)
            for (party, currency), (total, n) in sorted(out.party_totals.items())
        ],
        batch_size=2000,
    )
