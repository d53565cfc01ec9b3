"""The artist portal: what an artist sees, registering works and recordings with checked identifiers,
reference uploads, the split editor, and who may use each page.

Real requests through the test client, real audio through the real fingerprinter; no mocks.
"""

from __future__ import annotations

import datetime
import html
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import ArtistAIConsent, Recording, Work
from fingerprint.models import ReferenceFingerprint, ReferenceUpload
from rights import splits
from rights.models import AuditEvent, Dispute, RightsHolder, RoyaltyRun, Split, Statement
from tests import audio as test_audio
from tests.conftest import stored_files
from tests.web.conftest import World

pytestmark = pytest.mark.django_db

VALID_ISWC = "T-034.524.680-1"  # the check digit of 034524680 is 1
BAD_ISWC = "T-034.524.680-2"


def _work(world_side: Any, title: str, iswc: str | None = None) -> Work:
    work = Work.objects.create(title=title, iswc=iswc)
    work.writers.add(world_side.artist)
    return work


def _text(response: Any) -> str:
    """The page's text without tags or repeated spaces, as a person reads it."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))).strip()


# --- the portal home ---------------------------------------------------------------------------------


def test_the_portal_shows_only_the_artists_own_works_recordings_claims_and_statements(world: World) -> None:
    _work(world.ours, "Our Song", "T0345246801")
    _work(world.theirs, "Their Song")
    run = RoyaltyRun.objects.create(period=datetime.date(2026, 3, 1), status="done", started_at=timezone.now())
    Statement.objects.create(run=run, party=world.ours.artist_party, currency="EUR", paid_minor=12345)
    Statement.objects.create(run=run, party=world.theirs.artist_party, currency="EUR", paid_minor=99999)
    Dispute.objects.create(
        claim=world.ours.claims[0],
        reason="licensed",
        evidence="Licence L-1",
        disputant=world.ours.platform_party,
        opened_at=timezone.now(),
        deadline=timezone.now() + datetime.timedelta(days=30),
    )

    response = world.client(world.ours.artist_user).get(reverse("web:artist"))

    assert response.status_code == 200
    text = _text(response)
    assert "Our Song" in text and "T-034.524.680-1" in text and "Ours Artist" in text
    assert "Their Song" not in text
    for recording in world.ours.recordings:
        assert recording.title in text
    for recording in world.theirs.recordings:
        assert recording.title not in text
    assert "GB-TST-26-00100" in text, "ISRCs are shown in their display form"
    assert "No reference audio" in text
    assert f"Claims on your music ({len(world.ours.claims)})" in text
    assert "Open disputes (1)" in text and "Licensed: the uploader holds a licence" in text
    assert "2026-03" in text and "123.45 EUR" in text
    assert "999.99" not in text
    assert reverse("web:artist-work-new") in response.content.decode()
    assert reverse("web:artist-reference", args=[world.ours.recordings[0].pk]) in response.content.decode()


# --- registering works -------------------------------------------------------------------------------


def test_a_work_with_a_valid_iswc_is_registered_normalised_with_the_artist_as_writer(world: World) -> None:
    client = world.client(world.ours.artist_user)

    response = client.post(reverse("web:artist-work-new"), {"title": " Night Drive ", "iswc": "t 034 524 680 1"})

    assert response.status_code == 302 and response.url == reverse("web:artist")
    work = Work.objects.get(title="Night Drive")
    assert work.iswc == "T0345246801"
    assert list(work.writers.all()) == [world.ours.artist]
    assert "Work registered" in _text(client.get(response.url))


def test_a_bad_iswc_shows_the_rule_next_to_the_field_and_creates_nothing(world: World) -> None:
    before = Work.objects.count()

    response = world.client(world.ours.artist_user).post(
        reverse("web:artist-work-new"), {"title": "Night Drive", "iswc": BAD_ISWC}
    )

    assert response.status_code == 400
    assert Work.objects.count() == before
    html = response.content.decode()
    check = re.search(r'<div id="id_iswc_check"[^>]*>(.*?)</div>', html, re.S)
    assert check is not None
    assert "ISWC check digit is 2, expected 1 for T-034.524.680" in check.group(1)
    assert 'class="errorlist"' in check.group(1)
    field = re.search(r"<input[^>]*name=\"iswc\"[^>]*>", html).group(0)  # type: ignore[union-attr]
    assert 'aria-describedby="id_iswc_check id_iswc_helptext"' in field
    assert 'aria-invalid="true"' in field
    assert 'value="T-034.524.680-2"' in field, "what was typed is kept to be corrected"
    assert 'hx-trigger="input changed delay:300ms"' in field
    assert f'hx-get="{reverse("web:validate-identifier", args=["iswc"])}"' in field


def test_a_duplicate_iswc_is_refused_without_naming_another_artists_work(world: World) -> None:
    _work(world.theirs, "Their Secret Song", "T0345246801")
    client = world.client(world.ours.artist_user)

    response = client.post(reverse("web:artist-work-new"), {"title": "Mine", "iswc": VALID_ISWC})

    assert response.status_code == 400
    text = _text(response)
    assert "ISWC T-034.524.680-1 is already registered to another work" in text
    assert "Their Secret Song" not in text
    assert not Work.objects.filter(title="Mine").exists()


def test_a_duplicate_of_the_artists_own_work_names_it(world: World) -> None:
    _work(world.ours, "Already Mine", "T0345246801")

    response = world.client(world.ours.artist_user).post(
        reverse("web:artist-work-new"), {"title": "Again", "iswc": VALID_ISWC}
    )

    assert "it is your work “Already Mine”" in _text(response)


def test_a_work_needs_a_title(world: World) -> None:
    response = world.client(world.ours.artist_user).post(reverse("web:artist-work-new"), {"title": "", "iswc": ""})

    assert response.status_code == 400
    assert "This field is required." in _text(response)
    assert not Work.objects.exists()


# --- registering recordings --------------------------------------------------------------------------


def test_a_recording_is_registered_with_its_isrc_normalised_linked_to_the_artists_own_work(world: World) -> None:
    mine = _work(world.ours, "My Work")
    client = world.client(world.ours.artist_user)

    response = client.post(
        reverse("web:artist-recording-new"), {"title": "My Master", "isrc": "gb-tst-26-09999", "works": [mine.pk]}
    )

    assert response.status_code == 302
    recording = Recording.objects.get(title="My Master")
    assert recording.isrc == "GBTST2609999"
    assert list(recording.artists.all()) == [world.ours.artist]
    assert list(recording.works.all()) == [mine]
    assert recording.label == world.ours.label


def test_a_recording_cannot_be_linked_to_another_artists_work_nor_reuse_an_isrc(world: World) -> None:
    theirs = _work(world.theirs, "Their Work")
    client = world.client(world.ours.artist_user)

    foreign = client.post(
        reverse("web:artist-recording-new"), {"title": "X", "isrc": "GB-TST-26-09998", "works": [theirs.pk]}
    )
    duplicate = client.post(
        reverse("web:artist-recording-new"), {"title": "Y", "isrc": world.theirs.recordings[0].isrc}
    )
    bad = client.post(reverse("web:artist-recording-new"), {"title": "Z", "isrc": "GB-TST-26-0999"})

    assert foreign.status_code == 400 and "Select a valid choice" in _text(foreign)
    assert "Their Work" not in _text(foreign), "another artist's works are not even offered"
    assert duplicate.status_code == 400 and "is already registered to another recording" in _text(duplicate)
    assert bad.status_code == 400 and "ISRC must be 12 characters" in _text(bad)
    assert not Recording.objects.filter(title__in=["X", "Y", "Z"]).exists()


# --- the identifier endpoint -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("iswc", "t0345246801", "valid: T-034.524.680-1"),
        ("iswc", BAD_ISWC, "ISWC check digit is 2, expected 1 for T-034.524.680"),
        ("iswc", "345.246.800-1", "ISWC must start with the prefix 'T'"),
        ("isrc", "us-rc1-76-07839", "valid: US-RC1-76-07839"),
        ("isrc", "USRC1760783", "ISRC must be 12 characters"),
        ("isni", "0000000121032683", "valid: 0000 0001 2103 2683"),
        ("isni", "0000000121032684", "ISNI check character is 4, expected 3"),
        ("ipi", "00014107338", "valid: 00014107338"),
        ("ipi", "00014107339", "IPI name number check digits are 39, expected 38"),
        ("upc", "036000291452", "valid: 036000291452"),
        ("upc", "036000291453", "UPC-A check digit is 3, expected 2"),
    ],
)
def test_the_identifier_endpoint_answers_valid_with_the_display_form_or_the_rule_broken(
    world: World, kind: str, value: str, expected: str
) -> None:
    response = world.client(world.ours.artist_user).get(
        reverse("web:validate-identifier", args=[kind]), {"value": value}
    )

    assert response.status_code == 200
    assert expected in _text(response)


def test_the_identifier_endpoint_reads_the_value_htmx_sends_under_the_inputs_name(world: World) -> None:
    client = world.client(world.ours.artist_user)
    url = reverse("web:validate-identifier", args=["iswc"])

    assert _text(client.get(url, {"iswc": "T-034.524.680-1"})) == "valid: T-034.524.680-1"
    assert _text(client.get(url, {"iswc": "  "})) == "", "nothing typed: nothing said"
    assert client.get(reverse("web:validate-identifier", args=["ean8"]), {"value": "1"}).status_code == 404


# --- reference uploads -------------------------------------------------------------------------------


def _wav_upload(tmp_path: Path, seed: int = 21, seconds: float = 8.0, name: str = "master.wav") -> SimpleUploadedFile:
    path = test_audio.write(tmp_path / name, test_audio.piece(seed, seconds))
    return SimpleUploadedFile(name, path.read_bytes(), content_type="audio/wav")


def test_uploading_a_real_wav_fingerprints_it_and_the_status_says_so(
    world: World, tmp_path: Path, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    recording = world.ours.recordings[0]
    client = world.client(world.ours.artist_user)
    url = reverse("web:artist-reference", args=[recording.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"audio": _wav_upload(tmp_path)}, HTTP_X_REQUESTED_WITH="XMLHttpRequest")

    # The answer is written before the commit that queues the task, so it shows the upload queued and
    # polling (with a real autocommit database and in-process tasks it is already fingerprinted).
    assert response.status_code == 201
    upload = ReferenceUpload.objects.get(recording=recording)
    status_url = reverse("web:artist-reference-status", args=[upload.pk])
    assert "Queued" in _text(response) and f'hx-get="{status_url}"' in response.content.decode()
    assert upload.status == ReferenceUpload.Status.DONE and upload.uploaded_by == world.ours.artist_user
    assert upload.asset is not None and upload.asset.recording == recording
    marks = ReferenceFingerprint.objects.get(asset=upload.asset).landmark_count

    status = client.get(status_url)
    assert f"Fingerprinted: 0:08, {marks} landmarks" in _text(status)
    assert "hx-trigger" not in status.content.decode(), "a finished upload is no longer polled"
    assert f"Fingerprinted: 0:08, {marks} landmarks" in _text(client.get(reverse("web:artist")))
    assert stored_files(Path(settings.MEDIA_ROOT)) == [Path(settings.MEDIA_ROOT) / upload.asset.file.name]


def test_a_queued_upload_is_polled_every_two_seconds(world: World) -> None:
    upload = ReferenceUpload.objects.create(recording=world.ours.recordings[0], original_name="late.wav")
    url = reverse("web:artist-reference-status", args=[upload.pk])

    html = world.client(world.ours.artist_user).get(url).content.decode()

    assert f'hx-get="{url}"' in html and 'hx-trigger="every 2s"' in html and 'hx-swap="outerHTML"' in html
    assert "Queued" in html


def test_without_javascript_the_upload_form_posts_and_the_page_shows_the_status(
    world: World, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    recording = world.ours.recordings[1]
    client = world.client(world.ours.artist_user)
    url = reverse("web:artist-reference", args=[recording.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"audio": _wav_upload(tmp_path, seed=22)})

    assert response.status_code == 302 and response.url == url
    page = _text(client.get(url))
    assert "master.wav was received" in page
    assert "Fingerprinted Fingerprinted: 0:08" in page and "master.wav — WAV, 8.0 s" in page


@pytest.mark.parametrize("xhr", [True, False])
def test_a_garbage_upload_is_refused_with_the_reason_and_nothing_is_left_in_media(
    world: World, settings: Any, xhr: bool
) -> None:
    garbage = SimpleUploadedFile("song.wav", b"this is a text file pretending to be a song" * 50)
    headers = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"} if xhr else {}

    response = world.client(world.ours.artist_user).post(
        reverse("web:artist-reference", args=[world.ours.recordings[0].pk]), {"audio": garbage}, **headers
    )

    assert response.status_code == 400
    assert "The content is not a supported audio format" in _text(response)
    assert not ReferenceUpload.objects.exists()
    assert stored_files(Path(settings.MEDIA_ROOT)) == []


def test_an_empty_upload_says_the_file_is_empty(world: World) -> None:
    response = world.client(world.ours.artist_user).post(
        reverse("web:artist-reference", args=[world.ours.recordings[0].pk]),
        {"audio": SimpleUploadedFile("empty.wav", b"")},
    )

    assert response.status_code == 400
    assert "The file is empty (0 bytes)." in _text(response)


# --- splits ------------------------------------------------------------------------------------------


def _producer_on_an_existing_split(world: World) -> RightsHolder:
    """A producer already sharing in a split of one of our artist's recordings: the editor offers them."""
    producer = RightsHolder.objects.create(name="Ours Producer", kind="other")
    splits.set_split(
        recording=world.ours.recordings[2],
        shares=[(world.ours.artist_party, "50", "artist"), (producer, "50", "producer")],
    )
    return producer


