"""Catalogue rows keep their identifiers valid and normalised, in code and in the admin.

Real published identifiers: ISRC US-RC1-76-07839, ISWC T-034.524.680-1, UPC-A 036000291452,
EAN-13 4006381333931, ISNI 0000 0001 2103 2683.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.test import Client

from catalog.models import Artist, Recording, Release, Work


@dataclass(frozen=True)
class IdentifierCase:
    model: type[models.Model]
    field: str
    make: Callable[[str], models.Model]


CASES = {
    "recording_isrc": IdentifierCase(Recording, "isrc", lambda v: Recording(title="Song", isrc=v)),
    "work_iswc": IdentifierCase(Work, "iswc", lambda v: Work(title="Composition", iswc=v)),
    "release_upc": IdentifierCase(Release, "upc", lambda v: Release(title="Album", upc=v)),
    "artist_isni": IdentifierCase(Artist, "isni", lambda v: Artist(name="Singer", isni=v)),
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "malformed", "rule"),
    [
        ("recording_isrc", "US-RC1-7X-07839", "ISRC year must be 2 digits"),
        ("recording_isrc", "US-RC1-76-0783", "ISRC must be 12 characters"),
        ("recording_isrc", "XX-RC1-76-07839", "ISRC country code 'XX' is not"),
        ("work_iswc", "T-034.524.680-2", "ISWC check digit is 2, expected 1"),
        ("work_iswc", "034.524.680-1", "ISWC must start with the prefix 'T'"),
        ("release_upc", "036000291453", "UPC-A check digit is 3, expected 2"),
        ("release_upc", "4006381333932", "EAN-13 check digit is 2, expected 1"),
        ("release_upc", "12345678", "UPC/EAN must be 12 digits (UPC-A) or 13 digits (EAN-13)"),
        ("artist_isni", "0000 0001 2103 2684", "ISNI check character is 4, expected 3"),
        ("artist_isni", "0000 0001 2103", "ISNI must be 16 characters"),
    ],
)
def test_saving_a_malformed_identifier_is_refused_with_the_rule_and_stores_nothing(
    case: str, malformed: str, rule: str
) -> None:
    spec = CASES[case]
    obj = spec.make(malformed)

    with pytest.raises(ValidationError) as caught:
        obj.save()

    messages = caught.value.message_dict[spec.field]
    assert any(rule in message for message in messages), messages
    assert obj.pk is None
    assert not spec.model.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "typed", "stored"),
    [
        ("recording_isrc", "us-rc1-76-07839", "USRC17607839"),
        ("recording_isrc", " US RC1 76 07839 ", "USRC17607839"),
        ("work_iswc", "T-034.524.680-1", "T0345246801"),
        ("work_iswc", "t 034 524 680 1", "T0345246801"),
        ("release_upc", "0 36000 29145 2", "036000291452"),
        ("release_upc", "400-638-133-393-1", "4006381333931"),
        ("artist_isni", "0000 0001 2103 2683", "0000000121032683"),
        ("artist_isni", "0000-0001-2281-955x", "000000012281955X"),
    ],
)
def test_a_well_formed_identifier_is_stored_normalised(case: str, typed: str, stored: str) -> None:
    spec = CASES[case]
    obj = spec.make(typed)

    obj.save()

    row = spec.model.objects.get()
    assert getattr(row, spec.field) == stored
    assert spec.model.objects.filter(**{spec.field: stored}).exists()


@pytest.mark.django_db
def test_the_same_isrc_typed_two_ways_is_one_recording() -> None:
    Recording.objects.create(title="Original", isrc="USRC17607839")

    with pytest.raises(IntegrityError), transaction.atomic():
        Recording.objects.create(title="Duplicate", isrc="us-rc1-76-07839")

    assert list(Recording.objects.values_list("title", flat=True)) == ["Original"]


@pytest.mark.django_db
def test_a_blank_identifier_is_stored_as_missing_so_many_rows_can_lack_one() -> None:
    Recording.objects.create(title="No ISRC yet", isrc="")
    Recording.objects.create(title="Also without", isrc=None)

    assert Recording.objects.filter(isrc__isnull=True).count() == 2


# --------------------------------------------------------------------------- admin


@pytest.fixture
def staff_client(client: Client, django_user_model: type) -> Client:
    user = django_user_model.objects.create_superuser(username="staff", email="staff@example.com", password="x")
    assert user.is_staff
    client.force_login(user)
    return client


@pytest.fixture
def two_recordings() -> tuple[Recording, Recording]:
    wanted = Recording.objects.create(title="Midnight Harbour", isrc="US-RC1-76-07839")
    other = Recording.objects.create(title="Paper Lanterns", isrc="GB-AYE-06-01498")
    return wanted, other


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["USRC17607839", "usrc17607839", "Midnight Harbour", "harbour"])
def test_the_recording_changelist_search_finds_by_isrc_and_title(
    staff_client: Client, two_recordings: tuple[Recording, Recording], query: str
) -> None:
    wanted, other = two_recordings

    response = staff_client.get("/admin/catalog/recording/", {"q": query})

    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert shown == [wanted]
    page = response.content.decode()
    assert wanted.title in page
    assert other.title not in page


def _add_recording_form(**fields: str) -> dict[str, str]:
    data = {
        "title": "Posted Song",
        "isrc": "",
        "external_id": "",
        "label": "",
        "duration_s": "",
        "reference_assets-TOTAL_FORMS": "0",
        "reference_assets-INITIAL_FORMS": "0",
        "reference_assets-MIN_NUM_FORMS": "0",
        "reference_assets-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    data.update(fields)
    return data


@pytest.mark.django_db
def test_the_admin_add_form_creates_a_recording_with_a_compact_isrc(staff_client: Client) -> None:
    # Guards the form data used below: a good post really does create a recording.
    response = staff_client.post("/admin/catalog/recording/add/", _add_recording_form(isrc="usrc17607839"))

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert Recording.objects.get().isrc == "USRC17607839"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("isrc", "rule"),
    [
        ("USRC17X07839", "ISRC year must be 2 digits"),
        ("XXRC17607839", "ISRC country code &#x27;XX&#x27; is not"),
    ],
)
def test_the_admin_add_form_with_a_malformed_isrc_shows_the_rule_and_creates_nothing(
    staff_client: Client, isrc: str, rule: str
) -> None:
    response = staff_client.post("/admin/catalog/recording/add/", _add_recording_form(isrc=isrc))

    assert response.status_code == 200  # the form is shown again
    assert "isrc" in response.context["adminform"].form.errors
    assert rule in response.content.decode()
    assert not Recording.objects.exists()


@pytest.mark.django_db
def test_the_admin_add_form_with_a_malformed_display_form_isrc_shows_the_rule(staff_client: Client) -> None:
    response = staff_client.post("/admin/catalog/recording/add/", _add_recording_form(isrc="US-RC1-7X-07839"))

    assert response.status_code == 200
    assert not Recording.objects.exists()
    assert "ISRC year must be 2 digits" in response.content.decode()


@pytest.mark.django_db
def test_the_admin_add_form_accepts_an_isrc_in_display_form(staff_client: Client) -> None:
    response = staff_client.post("/admin/catalog/recording/add/", _add_recording_form(isrc="US-RC1-76-07839"))

    assert response.status_code == 302
    assert Recording.objects.get().isrc == "USRC17607839"


@pytest.mark.django_db
def test_the_admin_finds_a_recording_by_its_isrc_in_display_form(staff_client: Client) -> None:
    Recording.objects.create(title="Searched", isrc="USRC17607839")
    Recording.objects.create(title="Other", isrc="GBAYE0601498")
    page = staff_client.get("/admin/catalog/recording/", {"q": "us-rc1-76-07839"}).content.decode()
    assert "Searched" in page and "Other" not in page
