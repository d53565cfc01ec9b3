"""Platforms with API keys, and scans and claims on their uploads, for the API tests."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from catalog.models import Label
from fingerprint.models import ApiToken, Platform, Scan
from rights import actions
from rights.models import Claim, RightsHolder
from tests import factories


@dataclass
class Caller:
    """A platform, the member its key acts as, the key, and a client that sends it."""

    platform: Platform
    user: object
    token: ApiToken
    key: str
    client: APIClient


def platform(name: str) -> Caller:
    user = get_user_model().objects.create_user(f"{name.lower()}-bot", password="x-not-used-1")
    account = Platform.objects.create(name=name)
    account.members.add(user)
    token, key = ApiToken.issue(account, user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return Caller(account, user, token, key, client)


def scan(owner: Platform | None, status: str = Scan.Status.DONE) -> Scan:
    """A finished scan of an upload (an asset row without a file) submitted by `owner`."""
    return Scan.objects.create(platform=owner, asset=factories.audio_asset("upload"), status=status)


def claim(owner: Platform, index: int, status: str = "active") -> Claim:
    """A claim of the test label on a match in an upload of `owner` (active unless asked otherwise)."""
    recording = factories.recording(index)
    label = recording.label or Label.objects.get_or_create(name="Test Label")[0]
    RightsHolder.objects.get_or_create(label=label, defaults={"name": label.name, "kind": "label"})
    made = actions.claim_match(factories.match(recording, scan=scan(owner)))
    assert made is not None
    if status == "active" and made.status == "potential":
        made = actions.approve_claim(made, None)
    return made
