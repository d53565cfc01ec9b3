"""The in-memory side of a royalty run: who gets paid for what (Context, Payees), and the Writer that
streams statement lines to the database.

Everything held in memory is catalogue-sized (splits, ownerships, conflicts, licences, parties'
totals), never line-sized: usage lines stream in and statement lines stream out in batches.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q

from catalog.models import Recording
from rights import claims, licensing_terms, royalties
from rights import territories as territory_lists
from rights.models import (
    ClaimEvent,
    Licence,
    Ownership,
    OwnershipConflict,
    RightsHolder,
    Split,
    SplitShare,
    StatementLine,
)
from rights.splits import pick

PAID, HELD, RETURNED, UNALLOCATED = "paid", "held", "returned", "unallocated"
COLUMNS = (
    "kind",
    "hold",
    "source",
    "currency",
    "amount_minor",
    "usage_line_id",
    "recording_id",
    "work_id",
    "claim_id",
    "split_id",
    "licence_id",
    "dispute_id",
    "conflict_id",
    "parties",
    "amounts",
    "shares",
    "run_id",
)
# A usage line as the run reads it.
LINE_FIELDS = (
    "pk",
    "recording_id",
    "work_id",
    "stream",
    "territory",
    "use",
    "quantity",
    "amount",
    "user_ref",
    "claim_id",
    "licence_id",
)
Line = tuple[Any, ...]


def _c(value: Any) -> str:
    """A COPY text cell: NULL as \\N."""
    return "\\N" if value is None else str(value)


@dataclass(frozen=True)
class Payees:
    """Who is paid for an asset in a territory: parties with integer weights, where the money came from."""

    split_id: int | None
    party_ids: tuple[int | None, ...]  # None: unallocated remainder
    weights: tuple[int, ...]
    weight_sum: int
    shares: tuple[Decimal | None, ...]
    parties_json: str = field(init=False)
    shares_json: str = field(init=False)
    all_paid: bool = field(init=False)
    split_text: str = field(init=False)

    def __post_init__(self) -> None:
        # Pre-formatted pieces of the statement rows (the run's hot loop only joins strings).
        object.__setattr__(self, "parties_json", json.dumps(list(self.party_ids), separators=(",", ":")))
        shares = [str(s) if s is not None else None for s in self.shares]
        object.__setattr__(self, "shares_json", json.dumps(shares, separators=(",", ":")))
        object.__setattr__(self, "all_paid", all(p is not None for p in self.party_ids))
        object.__setattr__(self, "split_text", _c(self.split_id))


@dataclass(frozen=True)
class SplitTerms:
    """A split as a run reads it: (party id, share %) pairs."""

    pk: int
    territories: list[str]
    start_date: datetime.date | None
    end_date: datetime.date | None
    shares: tuple[tuple[int, Decimal], ...]


NOBODY = Payees(None, (None,), (1,), 1, (None,))


class Context:
    """Splits, ownerships, conflicts, claim states and licences as they stand at the run's cutoff."""

    def __init__(self, first: datetime.date, last: datetime.date, cutoff: datetime.datetime) -> None:
        self.first, self.last, self.cutoff = first, last, cutoff
        self.splits: dict[tuple[str, int], list[SplitTerms]] = defaultdict(list)
        shares: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
        for split_id, party_id, share in SplitShare.objects.order_by("split_id", "pk").values_list(
            "split_id", "party_id", "share"
        ):
            shares[split_id].append((party_id, share))
        for pk, rec, work, where, start, end in Split.objects.order_by("pk").values_list(
            "pk", "recording_id", "work_id", "territories", "start_date", "end_date"
        ):
            key = ("r", rec) if rec else ("w", work)
            self.splits[key].append(SplitTerms(pk, where, start, end, tuple(shares.pop(pk, ()))))
        self.owners: dict[tuple[str, int], list[Ownership]] = defaultdict(list)
        for row in (
            Ownership.objects.filter(start_date__lte=last)
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=last))
            .order_by("pk")
        ):
            key = ("r", row.recording_id) if row.recording_id else ("w", row.work_id)
            self.owners[key].append(row)  # type: ignore[arg-type]
        self.conflicts: dict[tuple[str, int], list[OwnershipConflict]] = defaultdict(list)
        for c in OwnershipConflict.objects.filter(detected_at__lt=cutoff).filter(
            Q(resolved_at__isnull=True) | Q(resolved_at__gte=cutoff)
        ):
            if c.start_date <= last and (c.end_date is None or c.end_date >= last):
                key = ("r", c.recording_id) if c.recording_id else ("w", c.work_id)
                self.conflicts[key].append(c)  # type: ignore[arg-type]
        self.label_holder: dict[int, int] = {}
        for holder in RightsHolder.objects.filter(label__isnull=False).order_by("-pk"):
            self.label_holder[holder.label_id] = holder.pk  # type: ignore[index]
        self.recording_label = dict(Recording.objects.filter(label__isnull=False).values_list("pk", "label_id"))
        self.licences = {lic.pk: lic for lic in Licence.objects.all()}
        self.claim_state: dict[int, str] = {}
        # Assets whose payees may differ by territory (a territorial split, or no split at all).
        self._territorial = {key for key, group in self.splits.items() if any(s.territories for s in group)}
        self._payees: dict[tuple[tuple[str, int], str], Payees] = {}
        self._licence_checks: dict[tuple[int, str, str], str] = {}

    def load_claim_states(self, claim_ids: set[int]) -> None:
        """Each claim's state at the cutoff (from its history, so a later change cannot alter the run)."""
        self.claim_state.update(states_at(claim_ids - set(self.claim_state), self.cutoff))

    def payees(self, key: tuple[str, int], territory: str) -> Payees:
        where = territory if key in self._territorial or key not in self.splits else "*"
        cached = self._payees.get((key, where))
        if cached is None:
            cached = self._payees[(key, where)] = self._find_payees(key, territory)
        return cached

    def _find_payees(self, key: tuple[str, int], territory: str) -> Payees:
        split = pick(self.splits.get(key, ()), territory, self.last)
        if split is not None:
            weights = royalties.int_weights([share for _, share in split.shares])
            return Payees(
                split.pk,
                tuple(party for party, _ in split.shares),
                tuple(weights),
                sum(weights),
                tuple(share for _, share in split.shares),
            )
        owners = [
            o for o in self.owners.get(key, ()) if not territory or territory in territory_lists.expand(o.territories)
        ]
        if key[0] == "w" and owners:
            by_right = {o.right for o in owners}
            right = "performance" if "performance" in by_right else sorted(by_right)[0]
            owners = [o for o in owners if o.right == right]
        if owners:
            shares = [o.share for o in owners]
            parties: list[int | None] = [o.owner_id for o in owners]
            total = sum(shares, Decimal(0))
            rest = max(Decimal(0), Decimal(100) - total)
            if total > 100:  # in conflict (the conflicted part is held): each owner gets its undisputed part
                shares = [max(Decimal(0), Decimal(100) - (total - s)) for s in shares]
                if not any(shares):
                    return NOBODY
            elif rest:  # nobody registered the rest: unallocated
                shares.append(rest)
                parties.append(None)
            weights = royalties.int_weights(shares)
            return Payees(None, tuple(parties), tuple(weights), sum(weights), tuple(shares))
        if key[0] == "r":
            holder = self.label_holder.get(self.recording_label.get(key[1], -1))
            if holder is not None:
                return Payees(None, (holder,), (1,), 1, (Decimal(100),))
        return NOBODY

    def uniform_payees(self, key: tuple[str, int]) -> Payees | None:
        """The payees of an asset when they are the same in every territory and nothing is held (a split
        for everywhere, no open conflict); None when lines must be routed one by one."""
        if key in self._territorial or key not in self.splits or self.conflicts.get(key):
            return None
        return self.payees(key, "")

    def conflict(self, key: tuple[str, int], territory: str) -> OwnershipConflict | None:
        for c in self.conflicts.get(key, ()):
            if not territory or territory in c.territories:
                return c
        return None

    def licence_finding(self, licence_id: int, use: str, territory: str) -> str:
        """Why the line's licence does not cover it ('' if it does), checked like rights.licensing does."""
        k = (licence_id, use, territory)
        if k not in self._licence_checks:
            self._licence_checks[k] = licensing_terms.refusal(
                self.licences[licence_id].terms(), use, territory, self.last
            )
        return self._licence_checks[k]


