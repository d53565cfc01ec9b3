"""Claim rules as pure functions: the lifecycle's allowed transitions and the policy decision.

No Django import: the same rules serve actions, admin, API and tests.

Resolution (DOMAIN.md, "Policies and claims"): each owner of the matched recording or of one of
its embedded works applies its policy; within a policy the first applicable rule wins, per
territory. Across owners the most restrictive action wins per territory (block > monetize >
track). Any owner's review thresholds, a rule marked for review, or an outside reason (ownership
conflict, AI-provenance finding, reference overlap) route the claim to review.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from rights import territories as territory_lists

POTENTIAL, ACTIVE, RELEASED, DISPUTED, APPEALED, TAKEDOWN = (
    "potential",
    "active",
    "released",
    "disputed",
    "appealed",
    "takedown",
)

MONETIZE, TRACK, BLOCK = "monetize", "track", "block"
# Most restrictive first: block > monetize > track.
ACTIONS_BY_RESTRICTIVENESS: tuple[str, ...] = (BLOCK, MONETIZE, TRACK)
RESTRICTIVENESS: dict[str, int] = {TRACK: 0, MONETIZE: 1, BLOCK: 2}

EXACT, MODIFIED, PARTIAL, MELODY = "exact", "modified", "partial", "melody"
MATCH_TYPES: tuple[str, ...] = (EXACT, MODIFIED, PARTIAL, MELODY)
# A pitch or tempo factor further than this from 1.0 counts as modified (0.5 % is below what a
# listener notices and within the matcher's estimation error).
MODIFIED_TOLERANCE = 0.005
# Matching at least this share of the reference unaltered counts as the whole reference ("exact").
EXACT_REFERENCE_SHARE = 0.9

# The claim lifecycle of DOMAIN.md: from-state -> states it may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    POTENTIAL: frozenset({ACTIVE, RELEASED}),
    ACTIVE: frozenset({DISPUTED, RELEASED}),
    DISPUTED: frozenset({ACTIVE, RELEASED, APPEALED}),
    APPEALED: frozenset({ACTIVE, RELEASED, TAKEDOWN}),
    RELEASED: frozenset(),
    TAKEDOWN: frozenset(),
}


class TransitionError(ValueError):
    """A claim was asked to move to a state its lifecycle does not allow from where it is."""


def check_transition(current: str, target: str) -> None:
    """Raise TransitionError unless a claim in `current` may move to `target`."""
    if target not in TRANSITIONS.get(current, frozenset()):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "nothing (it is final)"
        raise TransitionError(f"A {current} claim cannot become {target}; it can become {allowed}.")


def most_restrictive(actions: Iterable[str]) -> str | None:
    """The most restrictive of `actions` (block > monetize > track), or None when there are none."""
    ranked = [a for a in actions if a in RESTRICTIVENESS]
    return max(ranked, key=RESTRICTIVENESS.__getitem__) if ranked else None


def match_type(
    pitch_factor: float, tempo_factor: float, reference_span_s: float, reference_length_s: float, engine: str = ""
) -> str:
    """Classify a match: melody (a melody engine found it), modified (pitch or tempo changed), exact (at
    least 90 % of the reference, unaltered) or partial (less of the reference, unaltered)."""
    if engine.lower().startswith("melody"):
        return MELODY
    if abs(pitch_factor - 1.0) > MODIFIED_TOLERANCE or abs(tempo_factor - 1.0) > MODIFIED_TOLERANCE:
        return MODIFIED
    if reference_length_s > 0 and reference_span_s / reference_length_s >= EXACT_REFERENCE_SHARE:
        return EXACT
    return PARTIAL


@dataclass(frozen=True)
class MatchFacts:
    """What policies look at.

    confidence 0..1; duration_s: the matched span in the upload (s); upload_duration_s: the upload's
    length (s); reference_span_s: the matched span in the reference (s); reference_length_s: the
    reference's length (s); match_type: one of MATCH_TYPES.
    """

    confidence: float
    duration_s: float
    upload_duration_s: float
    reference_span_s: float = 0.0
    reference_length_s: float = 0.0
    match_type: str = PARTIAL

    @property
    def match_percent(self) -> float:
        """Percent of the upload that matched."""
        return 100.0 * self.duration_s / self.upload_duration_s if self.upload_duration_s > 0 else 0.0

    @property
    def reference_percent(self) -> float:
        """Percent of the reference that matched."""
        return 100.0 * self.reference_span_s / self.reference_length_s if self.reference_length_s > 0 else 0.0


@dataclass(frozen=True)
class PolicyTerms:
    """A policy's action (used when it has no rules) and its review thresholds."""

    action: str
    min_confidence: float
    min_match_s: float
    always_review: bool


