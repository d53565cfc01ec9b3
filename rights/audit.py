"""The audit trail: every change to ownership, policies, claims, licences and splits appends an event
that carries the hash of the previous one.

Changes are caught with model signals (so the admin, actions and the shell are all covered); the
person responsible is whoever `acting_as` names around the change (rights.actions does this), or
"system". `verify()` walks the chain and reports every edited, inserted or deleted event.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from rights.models import AuditChainHead, AuditCheck, AuditEvent

GENESIS = "0" * 64
_actor: contextvars.ContextVar[Any] = contextvars.ContextVar("rights_audit_actor", default=None)


@contextlib.contextmanager
def acting_as(user: Any) -> Iterator[None]:
    """Attribute the changes made inside the block to `user` (None: the system)."""
    token = _actor.set(user)
    try:
        yield
    finally:
        _actor.reset(token)


def _actor_fields(user: Any) -> tuple[int | None, str]:
    if user is None or not getattr(user, "is_authenticated", False):
        return None, "system"
    return user.pk, user.get_username()


def _canonical(value: Any) -> Any:
    """The JSON form the database will hand back (Decimals and dates as strings, keys sorted on dump)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def event_hash(
    prev_hash: str,
    seq: int,
    at: datetime.datetime,
    actor_id: int | None,
    actor_name: str,
    entity: str,
    entity_id: str,
    verb: str,
    data: Any,
) -> str:
    """SHA-256 of the previous hash and every field of the event, in a canonical JSON form."""
    body = json.dumps(
        {
            "seq": seq,
            "at": at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "actor_name": actor_name,
            "entity": entity,
            "entity_id": entity_id,
            "verb": verb,
            "data": data,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The row's concrete field values (foreign keys as ids)."""
    values = {}
    for f in instance._meta.concrete_fields:
        value = getattr(instance, f.attname)
        if isinstance(f, models.DecimalField) and value is not None:
            value = Decimal(value).quantize(Decimal(1).scaleb(-f.decimal_places))  # as the database stores it
        values[f.attname] = value
    return _canonical(values)


def entity_name(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def record_many(entries: Iterable[tuple[str, str, str, dict[str, Any]]], actor: Any = None) -> int:
    """Append events (entity, entity_id, verb, data) in order, in one transaction; returns how many."""
    actor_id, actor_name = _actor_fields(actor if actor is not None else _actor.get())
    now = timezone.now()
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        seq, prev = head.seq, head.hash
        rows = []
        for entity, entity_id, verb, data in entries:
            seq += 1
            data = _canonical(data)
            digest = event_hash(prev, seq, now, actor_id, actor_name, entity, str(entity_id), verb, data)
            rows.append(
                AuditEvent(
                    seq=seq,
                    at=now,
                    actor_id=actor_id,
                    actor_name=actor_name,
                    entity=entity,
                    entity_id=str(entity_id),
                    verb=verb,
                    data=data,
                    prev_hash=prev,
                    hash=digest,
                )
            )
            prev = digest
        AuditEvent.objects.bulk_create(rows, batch_size=2000)
        head.seq, head.hash = seq, prev
        head.save(update_fields=["seq", "hash"])
    return len(rows)


def record(entity: str, entity_id: object, verb: str, data: dict[str, Any], actor: Any = None) -> None:
    """Append one event."""
    record_many([(entity, str(entity_id), verb, data)], actor)


# --- signals -------------------------------------------------------------------------------------


def _on_save(
    sender: type[models.Model], instance: models.Model, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if raw:  # fixtures loading
        return
    record(entity_name(sender), instance.pk, "created" if created else "updated", snapshot(instance))


def _on_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    record(entity_name(sender), instance.pk, "deleted", snapshot(instance))


def _on_m2m(
    sender: type[models.Model],
    instance: models.Model,
    action: str,
    model: type[models.Model],
    pk_set: set[Any] | None,
    **kwargs: Any,
) -> None:
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    data = {"field": sender._meta.model_name, "related": entity_name(model), "ids": sorted(pk_set or [])}
    record(entity_name(type(instance)), instance.pk, action.removeprefix("post_"), data)


def audited_models() -> list[type[models.Model]]:
    from catalog.models import ArtistAIConsent
    from rights import models as m

    return [
        ArtistAIConsent,  # an artist's AI-likeness consent decides licences as much as the licences do
        m.RightsHolder,
        m.Ownership,
        m.OwnershipConflict,
        m.Policy,
        m.PolicyRule,
        m.Claim,
        m.ClaimEvent,
        m.Dispute,
        m.ReferenceOverlap,
        m.UnclaimedMatch,
        m.Licence,
        m.Split,
        m.SplitShare,
    ]


def connect() -> None:
    """Hook the audit trail to every audited model (called once from RightsConfig.ready)."""
    for model in audited_models():
        uid = entity_name(model)
        post_save.connect(_on_save, sender=model, dispatch_uid=f"audit-save-{uid}")
        post_delete.connect(_on_delete, sender=model, dispatch_uid=f"audit-delete-{uid}")
        for m2m in model._meta.many_to_many:
            m2m_changed.connect(_on_m2m, sender=m2m.remote_field.through, dispatch_uid=f"audit-m2m-{uid}-{m2m.name}")


# --- verification --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    seq: int
    message: str


def verify(batch: int = 5000) -> tuple[int, list[Problem]]:
    """Walk the chain: returns (events checked, problems). Finds edited events (hash mismatch), removed
    or inserted events (sequence gap or broken link), and removed newest events (head mismatch)."""
    problems: list[Problem] = []
    expected_seq, prev = 1, GENESIS
    checked = 0
    fields = ["seq", "at", "actor_id", "actor_name", "entity", "entity_id", "verb", "data", "prev_hash", "hash"]
    for row in AuditEvent.objects.order_by("seq").values_list(*fields).iterator(chunk_size=batch):
        seq, at, actor_id, actor_name, entity, entity_id, verb, data, prev_hash, digest = row
        checked += 1
        if seq != expected_seq:
            problems.append(Problem(seq, f"event #{expected_seq} to #{seq - 1} missing (deleted?)"))
        if prev_hash != prev:
            problems.append(Problem(seq, f"event #{seq} does not link to the event before it"))
        recomputed = event_hash(prev_hash, seq, at, actor_id, actor_name, entity, entity_id, verb, data)
        if recomputed != digest:
            problems.append(Problem(seq, f"event #{seq} ({verb} {entity} {entity_id}) was edited: its hash differs"))
        expected_seq, prev = seq + 1, digest
    head = AuditChainHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != expected_seq - 1 or head_hash != prev:
        problems.append(
            Problem(
                head_seq,
                f"the chain ends at #{expected_seq - 1} but the head records #{head_seq}: "
                "the newest events were deleted or the head was altered",
            )
        )
    return checked, problems


def check_and_record(actor: Any = None, batch: int = 5000) -> tuple[int, list[Problem]]:
    """Verify the chain and keep the outcome, so auditors see when it was last checked and what it found."""
    checked, problems = verify(batch)
    _, actor_name = _actor_fields(actor)
    AuditCheck.objects.create(
        events=checked, ok=not problems, problems=[p.message for p in problems[:50]], checked_by=actor_name
    )
    return checked, problems
