"""Staff review of claims as plain functions: the queue and its filters, decisions one at a time or in bulk,
and readable explanations of why a claim was made.

The web pages call these; the API or the admin can call them too. Every function takes the viewer (see
rights.roles) so the scope of what may be read or decided is the one `roles.claims_to_review` defines.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from catalog.models import Recording, Work
from rights import claims, disputes, roles
from rights.actions import Actor, approve_claim, release_claim
from rights.models import Claim, OwnershipConflict, PolicyRule, ReferenceOverlap

# --- why a claim waits for review ------------------------------------------------------------------

# Kind -> (label, fragments of the reason texts rights.claims and rights.actions write). The reasons
# are stored as sentences for people, so the kind is read back from the words they start with.
REASON_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "confidence": ("Low confidence", ("low confidence",)),
    "short": ("Short match", ("short match",)),
    "conflict": ("Ownership conflict", ("ownership conflict",)),
    "overlap": ("Reference overlap", ("reference overlap",)),
    "provenance": ("AI provenance", ("ai-provenance",)),
    "policy": ("Policy requires review", ("policy requires review", "routes to review")),
    "melody": ("Melody match (cover)", ("melody match",)),
}
OTHER_REASON = "other"


def reason_kind(reason: str) -> str:
    """The kind of one review reason text ('low confidence (0.55 < 0.90)' -> 'confidence')."""
    text = reason.lower()
    for kind, (_, fragments) in REASON_KINDS.items():
        if any(fragment in text for fragment in fragments):
            return kind
    return OTHER_REASON


def reason_label(kind: str) -> str:
    return REASON_KINDS[kind][0] if kind in REASON_KINDS else "Other"


def _reason_filter(kind: str) -> Q:
    """Claims with a reason of `kind`. `icontains` on the JSON text works on SQLite and PostgreSQL alike."""
    q = Q(pk__in=[])
    for fragment in REASON_KINDS[kind][1]:
        q |= Q(review_reasons__icontains=fragment)
    return q


# --- the queue -------------------------------------------------------------------------------------

AGES: dict[str, str] = {
    "today": "Made today",
    "week": "Made in the last 7 days",
    "older": "Older than 7 days",
    "expiring": "Expires within 24 h",
}


@dataclass(frozen=True)
class QueueFilters:
    """What the queue is narrowed to; None or empty means no condition."""

    reason: str = ""
    min_confidence: float | None = None
    max_confidence: float | None = None
    owner: int | None = None
    territory: str = ""
    age: str = ""


def review_queue(
    viewer: roles.Viewer, filters: QueueFilters | None = None, now: datetime.datetime | None = None
) -> QuerySet[Claim]:
    """Potential claims the viewer may decide, most urgent (nearest deadline) first."""
    filters = filters or QueueFilters()
    now = now or timezone.now()
    qs = roles.claims_to_review(viewer).filter(status=Claim.Status.POTENTIAL)
    if filters.reason in REASON_KINDS:
        qs = qs.filter(_reason_filter(filters.reason))
    if filters.min_confidence is not None:
        qs = qs.filter(
            Q(match__confidence__gte=filters.min_confidence) | Q(work_match__confidence__gte=filters.min_confidence)
        )
    if filters.max_confidence is not None:
        qs = qs.filter(
            Q(match__confidence__lte=filters.max_confidence) | Q(work_match__confidence__lte=filters.max_confidence)
        )
    if filters.owner is not None:
        qs = qs.filter(claimant_id=filters.owner)
    if filters.territory:
        # territory_actions is {"monetize": ["AD", "AE", ...]}: the quoted code occurs in its JSON text.
        qs = qs.filter(territory_actions__icontains=f'"{filters.territory.upper()}"')
    if filters.age == "today":
        start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        qs = qs.filter(created_at__gte=start)
    elif filters.age == "week":
        qs = qs.filter(created_at__gte=now - datetime.timedelta(days=7))
    elif filters.age == "older":
        qs = qs.filter(created_at__lt=now - datetime.timedelta(days=7))
    elif filters.age == "expiring":
        qs = qs.filter(deadline__lte=now + datetime.timedelta(days=1))
    return qs.with_sources().select_related("claimant").order_by("deadline", "pk")


def conflicts_to_review(viewer: roles.Viewer) -> QuerySet[OwnershipConflict]:
    """Open ownership conflicts on the recordings of the viewer's labels or on works those recordings embed."""
    if not viewer.is_staff:
        return OwnershipConflict.objects.none()
    qs = OwnershipConflict.objects.open()
    if not viewer.all_labels:
        qs = qs.filter(
            Q(recording__label__in=viewer.staff_labels) | Q(work__recordings__label__in=viewer.staff_labels)
        ).distinct()
    return qs.select_related("recording", "work")