def _split_post(asset: str, rows: list[tuple[Any, str, str]]) -> dict[str, Any]:
    return {
        "asset": asset,
        "party": [str(getattr(p, "pk", p)) for p, _, _ in rows],
        "share": [s for _, s, _ in rows],
        "role": [r for _, _, r in rows],
        "territories": "",
        "start_date": "",
        "note": "",
    }


def test_the_editor_offers_the_artists_recordings_works_and_parties_only(world: World) -> None:
    producer = _producer_on_an_existing_split(world)
    mine = _work(world.ours, "Editor Work")
    _work(world.theirs, "Foreign Work")

    response = world.client(world.ours.artist_user).get(reverse("web:artist-split-new"))

    html = response.content.decode()
    assert response.status_code == 200
    assert f'value="recording:{world.ours.recordings[0].pk}"' in html and f'value="work:{mine.pk}"' in html
    assert f'value="recording:{world.theirs.recordings[0].pk}"' not in html and "Foreign Work" not in html
    assert f'<option value="{world.ours.artist_party.pk}"' in html and f'<option value="{producer.pk}"' in html
    assert f'<option value="{world.theirs.artist_party.pk}"' not in html
    assert f'<option value="{world.ours.label_party.pk}"' not in html, "not on any split of the artist's music"
    assert html.count('name="share"') == 6, "six rows work without JavaScript"
    assert "Total: 0.00 % — must be exactly 100 %" in _text(response)


