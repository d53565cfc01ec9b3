"""A small world for the web tests: two labels, and a user for every role of each side.

`world.ours` is the label under test; everything of `world.theirs` must stay invisible to our users.
Claims are made through rights.actions from stored matches (no audio is decoded).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from catalog.models import Artist, Label, Recording
from fingerprint.models import Platform
from rights import actions
from rights.models import AuditorGrant, Claim, RightsHolder
from tests import factories
from tests.web.browser import browser, chromium  # noqa: F401  (registered once for every browser test)

PASSWORD = "web-test-password-1"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Side:
    """One label with its staff, artist, auditor, recordings and claims; and a platform uploading."""

    label: Label
    label_party: RightsHolder
    staff: Any
    artist: Artist
    artist_party: RightsHolder
    artist_user: Any
    auditor: Any
    platform: Platform
    platform_party: RightsHolder
    platform_user: Any
    recordings: list[Recording] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)


@dataclass
class World:
    ours: Side
    theirs: Side
    superuser: Any
    nobody: Any  # logged in, no role

    def client(self, user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client


def _user(name: str, **flags: Any) -> Any:
    return get_user_model().objects.create_user(name, password=PASSWORD, **flags)


def make_claim(recording: Recording, platform: Platform, *, confidence: float, seed: int) -> Claim:
    """A claim on a fresh upload of `platform` matching `recording`."""
    scan = factories.Scan.objects.create(
        platform=platform, asset=factories.audio_asset("upload", duration_s=60.0), status="done"
    )
    made = actions.claim_match(
        factories.match(recording, scan=scan, confidence=confidence, query=(5.0 + seed, 25.0 + seed))
    )
    assert made is not None, "the test policy should claim this match"
    return made


def build_side(prefix: str, index: int, claims: int) -> Side:
    label = Label.objects.create(name=f"{prefix} Records")
    label_party = RightsHolder.objects.create(name=label.name, kind="label", label=label)
    staff = _user(f"{prefix.lower()}-staff", is_staff=True)
    label_party.accounts.add(staff)
    artist = Artist.objects.create(name=f"{prefix} Artist", label=label)
    artist_party = RightsHolder.objects.create(name=artist.name, kind="artist", artist=artist)
    artist_user = _user(f"{prefix.lower()}-artist")
    artist_party.accounts.add(artist_user)
    auditor = _user(f"{prefix.lower()}-auditor")
    AuditorGrant.objects.create(label=label, user=auditor, granted_by=staff)
    platform = Platform.objects.create(name=f"{prefix}Tube")
    platform_user = _user(f"{prefix.lower()}-platform")
    platform.members.add(platform_user)
    platform_party = RightsHolder.objects.create(name=platform.name, kind="platform", platform=platform)
    side = Side(
        label, label_party, staff, artist, artist_party, artist_user, auditor, platform, platform_party, platform_user
    )
    for n in range(3):
        rec = factories.recording(index * 100 + n, label=label)
        rec.artists.add(artist)
        side.recordings.append(rec)
    for n in range(claims):
        side.claims.append(
            make_claim(side.recordings[n % len(side.recordings)], platform, confidence=0.55 + 0.01 * n, seed=n)
        )
    return side


@pytest.fixture
def world(db: Any) -> World:
    ours = build_side("Ours", 1, claims=4)
    theirs = build_side("Theirs", 2, claims=2)
    superuser = get_user_model().objects.create_superuser("root", "root@localhost", PASSWORD)
    return World(ours, theirs, superuser, _user("nobody"))


def days_ago(days: int) -> datetime.datetime:
    from django.utils import timezone

    return timezone.now() - datetime.timedelta(days=days)
