"""The hash-chained ledger of every licensed AI-service call and what came of it.

Each entry's hash is sha256 over the previous entry's hash, its sequence number, event, time and
canonical JSON payload; the first entry chains from 64 zeros. Changing an entry's payload, deleting
or inserting one, or reordering them breaks the chain from that point, and `verify` says where.
Truncating the tail leaves a valid shorter chain, so `verify` also takes the head hash an auditor
wrote down earlier (`verify_ledger --expect-head`) and checks it is still in the chain. An intact
chain proves only the entries, so `verify` also holds the rows they record against them: each call
row against its "call" entry, each stored output (row and file) against the sha256 of its "output" entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog.checksums import sha256_file
from generation_audit.models import GeneratedOutput, LedgerEntry, ServiceCall

GENESIS = "0" * 64
_APPEND_TRIES = 8
_LOCK_KEY = 0x6C656467657231  # pg advisory lock id for appends ("ledger1" in hex)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot go into the ledger")


def canonical(payload: Any) -> str:
    """The one JSON text of a payload that is hashed: sorted keys, no spaces, Decimal as text."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def entry_hash(prev_hash: str, seq: int, event: str, recorded_at: datetime, payload: Any) -> str:
    """sha256 hex of the link: previous hash, sequence, event, UTC time (microseconds) and payload."""
    stamp = recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = "\n".join([prev_hash, str(seq), event, stamp, canonical(payload)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _serialise_appends() -> None:
    """On PostgreSQL, make concurrent appends take turns until their transactions commit.

    Without it two writers read the same head, one loses the unique `seq` and retries, and under
    steady contention a writer can lose every try. The lock is transaction-scoped, so it is released
    exactly when the new head becomes visible to the next writer. SQLite serialises writers itself.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def append(event: str, payload: dict[str, Any], call: ServiceCall | None = None) -> LedgerEntry:
    """Add one entry at the end of the chain and return it.

    Appends take turns (see `_serialise_appends`); where they cannot, the unique `seq` lets only one
    of two writers take a place and the other retries on the new head (in a savepoint, so a caller's
    transaction survives). Either way the chain never forks.
    """
    stored = json.loads(canonical(payload))  # what the JSON column will give back, exactly
    for _ in range(_APPEND_TRIES):
        try:
            with transaction.atomic():
                _serialise_appends()
                head = LedgerEntry.objects.order_by("-seq").values("seq", "entry_hash").first()
                seq = head["seq"] + 1 if head else 1
                prev = head["entry_hash"] if head else GENESIS
                now = timezone.now()
                return LedgerEntry.objects.create(
                    seq=seq,
                    event=event,
                    call=call,
                    payload=stored,
                    prev_hash=prev,
                    entry_hash=entry_hash(prev, seq, event, now, stored),
                    recorded_at=now,
                )
        except IntegrityError:
            continue  # another writer took this seq: chain onto theirs
    raise RuntimeError("the ledger is too busy: could not append after several tries")


def head() -> LedgerEntry | None:
    """The last entry (its hash is what an auditor writes down)."""
    return LedgerEntry.objects.order_by("-seq").first()


@dataclass
class Verification:
    """What `verify` found: entries checked, the head hash, and each problem with the entry's seq."""

    entries: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _entries() -> Iterator[LedgerEntry]:
    return LedgerEntry.objects.order_by("seq").iterator(chunk_size=2000)


def verify(expect_head: str = "", *, check_files: bool = True) -> Verification:
    """Walk the whole chain: sequence without gaps, each link's prev hash, each entry's own hash;
    then hold the rows the ledger speaks of against it (see `_rows_against_ledger`).

    With `expect_head`, also require that hash to be an entry of the chain (a truncated tail, or a
    rewritten history that was re-hashed from some point on, no longer holds it). `check_files`
    re-hashes every stored output file (slow on a large archive, and the strongest check).
    """
    result = Verification()
    prev, expected_seq, seen_head = GENESIS, 1, not expect_head
    for entry in _entries():
        if entry.seq != expected_seq:
            result.problems.append(f"#{entry.seq}: expected entry #{expected_seq} here (entries missing)")
        if entry.prev_hash != prev:
            result.problems.append(f"#{entry.seq}: does not chain to the entry before it")
        if entry_hash(entry.prev_hash, entry.seq, entry.event, entry.recorded_at, entry.payload) != entry.entry_hash:
            result.problems.append(f"#{entry.seq}: its content does not match its hash (altered)")
        seen_head = seen_head or entry.entry_hash == expect_head
        prev, expected_seq = entry.entry_hash, entry.seq + 1
        result.entries += 1
    result.head_hash = prev
    if not seen_head:
        result.problems.append(f"the expected head {expect_head} is not in the chain (entries removed or rewritten)")
    result.problems.extend(_rows_against_ledger(check_files))
    return result


def _batches(queryset: QuerySet[Any], size: int = 500) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in queryset.iterator(chunk_size=size):
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _first_entries(event: str, call_ids: list[int]) -> dict[int, LedgerEntry]:
    found: dict[int, LedgerEntry] = {}
    for entry in LedgerEntry.objects.filter(event=event, call_id__in=call_ids).order_by("-seq"):
        found[entry.call_id] = entry  # type: ignore[index]  # descending: the earliest one wins
    return found


def _rows_against_ledger(check_files: bool) -> list[str]:
    """The chain proves the entries are intact; this proves the rows still say what the entries do.

    Each call's "call" entry must equal the facts of its row as it stands now (an edited call row is
    caught here); each output's asset must carry the sha256 its "output" entry recorded, and the stored
    file must still hash to it; a row written together with an entry (a failure, an output, served
    recommendations) must still have that entry.
    """
    from generation_audit.services.gateway import call_facts  # the gateway imports this module

    problems: list[str] = []
    calls = ServiceCall.objects.select_related("service", "licence").order_by("pk")
    for batch in _batches(calls):
        entries = _first_entries("call", [call.pk for call in batch])
        for call in batch:
            entry = entries.get(call.pk)
            if entry is None:
                problems.append(f"call {call.pk} has no ledger entry")
                continue
            now = json.loads(canonical(call_facts(call)))
            if now != entry.payload:
                changed = ", ".join(
                    f"{key}: {entry.payload.get(key)!r} in the ledger, {now.get(key)!r} in the row"
                    for key in sorted(set(now) | set(entry.payload))
                    if now.get(key) != entry.payload.get(key)
                )
                problems.append(f"#{entry.seq}: call {call.pk}'s row no longer matches its ledger entry ({changed})")
    outputs = GeneratedOutput.objects.select_related("asset").order_by("pk")
    for batch in _batches(outputs):
        entries = _first_entries("output", [output.call_id for output in batch])
        for output in batch:
            problems.extend(_check_output(output, entries.get(output.call_id), check_files))
    for event, rows in _rows_needing_entries().items():
        for pk in rows.exclude(ledger__event=event).values_list("pk", flat=True)[:50]:
            problems.append(f"call {pk} has no {event!r} ledger entry, though its row says it was written")
    return problems


def _check_output(output: GeneratedOutput, entry: LedgerEntry | None, check_files: bool) -> list[str]:
    if entry is None:
        return [f"output {output.pk} (call {output.call_id}) has no 'output' ledger entry"]
    recorded, asset = entry.payload.get("sha256"), output.asset
    where = f"#{entry.seq}: output {output.pk}"
    if asset.sha256 != recorded:
        return [f"{where}: its asset {asset.pk} has sha256 {asset.sha256}, the ledger recorded {recorded}"]
    if not check_files:
        return []
    try:
        actual = sha256_file(asset.file.path)
    except FileNotFoundError:
        return [f"{where}: its stored file {asset.file.name} is missing"]
    if actual != recorded:
        return [f"{where}: its stored file {asset.file.name} hashes to {actual}, not {recorded} (replaced)"]
    return []


def _rows_needing_entries() -> dict[str, QuerySet[ServiceCall]]:
    """Rows that the gateway writes in the same transaction as an entry: the row implies the entry.
    (An allowed call with no outcome yet is in flight or was cut off: that is not tampering.)"""
    return {
        "failed": ServiceCall.objects.filter(status=ServiceCall.Status.FAILED),
        "recommendation": ServiceCall.objects.filter(
            operation="recommend", status=ServiceCall.Status.OK, response__has_key="recommended"
        ),
    }
