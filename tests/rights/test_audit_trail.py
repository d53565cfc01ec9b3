"""The hash-chained audit trail: every change is recorded, and any edit or deletion is detected."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from rights import actions, holdings, licensing, splits
from rights.models import AuditChainHead, AuditEvent, Policy
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():  # type: ignore[no-untyped-def]
    """Ownership, a policy, a licence, a split and a claim, each changed by a named person."""
    staff = get_user_model().objects.create_user("alice", password="x-not-used-1")
    recording = factories.recording(1)
    label = factories.party("Label")
    artist = factories.party("Artist", kind="artist")
    row = holdings.add_ownership(
        owner=label, recording=recording, right="master", territories=["WORLD"], share="100", actor=staff
    )
    holdings.change_ownership(row, actor=staff, share="90")
    Policy.objects.create(name="Label policy", owner=label)
    licensing.grant_licence(
        reference="L-1",
        licensor=label,
        licensee=artist,
        uses=["sync"],
        territories=["GB"],
        start_date=datetime.date(2026, 1, 1),
        fee_model="flat",
        flat_fee="500",
        recordings=[recording],
        actor=staff,
    )
    splits.set_split(recording=recording, shares=[(label, "80", "label"), (artist, "20", "artist")], actor=staff)
    claim = actions.claim_match(factories.match(recording))
    actions.approve_claim(claim, staff, "Looks right.")  # type: ignore[arg-type]
    return staff


def test_every_change_appends_an_event_naming_who_did_it(history) -> None:  # type: ignore[no-untyped-def]
    entities = list(AuditEvent.objects.values_list("entity", "verb", "actor_name"))

    assert ("rights.ownership", "created", "alice") in entities
    assert ("rights.ownership", "updated", "alice") in entities
    assert ("rights.policy", "created", "system") in entities
    assert ("rights.licence", "created", "alice") in entities
    assert ("rights.licence", "add", "alice") in entities  # the recordings it covers
    assert ("rights.split", "created", "alice") in entities
    assert [e for e in entities if e[0] == "rights.splitshare"] == [("rights.splitshare", "created", "alice")] * 2
    assert ("rights.claim", "created", "system") in entities
    assert ("rights.claimevent", "created", "alice") in entities
    updated = AuditEvent.objects.get(entity="rights.ownership", verb="updated")
    assert updated.data["share"] == "90.0000"
    seqs = list(AuditEvent.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


def test_an_intact_trail_verifies(history) -> None:  # type: ignore[no-untyped-def]
    out = __import__("io").StringIO()
    call_command("verify_audit_trail", stdout=out)

    assert f"intact: {AuditEvent.objects.count()} event(s)" in out.getvalue()


def test_editing_an_event_is_detected(history) -> None:  # type: ignore[no-untyped-def]
    event = AuditEvent.objects.get(entity="rights.ownership", verb="updated")
    AuditEvent.objects.filter(pk=event.pk).update(data={**event.data, "share": "100.0000"})

    with pytest.raises(CommandError, match="broken: 1 problem"):
        call_command("verify_audit_trail", stderr=__import__("io").StringIO())


def test_deleting_an_event_in_the_middle_is_detected(history) -> None:  # type: ignore[no-untyped-def]
    AuditEvent.objects.filter(seq=3).delete()
    err = __import__("io").StringIO()

    with pytest.raises(CommandError):
        call_command("verify_audit_trail", stderr=err)
    assert "event #3 to #3 missing" in err.getvalue()
    assert "event #4 does not link to the event before it" in err.getvalue()


def test_deleting_the_newest_events_is_detected(history) -> None:  # type: ignore[no-untyped-def]
    last = AuditChainHead.objects.get().seq
    AuditEvent.objects.filter(seq__gte=last - 1).delete()
    err = __import__("io").StringIO()

    with pytest.raises(CommandError):
        call_command("verify_audit_trail", stderr=err)
    assert f"the chain ends at #{last - 2} but the head records #{last}" in err.getvalue()


def test_rewriting_an_event_and_its_hash_still_breaks_the_next_link(history) -> None:  # type: ignore[no-untyped-def]
    from rights import audit

    event = AuditEvent.objects.get(seq=2)
    forged = {**event.data, "share": "1.0000"}
    digest = audit.event_hash(
        event.prev_hash,
        event.seq,
        event.at,
        event.actor_id,
        event.actor_name,
        event.entity,
        event.entity_id,
        event.verb,
        forged,
    )
    AuditEvent.objects.filter(pk=event.pk).update(data=forged, hash=digest)

    _checked, problems = audit.verify()

    assert [p.message for p in problems] == ["event #3 does not link to the event before it"]
