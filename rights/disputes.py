"""Disputes, appeals, their timers, and the over-claiming figure.

The flow (DOMAIN.md; YouTube's, research §1.4):
- the uploader disputes an active claim with a reason and evidence -> disputed; the claimant has 30
  days to answer: uphold (the uploader may then appeal within the appeal window) or release;
- no answer in time releases the claim; an upheld dispute nobody appeals reinstates it (active);
- an appeal -> appealed; the claimant has 7 days: reinstate (active), release, or takedown; no
  answer releases the claim.
Revenue on a disputed or appealed claim is held in escrow by royalty runs and paid to the winner.
All verbs take `now` so tests and the beat task control time.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from rights import claims, conf, licensing
from rights.actions import Actor, transition
from rights.audit import acting_as
from rights.models import Claim, ClaimEvent, Dispute, RightsHolder


class DisputeError(ValueError):
    """A dispute or appeal was asked for that the claim's state does not allow."""


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def _check_reason(reason: str, evidence: str) -> None:
    if reason not in Dispute.Reason.values:
        raise DisputeError(f"Unknown reason {reason!r}; choose one of {', '.join(Dispute.Reason.values)}.")
    if not evidence.strip():
        raise DisputeError("Give evidence: a licence number, a link, or an explanation.")


def dispute_claim(
    claim: Claim,
    *,
    reason: str,
    evidence: str,
    actor: Actor,
    disputant: RightsHolder | None = None,
    now: datetime.datetime | None = None,
) -> Dispute:
    """The uploader disputes an active claim: it becomes disputed and the claimant's 30 days start."""
    _check_reason(reason, evidence)
    now = _now(now)
    with acting_as(actor), transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        if locked.status != claims.ACTIVE:
            raise DisputeError(f"Only an active claim can be disputed; this one is {locked.status}.")
        deadline = now + conf.timer("dispute_answer_days")
        parties = licensing.parties_of(actor)
        dispute = Dispute.objects.create(
            claim=locked,
            kind=Dispute.Kind.DISPUTE,
            reason=reason,
            evidence=evidence,
            disputant=disputant or locked.uploader or (parties[0] if parties else None),
            claimant=locked.claimant,
            opened_by=actor if getattr(actor, "pk", None) else None,
            opened_at=now,
            deadline=deadline,
        )
        transition(locked, claims.DISPUTED, actor, f"Disputed ({reason}): {evidence}", deadline=deadline)
    return dispute


def _pending(claim: Claim, kind: str) -> Dispute:
    dispute = claim.disputes.filter(kind=kind, outcome=Dispute.Outcome.PENDING).order_by("-opened_at", "-pk").first()
    if dispute is None:
        raise DisputeError(f"Claim {claim.pk} has no open {kind} to answer.")
    return dispute


def _close(dispute: Dispute, outcome: str, actor: Actor, answer: str, now: datetime.datetime) -> None:
    dispute.outcome = outcome
    dispute.answered_by = actor if getattr(actor, "pk", None) else None
    dispute.answered_at = now
    dispute.answer = answer
    dispute.save(update_fields=["outcome", "answered_by", "answered_at", "answer"])


def uphold_dispute(claim: Claim, actor: Actor, answer: str, now: datetime.datetime | None = None) -> Dispute:
    """The claimant keeps the claim. It stays disputed (revenue still in escrow) while the uploader may
    appeal; if nobody appeals within the appeal window it is reinstated."""
    if not answer.strip():
        raise DisputeError("Say why the claim is upheld: the uploader sees the answer.")
    now = _now(now)
    with acting_as(actor), transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        if locked.status != claims.DISPUTED:
            raise DisputeError(f"Only a disputed claim can be upheld; this one is {locked.status}.")
        dispute = _pending(locked, Dispute.Kind.DISPUTE)
        _close(dispute, Dispute.Outcome.UPHELD, actor, answer, now)
        locked.deadline = now + conf.timer("appeal_window_days")
        locked.save(update_fields=["deadline", "updated_at"])
        ClaimEvent.objects.create(
            claim=locked,
            actor=actor,
            from_status=claims.DISPUTED,
            to_status=claims.DISPUTED,
            reason=f"Dispute upheld: {answer} The uploader may appeal until {locked.deadline:%Y-%m-%d}.",
        )
    return dispute


def release_disputed_claim(claim: Claim, actor: Actor, answer: str, now: datetime.datetime | None = None) -> Claim:
    """The claimant accepts the dispute or appeal: the claim is released and the uploader wins."""
    now = _now(now)
    with acting_as(actor), transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        kind = Dispute.Kind.APPEAL if locked.status == claims.APPEALED else Dispute.Kind.DISPUTE
        _close(_pending(locked, kind), Dispute.Outcome.RELEASED, actor, answer, now)
        return transition(locked, claims.RELEASED, actor, f"{kind.capitalize()} accepted: {answer}")


def appeal_claim(
    claim: Claim,
    *,
    reason: str,
    evidence: str,
    actor: Actor,
    now: datetime.datetime | None = None,
) -> Dispute:
    """The uploader appeals an upheld dispute: the claim is appealed and the claimant has 7 days."""
    _check_reason(reason, evidence)
    now = _now(now)
    with acting_as(actor), transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        latest = locked.latest_dispute()
        if locked.status != claims.DISPUTED or latest is None or latest.outcome != Dispute.Outcome.UPHELD:
            raise DisputeError("Only a dispute the claimant upheld can be appealed.")
        deadline = now + conf.timer("appeal_answer_days")
        appeal = Dispute.objects.create(
            claim=locked,
            kind=Dispute.Kind.APPEAL,
            reason=reason,
            evidence=evidence,
            disputant=latest.disputant,
            claimant=locked.claimant,
            opened_by=actor if getattr(actor, "pk", None) else None,
            opened_at=now,
            deadline=deadline,
        )
        transition(locked, claims.APPEALED, actor, f"Appealed ({reason}): {evidence}", deadline=deadline)
    return appeal


