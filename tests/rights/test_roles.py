"""Roles are read from data, and each scope shows a role exactly its own rows."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from rights import roles
from rights.models import AuditorGrant, Claim
from tests.web.conftest import World, fast_password_hashing, world  # noqa: F401

pytestmark = pytest.mark.django_db


def _claim_ids(user: Any) -> set[int]:
    return set(roles.claims_for(roles.viewer_for(user)).values_list("pk", flat=True))


def _ids(rows: list[Claim]) -> set[int]:
    return {row.pk for row in rows}


def test_each_role_is_read_from_the_accounts_of_parties_platforms_and_grants(world: World) -> None:  # noqa: F811
    assert roles.viewer_for(world.ours.staff).roles == [roles.STAFF]
    assert roles.viewer_for(world.ours.artist_user).roles == [roles.ARTIST]
    assert roles.viewer_for(world.ours.platform_user).roles == [roles.PLATFORM]
    assert roles.viewer_for(world.ours.auditor).roles == [roles.AUDITOR]
    assert roles.viewer_for(world.nobody).roles == []


def test_a_label_account_without_staff_status_is_not_label_staff(world: World) -> None:  # noqa: F811
    bot = get_user_model().objects.create_user("label-bot")
    world.ours.label_party.accounts.add(bot)
    viewer = roles.viewer_for(bot)
    assert not viewer.is_staff
    assert not roles.claims_to_review(viewer).exists()
    # It still reads the claims its party made (an account acts for its party), and nothing else.
    assert _claim_ids(bot) <= _ids(world.ours.claims)


def test_claims_are_scoped_per_role_and_never_cross_labels(world: World) -> None:  # noqa: F811
    ours, theirs = _ids(world.ours.claims), _ids(world.theirs.claims)
    for user in (world.ours.staff, world.ours.artist_user, world.ours.platform_user, world.ours.auditor):
        assert _claim_ids(user) == ours, user.username
    for user in (world.theirs.staff, world.theirs.artist_user, world.theirs.platform_user, world.theirs.auditor):
        assert _claim_ids(user) == theirs, user.username
    assert _claim_ids(world.superuser) == ours | theirs
    assert _claim_ids(world.nobody) == set()


def test_only_label_staff_review_and_only_their_own_labels_claims(world: World) -> None:  # noqa: F811
    def review(user: Any) -> set[int]:
        return set(roles.claims_to_review(roles.viewer_for(user)).values_list("pk", flat=True))

    assert review(world.ours.staff) == _ids(world.ours.claims)
    assert review(world.ours.auditor) == set()
    assert review(world.ours.artist_user) == set()
    assert review(world.ours.platform_user) == set()


def test_an_artist_sees_only_recordings_they_are_credited_on(world: World) -> None:  # noqa: F811
    seen = set(roles.recordings_for(roles.viewer_for(world.ours.artist_user)).values_list("pk", flat=True))
    assert seen == {rec.pk for rec in world.ours.recordings}
    uncredited = world.ours.recordings[0]
    uncredited.artists.clear()
    seen = set(roles.recordings_for(roles.viewer_for(world.ours.artist_user)).values_list("pk", flat=True))
    assert uncredited.pk not in seen


def test_an_expired_auditor_grant_gives_no_access(world: World) -> None:  # noqa: F811
    grant = AuditorGrant.objects.get(user=world.ours.auditor)
    grant.expires_on = timezone.localdate() - datetime.timedelta(days=1)
    grant.save()
    assert roles.viewer_for(world.ours.auditor).roles == []
    assert _claim_ids(world.ours.auditor) == set()
    grant.expires_on = timezone.localdate()  # the last day still counts
    grant.save()
    assert _claim_ids(world.ours.auditor) == _ids(world.ours.claims)


def test_a_deactivated_user_has_no_role(world: World) -> None:  # noqa: F811
    world.ours.staff.is_active = False
    world.ours.staff.save()
    assert roles.viewer_for(world.ours.staff).roles == []


def test_a_user_with_two_roles_sees_the_union(world: World) -> None:  # noqa: F811
    world.theirs.platform.members.add(world.ours.staff)
    viewer = roles.viewer_for(world.ours.staff)
    assert viewer.roles == [roles.STAFF, roles.PLATFORM]
    assert _claim_ids(world.ours.staff) == _ids(world.ours.claims) | _ids(world.theirs.claims)
    # ...but reviewing stays limited to the label they are staff of.
    assert set(roles.claims_to_review(viewer).values_list("pk", flat=True)) == _ids(world.ours.claims)


def test_the_home_page_needs_a_login_and_a_role(world: World) -> None:  # noqa: F811
    from django.test import Client

    response = Client().get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert world.client(world.nobody).get("/").status_code == 403
    page = world.client(world.ours.staff).get("/")
    assert page.status_code == 200
    assert b"potential claims to review" in page.content
