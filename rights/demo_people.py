"""The demo's people: a login for each role, and a month of royalties, so every page has something to show.

Passwords are fresh on every run (printed once by `quickstart`); usernames are stable.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from catalog.models import Artist, Label, Recording
from fingerprint.models import Platform
from rights import actions, runs, splits, usage
from rights.models import AuditorGrant, RightsHolder, RoyaltyRun, Split, UsageReport

DEMO_ARTIST = "The Demo Ensemble"
DEMO_PLATFORM = "DemoTube"
TERRITORIES = ["GB", "US", "DE", "FR", "BR", "JP"]


def _login(username: str, *, staff: bool = False) -> tuple[Any, str]:
    password = secrets.token_urlsafe(9)
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"email": f"{username}@localhost"})
    user.is_staff = staff
    user.set_password(password)
    user.save()
    return user, password


def demo_platform() -> Platform:
    """The platform the demo's uploads come from (its member logs in as `platform`)."""
    return Platform.objects.get_or_create(name=DEMO_PLATFORM)[0]


@transaction.atomic
def set_up_people(label: Label) -> dict[str, tuple[str, str]]:
    """Logins for label staff, the demo artist, the demo platform and an auditor: {role: (user, password)}."""
    staff, staff_password = _login("staff", staff=True)
    label_party, _ = RightsHolder.objects.get_or_create(label=label, kind="label", defaults={"name": label.name})
    label_party.accounts.add(staff)

    artist_user, artist_password = _login("artist")
    artist, _ = Artist.objects.get_or_create(name=DEMO_ARTIST, defaults={"label": label})
    for recording in Recording.objects.filter(label=label):
        recording.artists.add(artist)
        for work in recording.works.all():
            work.writers.add(artist)
    artist_party, _ = RightsHolder.objects.get_or_create(artist=artist, kind="artist", defaults={"name": artist.name})
    artist_party.accounts.add(artist_user)

    platform_user, platform_password = _login("platform")
    platform = demo_platform()
    platform.members.add(platform_user)
    actions.platform_party(platform)

    auditor, auditor_password = _login("auditor")
    AuditorGrant.objects.get_or_create(label=label, user=auditor, defaults={"granted_by": staff})
    return {
        "label staff": (staff.username, staff_password),
        "artist": (artist_user.username, artist_password),
        "platform": (platform_user.username, platform_password),
        "auditor": (auditor.username, auditor_password),
    }


def _usage_csv(recordings: list[Recording]) -> bytes:
    """A deterministic month of plays and revenue per recording and territory (same bytes every run)."""
    rows = ["isrc,territory,quantity,amount"]
    for index, recording in enumerate(recordings):
        for t, territory in enumerate(TERRITORIES):
            plays = 1000 + ((index * 7919 + t * 104729) % 9000)
            revenue = (Decimal(plays) * Decimal("0.00317")).quantize(Decimal("0.01"))
            rows.append(f"{recording.isrc},{territory},{plays},{revenue}")
    return ("\n".join(rows) + "\n").encode()


def run_demo_royalties(label: Label, log: Callable[[str], None] = print) -> RoyaltyRun | None:
    """Master splits (label 70 %, artist 30 %), last month's usage from DemoTube, and its royalty run."""
    recordings = list(Recording.objects.filter(label=label).order_by("isrc"))
    if not recordings:
        return None
    label_party = RightsHolder.objects.get(label=label, kind="label")
    artist_party = RightsHolder.objects.get(artist__name=DEMO_ARTIST, kind="artist")
    for recording in recordings:
        if not Split.objects.filter(recording=recording).exists():
            splits.set_split(
                recording=recording,
                shares=[(label_party, "70", "label"), (artist_party, "30", "artist")],
                note="Demo master split",
            )
    first_of_month = timezone.localdate().replace(day=1)
    period = (first_of_month - datetime.timedelta(days=1)).strftime("%Y-%m")
    data = _usage_csv(recordings)
    if not UsageReport.objects.filter(sha256=hashlib.sha256(data).hexdigest()).exists():
        platform_party = actions.platform_party(demo_platform())
        usage.import_csv(data, period=period, currency="EUR", platform=platform_party, file_name="demotube.csv")
    run = runs.run_royalties(period)
    log(f"Royalty run {period}: {run.usage_lines} usage lines, {run.statements.count()} statements ({run.status}).")
    return run