def answer_appeal(
    claim: Claim, decision: str, actor: Actor, answer: str, now: datetime.datetime | None = None
) -> Claim:
    """The claimant answers an appeal: 'reinstate' (active), 'release', or 'takedown'."""
    outcomes = {
        "reinstate": (Dispute.Outcome.UPHELD, claims.ACTIVE),
        "takedown": (Dispute.Outcome.TAKEDOWN, claims.TAKEDOWN),
    }
    if decision == "release":
        return release_disputed_claim(claim, actor, answer, now)
    if decision not in outcomes:
        raise DisputeError("Answer an appeal with 'reinstate', 'release' or 'takedown'.")
    if not answer.strip():
        raise DisputeError("Say why: the uploader sees the answer.")
    outcome, target = outcomes[decision]
    now = _now(now)
    with acting_as(actor), transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        if locked.status != claims.APPEALED:
            raise DisputeError(f"Only an appealed claim can be answered this way; this one is {locked.status}.")
        _close(_pending(locked, Dispute.Kind.APPEAL), outcome, actor, answer, now)
        return transition(locked, target, actor, f"Appeal rejected ({decision}): {answer}")


# --- timers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimerReport:
    expired_potential: int = 0
    disputes_expired: int = 0
    appeals_expired: int = 0
    reinstated: int = 0

    @property
    def total(self) -> int:
        return self.expired_potential + self.disputes_expired + self.appeals_expired + self.reinstated


def _enforce_one(claim_id: int, now: datetime.datetime) -> str:
    """Apply the timer of one due claim; returns what happened ('' if it was no longer due)."""
    with transaction.atomic():
        claim = Claim.objects.select_for_update().get(pk=claim_id)
        if claim.deadline is None or claim.deadline > now:
            return ""
        days = lambda name: conf.timer(name).days  # noqa: E731
        if claim.status == claims.POTENTIAL:
            transition(
                claim, claims.RELEASED, None, f"Expired: not reviewed within {days('potential_claim_days')} days."
            )
            return "expired_potential"
        kind = Dispute.Kind.APPEAL if claim.status == claims.APPEALED else Dispute.Kind.DISPUTE
        pending = claim.disputes.filter(kind=kind, outcome=Dispute.Outcome.PENDING).first()
        if pending is not None:
            _close(pending, Dispute.Outcome.EXPIRED, None, "No answer in time.", now)
            limit = days("appeal_answer_days" if kind == Dispute.Kind.APPEAL else "dispute_answer_days")
            transition(
                claim, claims.RELEASED, None, f"Released: the claimant did not answer the {kind} within {limit} days."
            )
            return "appeals_expired" if kind == Dispute.Kind.APPEAL else "disputes_expired"
        if claim.status == claims.DISPUTED:  # upheld, and the uploader did not appeal in time
            transition(
                claim,
                claims.ACTIVE,
                None,
                f"Reinstated: the upheld dispute was not appealed within {days('appeal_window_days')} days.",
            )
            return "reinstated"
        return ""


def enforce_timers(now: datetime.datetime | None = None) -> TimerReport:
    """Apply every timer that has run out at `now`. Idempotent: a claim is handled once."""
    now = _now(now)
    counts: dict[str, int] = defaultdict(int)
    for claim_id in list(Claim.objects.due(now).order_by("deadline", "pk").values_list("pk", flat=True)):
        what = _enforce_one(claim_id, now)
        if what:
            counts[what] += 1
    return TimerReport(**counts)


# --- over-claiming -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverClaiming:
    """Per claimant: disputes decided, disputes lost (the claim ended released after a dispute or
    appeal), and the share lost (0..1)."""

    claimant_id: int | None
    claimant: str
    decided: int
    lost: int

    @property
    def share_lost(self) -> float:
        return self.lost / self.decided if self.decided else 0.0


def over_claiming(claimant: RightsHolder | None = None) -> list[OverClaiming]:
    """The over-claiming figure: per claimant, the share of its decided disputes that it lost.

    A dispute is decided when its claim is no longer disputed or appealed; it is lost when the
    uploader won in the end (released by the claimant, or no answer in time, to the dispute or
    its appeal).
    """
    qs = Dispute.objects.filter(kind=Dispute.Kind.DISPUTE).select_related("claim", "claimant")
    if claimant is not None:
        qs = qs.filter(claimant=claimant)
    stats: dict[int | None, list[Any]] = {}
    for dispute in qs.order_by("pk"):
        if dispute.claim.status in (claims.DISPUTED, claims.APPEALED) or dispute.outcome == Dispute.Outcome.PENDING:
            continue
        appeal = (
            dispute.claim.disputes.filter(kind=Dispute.Kind.APPEAL, opened_at__gte=dispute.opened_at)
            .order_by("opened_at", "pk")
            .first()
        )
        if appeal is not None and appeal.outcome == Dispute.Outcome.PENDING:
            continue
        row = stats.setdefault(dispute.claimant_id, [dispute.claimant.name if dispute.claimant else "unknown", 0, 0])
        row[1] += 1
        if dispute.winner == "uploader" or (appeal is not None and appeal.winner == "uploader"):
            row[2] += 1
    return sorted(
        (OverClaiming(pk, name, decided, lost) for pk, (name, decided, lost) in stats.items()),
        key=lambda r: (-r.share_lost, r.claimant),
    )
