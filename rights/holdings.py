"""Ownership verbs: record, change and end ownerships; find and close ownership conflicts; and the
stakes a match gives each owner (for claims).

Every change re-checks the asset's right for conflicts in the same transaction.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import Recording, Work
from rights import claims, ownership, territories
from rights.audit import acting_as
from rights.models import Ownership, OwnershipConflict, Policy, RightsHolder
from rights.models import ownership as ownership_models


def _asset_filter(recording: Recording | None, work: Work | None) -> dict[str, Any]:
    return {"recording": recording, "work": None} if recording is not None else {"recording": None, "work": work}


def add_ownership(
    *,
    owner: RightsHolder,
    right: str,
    territories: list[str],
    share: Decimal | str,
    recording: Recording | None = None,
    work: Work | None = None,
    start_date: datetime.date | None = None,
    end_date: datetime.date | None = None,
    policy: Policy | None = None,
    actor: Any = None,
) -> Ownership:
    """Record an ownership (validated) and re-check the right for conflicts."""
    with acting_as(actor), transaction.atomic():
        row = Ownership(
            owner=owner,
            recording=recording,
            work=work,
            right=right,
            territories=territories,
            share=Decimal(share),
            end_date=end_date,
            policy=policy,
        )
        if start_date is not None:
            row.start_date = start_date
        row.full_clean()
        row.save()
        detect_conflicts(recording=recording, work=work, right=right, actor=actor)
    return row


def change_ownership(row: Ownership, actor: Any = None, note: str = "", **changes: Any) -> Ownership:
    """Change an ownership's share, territories or dates (validated) and re-check for conflicts."""
    with acting_as(actor), transaction.atomic():
        for name, value in changes.items():
            setattr(row, name, Decimal(value) if name == "share" else value)
        row.full_clean()
        row.save()
        detect_conflicts(recording=row.recording, work=row.work, right=row.right, actor=actor, note=note)
    return row


def remove_ownership(row: Ownership, actor: Any = None, note: str = "") -> None:
    """Delete a mistaken ownership (the audit trail keeps it) and re-check for conflicts."""
    recording, work, right = row.recording, row.work, row.right
    with acting_as(actor), transaction.atomic():
        row.delete()
        detect_conflicts(recording=recording, work=work, right=right, actor=actor, note=note)


def _signature(recording: Recording | None, work: Work | None, right: str, found: ownership.Conflict) -> str:
    asset = f"r{recording.pk}" if recording is not None else f"w{work.pk}"  # type: ignore[union-attr]
    ids = ".".join(str(i) for i in found.ownership_ids)
    return f"{asset}:{right}:{ids}:{found.start}:{found.end or ''}"[:200]


def detect_conflicts(
    *, recording: Recording | None = None, work: Work | None = None, right: str, actor: Any = None, note: str = ""
) -> list[OwnershipConflict]:
    """Open a conflict for every place the right is over 100 %, update open ones, and resolve the open
    ones that no longer exist (recording who changed the ownership and why). Returns the open ones."""
    rows = list(Ownership.objects.filter(right=right, **_asset_filter(recording, work)))
    stakes = [ownership.Stake(o.pk, o.share, territories.expand(o.territories), o.start_date, o.end_date) for o in rows]
    found = {_signature(recording, work, right, c): c for c in ownership.find_conflicts(stakes)}
    now = timezone.now()
    with acting_as(actor), transaction.atomic():
        still_open = []
        for conflict in (
            OwnershipConflict.objects.open().select_for_update().filter(right=right, **_asset_filter(recording, work))
        ):
            if conflict.signature in found:
                c = found.pop(conflict.signature)
                conflict.territories = sorted(c.territories)
                conflict.total_share, conflict.conflicted_share = c.total, c.conflicted
                conflict.save(update_fields=["territories", "total_share", "conflicted_share"])
                still_open.append(conflict)
                continue
            conflict.status = OwnershipConflict.Status.RESOLVED
            conflict.resolved_at = now
            conflict.resolved_by = actor if getattr(actor, "is_authenticated", False) else None
            conflict.resolution = note or "The ownerships were corrected: no longer over 100 %."
            conflict.save(update_fields=["status", "resolved_at", "resolved_by", "resolution"])
        for signature, c in found.items():
            conflict = OwnershipConflict.objects.create(
                recording=recording,
                work=work,
                right=right,
                territories=sorted(c.territories),
                start_date=c.start,
                end_date=c.end,
                total_share=c.total,
                conflicted_share=c.conflicted,
                signature=signature,
                detected_at=now,
            )
            conflict.ownerships.set(c.ownership_ids)
            still_open.append(conflict)
    return still_open