def states_at(claim_ids: set[int], when: datetime.datetime) -> dict[int, str]:
    """Each claim's state just before `when`, from its ClaimEvent history."""
    found: dict[int, str] = {}
    todo = sorted(claim_ids)
    for start in range(0, len(todo), 5000):
        events = ClaimEvent.objects.filter(claim_id__in=todo[start : start + 5000], at__lt=when)
        for claim_id, to_status in events.order_by("claim_id", "at", "pk").values_list("claim_id", "to_status"):
            found[claim_id] = to_status
    return found


def payable(licence: Licence | None, amount: Decimal, quantity: int) -> Decimal:
    """What a reported use is worth to the licensor under the licence's fee terms (revenue model)."""
    if licence is None:
        return amount
    if licence.fee_model in (Licence.FeeModel.REVENUE_SHARE, Licence.FeeModel.MINIMUM_GUARANTEE):
        return amount * (licence.revenue_share or Decimal(0)) / Decimal(100)
    if licence.fee_model == Licence.FeeModel.PER_USE:
        return Decimal(quantity) * (licence.per_use_rate or Decimal(0))
    return Decimal(0)  # flat fee: paid once, not per use


class Writer:
    """Collects statement lines as COPY text, hashes them in order, and writes them in batches.

    PostgreSQL gets them with COPY; other databases (tests on SQLite) with bulk_create. It also adds
    up each party's total per currency (for the statements) and the run's totals per kind. The
    digest is over the rows without the run id, so a re-run of the same period gives the same digest.
    """

    def __init__(self, run_id: int, write: bool = True, batch: int = 20_000) -> None:
        self.run_id, self.write, self.batch = run_id, write, batch
        self.suffix = f"{run_id}\n"
        self.rows: list[str] = []
        self.count = 0
        self.digest = hashlib.sha256()
        self._totals: dict[tuple[str, str], int] = defaultdict(int)
        self.party_totals: dict[tuple[int, str], list[int]] = {}
        self._by_payees: dict[tuple[int, str], tuple[Payees, list[int], list[int]]] = {}

    @property
    def totals(self) -> dict[str, dict[str, int]]:
        """Minor units per currency and kind (paid, held, returned, unallocated)."""
        found: dict[str, dict[str, int]] = defaultdict(dict)
        for (currency, kind), amount in sorted(self._totals.items()):
            found[currency][kind] = amount
        return dict(found)

    def _credit(self, party: int, currency: str, amount: int, lines: int = 1) -> None:
        if not amount:
            return
        entry = self.party_totals.get((party, currency))
        if entry is None:
            self.party_totals[(party, currency)] = [amount, lines]
        else:
            entry[0] += amount
            entry[1] += lines

    def add(
        self,
        kind: str,
        hold: str,
        source: str,
        currency: str,
        amount: int,
        line: int | None = None,
        recording: int | None = None,
        work: int | None = None,
        claim: int | None = None,
        licence: int | None = None,
        dispute: int | None = None,
        conflict: int | None = None,
        party: int | None = None,
    ) -> None:
        """A held or returned line (nobody paid), or one paid to a single party (lines of 0 are skipped)."""
        if not amount:
            return
        parties, amounts = (f"[{party}]", f"[{amount}]") if party is not None else ("[]", "[]")
        shares = "[null]" if party is not None else "[]"
        self.rows.append(
            f"{kind}\t{hold}\t{source}\t{currency}\t{amount}\t{_c(line)}\t{_c(recording)}\t{_c(work)}\t"
            f"{_c(claim)}\t\\N\t{_c(licence)}\t{_c(dispute)}\t{_c(conflict)}\t{parties}\t{amounts}\t{shares}\t"
        )
        self._totals[(currency, kind)] += amount
        if party is not None:
            self._credit(party, currency, amount)
        self._added()

    def add_parts(
        self,
        payees: Payees,
        parts: list[int],
        source: str,
        currency: str,
        line: int | None,
        recording: int | None,
        work: int | None,
        claim: int | None,
        licence: int | None,
        dispute: int | None,
    ) -> None:
        """One amount shared over a split's parties (the hot path of a run: string joins, no look-ups)."""
        amount = sum(parts)
        if not amount and not any(parts):
            return
        kind = UNALLOCATED if payees.party_ids == (None,) else PAID
        n = "\\N"
        self.rows.append(
            f"{kind}\t\t{source}\t{currency}\t{amount}\t{n if line is None else line}\t"
            f"{n if recording is None else recording}\t{n if work is None else work}\t"
            f"{n if claim is None else claim}\t{payees.split_text}\t{n if licence is None else licence}\t"
            f"{n if dispute is None else dispute}\t\\N\t{payees.parties_json}\t"
            f"[{','.join(map(str, parts))}]\t{payees.shares_json}\t"
        )
        acc = self._by_payees.get((id(payees), currency))
        if acc is None:
            acc = self._by_payees[(id(payees), currency)] = (payees, [0] * len(parts), [0] * len(parts))
        sums, counts = acc[1], acc[2]
        for index, part in enumerate(parts):
            if part:
                sums[index] += part
                counts[index] += 1
        self.count += 1
        if len(self.rows) >= self.batch:
            self.flush()

    def add_group(self, payees: Payees, lines: list[Line], amounts: list[int], currency: str) -> None:
        """Many usage lines of one asset, all shared over the same payees (the common case, vectorised)."""
        rows, parts_rows = self.rows, royalties.allocate_each(amounts, payees.weights, payees.weight_sum)
        first = lines[0]
        kind = UNALLOCATED if payees.party_ids == (None,) else PAID
        head = f"{kind}\t\tusage\t{currency}\t"
        middle = f"\t{_c(first[1])}\t{_c(first[2])}\t\\N\t{payees.split_text}\t"
        tail = f"\t\\N\t\\N\t{payees.parties_json}\t["
        end = f"]\t{payees.shares_json}\t"
        written = 0
        for line, amount, parts in zip(lines, amounts, parts_rows, strict=True):
            if amount:
                licence = "\\N" if line[10] is None else line[10]
                rows.append(f"{head}{amount}\t{line[0]}{middle}{licence}{tail}{','.join(map(str, parts))}{end}")
                written += 1
        acc = self._by_payees.get((id(payees), currency))
        if acc is None:
            size = len(payees.party_ids)
            acc = self._by_payees[(id(payees), currency)] = (payees, [0] * size, [0] * size)
        for index, column in enumerate(zip(*parts_rows, strict=True)):
            acc[1][index] += sum(column)
            acc[2][index] += len(column) - column.count(0)
        self.count += written
        if len(rows) >= self.batch:
            self.flush()

    def close(self) -> None:
        """Flush the last rows and fold the per-split sums into per-party totals and per-kind totals."""
        self.flush()
        for (_, currency), (payees, sums, counts) in self._by_payees.items():
            for party, amount, n in zip(payees.party_ids, sums, counts, strict=True):
                if party is None:
                    self._totals[(currency, UNALLOCATED)] += amount
                elif n:
                    self._totals[(currency, PAID)] += amount
                    self._credit(party, currency, amount, n)
        self._by_payees = {}

    def _added(self) -> None:
        self.count += 1
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        self.digest.update("".join(self.rows).encode())
        if self.write:
            if connection.vendor == "postgresql":
                table = StatementLine._meta.db_table
                text = self.suffix.join(self.rows) + self.suffix
                with (
                    connection.cursor() as cursor,
                    cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy,
                ):
                    copy.write(text)
            else:
                StatementLine.objects.bulk_create([self._parse(row) for row in self.rows], batch_size=2000)
        self.rows = []

    def _parse(self, row: str) -> StatementLine:
        cells: list[Any] = [None if c == "\\N" else c for c in row.split("\t")[: len(COLUMNS) - 1]]
        cells[-3:] = [json.loads(c) for c in cells[-3:]]
        return StatementLine(run_id=self.run_id, **dict(zip(COLUMNS[:-1], cells, strict=True)))


