"""Crawl configured sources: list their audio URLs, fetch each once, and turn new audio into scans.

A source is a list of audio URLs, a feed (RSS 2.0 or Atom enclosures) or an HTML page (its audio
links). Every fetch leaves a Fetch row with its outcome, and one URL's failure never stops the rest
of the crawl. A URL already scanned is not fetched again (DUPLICATE_URL, no network), and audio whose
bytes were already scanned makes no new scan (DUPLICATE_CONTENT). All HTTP goes through
`fingerprint.fetching` (SSRF guard, robots.txt, per-host rate limit).
"""

from __future__ import annotations

import datetime
import logging
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import defusedxml
import defusedxml.ElementTree as SafeET
from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import AudioAsset
from fingerprint import fetching, intake
from fingerprint.audio import AudioError
from fingerprint.models import Fetch, Scan, Source

logger = logging.getLogger(__name__)

Outcome = Fetch.Outcome
AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg", ".opus", ".m4a", ".aac")
LISTING_MAX_BYTES = 5_000_000  # a feed or page larger than this is refused (TOO_LARGE)
MAX_LINKS_PER_LISTING = 1000  # bounds one crawl's work whatever a page holds; the rest is reported
URL_MAX_LENGTH = Fetch._meta.get_field("url").max_length or 2000
# Fetched before with this outcome: the URL is not fetched again.
_DONE = (Outcome.SCANNED, Outcome.DUPLICATE_CONTENT)
_MEDIA_RSS = "{http://search.yahoo.com/mrss/}"


class ListingError(ValueError):
    """A feed or page that was fetched but cannot be read, with the reason for people."""


def crawl_source(source_id: int) -> list[Fetch]:
    """Crawl one source now (active or not) and return its Fetch rows in the order they were made.

    Raises Source.DoesNotExist for an unknown id. Sets last_crawled_at and next_crawl_at
    (now + the source's interval) at the end.
    """
    source = Source.objects.get(pk=source_id)
    fetches: list[Fetch] = []
    if source.kind == Source.Kind.URL_LIST:
        audio_urls = source.url_list()
    else:
        audio_urls = []
        for listing_url in source.url_list():
            listing, links = _fetch_listing_safely(source, listing_url)
            fetches.append(listing)
            audio_urls.extend(links)
    for url in dict.fromkeys(audio_urls):  # the same link twice in one crawl is fetched once
        fetches.append(_fetch_audio_safely(source, url))
    finished = timezone.now()
    Source.objects.filter(pk=source.pk).update(
        last_crawled_at=finished, next_crawl_at=finished + datetime.timedelta(minutes=source.interval_minutes)
    )
    return fetches


def crawl_due_sources(now: datetime.datetime | None = None) -> list[int]:
    """Ids of the active sources due for a crawl (next_crawl_at empty or past), for the beat task to queue.

    Each is claimed by moving its next_crawl_at one interval on (a conditional update), so a second
    beat tick, or a second beat, cannot queue the same crawl twice; the crawl sets it again when done.
    """
    now = now or timezone.now()
    due = Source.objects.filter(active=True).filter(Q(next_crawl_at__isnull=True) | Q(next_crawl_at__lte=now))
    claimed = []
    for pk, next_crawl_at, interval in due.order_by("pk").values_list("pk", "next_crawl_at", "interval_minutes"):
        claim = Source.objects.filter(pk=pk, next_crawl_at=next_crawl_at)
        if claim.update(next_crawl_at=now + datetime.timedelta(minutes=interval)):
            claimed.append(pk)
    return claimed


# --------------------------------------------------------------------------- one audio URL


def _record(source: Source, url: str, outcome: str, **fields: object) -> Fetch:
    return Fetch.objects.create(source=source, url=url[:URL_MAX_LENGTH], outcome=outcome, **fields)


def _unexpected(source: Source, url: str, exc: Exception) -> Fetch:
    """Record a failure nobody planned for as ERROR, so the crawl goes on. (A database outage is
    not caught by the callers: it cannot be recorded, so it propagates and the task retries.)"""
    logger.exception("Crawl of source %s: fetching %s failed", source.pk, url)
    return _record(source, url, Outcome.ERROR, detail=f"Unexpected error: {type(exc).__name__}: {exc}")