Interval = tuple[float | None, float | None]


def _within(value: float, bounds: Interval) -> bool:
    low, high = bounds
    return (low is None or value >= low) and (high is None or value <= high)


@dataclass(frozen=True)
class RuleTerms:
    """One policy rule: an action and its conditions (None / empty: not a condition).

    Intervals are inclusive (min, max): match_s and reference_s in seconds, match_percent and
    reference_percent in percent of the upload and of the reference.
    """

    action: str
    territories: tuple[str, ...] = ()
    excluded_territories: tuple[str, ...] = ()
    match_s: Interval = (None, None)
    match_percent: Interval = (None, None)
    reference_s: Interval = (None, None)
    reference_percent: Interval = (None, None)
    match_types: tuple[str, ...] = ()
    review: bool = False

    def holds(self, facts: MatchFacts) -> bool:
        """Whether every non-territory condition holds for this match."""
        return (
            _within(facts.duration_s, self.match_s)
            and _within(facts.match_percent, self.match_percent)
            and _within(facts.reference_span_s, self.reference_s)
            and _within(facts.reference_percent, self.reference_percent)
            and (not self.match_types or facts.match_type in self.match_types)
        )

    def where(self) -> frozenset[str]:
        """The concrete territories the rule may apply in."""
        return territory_lists.expand(self.territories, self.excluded_territories)


@dataclass(frozen=True)
class Stake:
    """One owner's part in a match: its share of a right in the recording or an embedded work, where
    it owns it (concrete codes, licensed territories already removed), and its policy."""

    owner_id: int | None
    owner_name: str
    asset: str  # "recording:<id>" or "work:<id>"
    right: str
    share: Decimal
    territories: frozenset[str]
    policy_id: int
    policy_name: str
    terms: PolicyTerms
    rules: tuple[RuleTerms, ...] = ()


@dataclass(frozen=True)
class StakeOutcome:
    """What one stake's policy decided: action -> territories, and the rules that applied (1-based)."""

    stake: Stake
    actions: dict[str, frozenset[str]]
    rules_applied: tuple[int, ...]
    review_rules: tuple[int, ...]

    @property
    def acts(self) -> bool:
        return any(self.actions.values())


@dataclass(frozen=True)
class Resolution:
    """The merged decision for one match."""

    territory_actions: dict[str, frozenset[str]]
    action: str | None
    status: str
    review_reasons: tuple[str, ...]
    outcomes: tuple[StakeOutcome, ...] = field(default=())
    claimant: Stake | None = None


@dataclass(frozen=True)
class Decision:
    """What to do with a match: the action, the starting state, and why it needs review, if it does."""

    action: str
    status: str
    review_reasons: tuple[str, ...]


def _threshold_reasons(facts: MatchFacts, terms: Sequence[PolicyTerms]) -> list[str]:
    reasons = []
    if any(t.always_review for t in terms):
        reasons.append("policy requires review")
    min_confidence = max((t.min_confidence for t in terms), default=0.0)
    if facts.confidence < min_confidence:
        reasons.append(f"low confidence ({facts.confidence:.2f} < {min_confidence:.2f})")
    min_match_s = max((t.min_match_s for t in terms), default=0.0)
    if facts.duration_s < min_match_s:
        reasons.append(f"short match ({facts.duration_s:.1f} s < {min_match_s:.1f} s)")
    return reasons