def test_a_split_of_exactly_100_percent_is_saved_with_an_audit_event_naming_the_artist(world: World) -> None:
    producer = _producer_on_an_existing_split(world)
    recording = world.ours.recordings[0]
    client = world.client(world.ours.artist_user)
    rows = [(world.ours.artist_party, "60", "artist"), (producer, "40 %", "producer"), ("", "", "")]

    response = client.post(reverse("web:artist-split-new"), _split_post(f"recording:{recording.pk}", rows))

    assert response.status_code == 302 and response.url == reverse("web:artist-splits")
    split = Split.objects.get(recording=recording)
    assert split.stream == "master"
    assert {(s.party_id, s.share, s.role) for s in split.shares.all()} == {
        (world.ours.artist_party.pk, Decimal("60"), "artist"),
        (producer.pk, Decimal("40"), "producer"),
    }
    event = AuditEvent.objects.get(entity="rights.split", entity_id=str(split.pk), verb="created")
    assert event.actor_name == world.ours.artist_user.username
    listing = _text(client.get(response.url))
    assert "Split saved" in listing and "Ours Producer: 40 %" in listing and recording.title in listing


def test_a_split_of_99_percent_is_refused_with_the_message_and_nothing_is_saved(world: World) -> None:
    producer = _producer_on_an_existing_split(world)
    recording = world.ours.recordings[0]
    events = AuditEvent.objects.count()
    rows = [(world.ours.artist_party, "60", "artist"), (producer, "39", "producer")]

    response = world.client(world.ours.artist_user).post(
        reverse("web:artist-split-new"), _split_post(f"recording:{recording.pk}", rows)
    )

    assert response.status_code == 400
    text = _text(response)
    assert "Nothing was saved." in text
    assert "Shares sum to 99 %, under 100 %: they must sum to exactly 100 %." in text
    assert "Total: 99.00 % — must be exactly 100 %" in text
    assert 'value="39"' in response.content.decode(), "the rows come back as typed, to be corrected"
    assert not Split.objects.filter(recording=recording).exists()
    assert AuditEvent.objects.count() == events