def overlaps_to_review(viewer: roles.Viewer) -> QuerySet[ReferenceOverlap]:
    """Open reference overlaps where either recording is of one of the viewer's labels."""
    if not viewer.is_staff:
        return ReferenceOverlap.objects.none()
    qs = ReferenceOverlap.objects.filter(status=ReferenceOverlap.Status.OPEN)
    if not viewer.all_labels:
        qs = qs.filter(Q(first__label__in=viewer.staff_labels) | Q(second__label__in=viewer.staff_labels))
    return qs.select_related("first", "second", "scan")


def time_left(deadline: datetime.datetime | None, now: datetime.datetime | None = None) -> str:
    """'2 d 4 h left', '3 h 12 min left', '5 min left', 'expired' (review.js writes the same words)."""
    if deadline is None:
        return "no deadline"
    seconds = int((deadline - (now or timezone.now())).total_seconds())
    if seconds <= 0:
        return "expired"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h left"
    if hours:
        return f"{hours} h {minutes} min left"
    return f"{max(minutes, 1)} min left"


def expires_soon(deadline: datetime.datetime | None, now: datetime.datetime | None = None) -> bool:
    return deadline is not None and deadline - (now or timezone.now()) < datetime.timedelta(days=1)


# --- decisions -------------------------------------------------------------------------------------

APPROVE, RELEASE = "approve", "release"
DECISIONS = {APPROVE: approve_claim, RELEASE: release_claim}
PAST_TENSE = {APPROVE: "approved", RELEASE: "released"}


class ReviewError(ValueError):
    """A decision the claim's state does not allow, worded for the person who asked."""


def decide_claim(claim: Claim, decision: str, actor: Actor, reason: str = "") -> Claim:
    """Approve or release one potential claim (the caller has checked the actor may decide it)."""
    if decision not in DECISIONS:
        raise ReviewError(f"Unknown decision {decision!r}; use approve or release.")
    # The lifecycle alone would let "release" end an active claim too; review decides potential claims only,
    # so the state is checked under the row lock (someone else may have decided it a moment ago).
    with transaction.atomic():
        locked = Claim.objects.select_for_update().filter(pk=claim.pk).first()
        if locked is None or locked.status != claims.POTENTIAL:
            current = locked.status if locked else "deleted"
            raise ReviewError(
                f"Claim {claim.pk} is no longer waiting for review (it is {current}); nothing was changed."
            )
        return DECISIONS[decision](locked, actor, reason.strip())


@dataclass
class BulkOutcome:
    """What a bulk decision did: the claims changed, and why each other one was not."""

    decision: str
    done: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """'3 claims approved' (and the failures counted)."""
        count = len(self.done)
        text = f"{count} claim{'' if count == 1 else 's'} {PAST_TENSE.get(self.decision, self.decision)}"
        if self.errors:
            text += f"; {len(self.errors)} not changed"
        return text


def decide_claims(
    viewer: roles.Viewer, claim_ids: Iterable[int], decision: str, actor: Actor, reason: str = ""
) -> BulkOutcome:
    """Approve or release many claims; a claim the viewer may not decide, or no longer potential, is
    reported in `errors` and the others still go through (each decision is its own transaction)."""
    if decision not in DECISIONS:
        raise ReviewError(f"Unknown decision {decision!r}; use approve or release.")
    outcome = BulkOutcome(decision)
    ids = list(dict.fromkeys(int(pk) for pk in claim_ids))
    decidable = {c.pk: c for c in roles.claims_to_review(viewer).filter(pk__in=ids)}
    for pk in ids:
        claim = decidable.get(pk)
        if claim is None:
            outcome.errors[pk] = f"Claim {pk} is not one you can decide."
            continue
        try:
            decide_claim(claim, decision, actor, reason)
        except ReviewError as exc:
            outcome.errors[pk] = str(exc)
        else:
            outcome.done.append(pk)
    return outcome


# --- disputes and appeals, answered by the claimant's staff -----------------------------------------

DISPUTE_ANSWERS = {
    "uphold": "Uphold the dispute (keep the claim)",
    "release_disputed": "Release the claim",
    "reinstate": "Reinstate the claim",
    "takedown": "Take the upload down",
}


def dispute_answers(claim: Claim) -> list[str]:
    """Which answers the claim's state allows: a pending dispute may be upheld or released; a pending
    appeal reinstated, released or taken down; an upheld dispute waits for the uploader."""
    pending = claim.open_dispute()
    if pending is None:
        return []
    if claim.status == Claim.Status.DISPUTED:
        return ["uphold", "release_disputed"]
    if claim.status == Claim.Status.APPEALED:
        return ["reinstate", "release_disputed", "takedown"]
    return []


