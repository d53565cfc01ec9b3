"""The safe HTTP fetcher: a real HTTP server on loopback, and what a crawler operator would notice.

Loopback is refused like any private address unless the test allows the server's host:port
explicitly (`FETCH_ALLOWED_HOSTS`), so these tests also show the SSRF guard letting through only
what it is told to.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.cache import cache

from fingerprint import fetching
from fingerprint.fetching import FetchRefused
from tests import audio as ta

# --------------------------------------------------------------------------- the loopback server


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    send_length: bool = True  # False: no Content-Length, the body ends when the connection closes
    delay_s: float = 0.0


@dataclass
class Seen:
    path: str
    at: float  # time.monotonic() when the server received it
    headers: dict[str, str]


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 serving fixed routes (404 for anything else), recording
    every request it receives with the time it arrived."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.httpd.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def add(self, path: str, body: bytes = b"", content_type: str = "application/octet-stream", **route: object) -> str:
        headers = {"Content-Type": content_type, **route.pop("headers", {})}  # type: ignore[dict-item]
        self.routes[path] = Route(body=body, headers=headers, **route)  # type: ignore[arg-type]
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.routes[path] = Route(status=status, headers={"Location": location})
        return self.url(path)

    def paths(self) -> list[str]:
        with self._lock:
            return [seen.path for seen in self.seen]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.seen.append(Seen(self.path, time.monotonic(), dict(self.headers.items())))
                route = server.routes.get(self.path) or Route(b"not found", 404, {"Content-Type": "text/plain"})
                if route.delay_s:
                    time.sleep(route.delay_s)
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.send_length:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a size cap or a timeout): what the tests expect

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@contextmanager
def allowed_server(settings: object, tmp_path: Path) -> Iterator[LoopbackServer]:
    """A loopback server the fetcher is explicitly allowed to reach, with no rate limit, and a
    fresh data directory (for temp files) and cache (robots.txt, rate limit)."""
    srv = LoopbackServer()
    settings.FETCH_ALLOWED_HOSTS = [srv.host]  # type: ignore[attr-defined]
    settings.FETCH_HOST_MIN_INTERVAL_S = 0  # type: ignore[attr-defined]
    settings.DATA_DIR = tmp_path / "data"  # type: ignore[attr-defined]
    cache.clear()
    try:
        yield srv
    finally:
        srv.close()
        cache.clear()


@pytest.fixture
def server(settings: object, tmp_path: Path) -> Iterator[LoopbackServer]:
    with allowed_server(settings, tmp_path) as srv:
        yield srv


def audio_bytes(tmp_path: Path, seed: int, fmt: str = "wav", duration_s: float = 6.0) -> bytes:
    """Synthesised audio (tests/audio.py) encoded as `fmt`."""
    return ta.write(tmp_path / f"piece-{seed}-{duration_s}.{fmt}", ta.piece(seed, duration_s)).read_bytes()


def temp_files(settings: object) -> list[Path]:
    folder = Path(settings.DATA_DIR) / "tmp"  # type: ignore[attr-defined]
    return sorted(folder.iterdir()) if folder.exists() else []


# --------------------------------------------------------------------------- fetching


def test_it_fetches_audio_into_a_temp_file_with_its_hash_and_size(server, settings, tmp_path):
    body = audio_bytes(tmp_path, 1)
    url = server.add("/music/a.wav", body, "audio/wav")

    fetched = fetching.fetch_to_file(url)

    try:
        assert fetched.path.read_bytes() == body
        assert fetched.path.parent == Path(settings.DATA_DIR) / "tmp"
        assert (fetched.url, fetched.final_url, fetched.http_status) == (url, url, 200)
        assert fetched.sha256 == hashlib.sha256(body).hexdigest()
        assert fetched.size_bytes == len(body)
        assert fetched.content_type == "audio/wav"
    finally:
        fetched.path.unlink()
    request = next(seen for seen in server.seen if seen.path == "/music/a.wav")
    assert request.headers["User-Agent"] == settings.FETCH_USER_AGENT
    assert request.headers["Host"] == server.host


def test_fetch_text_decodes_with_the_declared_charset(server):
    url = server.add("/page.html", "<p>Café</p>".encode("latin-1"), "text/html; charset=ISO-8859-1")

    final_url, text = fetching.fetch_text(url)

    assert (final_url, text) == (url, "<p>Café</p>")


# --------------------------------------------------------------------------- the SSRF guard


def test_loopback_is_refused_without_contact_unless_the_host_is_allowed(server, settings):
    url = server.add("/a.wav", b"RIFF")
    settings.FETCH_ALLOWED_HOSTS = []

    with pytest.raises(FetchRefused) as refused:
        fetching.fetch_to_file(url)

    assert refused.value.outcome == "blocked"
    assert "127.0.0.1" in refused.value.detail and "FETCH_ALLOWED_HOSTS" in refused.value.detail
    assert server.seen == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://10.0.0.1/a.mp3",
        "http://192.168.1.20/a.mp3",
        "http://172.16.5.4/a.mp3",
        "http://[::1]/a.mp3",
        "http://[fe80::1]/a.mp3",
        "http://[::ffff:127.0.0.1]/a.mp3",  # loopback hidden in an IPv4-mapped IPv6 address
        "http://0.0.0.0/a.mp3",
        "http://100.64.0.1/a.mp3",  # carrier-grade NAT, not public
        "http://224.0.0.1/a.mp3",  # multicast
        "https://127.0.0.1/a.mp3",
    ],
)
def test_non_public_addresses_are_refused(url, settings):
    settings.FETCH_ALLOWED_HOSTS = []

    with pytest.raises(FetchRefused) as refused:
        fetching.fetch_to_file(url)

    assert refused.value.outcome == "blocked"
    assert refused.value.final_url == url


def test_a_name_that_resolves_to_loopback_is_refused_and_connects_to_the_checked_address_when_allowed(
    server, settings, tmp_path
):
    body = audio_bytes(tmp_path, 2)
    server.add("/a.wav", body, "audio/wav")
    url = f"http://localhost:{server.port}/a.wav"

    with pytest.raises(FetchRefused) as refused:
        fetching.fetch_to_file(url)
    assert refused.value.outcome == "blocked"
    assert "localhost" in refused.value.detail and "resolves to" in refused.value.detail
    assert server.seen == []

    settings.FETCH_ALLOWED_HOSTS = [f"localhost:{server.port}"]
    fetched = fetching.fetch_to_file(url)
    fetched.path.unlink()
    assert fetched.sha256 == hashlib.sha256(body).hexdigest()
    assert server.seen[-1].headers["Host"] == f"localhost:{server.port}"


def test_only_http_and_https_are_fetched(server):
    for url in ("file:///etc/passwd", "ftp://example.org/a.mp3", "gopher://example.org/"):
        with pytest.raises(FetchRefused) as refused:
            fetching.fetch_to_file(url)
        assert refused.value.outcome == "error"
        assert "Only http and https" in refused.value.detail


# --------------------------------------------------------------------------- redirects


def test_redirects_are_followed_and_the_final_url_reported(server, tmp_path):
    body = audio_bytes(tmp_path, 3)
    final = server.add("/files/3.wav", body, "audio/wav")
    server.redirect("/start", "/hop")
    url = server.url("/start")
    server.redirect("/hop", final, status=301)

    fetched = fetching.fetch_to_file(url)
    fetched.path.unlink()

    assert (fetched.url, fetched.final_url) == (url, final)
    assert fetched.size_bytes == len(body)


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://[::1]:8080/"])
def test_a_redirect_to_a_blocked_address_is_refused(server, target):
    url = server.redirect("/go", target)

    with pytest.raises(FetchRefused) as refused:
        fetching.fetch_to_file(url)

    assert refused.value.outcome == "blocked"
    assert refused.value.final_url == target
    assert "redirected to" in refused.value.detail


def test_a_redirect_to_another_loopback_port_is_refused_without_contacting_it(server):
    other = LoopbackServer()  # not in FETCH_ALLOWED_HOSTS
    try:
        other.add("/secret", b"internal")
        url = server.redirect("/go", other.url("/secret"))
        with pytest.raises(FetchRefused) as refused:
            fetching.fetch_to_file(url)
        assert refused.value.outcome == "blocked"
        assert other.seen == []
    finally:
        other.close()


def test_too_many_redirects_give_up(server, settings):
    settings.FETCH_MAX_REDIRECTS = 3
    server.redirect("/loop", "/loop")

    with pytest.raises(FetchRefused) as refused:
        fetching.fetch_to_file(server.url("/loop"))

    assert refused.value.outcome == "error"
    assert "more than 3" in refused.value.detail
    assert server.paths().count("/loop") == 4


# --------------------------------------------------------------------------- robots.txt


def test_robots_txt_disallow_is_honoured_and_cached(server, tmp_path):
    server.add("/robots.txt", b"User-agent: *\nDisallow: /private/\n", "text/plain")
    server.add("/private/a.wav", audio_bytes(tmp_path, 4), "audio/wav")
    public = server.add("/public/a.wav", audio_bytes(tmp_path, 4), "audio/wav")

    with pytest.raises(FetchRefused) as refused:
        fetching.fetch_to_file(server.url("/private/a.wav"))
    assert refused.value.outcome == "robots"
    assert "robots.txt disallows" in refused.value.detail
    fetching.fetch_to_file(public).path.unlink()
    fetching.fetch_to_file(public).path.unlink()

    assert server.paths() == ["/robots.txt", "/public/a.wav", "/public/a.wav"]


def test_robots_rules_for_our_user_agent_apply_and_can_be_bypassed_when_asked(server, tmp_path):
    server.add("/robots.txt", b"User-agent: ContentID-Crawler\nDisallow: /\n\nUser-agent: *\nAllow: /\n", "text/plain")
    url = server.add("/a.wav", audio_bytes(tmp_path, 5), "audio/wav")

    with pytest.raises(FetchRefused) as refused:
        fetching.fetch_to_file(url)
    assert refused.value.outcome == "robots"

    fetching.fetch_to_file(url, respect_robots=False).path.unlink()
    assert server.paths() == ["/robots.txt", "/a.wav"]


def test_a_redirect_into_a_disallowed_path_is_refused(server, tmp_path):
    server.add("/robots.txt", b"User-agent: *\nDisallow: /private/\n", "text/plain")
    server.add("/private/a.wav", audio_bytes(tmp_path, 6), "audio/wav")
    url = server.redirect("/public/go", "/private/a.wav")

    with pytest.raises(FetchRefused) as refused:
        fetching.fetch_to_file(url)

    assert refused.value.outcome == "robots"
    assert "/private/a.wav" not in server.paths()


def test_a_failing_robots_txt_disallows_the_site(server, tmp_path):
    server.add("/robots.txt", b"oops", "text/plain", status=503)
    url = server.add("/a.wav", audio_bytes(tmp_path, 7), "audio/wav")

    with pytest.raises(FetchRefused) as refused:
        fetching.fetch_to_file(url)

    assert refused.value.outcome == "robots"
    assert "503" in refused.value.detail
    assert "/a.wav" not in server.paths()


# --------------------------------------------------------------------------- errors and limits


def test_an_http_error_is_refused_with_its_status(server):
    with pytest.raises(FetchRefused) as refused:
        fetching.fetch_to_file(server.url("/missing.mp3"))

    assert (refused.value.outcome, refused.value.http_status) == ("http_error", 404)
    assert "404" in refused.value.detail


@pytest.mark.parametrize("send_length", [True, False])
def test_an_oversize_body_is_refused_and_no_temp_file_is_left(server, settings, send_length):
    url = server.add("/big.wav", b"\0" * 300_000, "audio/wav", send_length=send_length)

    with pytest.raises(FetchRefused) as refused:
        fetching.fetch_to_file(url, max_bytes=100_000)

    assert refused.value.outcome == "too_large"
    assert "100000 bytes" in refused.value.detail
    assert temp_files(settings) == []


def test_the_size_cap_defaults_to_the_audio_limit(server, settings):
    settings.AUDIO_MAX_BYTES = 1000
    url = server.add("/big.wav", b"\0" * 1001, "audio/wav")

    with pytest.raises(FetchRefused) as refused:
        fetching.fetch_to_file(url)

    assert refused.value.outcome == "too_large"


def test_network_failures_are_errors(server, settings):
    closed = LoopbackServer()
    closed_url = closed.url("/a.wav")
    closed.close()  # nothing listens on that port any more
    settings.FETCH_ALLOWED_HOSTS = [server.host, closed.host]
    with pytest.raises(FetchRefused) as refused:
        fetching.fetch_to_file(closed_url)
    assert refused.value.outcome == "error"

    settings.FETCH_TIMEOUT_S = 0.3
    url = server.add("/slow.wav", b"RIFF", "audio/wav", delay_s=1.5)
    started = time.monotonic()
    with pytest.raises(FetchRefused) as refused:
        fetching.fetch_to_file(url)
    assert refused.value.outcome == "error"
    assert "timed out" in refused.value.detail
    assert time.monotonic() - started < 1.2


# --------------------------------------------------------------------------- rate limit


def test_requests_to_one_host_are_spaced_by_the_minimum_interval(server, settings, tmp_path):
    settings.FETCH_HOST_MIN_INTERVAL_S = 0.2
    body = audio_bytes(tmp_path, 8)
    urls = [server.add(f"/{n}.wav", body, "audio/wav") for n in range(3)]

    for url in urls:
        fetching.fetch_to_file(url).path.unlink()

    assert server.paths() == ["/robots.txt", "/0.wav", "/1.wav", "/2.wav"]
    gaps = [b.at - a.at for a, b in itertools.pairwise(server.seen)]
    assert min(gaps) >= 0.2 - ARRIVAL_JITTER_S, gaps


def test_the_rate_limit_holds_across_threads(server, settings):
    settings.FETCH_HOST_MIN_INTERVAL_S = 0.15
    server.add("/robots.txt", b"", "text/plain")
    urls = [server.add(f"/{n}.txt", b"x", "text/plain") for n in range(4)]
    fetching.fetch_text(urls[0])  # robots.txt is cached from here on

    threads = [threading.Thread(target=fetching.fetch_text, args=(url,)) for url in urls[1:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    times = sorted(seen.at for seen in server.seen)
    assert len(times) == 5
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.15 - ARRIVAL_JITTER_S, gaps  # unlimited, the threads' requests arrive together
    assert times[-1] - times[1] >= 3 * 0.15 - ARRIVAL_JITTER_S  # a request arrives at its slot or later


# The test server stamps a request when its handler thread runs, which under load can be a few tens of
# milliseconds after the client's slot: the gap before the next request then looks that much shorter.
ARRIVAL_JITTER_S = 0.05
