"""POST /api/v1/scans: files, batches and URLs answer 202 at once; bad items are refused one by one."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import encode_multipart
from django.utils.datastructures import MultiValueDict

from fingerprint.api import _file_items
from fingerprint.models import Scan, Submission
from rights.models import Claim
from tests import audio as test_audio
from tests import factories
from tests.api import builders
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db


def _media() -> list[Path]:
    return stored_files(Path(django_settings.MEDIA_ROOT))


def _upload(name: str, samples: np.ndarray, fmt: str | None = None) -> SimpleUploadedFile:
    data = test_audio.audio.encode(samples.astype(np.float32), test_audio.SR, fmt or name.rsplit(".", 1)[-1])
    return SimpleUploadedFile(name, data)


def _noisy_excerpt(seed: int, start_s: float) -> np.ndarray:
    return test_audio.add_noise(test_audio.excerpt(test_audio.piece(seed), start_s, 10.0), snr_db=10.0, seed=seed)


def _text_named_mp3() -> SimpleUploadedFile:
    return SimpleUploadedFile("lyrics.mp3", b"These are the lyrics, not the song.\n" * 50)


def _silence(seconds: float = 2.0) -> SimpleUploadedFile:
    return _upload("quiet.wav", np.zeros(int(seconds * test_audio.SR), np.float32))


def test_one_file_answers_202_at_once_and_the_scan_finds_the_recording_after_commit(
    tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    target = factories.registered_recording(tmp_path, seed=3)
    caller = builders.platform("Tube")

    with django_capture_on_commit_callbacks(execute=True):
        response = caller.client.post(
            "/api/v1/scans/", {"file": _upload("clip.mp3", _noisy_excerpt(3, 11.0))}, format="multipart"
        )

    assert response.status_code == 202, response.json()
    (item,) = response.json()["items"]
    assert item["accepted"] and item["name"] == "clip.mp3" and item["code"] is None
    assert response["Location"] == item["url"] and item["url"].endswith(f"/api/v1/scans/{item['id']}")
    scan = Scan.objects.get(pk=item["id"])
    assert (scan.platform, scan.submitted_by, scan.original_name) == (caller.platform, caller.user, "clip.mp3")

    detail = caller.client.get(item["url"]).json()
    assert detail["status"] == "done", detail["error"]
    (match,) = detail["matches"]
    assert match["recording"] == {"id": target.pk, "isrc": target.isrc, "title": target.title}
    assert abs(match["offset_s"] - 11.0) < 0.5
    assert match["pitch_factor"] == pytest.approx(1.0, abs=0.01) and match["tempo_factor"] == pytest.approx(
        1.0, abs=0.01
    )
    assert 0 < match["confidence"] <= 1 and match["score"] > 0
    assert match["query_end_s"] > match["query_start_s"] and match["reference_start_s"] >= 0
    claim = Claim.objects.get(match__scan=scan)
    assert [c["id"] for c in detail["claims"]] == [claim.pk]
    assert "provenance" in detail


def test_a_batch_accepts_the_good_files_and_says_why_each_bad_one_was_refused(settings: object) -> None:
    settings.AUDIO_MAX_BYTES = 150_000  # type: ignore[attr-defined]
    caller = builders.platform("Tube")
    good = _upload("good.mp3", test_audio.piece(21, 10.0))
    oversize = _upload("long.wav", test_audio.piece(22, 20.0))
    assert good.size < 150_000 < oversize.size

    response = caller.client.post(
        "/api/v1/scans/", {"files": [good, _text_named_mp3(), _silence(), oversize]}, format="multipart"
    )

    assert response.status_code == 202, response.json()
    body = response.json()
    assert (body["accepted"], body["rejected"], body["replayed"]) == (1, 3, False)
    items = body["items"]
    assert [item["index"] for item in items] == [0, 1, 2, 3]
    assert items[0]["accepted"] and Scan.objects.get().pk == items[0]["id"]
    refused = {item["name"]: (item["status_code"], item["code"]) for item in items[1:]}
    assert refused == {
        "lyrics.mp3": (422, "unsupported_format"),
        "quiet.wav": (422, "silent"),
        "long.wav": (413, "too_large"),
    }
    for item in items[1:]:
        assert item["id"] is None and item["url"] is None and item["detail"].endswith(".")
    assert "not a supported audio format" in items[1]["detail"]
    assert f"The file is {oversize.size} bytes" in items[3]["detail"]  # its real size, though little was kept
    assert len(_media()) == 1  # only the accepted file was stored


def test_a_single_refused_file_answers_413_or_422_with_the_reason(settings: object) -> None:
    caller = builders.platform("Tube")

    silent = caller.client.post("/api/v1/scans/", {"file": _silence()}, format="multipart")
    settings.AUDIO_MAX_BYTES = 1000  # type: ignore[attr-defined]
    big = caller.client.post("/api/v1/scans/", {"file": _silence()}, format="multipart")
    settings.AUDIO_MAX_BYTES = 10**8  # type: ignore[attr-defined]
    settings.AUDIO_MAX_DURATION_S = 5  # type: ignore[attr-defined]
    long = caller.client.post("/api/v1/scans/", {"file": _upload("long.mp3", test_audio.piece(4, 8.0))}, "multipart")

    assert (silent.status_code, silent.json()["code"]) == (422, "silent")
    assert "silent" in silent.json()["detail"]
    assert (big.status_code, big.json()["code"]) == (413, "too_large")
    assert "the limit is 1000 bytes" in big.json()["detail"]
    assert (long.status_code, long.json()["code"]) == (413, "too_long")
    assert silent.json()["items"][0]["status_code"] == 422
    assert not Scan.objects.exists() and _media() == []


def test_a_json_list_of_urls_makes_a_queued_scan_per_url_and_refuses_what_is_not_a_url() -> None:
    caller = builders.platform("Tube")
    urls = ["https://cdn.example.com/a.mp3", "http://cdn.example.com/b.ogg", "ftp://cdn.example.com/c.wav", 7]

    response = caller.client.post("/api/v1/scans/", {"urls": urls}, format="json")

    assert response.status_code == 202
    items = response.json()["items"]
    assert [item["accepted"] for item in items] == [True, True, False, False]
    assert [item["code"] for item in items[2:]] == ["invalid_url", "invalid_url"]
    scans = {scan.pk: scan for scan in Scan.objects.all()}
    assert {scans[item["id"]].source_url for item in items[:2]} == set(urls[:2])
    assert all(scan.status == Scan.Status.QUEUED and scan.asset is None for scan in scans.values())
    assert all(scan.platform == caller.platform for scan in scans.values())
    detail = caller.client.get(items[0]["url"]).json()
    assert detail["source_url"] == urls[0] and detail["status"] == "queued"


def test_a_resubmission_under_the_same_idempotency_key_returns_the_same_scans_and_stores_nothing() -> None:
    caller = builders.platform("Tube")
    clip = test_audio.audio.encode(test_audio.piece(23, 6.0), test_audio.SR, "mp3")

    def submit() -> dict:
        files = [SimpleUploadedFile("clip.mp3", clip), _text_named_mp3()]
        response = caller.client.post("/api/v1/scans/", {"files": files}, format="multipart", HTTP_IDEMPOTENCY_KEY="k1")
        assert response.status_code == 202, response.json()
        return response

    first = submit()
    stored = _media()
    again = submit()
    urls = caller.client.post(
        "/api/v1/scans/", {"urls": ["https://example.com/x.mp3"]}, format="json", HTTP_IDEMPOTENCY_KEY="k2"
    )
    urls_again = caller.client.post(
        "/api/v1/scans/", {"urls": ["https://example.com/x.mp3"]}, format="json", HTTP_IDEMPOTENCY_KEY="k2"
    )

    assert first.json()["replayed"] is False and again.json()["replayed"] is True
    assert again["Idempotent-Replayed"] == "true"
    assert [i["id"] for i in again.json()["items"]] == [i["id"] for i in first.json()["items"]]
    assert [i["code"] for i in again.json()["items"]] == [None, "unsupported_format"]
    assert urls_again.json()["items"][0]["id"] == urls.json()["items"][0]["id"]
    assert Scan.objects.count() == 2 and Submission.objects.count() == 2
    assert _media() == stored and len(stored) == 1
    assert Scan.objects.get(pk=first.json()["items"][0]["id"]).submission.idempotency_key == "k1"


def test_the_same_idempotency_key_for_other_content_is_refused_with_422() -> None:
    caller = builders.platform("Tube")
    caller.client.post(
        "/api/v1/scans/", {"urls": ["https://example.com/1.mp3"]}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    response = caller.client.post(
        "/api/v1/scans/", {"urls": ["https://example.com/2.mp3"]}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert "different content" in response.json()["detail"]
    assert Scan.objects.count() == 1


def test_a_key_whose_request_was_wholly_refused_can_be_used_again_once_fixed() -> None:
    caller = builders.platform("Tube")
    refused = caller.client.post("/api/v1/scans/", {"file": _silence()}, format="multipart", HTTP_IDEMPOTENCY_KEY="k")
    fixed = caller.client.post(
        "/api/v1/scans/",
        {"file": _upload("ok.mp3", test_audio.piece(5, 6.0))},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    assert refused.status_code == 422 and fixed.status_code == 202
    assert Submission.objects.get().scans.get().pk == fixed.json()["items"][0]["id"]


def test_the_same_content_without_a_key_returns_the_platforms_existing_scan() -> None:
    caller = builders.platform("Tube")
    other = builders.platform("Other")
    clip = test_audio.audio.encode(test_audio.piece(24, 6.0), test_audio.SR, "mp3")

    first = caller.client.post("/api/v1/scans/", {"file": SimpleUploadedFile("a.mp3", clip)}, format="multipart")
    second = caller.client.post("/api/v1/scans/", {"file": SimpleUploadedFile("b.mp3", clip)}, format="multipart")
    theirs = other.client.post("/api/v1/scans/", {"file": SimpleUploadedFile("c.mp3", clip)}, format="multipart")

    assert first.json()["items"][0]["id"] == second.json()["items"][0]["id"]
    assert theirs.json()["items"][0]["id"] != first.json()["items"][0]["id"]
    assert len(_media()) == 1  # the bytes are stored once


def test_a_body_over_the_batch_allowance_is_refused_by_its_content_length_without_being_read(
    settings: object,
) -> None:
    settings.AUDIO_MAX_BYTES = 1000  # type: ignore[attr-defined]
    settings.CONTENTID_MAX_BATCH_FILES = 2  # type: ignore[attr-defined]
    caller = builders.platform("Tube")
    body = encode_multipart("BoUnDaRy", {"file": SimpleUploadedFile("a.wav", b"RIFF")})

    # The test client's payload raises if more is read than it holds: a declared 10 MB body is never read.
    response = caller.client.generic(
        "POST",
        "/api/v1/scans/",
        body,
        content_type="multipart/form-data; boundary=BoUnDaRy",
        CONTENT_LENGTH=str(10 * 1024 * 1024),
    )

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_more_items_than_a_batch_may_hold_are_refused_with_413(settings: object) -> None:
    settings.CONTENTID_MAX_BATCH_FILES = 2  # type: ignore[attr-defined]
    caller = builders.platform("Tube")

    response = caller.client.post(
        "/api/v1/scans/", {"urls": [f"https://example.com/{n}.mp3" for n in range(3)]}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (413, "too_many_items")
    assert not Scan.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"urls": ["https://example.com/a.mp3"', "application/json", 400, "parse_error"),
        (b"[" * 100_000, "application/json", 400, "parse_error"),
        (b'{"links": []}', "application/json", 400, "no_items"),
        (b'{"urls": []}', "application/json", 400, "no_items"),
        (b'["https://example.com/a.mp3"]', "application/json", 400, "no_items"),
        (b"urls=https://example.com/a.mp3", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b"just text", "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_malformed_bodies_get_a_4xx_with_a_code_never_a_500(
    body: bytes, content_type: str, status: int, code: str
) -> None:
    caller = builders.platform("Tube")

    response = caller.client.generic("POST", "/api/v1/scans/", body, content_type=content_type)

    assert response.status_code == status
    assert response.json()["code"] == code and response.json()["detail"]


def test_an_idempotency_key_longer_than_255_characters_is_a_400() -> None:
    caller = builders.platform("Tube")

    response = caller.client.post(
        "/api/v1/scans/", {"urls": ["https://example.com/a.mp3"]}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256
    )

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]


def test_control_characters_in_urls_keys_and_file_names_never_reach_the_database() -> None:
    caller = builders.platform("Tube")

    url = caller.client.post("/api/v1/scans/", {"urls": ["https://a\x00b.example/x.mp3"]}, format="json")
    key = caller.client.post(
        "/api/v1/scans/", {"urls": ["https://a.example/x.mp3"]}, format="json", HTTP_IDEMPOTENCY_KEY="a\x00b"
    )
    name = caller.client.post(
        "/api/v1/scans/", {"file": _upload("a\x00b.mp3", test_audio.piece(3, 3.0))}, format="multipart"
    )

    assert (url.status_code, url.json()["items"][0]["code"]) == (422, "invalid_url")
    assert key.status_code == 400
    assert name.status_code == 202 and Scan.objects.get().original_name == "ab.mp3"


def test_files_already_parsed_into_memory_are_spilled_to_disk_for_intake(tmp_path: Path) -> None:
    clip = SimpleUploadedFile("clip.mp3", b"ID3 not really")
    request = SimpleNamespace(FILES=MultiValueDict({"files": [clip]}))

    (item,) = _file_items(request, tmp_path)  # type: ignore[arg-type]

    assert item.path is not None and item.path.parent == tmp_path
    assert item.path.read_bytes() == b"ID3 not really" and item.name == "clip.mp3"