def test_a_publishing_split_on_the_artists_work(world: World) -> None:
    work = _work(world.ours, "Publishing Work")

    response = world.client(world.ours.artist_user).post(
        reverse("web:artist-split-new"), _split_post(f"work:{work.pk}", [(world.ours.artist_party, "100", "writer")])
    )

    assert response.status_code == 302
    assert Split.objects.get(work=work).stream == "publishing"


def test_the_editor_refuses_parties_and_assets_outside_the_artists_reach(world: World) -> None:
    client = world.client(world.ours.artist_user)
    mine = f"recording:{world.ours.recordings[0].pk}"

    stranger = client.post(reverse("web:artist-split-new"), _split_post(mine, [(world.theirs.artist_party, "100", "")]))
    foreign = client.post(
        reverse("web:artist-split-new"),
        _split_post(f"recording:{world.theirs.recordings[0].pk}", [(world.ours.artist_party, "100", "")]),
    )
    no_share = client.post(reverse("web:artist-split-new"), _split_post(mine, [(world.ours.artist_party, "", "")]))

    assert stranger.status_code == 400 and "Row 1: that party cannot be named here." in _text(stranger)
    assert foreign.status_code == 400 and "Select a valid choice" in _text(foreign)
    assert no_share.status_code == 400 and "Row 1: give Ours Artist's share in percent." in _text(no_share)
    assert not Split.objects.exists()