def _fetch_audio_safely(source: Source, url: str) -> Fetch:
    try:
        return _fetch_audio(source, url)
    except OperationalError:
        raise
    except Exception as exc:
        return _unexpected(source, url, exc)


def _fetch_listing_safely(source: Source, url: str) -> tuple[Fetch, list[str]]:
    try:
        return _fetch_listing(source, url)
    except OperationalError:
        raise
    except Exception as exc:
        return _unexpected(source, url, exc), []


def _fetch_audio(source: Source, url: str) -> Fetch:
    if len(url) > URL_MAX_LENGTH:
        return _record(source, url, Outcome.ERROR, detail=f"The URL is longer than {URL_MAX_LENGTH} characters.")
    earlier = (
        Fetch.objects.filter(Q(url=url) | Q(final_url=url), outcome__in=_DONE).order_by("-fetched_at", "-pk").first()
    )
    if earlier is not None:
        return _record(
            source,
            url,
            Outcome.DUPLICATE_URL,
            scan_id=earlier.scan_id,
            detail=f"Fetched before (fetch {earlier.pk}, {earlier.fetched_at:%Y-%m-%d %H:%M} UTC); not fetched again.",
        )
    try:
        fetched = fetching.fetch_to_file(url)
    except fetching.FetchRefused as exc:
        return _record(
            source, url, exc.outcome, detail=exc.detail, http_status=exc.http_status, final_url=exc.final_url
        )
    try:
        return _scan_fetched(source, url, fetched)
    finally:
        fetched.path.unlink(missing_ok=True)


def _scan_fetched(source: Source, url: str, fetched: fetching.Fetched) -> Fetch:
    common: dict[str, object] = {
        "final_url": fetched.final_url[:URL_MAX_LENGTH],
        "http_status": fetched.http_status,
        "sha256": fetched.sha256,
        "size_bytes": fetched.size_bytes,
    }
    existing = (
        Scan.objects.filter(asset__kind=AudioAsset.Kind.UPLOAD, asset__sha256=fetched.sha256).order_by("pk").first()
    )
    if existing is not None:
        return _record(
            source,
            url,
            Outcome.DUPLICATE_CONTENT,
            scan=existing,
            detail=f"The same audio was already scanned (scan {existing.pk}); no new scan.",
            **common,
        )
    try:
        # The scan and its Fetch row commit together; identification is queued after that commit.
        with transaction.atomic():
            scan = intake.accept_file(
                fetched.path, original_name=_file_name(fetched.final_url), source=source, source_url=url
            )
            return _record(source, url, Outcome.SCANNED, scan=scan, detail=f"Queued as scan {scan.pk}.", **common)
    except AudioError as exc:
        outcome = Outcome.TOO_LARGE if exc.code == "too_large" else Outcome.NOT_AUDIO
        return _record(source, url, outcome, detail=str(exc), **common)


def _file_name(url: str) -> str:
    return unquote(PurePosixPath(urlsplit(url).path).name)[:255] or "download"


# --------------------------------------------------------------------------- feeds and pages


def _fetch_listing(source: Source, url: str) -> tuple[Fetch, list[str]]:
    """Fetch a feed or page and list its audio links: (the LISTED or failed Fetch, the links)."""
    try:
        fetched = fetching.fetch_to_file(url, max_bytes=LISTING_MAX_BYTES)
    except fetching.FetchRefused as exc:
        failed = _record(
            source, url, exc.outcome, detail=exc.detail, http_status=exc.http_status, final_url=exc.final_url
        )
        return failed, []
    common: dict[str, object] = {
        "final_url": fetched.final_url[:URL_MAX_LENGTH],
        "http_status": fetched.http_status,
        "sha256": fetched.sha256,
        "size_bytes": fetched.size_bytes,
    }
    try:
        text = fetching.decode_text(fetched.path.read_bytes(), fetched.content_type)
        links = (
            feed_links(text, fetched.final_url)
            if source.kind == Source.Kind.FEED
            else page_links(text, fetched.final_url)
        )
    except ListingError as exc:
        return _record(source, url, Outcome.ERROR, detail=str(exc), **common), []
    finally:
        fetched.path.unlink(missing_ok=True)
    detail = f"Listed {len(links)} audio link{'s' if len(links) != 1 else ''}."
    if len(links) > MAX_LINKS_PER_LISTING:
        detail += f" Only the first {MAX_LINKS_PER_LISTING} are fetched in one crawl."
        links = links[:MAX_LINKS_PER_LISTING]
    return _record(source, url, Outcome.LISTED, detail=detail, **common), links


