"""Crawling configured sources: URL lists, RSS and Atom feeds and HTML pages become scans, each
fetch is recorded with its outcome, nothing is fetched or scanned twice, and one bad URL never
stops a crawl. A real HTTP server on loopback (explicitly allowed) plays the web."""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from catalog.models import AudioAsset
from fingerprint import intake, sources, tasks
from fingerprint.models import Fetch, Scan, Source
from tests import factories
from tests.conftest import stored_files
from tests.fingerprint.test_fetching import LoopbackServer, allowed_server, audio_bytes, temp_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(settings: object, tmp_path: Path) -> Iterator[LoopbackServer]:
    with allowed_server(settings, tmp_path) as srv:
        yield srv


def make_source(kind: str, *urls: str, **fields: object) -> Source:
    return Source.objects.create(name=f"{kind} source", kind=kind, urls="\n".join(urls), **fields)


def outcomes(fetches: list[Fetch]) -> list[str]:
    return [fetch.outcome for fetch in fetches]


def audio_paths(server: LoopbackServer) -> list[str]:
    return [path for path in server.paths() if path != "/robots.txt"]


RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Weekly mixes</title>
  <item><title>One</title><enclosure url="/download?id=1" type="audio/mpeg" length="1"/></item>
  <item><title>Two</title><enclosure url="{base}/episodes/2.wav" length="1"/></item>
  <item><title>Cover art</title><enclosure url="/cover.jpg" type="image/jpeg" length="1"/></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Sets</title>
  <entry><title>A</title><link rel="alternate" href="/posts/a"/>
    <link rel="enclosure" type="audio/flac" href="media/a.flac"/></entry>
  <entry><title>B</title><link rel="enclosure" type="video/mp4" href="media/b.mp4"/></entry>
</feed>"""

PAGE = """<!doctype html><html><head><base href="/media/"><title>Shows</title></head><body>
  <audio src="one.ogg"></audio>
  <audio controls><source src="two.m4a" type="audio/mp4"></audio>
  <video><source src="clip.mp4" type="video/mp4"></video>
  <a href="three.mp3#t=10">Download</a> <a href="about.html">About</a> <a href="mailto:a@b.c">Mail</a>