# --- AI-likeness consent -----------------------------------------------------------------------------


def test_an_artist_opts_in_and_out_of_each_ai_use_and_every_change_is_audited(world: World) -> None:
    client = world.client(world.ours.artist_user)
    url = reverse("web:artist-ai-consent")
    page = _text(client.get(url))
    assert page.count("Opted out") == 3 and "Ours Artist" in page and "Theirs Artist" not in page

    post = {"artist": world.ours.artist.pk, "use": "style", "opted_in": "yes", "note": "Label campaigns only"}
    assert client.post(url, post).status_code == 302
    consent = ArtistAIConsent.objects.get(artist=world.ours.artist, use="style")
    assert consent.opted_in and consent.note == "Label campaigns only" and consent.changed_by == world.ours.artist_user
    page = _text(client.get(url))
    assert page.count("Opted out") == 2 and "Opted in" in page and "Label campaigns only" in page

    client.post(url, {**post, "opted_in": "no"})
    consent.refresh_from_db()
    assert consent.opted_in is False
    events = AuditEvent.objects.filter(entity="catalog.artistaiconsent", entity_id=str(consent.pk)).order_by("seq")
    assert [e.verb for e in events] == ["created", "updated"]
    assert {e.actor_id for e in events} == {world.ours.artist_user.pk}

    # Another artist's consent is not ours to change, nor an unknown use.
    theirs = {**post, "artist": world.theirs.artist.pk}
    assert client.post(url, theirs).status_code == 404
    assert not ArtistAIConsent.objects.filter(artist=world.theirs.artist).exists()
    client.post(url, {**post, "use": "hologram"})
    assert not ArtistAIConsent.objects.filter(use="hologram").exists()