def route(
    ctx: Context, out: Writer, line: Line, amount: int, currency: str, source: str = "usage", dispute: int | None = None
) -> None:
    """Step 3 of a run: one line's amount to holds, returns and the split's parties."""
    pk, rec, work, stream, territory, _use, _qty, _amt, _user, claim, licence = line
    key = ("w", work) if stream == "publishing" and work else ("r", rec)
    if claim is not None and source == "usage":
        state = ctx.claim_state.get(claim, claims.ACTIVE)
        if state in (claims.DISPUTED, claims.APPEALED):
            out.add(HELD, "escrow", source, currency, amount, pk, rec, work, claim, licence)
            return
        if state == claims.POTENTIAL:
            out.add(HELD, "review", source, currency, amount, pk, rec, work, claim, licence)
            return
        if state == claims.RELEASED:
            out.add(RETURNED, "", source, currency, amount, pk, rec, work, claim, licence)
            return
    conflict = ctx.conflict(key, territory) if ctx.conflicts else None
    if conflict is not None:
        held, amount = royalties.hold(amount, conflict.conflicted_share)
        out.add(HELD, "conflict", source, currency, held, pk, rec, work, claim, licence, dispute, conflict.pk)
    payees = ctx.payees(key, territory)
    if amount >= 0:
        parts = royalties.allocate_ints(amount, payees.weights, payees.weight_sum)
    else:
        parts = [-p for p in royalties.allocate_ints(-amount, payees.weights, payees.weight_sum)]
    out.add_parts(payees, parts, source, currency, pk, rec, work, claim, licence, dispute)