def has_audio_extension(url: str) -> bool:
    """Whether the URL's path ends in an audio file extension (.mp3, .wav, .flac, .ogg, .opus, .m4a, .aac)."""
    return urlsplit(url).path.lower().endswith(AUDIO_EXTENSIONS)


def _absolute(base: str, link: str) -> str | None:
    """`link` resolved against `base`, without fragment; None unless it is http(s)."""
    url = urldefrag(urljoin(base, link.strip()))[0]
    return url if urlsplit(url).scheme in ("http", "https") else None


def _is_audio_type(mime: str | None) -> bool:
    kind = (mime or "").split(";", 1)[0].strip().lower()
    return kind.startswith("audio/") or kind == "application/ogg"


def feed_links(text: str, base_url: str) -> list[str]:
    """Audio enclosure URLs of an RSS 2.0 or Atom feed, absolute, in document order.

    An enclosure counts when its type is audio/* or its URL looks like an audio file (RSS
    `<enclosure url type>`, Atom `<link rel="enclosure" href type>`, Media RSS `<media:content>`).
    A document with a DTD or entity declarations is refused (billion laughs, external entities).
    """
    try:
        root = SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise ListingError(f"The feed was refused: it declares a DTD or entities ({exc}).") from exc
    except ET.ParseError as exc:
        raise ListingError(f"The feed is not well-formed XML: {exc}.") from exc
    root_name = root.tag.rsplit("}", 1)[-1]
    if root_name not in ("rss", "feed", "RDF"):
        raise ListingError(f"Expected an RSS or Atom feed, found a <{root_name}> document.")
    links = []
    for element in root.iter():
        name = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
        if name == "enclosure":
            href, mime = element.get("url"), element.get("type")
        elif name == "link" and (element.get("rel") or "").strip().lower() == "enclosure":
            href, mime = element.get("href"), element.get("type")
        elif name == "content" and element.tag.startswith(_MEDIA_RSS):
            href = element.get("url")
            mime = "audio/*" if element.get("medium") == "audio" else element.get("type")
        else:
            continue
        url = _absolute(base_url, href) if href else None
        if url and (_is_audio_type(mime) or has_audio_extension(url)):
            links.append(url)
    return list(dict.fromkeys(links))


class _AudioLinkParser(HTMLParser):
    """Collects (link, certainly audio) pairs: <audio src>, <source src> inside <audio> or typed
    audio/*, and every <a href> (kept later only when it ends in an audio extension); and <base href>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.found: list[tuple[str, bool]] = []
        self._audio_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "base" and self.base is None and attributes.get("href"):
            self.base = attributes["href"]
        elif tag == "audio":
            self._audio_depth += 1
            if attributes.get("src"):
                self.found.append((attributes["src"], True))
        elif tag == "source" and attributes.get("src"):
            self.found.append((attributes["src"], self._audio_depth > 0 or _is_audio_type(attributes.get("type"))))
        elif tag == "a" and attributes.get("href"):
            self.found.append((attributes["href"], False))

    def handle_endtag(self, tag: str) -> None:
        if tag == "audio" and self._audio_depth:
            self._audio_depth -= 1


def page_links(html: str, page_url: str) -> list[str]:
    """Audio links of an HTML page, absolute (against <base href> or the page URL), in page order:
    <audio src>, <source src> of an <audio>, and <a href> ending in an audio file extension."""
    parser = _AudioLinkParser()
    parser.feed(html)
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    links = []
    for link, certainly_audio in parser.found:
        url = _absolute(base, link)
        if url and (certainly_audio or has_audio_extension(url)):
            links.append(url)
    return list(dict.fromkeys(links))