# --- who may use each page ---------------------------------------------------------------------------


def _pages(world: World) -> list[tuple[str, str]]:
    """(method, url) of every artist page, on our artist's rows."""
    upload = ReferenceUpload.objects.create(recording=world.ours.recordings[0])
    recording = world.ours.recordings[0].pk
    return [
        ("get", reverse("web:artist")),
        ("get", reverse("web:artist-work-new")),
        ("post", reverse("web:artist-work-new")),
        ("get", reverse("web:artist-recording-new")),
        ("post", reverse("web:artist-recording-new")),
        ("get", reverse("web:artist-reference", args=[recording])),
        ("post", reverse("web:artist-reference", args=[recording])),
        ("get", reverse("web:artist-reference-status", args=[upload.pk])),
        ("get", reverse("web:artist-splits")),
        ("get", reverse("web:artist-split-new")),
        ("post", reverse("web:artist-split-new")),
        ("get", reverse("web:artist-ai-consent")),
        ("post", reverse("web:artist-ai-consent")),
    ]


def _request(client: Client, method: str, url: str) -> Any:
    return getattr(client, method)(url, {} if method == "get" else {"title": ""})


def test_our_artist_may_use_every_page(world: World) -> None:
    client = world.client(world.ours.artist_user)
    for method, url in _pages(world):
        assert _request(client, method, url).status_code in (200, 400), (method, url)  # 400: the empty post


@pytest.mark.parametrize("who", ["staff", "platform_user", "auditor", "superuser", "nobody"])
def test_every_other_role_gets_403_on_every_page_and_every_post(world: World, who: str) -> None:
    user = getattr(world, who, None) or getattr(world.ours, who)
    client = world.client(user)
    for method, url in _pages(world):
        assert _request(client, method, url).status_code == 403, (who, method, url)


def test_another_artist_gets_404_for_our_recordings_and_uploads_and_sees_their_own_portal(world: World) -> None:
    client = world.client(world.theirs.artist_user)
    by_url = {url: method for method, url in _pages(world)}
    for url, method in by_url.items():
        if "/reference" in url:
            assert _request(client, method, url).status_code == 404, (method, url)
    portal = client.get(reverse("web:artist"))
    assert portal.status_code == 200 and world.ours.recordings[0].title not in _text(portal)


def test_anonymous_visitors_are_sent_to_log_in(world: World) -> None:
    client = Client()
    for method, url in [*_pages(world), ("get", reverse("web:validate-identifier", args=["iswc"]))]:
        response = _request(client, method, url)
        assert response.status_code == 302 and response.url.startswith(reverse("web:login")), (method, url)


def test_the_identifier_endpoint_serves_any_role_but_not_a_user_without_one(world: World) -> None:
    url = reverse("web:validate-identifier", args=["isrc"])
    for user in (world.ours.staff, world.ours.auditor, world.ours.platform_user, world.ours.artist_user):
        assert world.client(user).get(url, {"value": "USRC17607839"}).status_code == 200
    assert world.client(world.nobody).get(url).status_code == 403
