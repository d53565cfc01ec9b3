"""The claim lifecycle: which moves are allowed, what the policy decides, and what staff can do."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages

from catalog.models import Label
from fingerprint import actions as fingerprint_actions
from fingerprint.models import Scan
from rights import actions, claims
from rights.models import Claim, ClaimEvent, Policy
from tests import audio as test_audio
from tests import factories


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("potential", "active"),
        ("potential", "released"),
        ("active", "disputed"),
        ("active", "released"),
        ("disputed", "active"),
        ("disputed", "appealed"),
        ("disputed", "released"),
        ("appealed", "active"),
        ("appealed", "released"),
        ("appealed", "takedown"),
    ],
)
def test_the_lifecycle_allows(current: str, target: str) -> None:
    claims.check_transition(current, target)  # no exception


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        ("released", "active", "it can become nothing (it is final)"),
        ("takedown", "released", "it can become nothing (it is final)"),
        ("potential", "disputed", "it can become active, released"),
        ("potential", "takedown", "it can become active, released"),
        ("active", "potential", "it can become disputed, released"),
        ("active", "appealed", "it can become disputed, released"),
        ("disputed", "takedown", "it can become active, appealed, released"),
        ("potential", "potential", "it can become active, released"),
    ],
)
def test_the_lifecycle_refuses_with_the_states_it_allows(current: str, target: str, message: str) -> None:
    with pytest.raises(claims.TransitionError) as refused:
        claims.check_transition(current, target)
    assert f"A {current} claim cannot become {target}" in str(refused.value)
    assert message in str(refused.value)


TERMS = claims.PolicyTerms(action="monetize", min_confidence=0.9, min_match_s=5.0, always_review=False)


@pytest.mark.parametrize(
    ("facts", "terms", "status", "reasons"),
    [
        (claims.MatchFacts(0.95, 10.0, 30.0), TERMS, "active", ()),
        (
            claims.MatchFacts(0.95, 10.0, 30.0),
            claims.PolicyTerms("monetize", 0.9, 5.0, True),
            "potential",
            ("policy requires review",),
        ),
        (claims.MatchFacts(0.42, 10.0, 30.0), TERMS, "potential", ("low confidence (0.42 < 0.90)",)),
        (claims.MatchFacts(0.95, 3.0, 30.0), TERMS, "potential", ("short match (3.0 s < 5.0 s)",)),
        (
            claims.MatchFacts(0.5, 2.0, 30.0),
            claims.PolicyTerms("block", 0.9, 5.0, True),
            "potential",
            ("policy requires review", "low confidence (0.50 < 0.90)", "short match (2.0 s < 5.0 s)"),
        ),
        (claims.MatchFacts(0.9, 5.0, 5.0), TERMS, "active", ()),  # thresholds are inclusive
    ],
)
def test_the_policy_decides_active_or_review_with_reasons(facts, terms, status, reasons) -> None:  # type: ignore[no-untyped-def]
    decision = claims.decide(facts, terms)

    assert decision.status == status
    assert decision.review_reasons == reasons
    assert decision.action == terms.action


# --- with a real claim -------------------------------------------------------------------------


def _upload(tmp_path: Path, capture, seed: int, start_s: float, name: str, length_s: float = 10.0) -> Scan:  # type: ignore[no-untyped-def]
    """Submit a clean excerpt and run what the commit queues (identification, then claims)."""
    path = test_audio.write(tmp_path / f"{name}.wav", test_audio.excerpt(test_audio.piece(seed), start_s, length_s))
    with capture(execute=True):
        scan = fingerprint_actions.submit_upload(path, f"{name}.wav")
    scan.refresh_from_db()
    assert scan.status == Scan.Status.DONE, scan.error
    return scan


@pytest.fixture
def potential_claim(tmp_path: Path, django_capture_on_commit_callbacks) -> Claim:  # type: ignore[no-untyped-def]
    factories.registered_recording(tmp_path, seed=21)
    scan = _upload(tmp_path, django_capture_on_commit_callbacks, seed=21, start_s=6.0, name="clip")
    claim = Claim.objects.get(match__scan=scan)
    assert claim.status == Claim.Status.POTENTIAL
    return claim


@pytest.fixture
def staff(db):  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_superuser("reviewer", "reviewer@example.com", "pw-not-used-1")


@pytest.mark.django_db
def test_releasing_a_potential_claim_records_who_and_why(potential_claim: Claim, staff) -> None:  # type: ignore[no-untyped-def]
    actions.release_claim(potential_claim, staff, "Licensed use, agreed with the uploader.")

    potential_claim.refresh_from_db()
    assert potential_claim.status == Claim.Status.RELEASED
    event = potential_claim.events.order_by("at", "pk").last()
    assert (event.actor, event.from_status, event.to_status) == (staff, "potential", "released")
    assert event.reason == "Licensed use, agreed with the uploader."
    assert potential_claim.events.count() == 2


@pytest.mark.django_db
def test_a_released_claim_cannot_be_approved_and_its_history_is_unchanged(potential_claim: Claim, staff) -> None:  # type: ignore[no-untyped-def]
    actions.release_claim(potential_claim, staff)
    events_before = list(ClaimEvent.objects.filter(claim=potential_claim).values_list("pk", flat=True))

    with pytest.raises(claims.TransitionError, match="released claim cannot become active"):
        actions.approve_claim(potential_claim, staff)

    potential_claim.refresh_from_db()
    assert potential_claim.status == Claim.Status.RELEASED
    assert list(ClaimEvent.objects.filter(claim=potential_claim).values_list("pk", flat=True)) == events_before


@pytest.mark.django_db
def test_releasing_a_mix_in_the_admin_releases_one_and_warns_about_the_other(
    tmp_path: Path,
    client,
    staff,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    factories.registered_recording(tmp_path, seed=22)
    factories.registered_recording(tmp_path, seed=23)
    first = Claim.objects.get(match__scan=_upload(tmp_path, django_capture_on_commit_callbacks, 22, 4.0, "a"))
    second = Claim.objects.get(match__scan=_upload(tmp_path, django_capture_on_commit_callbacks, 23, 9.0, "b"))
    actions.release_claim(second, None, "Released earlier.")
    client.force_login(staff)

    response = client.post(
        "/admin/rights/claim/", {"action": "release_claims", "_selected_action": [first.pk, second.pk]}, follow=True
    )

    assert response.status_code == 200
    shown = [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]
    assert shown == [
        ("success", "1 claim(s) released."),
        (
            "warning",
            f"claim {second.pk}: A released claim cannot become released; it can become nothing (it is final).",
        ),
    ]
    page = response.content.decode()
    assert '<li class="success">1 claim(s) released.</li>' in page
    assert f'<li class="warning">Claim {second.pk}: A released claim cannot become released' in page
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == Claim.Status.RELEASED
    assert first.events.last().actor == staff
    assert second.events.count() == 2  # created, released earlier; nothing added by the refused release


@pytest.mark.django_db
def test_a_label_policy_without_review_makes_a_clear_match_active_at_once(
    tmp_path: Path,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    label = Label.objects.create(name="Fast Lane Records")
    own = Policy.objects.create(
        name="Fast Lane: block at once",
        label=label,
        action=Policy.Action.BLOCK,
        always_review=False,
        min_confidence=0.5,
        min_match_s=2,
    )
    recording = factories.recording(24, label=label)
    fingerprint_actions.register_reference(
        recording, test_audio.write(tmp_path / "reference-24.wav", test_audio.piece(24))
    )

    scan = _upload(tmp_path, django_capture_on_commit_callbacks, seed=24, start_s=8.0, name="clear")

    claim = Claim.objects.get(match__scan=scan)
    assert claim.recording == recording
    assert claim.policy == own and claim.action == Policy.Action.BLOCK
    assert claim.status == Claim.Status.ACTIVE
    assert claim.review_reasons == []
    created = claim.events.get()
    assert (created.from_status, created.to_status) == ("", "active")
    assert not Claim.objects.pending().exists()


@pytest.mark.django_db
def test_claiming_a_scan_twice_makes_no_second_claim(potential_claim: Claim) -> None:
    scan_id = potential_claim.match.scan_id

    again = actions.claim_scan_matches(scan_id)
    once_more = actions.claim_scan_matches(scan_id)

    assert [c.pk for c in again] == [c.pk for c in once_more] == [potential_claim.pk]
    assert Claim.objects.count() == 1
    assert ClaimEvent.objects.filter(claim=potential_claim).count() == 1


@pytest.mark.django_db
def test_the_admin_offers_no_delete_and_no_add_for_claims(potential_claim: Claim, client, staff) -> None:  # type: ignore[no-untyped-def]
    client.force_login(staff)

    assert client.get(f"/admin/rights/claim/{potential_claim.pk}/delete/").status_code == 403
    assert client.post(f"/admin/rights/claim/{potential_claim.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/rights/claim/add/").status_code == 403
    changelist = client.get("/admin/rights/claim/").content.decode()
    assert "delete_selected" not in changelist
    assert "/admin/rights/claim/add/" not in changelist
    assert Claim.objects.filter(pk=potential_claim.pk).exists()


@pytest.mark.django_db
def test_the_periodic_sweep_claims_a_match_whose_claim_task_was_lost(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fingerprint import actions as fingerprint_actions
    from rights import tasks as rights_tasks

    target = factories.registered_recording(tmp_path, seed=21)
    upload = test_audio.write(tmp_path / "lost.mp3", test_audio.excerpt(test_audio.piece(21), 4.0, 10.0))
    scan = fingerprint_actions.submit_upload(upload)  # on_commit never fires here: the queued work is "lost"
    fingerprint_actions.identify_scan(scan.pk)  # matches stored; the claim task's signal was never delivered
    assert not Claim.objects.exists()

    assert rights_tasks.claim_unclaimed_matches() == 1
    assert Claim.objects.get().recording == target
    assert rights_tasks.claim_unclaimed_matches() == 0  # idempotent