def decide(facts: MatchFacts, terms: PolicyTerms) -> Decision:
    """Apply a policy without rules to one match: active straight away, or potential with the reasons."""
    reasons = _threshold_reasons(facts, [terms])
    return Decision(terms.action, POTENTIAL if reasons else ACTIVE, tuple(reasons))


def apply_policy(stake: Stake, facts: MatchFacts) -> StakeOutcome:
    """One stake's policy, per territory: the first applicable rule wins; no rules: the policy's action."""
    if not stake.rules:
        actions = {stake.terms.action: stake.territories} if stake.territories else {}
        return StakeOutcome(stake, actions, (), ())
    remaining = set(stake.territories)
    found: dict[str, set[str]] = {}
    applied, review = [], []
    for number, rule in enumerate(stake.rules, start=1):
        if not remaining:
            break
        if not rule.holds(facts):
            continue
        hit = remaining & rule.where()
        if not hit:
            continue
        found.setdefault(rule.action, set()).update(hit)
        remaining -= hit
        applied.append(number)
        if rule.review:
            review.append(number)
    return StakeOutcome(stake, {a: frozenset(t) for a, t in found.items()}, tuple(applied), tuple(review))


def merge(outcomes: Iterable[StakeOutcome]) -> dict[str, frozenset[str]]:
    """Per territory, the most restrictive action any stake takes there."""
    merged: dict[str, frozenset[str]] = {}
    taken: set[str] = set()
    outcomes = list(outcomes)
    for action in ACTIONS_BY_RESTRICTIVENESS:
        here = set().union(*(o.actions.get(action, frozenset()) for o in outcomes)) - taken
        if here:
            merged[action] = frozenset(here)
            taken |= here
    return merged


def _claimant(outcomes: Sequence[StakeOutcome]) -> Stake | None:
    """The stake that answers for the claim: master before publishing, then the largest share, then the
    first listed (callers list stakes in a stable order)."""
    acting = [o.stake for o in outcomes if o.acts]
    if not acting:
        return None
    return min(acting, key=lambda s: (not s.asset.startswith("recording:"), -s.share))


def resolve(facts: MatchFacts, stakes: Sequence[Stake], extra_reasons: Sequence[str] = ()) -> Resolution:
    """Merge every stake's policy into one decision for the match.

    Stakes that take no action anywhere do not route to review. `extra_reasons` (ownership
    conflict, provenance finding, reference overlap) always route to review.
    """
    outcomes = tuple(apply_policy(stake, facts) for stake in stakes)
    merged = merge(outcomes)
    acting = [o for o in outcomes if o.acts]
    reasons = _threshold_reasons(facts, [o.stake.terms for o in acting])
    for outcome in acting:
        for number in outcome.review_rules:
            reasons.append(f"rule {number} of policy '{outcome.stake.policy_name}' routes to review")
    reasons.extend(extra_reasons)
    action = most_restrictive(merged)
    return Resolution(
        territory_actions=merged,
        action=action,
        status=POTENTIAL if reasons else ACTIVE,
        review_reasons=tuple(dict.fromkeys(reasons)),
        outcomes=outcomes,
        claimant=_claimant(outcomes),
    )


def describe_actions(territory_actions: dict[str, Iterable[str]]) -> str:
    """'block in DE; monetize in WORLD except DE' - for event reasons and the admin."""
    parts = []
    for action in ACTIONS_BY_RESTRICTIVENESS:
        codes = frozenset(territory_actions.get(action, ()))
        if codes:
            parts.append(f"{action} in {territory_lists.describe(codes)}")
    return "; ".join(parts) or "no action anywhere"
