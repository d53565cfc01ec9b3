"""The hash-chained ledger of every licensed AI-service call and what came of it.

Each entry's hash is sha256 over the previous entry's hash, its sequence number, event, time and
canonical JSON payload; the first entry chains from 64 zeros. Changing an entry's payload, deleting
or inserting one, or reordering them breaks the chain from that point, and `verify` says where.
Truncating the tail leaves a valid shorter chain, so `verify` also takes the head hash an auditor
wrote down earlier (`verify_ledger --expect-head`) and checks it is still in the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from generation_audit.models import LedgerEntry, ServiceCall

GENESIS = "0" * 64
_APPEND_TRIES = 8


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
    stamp = recorded_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = "\n".join([prev_hash, str(seq), event, stamp, canonical(payload)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def append(event: str, payload: dict[str, Any], call: ServiceCall | None = None) -> LedgerEntry:
    """Add one entry at the end of the chain and return it.

    Two writers may read the same head at once; the unique `seq` lets only one of them write it,
    and the other retries on the new head (in a savepoint, so a caller's transaction survives).
    """
    stored = json.loads(canonical(payload))  # what the JSON column will give back, exactly
    for _ in range(_APPEND_TRIES):
        head = LedgerEntry.objects.order_by("-seq").values("seq", "entry_hash").first()
        seq = head["seq"] + 1 if head else 1
        prev = head["entry_hash"] if head else GENESIS
        now = timezone.now()
        try:
            with transaction.atomic():
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


def verify(expect_head: str = "") -> Verification:
    """Walk the whole chain: sequence without gaps, each link's prev hash, each entry's own hash.

    With `expect_head`, also require that hash to be an entry of the chain (a truncated tail, or a
    rewritten history that was re-hashed from some point on, no longer holds it).
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
    result.problems.extend(_calls_without_entries())
    return result


def _calls_without_entries() -> list[str]:
    """Calls whose ledger entries are gone: every call is written to the ledger when it is made."""
    missing = ServiceCall.objects.filter(ledger=None).values_list("pk", flat=True)[:50]
    return [f"call {pk} has no ledger entry" for pk in missing]
