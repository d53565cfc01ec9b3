"""Claim rules as pure functions: the lifecycle's allowed transitions and the policy decision.

No Django import: the same rules serve actions, admin, API and tests.
"""

from __future__ import annotations

from dataclasses import dataclass

POTENTIAL, ACTIVE, RELEASED, DISPUTED, APPEALED, TAKEDOWN = (
    "potential",
    "active",
    "released",
    "disputed",
    "appealed",
    "takedown",
)

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


@dataclass(frozen=True)
class MatchFacts:
    """What the policy decision looks at: confidence (0..1), matched duration (s), upload length (s)."""

    confidence: float
    duration_s: float
    upload_duration_s: float


@dataclass(frozen=True)
class PolicyTerms:
    """A policy's action and its review thresholds."""

    action: str
    min_confidence: float
    min_match_s: float
    always_review: bool


@dataclass(frozen=True)
class Decision:
    """What to do with a match: the action, the starting state, and why it needs review, if it does."""

    action: str
    status: str
    review_reasons: tuple[str, ...]


def decide(facts: MatchFacts, terms: PolicyTerms) -> Decision:
    """Apply a policy to one match: active straight away, or potential with the reasons for review."""
    reasons = []
    if terms.always_review:
        reasons.append("policy requires review")
    if facts.confidence < terms.min_confidence:
        reasons.append(f"low confidence ({facts.confidence:.2f} < {terms.min_confidence:.2f})")
    if facts.duration_s < terms.min_match_s:
        reasons.append(f"short match ({facts.duration_s:.1f} s < {terms.min_match_s:.1f} s)")
    return Decision(terms.action, POTENTIAL if reasons else ACTIVE, tuple(reasons))