def answer_dispute(claim: Claim, answer: str, actor: Actor, text: str) -> str:
    """Answer the claim's open dispute or appeal; returns what happened, for a message."""
    try:
        if answer == "uphold":
            disputes.uphold_dispute(claim, actor, text)
            return f"Dispute of claim {claim.pk} upheld; the uploader may appeal."
        if answer == "release_disputed":
            disputes.release_disputed_claim(claim, actor, text or "Released by the claimant.")
            return f"Claim {claim.pk} released."
        if answer in ("reinstate", "takedown"):
            disputes.answer_appeal(claim, answer, actor, text)
            return f"Appeal of claim {claim.pk} answered: {'reinstated' if answer == 'reinstate' else 'taken down'}."
    except (disputes.DisputeError, claims.TransitionError) as exc:
        raise ReviewError(str(exc)) from exc
    raise ReviewError(f"Unknown answer {answer!r}.")


# --- why the claim was made -----------------------------------------------------------------------


def _interval(name: str, low: float | None, high: float | None, unit: str) -> str:
    if low is None and high is None:
        return ""
    if low is not None and high is not None:
        return f"{name} {low:g}-{high:g}{unit}"
    return f"{name} ≥ {low:g}{unit}" if low is not None else f"{name} ≤ {high:g}{unit}"


def describe_rule(rule: PolicyRule) -> str:
    """'monetize in DE, FR; match ≥ 10 s; exact only; routes to review' - a policy rule in words."""
    parts = [f"{rule.action} in {', '.join(rule.territories) if rule.territories else 'every territory'}"]
    if rule.excluded_territories:
        parts[0] += f" except {', '.join(rule.excluded_territories)}"
    parts += [
        _interval("match", rule.min_match_s, rule.max_match_s, " s"),
        _interval("match", rule.min_match_percent, rule.max_match_percent, " % of the upload"),
        _interval("reference", rule.min_reference_s, rule.max_reference_s, " s"),
        _interval("reference", rule.min_reference_percent, rule.max_reference_percent, " % of the reference"),
    ]
    if rule.match_types:
        parts.append(f"{', '.join(rule.match_types)} matches only")
    if rule.review:
        parts.append("routes to review")
    return "; ".join(part for part in parts if part)


def _asset_name(asset: str) -> str:
    """'recording:12' -> the recording's title; 'work:3' -> 'work <title>'."""
    kind, _, pk = asset.partition(":")
    model = {"recording": Recording, "work": Work}.get(kind)
    row = model.objects.filter(pk=pk).first() if model and pk.isdigit() else None
    return f"{kind} {row}" if row else asset


def explain_resolution(claim: Claim) -> list[dict[str, Any]]:
    """Each owner's part in the claim as stored in `claim.resolution`, with the rules that decided it in
    words (rules are numbered as the policy ordered them when the claim was made; shown as they read now)."""
    owners = []
    rules_by_policy: dict[int, list[PolicyRule]] = {}
    for owner in claim.resolution.get("owners", []):
        policy_id = owner.get("policy_id")
        if policy_id is not None and policy_id not in rules_by_policy:
            rules_by_policy[policy_id] = list(PolicyRule.objects.filter(policy_id=policy_id).order_by("position", "pk"))
        rules = rules_by_policy.get(policy_id, [])
        applied = []
        for number in owner.get("rules_applied", []):
            text = describe_rule(rules[number - 1]) if 0 < number <= len(rules) else "(no longer in the policy)"
            applied.append({"number": number, "text": text})
        owners.append(
            {
                "owner": owner.get("owner", ""),
                "asset": _asset_name(owner.get("asset", "")),
                "right": owner.get("right", ""),
                "share": owner.get("share", ""),
                "policy": owner.get("policy", ""),
                "rules": applied,
                "decision": owner.get("decision", ""),
                "is_claimant": owner.get("owner_id") is not None and owner.get("owner_id") == claim.claimant_id,
            }
        )
    return owners


def evidence_items(evidence: Any) -> list[tuple[str, str]]:
    """A provenance finding's evidence as (name, value) pairs a page can list."""
    if isinstance(evidence, dict):
        return [
            (str(key), value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
            for key, value in evidence.items()
        ]
    if evidence in (None, "", [], {}):
        return []
    return [("evidence", evidence if isinstance(evidence, str) else json.dumps(evidence, ensure_ascii=False))]
