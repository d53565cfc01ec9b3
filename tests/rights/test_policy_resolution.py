"""Policy resolution as pure functions: first applicable rule per owner, most restrictive across owners."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rights import claims
from rights import territories as t

WORLD = t.everywhere()
FACTS = claims.MatchFacts(
    confidence=0.97,
    duration_s=40.0,
    upload_duration_s=100.0,
    reference_span_s=40.0,
    reference_length_s=200.0,
    match_type=claims.PARTIAL,
)  # 40 % of the upload, 20 % of the reference
NO_REVIEW = claims.PolicyTerms("monetize", min_confidence=0.5, min_match_s=1.0, always_review=False)


def stake(
    *rules: claims.RuleTerms,
    name: str = "Label A",
    asset: str = "recording:1",
    share: str = "100",
    where: frozenset[str] = WORLD,
    terms: claims.PolicyTerms = NO_REVIEW,
) -> claims.Stake:
    return claims.Stake(
        owner_id=hash(name) % 1000,
        owner_name=name,
        asset=asset,
        right="master",
        share=Decimal(share),
        territories=where,
        policy_id=1,
        policy_name=f"{name} policy",
        terms=terms,
        rules=tuple(rules),
    )


def rule(action: str, **conditions: object) -> claims.RuleTerms:
    return claims.RuleTerms(action=action, **conditions)  # type: ignore[arg-type]


def actions_in(resolution: claims.Resolution, *codes: str) -> dict[str, str | None]:
    found = {}
    for code in codes:
        found[code] = next((a for a, where in resolution.territory_actions.items() if code in where), None)
    return found


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        # No rules: the policy's own action everywhere.
        ((), {"DE": "monetize", "US": "monetize"}),
        # The first applicable rule wins; a later one only covers what is left.
        ((rule("block", territories=("DE",)), rule("track")), {"DE": "block", "US": "track"}),
        ((rule("track"), rule("block", territories=("DE",))), {"DE": "track", "US": "track"}),
        # Excluded territories fall through to the next rule.
        ((rule("block", excluded_territories=("US",)), rule("monetize")), {"DE": "block", "US": "monetize"}),
        # A rule whose condition fails is skipped: 40 s is not above 60 s.
        ((rule("block", match_s=(60.0, None)), rule("monetize")), {"DE": "monetize", "US": "monetize"}),
        ((rule("block", match_s=(30.0, None)), rule("monetize")), {"DE": "block", "US": "block"}),
        # Match percent of the upload: 40 %.
        ((rule("block", match_percent=(50.0, None)), rule("track")), {"DE": "track", "US": "track"}),
        ((rule("block", match_percent=(None, 50.0)), rule("track")), {"DE": "block", "US": "block"}),
        # Reference duration (40 s) and reference percent (20 %).
        ((rule("block", reference_s=(None, 30.0)), rule("track")), {"DE": "track", "US": "track"}),
        ((rule("block", reference_percent=(10.0, 25.0)), rule("track")), {"DE": "block", "US": "block"}),
        # Match type: the match is partial.
        ((rule("block", match_types=("exact",)), rule("monetize")), {"DE": "monetize", "US": "monetize"}),
        ((rule("block", match_types=("partial", "modified")), rule("monetize")), {"DE": "block", "US": "block"}),
        # All conditions must hold.
        ((rule("block", territories=("DE",), match_s=(60.0, None)), rule("track")), {"DE": "track", "US": "track"}),
        # Rules that cover nowhere leave the territory unclaimed.
        ((rule("block", territories=("DE",)),), {"DE": "block", "US": None}),
    ],
)
def test_the_first_applicable_rule_of_a_policy_wins_per_territory(rules, expected) -> None:  # type: ignore[no-untyped-def]
    resolution = claims.resolve(FACTS, [stake(*rules)])

    assert actions_in(resolution, *expected) == expected


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("track", "monetize", "monetize"),
        ("monetize", "block", "block"),
        ("block", "track", "block"),
        ("track", "track", "track"),
    ],
)
def test_the_most_restrictive_action_wins_across_co_owners(first: str, second: str, expected: str) -> None:
    owners = [stake(rule(first), name="Label A", share="50"), stake(rule(second), name="Label B", share="50")]

    resolution = claims.resolve(FACTS, owners)

    assert resolution.territory_actions == {expected: WORLD}
    assert resolution.action == expected


def test_restrictiveness_is_decided_per_territory() -> None:
    label = stake(rule("block", territories=("DE",)), rule("monetize"), name="Label")
    publisher = stake(rule("track"), name="Publisher", asset="work:7", where=frozenset({"DE", "FR", "US"}))

    resolution = claims.resolve(FACTS, [label, publisher])

    assert actions_in(resolution, "DE", "FR", "US", "JP") == {
        "DE": "block",
        "FR": "monetize",
        "US": "monetize",
        "JP": "monetize",
    }
    assert resolution.action == "block"
    assert claims.describe_actions(resolution.territory_actions) == "block in DE; monetize in WORLD except DE"


def test_a_work_owner_blocking_where_the_label_only_monetizes_blocks_the_recording_there() -> None:
    label = stake(rule("monetize"), name="Label", where=frozenset({"GB", "US"}))
    publisher = stake(rule("block", territories=("US",)), name="Publisher", asset="work:3")

    resolution = claims.resolve(FACTS, [label, publisher])

    assert actions_in(resolution, "GB", "US") == {"GB": "monetize", "US": "block"}
    assert resolution.claimant is not None and resolution.claimant.owner_name == "Label"  # master answers


def test_an_owner_only_acts_where_it_owns_the_right() -> None:
    resolution = claims.resolve(FACTS, [stake(rule("block"), where=frozenset({"DE"}))])

    assert resolution.territory_actions == {"block": frozenset({"DE"})}


def test_nothing_applies_anywhere_means_no_action_and_no_claimant() -> None:
    resolution = claims.resolve(FACTS, [stake(rule("block", match_s=(100.0, None)))])

    assert resolution.action is None and resolution.territory_actions == {}
    assert resolution.claimant is None


@pytest.mark.parametrize(
    ("facts", "terms", "rules", "extra", "reasons"),
    [
        (FACTS, NO_REVIEW, (), (), ()),
        (FACTS, claims.PolicyTerms("monetize", 0.5, 1.0, True), (), (), ("policy requires review",)),
        (claims.MatchFacts(0.4, 40.0, 100.0), NO_REVIEW, (), (), ("low confidence (0.40 < 0.50)",)),
        (claims.MatchFacts(0.9, 0.5, 100.0), NO_REVIEW, (), (), ("short match (0.5 s < 1.0 s)",)),
        # "Below 50 % of the upload: monetize and route for review" (YouTube's example).
        (
            FACTS,
            NO_REVIEW,
            (rule("monetize", match_percent=(50.0, None)), rule("monetize", review=True)),
            (),
            ("rule 2 of policy 'Label A policy' routes to review",),
        ),
        (
            FACTS,
            NO_REVIEW,
            (),
            ("ownership conflict: 130.0000% of master asserted",),
            ("ownership conflict: 130.0000% of master asserted",),
        ),
    ],
)
def test_claims_are_routed_to_review_with_every_reason(facts, terms, rules, extra, reasons) -> None:  # type: ignore[no-untyped-def]
    resolution = claims.resolve(facts, [stake(*rules, terms=terms)], extra)

    assert resolution.review_reasons == reasons
    assert resolution.status == ("potential" if reasons else "active")


def test_the_strictest_threshold_of_the_acting_owners_applies() -> None:
    lenient = stake(name="A", terms=claims.PolicyTerms("monetize", 0.5, 1.0, False))
    strict = stake(name="B", terms=claims.PolicyTerms("monetize", 0.99, 1.0, False))
    idle = stake(rule("block", match_s=(999.0, None)), name="C", terms=claims.PolicyTerms("monetize", 1.0, 999, True))

    resolution = claims.resolve(FACTS, [lenient, strict, idle])

    # C's rules apply nowhere, so its thresholds do not count; B's 0.99 does.
    assert resolution.review_reasons == ("low confidence (0.97 < 0.99)",)


@pytest.mark.parametrize(
    ("pitch", "tempo", "span", "length", "engine", "expected"),
    [
        (1.0, 1.0, 190.0, 200.0, "landmark-1", "exact"),
        (1.0, 1.0, 30.0, 200.0, "landmark-1", "partial"),
        (1.06, 1.0, 190.0, 200.0, "landmark-1", "modified"),
        (1.0, 0.9, 30.0, 200.0, "landmark-1", "modified"),
        (1.0, 1.0, 30.0, 200.0, "melody-0.1", "melody"),
    ],
)
def test_match_type(pitch: float, tempo: float, span: float, length: float, engine: str, expected: str) -> None:
    assert claims.match_type(pitch, tempo, span, length, engine) == expected