def open_conflicts_touching(recording: Recording, day: datetime.date) -> list[OwnershipConflict]:
    """Open conflicts on the recording's master right or its works' rights that are live on `day`."""
    work_ids = list(recording.works.values_list("pk", flat=True))
    return _live_conflicts(Q(recording=recording) | Q(work_id__in=work_ids), day)


def open_conflicts_on_work(work: Work, day: datetime.date) -> list[OwnershipConflict]:
    """Open conflicts on the work's publishing rights that are live on `day`."""
    return _live_conflicts(Q(work=work), day)


def _live_conflicts(assets: Q, day: datetime.date) -> list[OwnershipConflict]:
    return [
        c
        for c in OwnershipConflict.objects.open().filter(assets)
        if c.start_date <= day and (c.end_date is None or day <= c.end_date)
    ]


# --- stakes for claims ---------------------------------------------------------------------------


def default_policy() -> Policy:
    """The policy for owners without their own: monetize, after a person has reviewed the claim."""
    policy, _ = Policy.objects.get_or_create(
        label=None, owner=None, defaults={"name": "Default: monetize after review", "action": Policy.Action.MONETIZE}
    )
    return policy


def policy_for_label(label: Any) -> Policy:
    if label is not None:
        own = Policy.objects.filter(label=label).first()
        if own is not None:
            return own
    return default_policy()


def policy_for_ownership(row: Ownership) -> Policy:
    """The ownership's own policy, else its owner's, else the owner's label's, else the default."""
    if row.policy_id is not None:
        return row.policy  # type: ignore[return-value]
    if row.owner.policy_id is not None:
        return row.owner.policy  # type: ignore[return-value]
    return policy_for_label(row.owner.label)


def _stake(
    owner: RightsHolder | None, name: str, asset: str, right: str, share: Decimal, where: frozenset[str], policy: Policy
) -> claims.Stake:
    return claims.Stake(
        owner_id=owner.pk if owner is not None else None,
        owner_name=name,
        asset=asset,
        right=right,
        share=share,
        territories=where,
        policy_id=policy.pk,
        policy_name=policy.name,
        terms=policy.terms(),
        rules=policy.rule_terms(),
    )


def live_ownerships(recording: Recording, day: datetime.date) -> list[Ownership]:
    """Master ownerships of the recording and every ownership of its works, live on `day`."""
    work_ids = list(recording.works.values_list("pk", flat=True))
    return _live_ownerships(Q(recording=recording) | Q(work_id__in=work_ids), day)


def _live_ownerships(assets: Q, day: datetime.date) -> list[Ownership]:
    return list(
        Ownership.objects.filter(assets)
        .filter(start_date__lte=day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
        .select_related("owner__policy", "owner__label", "policy")
        .prefetch_related("policy__rules", "owner__policy__rules")
        .order_by("recording_id", "work_id", "owner_id", "pk")
    )


def stakes_for(recording: Recording, day: datetime.date) -> list[claims.Stake]:
    """Each owner's stake in a match of `recording` on `day`: one per (owner, asset), territories joined
    over its rights. A recording nobody has registered ownership of falls back to its label, everywhere,
    under the label's policy (the behaviour before ownership was recorded)."""
    stakes = _stakes(live_ownerships(recording, day))
    if not stakes:
        holder = (
            RightsHolder.objects.filter(label=recording.label_id).order_by("pk").first() if recording.label_id else None
        )
        name = recording.label.name if recording.label_id else "unowned"  # type: ignore[union-attr]
        policy = holder.policy if holder is not None and holder.policy_id else policy_for_label(recording.label)
        return [
            _stake(holder, name, f"recording:{recording.pk}", "master", Decimal(100), territories.everywhere(), policy)
        ]
    return stakes


def stakes_for_work(work: Work, day: datetime.date) -> list[claims.Stake]:
    """Each owner's stake in a performance of `work` (a melody match) on `day`: the owners of its publishing
    rights (mechanical, performance, sync). A work nobody has registered ownership of has no stakes."""
    return _stakes(_live_ownerships(Q(work=work, right__in=ownership_models.WORK_RIGHTS), day))


def _stakes(rows: list[Ownership]) -> list[claims.Stake]:
    """One stake per (owner, asset), territories joined over its rights, the largest share."""
    grouped: dict[tuple[int, str], tuple[Ownership, set[str], Decimal]] = {}
    for row in rows:
        asset = f"recording:{row.recording_id}" if row.recording_id else f"work:{row.work_id}"
        key = (row.owner_id, asset)
        first, where, share = grouped.get(key, (row, set(), Decimal(0)))
        grouped[key] = (first, where | territories.expand(row.territories), max(share, row.share))
    return [
        _stake(row.owner, row.owner.name, asset, row.right, share, frozenset(where), policy_for_ownership(row))
        for (owner_id, asset), (row, where, share) in grouped.items()
    ]