</body></html>"""


# --------------------------------------------------------------------------- sources become scans


def test_a_url_list_turns_each_audio_url_into_a_scan_of_that_source(site, settings, tmp_path):
    urls = [site.add(f"/tracks/{n}.wav", audio_bytes(tmp_path, 10 + n), "audio/wav") for n in range(2)]
    source = make_source("urls", *urls, interval_minutes=90)
    before = timezone.now()

    fetches = sources.crawl_source(source.pk)

    assert outcomes(fetches) == ["scanned", "scanned"]
    for fetch, url in zip(fetches, urls, strict=True):
        scan = fetch.scan
        assert (scan.source, scan.source_url, scan.original_name) == (source, url, url.rsplit("/", 1)[1])
        assert (fetch.http_status, fetch.size_bytes) == (200, scan.asset.size_bytes)
        assert fetch.sha256 == scan.asset.sha256
    source.refresh_from_db()
    assert source.last_crawled_at >= before
    assert source.next_crawl_at == source.last_crawled_at + datetime.timedelta(minutes=90)
    assert temp_files(settings) == []


def test_rss_enclosures_become_scans_and_the_feed_fetch_is_listed(site, tmp_path):
    site.add("/download?id=1", audio_bytes(tmp_path, 20), "audio/mpeg")
    site.add("/episodes/2.wav", audio_bytes(tmp_path, 21), "audio/wav")
    feed = site.add("/feed.xml", RSS.format(base=site.url("")).encode(), "application/rss+xml")
    source = make_source("feed", feed)

    fetches = sources.crawl_source(source.pk)

    assert outcomes(fetches) == ["listed", "scanned", "scanned"]
    assert fetches[0].url == feed and fetches[0].detail == "Listed 2 audio links."
    assert [f.url for f in fetches[1:]] == [site.url("/download?id=1"), site.url("/episodes/2.wav")]
    assert Scan.objects.filter(source=source).count() == 2
    assert "/cover.jpg" not in site.paths()


def test_atom_enclosures_resolve_against_the_feed_url(site, tmp_path):
    site.add("/feeds/media/a.flac", audio_bytes(tmp_path, 22, "flac"), "audio/flac")
    feed = site.add("/feeds/atom.xml", ATOM.encode(), "application/atom+xml")

    fetches = sources.crawl_source(make_source("feed", feed).pk)

    assert outcomes(fetches) == ["listed", "scanned"]
    assert fetches[1].url == site.url("/feeds/media/a.flac")
    assert fetches[1].scan.asset.format == "flac"


def test_a_pages_audio_links_become_scans(site, tmp_path):
    site.add("/media/one.ogg", audio_bytes(tmp_path, 23, "ogg"), "audio/ogg")
    site.add("/media/two.m4a", audio_bytes(tmp_path, 24, "m4a"), "audio/mp4")
    site.add("/media/three.mp3", audio_bytes(tmp_path, 25, "mp3"), "audio/mpeg")
    page = site.add("/shows/", PAGE.encode(), "text/html; charset=utf-8")

    fetches = sources.crawl_source(make_source("page", page).pk)

    assert outcomes(fetches) == ["listed", "scanned", "scanned", "scanned"]
    assert [f.url for f in fetches[1:]] == [site.url(f"/media/{name}") for name in ("one.ogg", "two.m4a", "three.mp3")]
    assert sorted(f.scan.asset.format for f in fetches[1:]) == ["m4a", "mp3", "ogg"]
    assert not {"/media/clip.mp4", "/media/about.html"} & set(site.paths())


def test_scraped_audio_is_identified_as_the_registered_recording(site, tmp_path, django_capture_on_commit_callbacks):
    recording = factories.registered_recording(tmp_path, seed=31)
    url = site.add("/leak/track.mp3", audio_bytes(tmp_path, 31, "mp3", duration_s=30.0), "audio/mpeg")
    feed = site.add("/feed.xml", RSS.replace("/download?id=1", url).format(base="").encode(), "application/rss+xml")

    with django_capture_on_commit_callbacks(execute=True):
        fetches = sources.crawl_source(make_source("feed", feed).pk)

    scanned = [f for f in fetches if f.outcome == "scanned"]
    assert [f.url for f in scanned] == [url]
    scan = Scan.objects.get(pk=scanned[0].scan_id)
    assert scan.status == Scan.Status.DONE
    assert [m.recording for m in scan.matches.all()] == [recording]


# --------------------------------------------------------------------------- dedupe


def test_a_second_crawl_fetches_nothing_new(site, tmp_path):
    site.add("/download?id=1", audio_bytes(tmp_path, 40), "audio/mpeg")
    site.add("/episodes/2.wav", audio_bytes(tmp_path, 41), "audio/wav")
    feed = site.add("/feed.xml", RSS.format(base=site.url("")).encode(), "application/rss+xml")
    source = make_source("feed", feed)
    first = sources.crawl_source(source.pk)
    requested = audio_paths(site)

    second = sources.crawl_source(source.pk)

    assert outcomes(second) == ["listed", "duplicate_url", "duplicate_url"]
    assert [f.scan_id for f in second[1:]] == [f.scan_id for f in first[1:]]
    assert audio_paths(site) == [*requested, "/feed.xml"]  # only the feed was asked again
    assert Scan.objects.count() == 2


def test_a_url_list_crawled_again_makes_no_request_at_all(site, tmp_path):
    url = site.add("/a.wav", audio_bytes(tmp_path, 42), "audio/wav")
    source = make_source("urls", url)
    sources.crawl_source(source.pk)
    requests = len(site.seen)

    assert outcomes(sources.crawl_source(source.pk)) == ["duplicate_url"]
    assert len(site.seen) == requests


def test_the_same_audio_at_a_new_url_is_not_scanned_again(site, tmp_path):
    body = audio_bytes(tmp_path, 43)
    first, mirror = site.add("/a.wav", body, "audio/wav"), site.add("/mirror/a-copy.wav", body, "audio/wav")
    source = make_source("urls", first, mirror)

    fetches = sources.crawl_source(source.pk)

    assert outcomes(fetches) == ["scanned", "duplicate_content"]
    assert fetches[1].scan_id == fetches[0].scan_id
    assert Scan.objects.count() == 1 and AudioAsset.objects.count() == 1
    assert outcomes(sources.crawl_source(source.pk)) == ["duplicate_url", "duplicate_url"]


def test_audio_a_platform_already_uploaded_is_not_scanned_again(site, tmp_path):
    body = audio_bytes(tmp_path, 44)
    (tmp_path / "upload.wav").write_bytes(body)
    uploaded = intake.accept_file(tmp_path / "upload.wav", original_name="upload.wav")
    url = site.add("/copy.wav", body, "audio/wav")

    (fetch,) = sources.crawl_source(make_source("urls", url).pk)

    assert (fetch.outcome, fetch.scan_id) == ("duplicate_content", uploaded.pk)
    assert f"scan {uploaded.pk}" in fetch.detail


# --------------------------------------------------------------------------- failures are recorded


def test_each_failure_is_recorded_and_the_crawl_goes_on(site, settings, tmp_path):
    site.add("/robots.txt", b"User-agent: *\nDisallow: /private/\n", "text/plain")
    site.add("/private/a.wav", audio_bytes(tmp_path, 50), "audio/wav")
    site.add("/fake.mp3", b"<html><body>Not audio</body></html>", "audio/mpeg")
    good = site.add("/good.wav", audio_bytes(tmp_path, 51), "audio/wav")
    urls = [
        site.url("/missing.mp3"),
        "http://169.254.169.254/latest/meta-data/x.mp3",
        site.url("/private/a.wav"),
        site.url("/fake.mp3"),
        "ftp://example.org/a.mp3",
        good,
    ]

    fetches = sources.crawl_source(make_source("urls", *urls).pk)

    assert outcomes(fetches) == ["http_error", "blocked", "robots", "not_audio", "error", "scanned"]
    assert fetches[0].http_status == 404
    assert "not a supported audio format" in fetches[3].detail
    assert all(fetch.detail for fetch in fetches)
    assert Scan.objects.count() == 1
    assert len(stored_files(Path(settings.MEDIA_ROOT))) == 1  # only the good audio was stored
    assert temp_files(settings) == []


def test_a_failed_url_is_tried_again_on_the_next_crawl(site, tmp_path):
    url = site.url("/late.wav")
    source = make_source("urls", url)
    assert outcomes(sources.crawl_source(source.pk)) == ["http_error"]

    site.add("/late.wav", audio_bytes(tmp_path, 52), "audio/wav")

    assert outcomes(sources.crawl_source(source.pk)) == ["scanned"]


def test_oversize_audio_is_refused_without_leaving_a_temp_file(site, settings, tmp_path):
    settings.AUDIO_MAX_BYTES = 100_000
    url = site.add("/big.wav", audio_bytes(tmp_path, 53), "audio/wav")  # about 264 kB

    (fetch,) = sources.crawl_source(make_source("urls", url).pk)

    assert fetch.outcome == "too_large"
    assert "100000 bytes" in fetch.detail
    assert temp_files(settings) == [] and Scan.objects.count() == 0


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<rss><channel><item>", "not well-formed XML"),
        (b'<!DOCTYPE rss [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><rss>&b;</rss>', "refused"),
        (b"<html><body>a page</body></html>", "Expected an RSS or Atom feed"),
    ],
)
def test_an_unreadable_feed_is_an_error_with_the_reason(site, document, message):
    feed = site.add("/feed.xml", document, "application/rss+xml")

    (fetch,) = sources.crawl_source(make_source("feed", feed).pk)

    assert fetch.outcome == "error"
    assert message in fetch.detail
    assert fetch.http_status == 200


def test_a_feed_on_a_blocked_address_is_refused(site):
    (fetch,) = sources.crawl_source(make_source("feed", "http://10.0.0.1/feed.xml").pk)

    assert (fetch.outcome, fetch.final_url) == ("blocked", "http://10.0.0.1/feed.xml")


def test_a_redirected_audio_url_records_where_it_landed_and_that_url_is_not_fetched_again(site, tmp_path):
    final = site.add("/cdn/a.wav", audio_bytes(tmp_path, 54), "audio/wav")
    short = site.redirect("/s/a", "/cdn/a.wav")

    (fetch,) = sources.crawl_source(make_source("urls", short).pk)
    (again,) = sources.crawl_source(make_source("urls", final).pk)

    assert (fetch.outcome, fetch.final_url) == ("scanned", final)
    assert (again.outcome, again.scan_id) == ("duplicate_url", fetch.scan_id)


# --------------------------------------------------------------------------- schedule, task, command, admin


def test_due_sources_are_claimed_once(site):
    now = timezone.now()
    never = make_source("urls", site.url("/a.wav"))
    past = make_source("urls", site.url("/b.wav"), next_crawl_at=now - datetime.timedelta(minutes=1))
    make_source("urls", site.url("/c.wav"), next_crawl_at=now + datetime.timedelta(minutes=5))
    make_source("urls", site.url("/d.wav"), active=False)

    assert sources.crawl_due_sources(now) == [never.pk, past.pk]
    assert sources.crawl_due_sources(now) == []  # a second beat tick queues nothing twice
    never.refresh_from_db()
    assert never.next_crawl_at == now + datetime.timedelta(minutes=never.interval_minutes)


def test_the_beat_task_crawls_the_due_sources(site, tmp_path):
    url = site.add("/a.wav", audio_bytes(tmp_path, 60), "audio/wav")
    source = make_source("urls", url)

    assert tasks.crawl_due_sources.delay().get() == 1

    assert outcomes(list(source.fetches.all())) == ["scanned"]
    assert tasks.crawl_due_sources.delay().get() == 0


def test_the_command_prints_each_fetch_and_a_summary(site, tmp_path):
    url = site.add("/a.wav", audio_bytes(tmp_path, 61), "audio/wav")
    source = make_source("urls", url, site.url("/gone.wav"))
    out = io.StringIO()

    call_command("crawl_sources", "--source", str(source.pk), stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[1].split()[:2] == ["scanned", url]
    assert lines[2].split()[:2] == ["http_error", site.url("/gone.wav")]
    assert lines[-1] == "Crawled 1 source: 2 fetches (1 http_error, 1 scanned)."
    with pytest.raises(CommandError, match="No source with id 999"):
        call_command("crawl_sources", "--source", "999", stdout=io.StringIO())


def test_staff_crawl_a_source_from_the_admin_and_read_its_fetches(
    site, tmp_path, admin_client, django_capture_on_commit_callbacks
):
    url = site.add("/a.wav", audio_bytes(tmp_path, 62), "audio/wav")
    source = make_source("urls", url)

    with django_capture_on_commit_callbacks(execute=True):  # the crawl is queued once the request commits
        response = admin_client.post(
            reverse("admin:fingerprint_source_changelist"), {"action": "crawl_now", "_selected_action": [source.pk]}
        )

    assert response.status_code == 302
    assert outcomes(list(source.fetches.all())) == ["scanned"]
    fetches_page = admin_client.get(reverse("admin:fingerprint_fetch_changelist") + "?outcome__exact=scanned")
    assert fetches_page.status_code == 200 and url in fetches_page.content.decode()
    assert f"Scan {source.fetches.get().scan_id}" in fetches_page.content.decode()
    assert admin_client.get(reverse("admin:fingerprint_fetch_add")).status_code == 403


def test_the_admin_refuses_a_source_with_a_bad_url(admin_client):
    response = admin_client.post(
        reverse("admin:fingerprint_source_add"),
        {
            "name": "Bad",
            "kind": "urls",
            "urls": "https://ok.example/a.mp3\nftp://files.example/b.mp3",
            "active": "on",
            "interval_minutes": "60",
        },
    )

    assert response.status_code == 200
    assert "&#x27;ftp://files.example/b.mp3&#x27; is not an http or https URL." in response.content.decode()
    assert not Source.objects.exists()
