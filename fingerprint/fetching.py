"""The one module that makes outbound HTTP requests: fetch a URL to a temp file (or to text), safely.

What every request meets, in order, on the first URL and again on every redirect hop:

- only http and https;
- the SSRF guard: the host is resolved once and refused if any of its addresses is not public
  unicast (private, loopback, link-local, multicast, reserved, unspecified, shared, or an IPv4 one
  of those hidden in an IPv6 address), unless the host or host:port is in
  `settings.FETCH_ALLOWED_HOSTS`; the connection then goes to the address that was checked (no
  second DNS lookup an attacker could answer differently), with the name in the Host header and
  in TLS SNI and certificate checks;
- the host's robots.txt (RFC 9309), fetched through the same guarded client and cached;
- a per-host rate limit shared through the Django cache (across processes when it is a shared cache);
- socket timeouts, and a hard byte cap while the body streams to a temp file.

Refusals raise FetchRefused with a `Fetch.Outcome` value and a sentence for people.
"""

from __future__ import annotations

import codecs
import hashlib
import http.client
import ipaddress
import logging
import os
import re
import socket
import ssl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from django.conf import settings
from django.core.cache import cache

from fingerprint.models.sources import Fetch

logger = logging.getLogger(__name__)

Outcome = Fetch.Outcome
CHUNK_BYTES = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ROBOTS_CACHE_S = 3600  # a host's robots.txt is trusted this long
ROBOTS_ERROR_CACHE_S = 300  # a failing (5xx) robots.txt is asked again after this long
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309: parse at least 500 KiB; the rest is ignored
RATE_LIMIT_MAX_WAIT_S = 60.0  # a longer queue for one host is refused now; the next crawl tries again
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchRefused(Exception):
    """A URL that was not fetched: `outcome` (a Fetch.Outcome value), `detail` (for people),
    `http_status` (when the server answered) and `final_url` (the hop that was refused)."""

    def __init__(self, outcome: str, detail: str, *, http_status: int | None = None, final_url: str = "") -> None:
        super().__init__(detail)
        self.outcome = str(outcome)
        self.detail = detail
        self.http_status = http_status
        self.final_url = final_url


@dataclass(frozen=True)
class Fetched:
    """A fetched body in a temp file that the caller owns and deletes."""

    url: str
    final_url: str
    http_status: int
    path: Path
    sha256: str
    size_bytes: int
    content_type: str


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    request_path: str
    address: str  # the checked IP the connection goes to


def fetch_to_file(url: str, *, max_bytes: int | None = None, respect_robots: bool = True) -> Fetched:
    """Fetch `url` (following redirects safely) into a temp file under DATA_DIR/tmp.

    `max_bytes` defaults to settings.AUDIO_MAX_BYTES. Raises FetchRefused for a blocked address,
    robots.txt, an HTTP error, an oversize body or a network error; no temp file is left then.
    """
    limit = settings.AUDIO_MAX_BYTES if max_bytes is None else max_bytes
    conn, response, final_url = _follow(url, respect_robots=respect_robots)
    try:
        _check_status(response, final_url)
        path, sha256, size = _stream_to_temp(response, limit, final_url)
    finally:
        conn.close()
    return Fetched(
        url=url,
        final_url=final_url,
        http_status=response.status,
        path=path,
        sha256=sha256,
        size_bytes=size,
        content_type=response.getheader("Content-Type", "") or "",
    )


def fetch_text(url: str, *, max_bytes: int = 5_000_000, respect_robots: bool = True) -> tuple[str, str]:
    """Fetch a feed or page: (final URL after redirects, decoded text). Refusals as fetch_to_file."""
    fetched = fetch_to_file(url, max_bytes=max_bytes, respect_robots=respect_robots)
    try:
        data = fetched.path.read_bytes()
    finally:
        fetched.path.unlink(missing_ok=True)
    return fetched.final_url, decode_text(data, fetched.content_type)


_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)


def decode_text(data: bytes, content_type: str = "") -> str:
    """Decode a fetched document: BOM, then the Content-Type charset, the XML declaration or an HTML
    meta charset, else UTF-8; undecodable bytes become U+FFFD rather than failing."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    header = _HEADER_CHARSET.search(content_type or "")
    xml = _XML_ENCODING.search(data[:1024])
    meta = _META_CHARSET.search(data[:4096])
    for match in (header, xml, meta):
        if match is None:
            continue
        charset = match.group(1)
        charset = charset.decode("ascii") if isinstance(charset, bytes) else charset
        try:
            return data.decode(charset, errors="replace")
        except LookupError:
            continue  # an unknown charset name: try the next clue
    return data.decode("utf-8", errors="replace")


# --------------------------------------------------------------------------- redirects and status


def _follow(url: str, *, respect_robots: bool) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse, str]:
    """Open `url`, following redirects by hand; every hop is guarded, robots-checked and rate-limited."""
    current = url
    max_redirects = int(getattr(settings, "FETCH_MAX_REDIRECTS", 5))
    for hop in range(max_redirects + 1):
        try:
            target = _target(current)
            if respect_robots:
                _check_robots(target)
            conn, response = _request(target)
        except FetchRefused as exc:
            if hop:
                exc.detail = f"{url} redirected to {current}. {exc.detail}"
                exc.args = (exc.detail,)
            raise
        location = response.getheader("Location")
        if response.status in REDIRECT_STATUSES and location:
            conn.close()
            current = urljoin(current, location.strip())
            continue
        return conn, response, current
    raise FetchRefused(Outcome.ERROR, f"{url} redirected more than {max_redirects} times; gave up.", final_url=current)


def _check_status(response: http.client.HTTPResponse, final_url: str) -> None:
    status = response.status
    if status >= 400:
        raise FetchRefused(
            Outcome.HTTP_ERROR,
            f"The server answered HTTP {status} {response.reason} for {final_url}.",
            http_status=status,
            final_url=final_url,
        )
    if not 200 <= status < 300:
        raise FetchRefused(
            Outcome.HTTP_ERROR,
            f"The server answered HTTP {status} {response.reason} for {final_url}, which is not content.",
            http_status=status,
            final_url=final_url,
        )


def _stream_to_temp(response: http.client.HTTPResponse, max_bytes: int, final_url: str) -> tuple[Path, str, int]:
    """Stream the body into a new temp file with a hard cap: (path, sha256, size)."""
    too_large = FetchRefused(
        Outcome.TOO_LARGE,
        f"{final_url} is larger than the limit of {max_bytes} bytes; not downloaded.",
        http_status=response.status,
        final_url=final_url,
    )
    declared = (response.getheader("Content-Length") or "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    tmp_dir = Path(settings.DATA_DIR) / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="fetch-", suffix=".part", dir=tmp_dir)
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            while chunk := response.read(CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise too_large
                digest.update(chunk)
                fh.write(chunk)
    except (OSError, http.client.HTTPException) as exc:
        path.unlink(missing_ok=True)
        raise FetchRefused(
            Outcome.ERROR,
            f"The download of {final_url} failed after {size} bytes: {_describe(exc)}.",
            http_status=response.status,
            final_url=final_url,
        ) from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


# --------------------------------------------------------------------------- the SSRF guard


def _target(url: str) -> _Target:
    """Parse `url` and resolve and check its host: the checked address to connect to."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii").lower()
    except (ValueError, UnicodeError) as exc:
        raise FetchRefused(Outcome.ERROR, f"{url!r} is not a valid URL: {exc}.", final_url=url) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchRefused(Outcome.ERROR, f"Only http and https URLs are fetched, not {url!r}.", final_url=url)
    if not host:
        raise FetchRefused(Outcome.ERROR, f"{url!r} names no host.", final_url=url)
    port = port or (443 if scheme == "https" else 80)
    # Quote what http.client would refuse (spaces, non-ASCII), keeping existing escapes.
    path = quote(parts.path or "/", safe="/%!$&'()*+,;=:@~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%!$&'()*+,;=:@~?")
    clean = urlunsplit((scheme, parts.netloc, parts.path or "/", parts.query, ""))
    return _Target(clean, scheme, host, port, path, _checked_address(host, port, clean))


def host_allowed(host: str, port: int) -> bool:
    """Whether settings.FETCH_ALLOWED_HOSTS lets `host` through the guard ("host" or "host:port";
    IPv6 literals with or without brackets)."""
    allowed = {str(item).strip().lower() for item in getattr(settings, "FETCH_ALLOWED_HOSTS", [])}
    names = {host, f"{host}:{port}"}
    if ":" in host:
        names |= {f"[{host}]", f"[{host}]:{port}"}
    return not names.isdisjoint(allowed)


def address_is_public(address: str) -> bool:
    """False for private, loopback, link-local, multicast, reserved, unspecified or otherwise
    non-global addresses, including IPv4 ones embedded in IPv6 (mapped, 6to4, Teredo, NAT64)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        candidates += [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
        if ip.teredo:
            candidates += list(ip.teredo)
        if ip in _NAT64:
            candidates.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return not any(
        a.is_private
        or a.is_loopback
        or a.is_link_local
        or a.is_multicast
        or a.is_reserved
        or a.is_unspecified
        or not a.is_global
        for a in candidates
    )


def _checked_address(host: str, port: int, url: str) -> str:
    allowed = host_allowed(host, port)
    try:
        literal = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        literal = None
    if literal is not None and not allowed and not address_is_public(host):
        raise FetchRefused(Outcome.BLOCKED, _blocked_detail(host, host), final_url=url)  # no network contact
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        detail = f"The host {host} could not be resolved: {_describe(exc)}."
        raise FetchRefused(Outcome.ERROR, detail, final_url=url) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise FetchRefused(Outcome.ERROR, f"The host {host} has no address.", final_url=url)
    if not allowed:
        # Every address must pass: a name that also resolves privately could be made to land there.
        for address in addresses:
            if not address_is_public(address):
                raise FetchRefused(Outcome.BLOCKED, _blocked_detail(host, address), final_url=url)
    return addresses[0]


def _blocked_detail(host: str, address: str) -> str:
    where = address if address == host else f"{host} (it resolves to {address})"
    return (
        f"Refused to fetch from {where}: a private, loopback, link-local or otherwise non-public address. "
        "Add the host to FETCH_ALLOWED_HOSTS if it is meant to be fetched."
    )


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address the guard checked; the Host header still names the host."""

    def __init__(self, target: _Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As _PinnedHTTPConnection, with SNI and certificate checks against the host name."""

    def __init__(self, target: _Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _request(target: _Target) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    wait_for_turn(target.host)
    timeout = float(getattr(settings, "FETCH_TIMEOUT_S", 30))
    conn_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = conn_class(target, timeout)
    headers = {
        "User-Agent": _user_agent(),
        "Accept": "*/*",
        "Accept-Encoding": "identity",  # bytes as stored: the sha256 and size cap apply to them
        "Connection": "close",
    }
    try:
        conn.request("GET", target.request_path, headers=headers)
        return conn, conn.getresponse()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        raise FetchRefused(
            Outcome.ERROR, f"Could not fetch {target.url}: {_describe(exc)}.", final_url=target.url
        ) from exc


def _user_agent() -> str:
    return str(getattr(settings, "FETCH_USER_AGENT", "ContentID-Crawler/1.0"))


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------- per-host rate limit


def _cache_key(kind: str, value: str) -> str:
    # Hashed: any host name makes a short key without characters some cache backends refuse.
    return f"contentid:fetch:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def wait_for_turn(host: str) -> None:
    """Sleep until `host` may be asked again: requests to one host are at least
    settings.FETCH_HOST_MIN_INTERVAL_S seconds apart. Each caller reserves the next free slot in the
    cache, so concurrent callers queue up; a queue longer than RATE_LIMIT_MAX_WAIT_S is refused."""
    interval = float(getattr(settings, "FETCH_HOST_MIN_INTERVAL_S", 0))
    if interval <= 0:
        return
    key = _cache_key("next", host)
    lock = key + ":lock"
    deadline = time.monotonic() + 5
    while not cache.add(lock, 1, timeout=5) and time.monotonic() < deadline:
        time.sleep(0.005)  # another request to the same host is reserving its slot
    try:
        now = time.time()
        start = max(now, float(cache.get(key) or 0.0))
        if start - now > RATE_LIMIT_MAX_WAIT_S:
            raise FetchRefused(
                Outcome.ERROR,
                f"Too many requests to {host} are waiting (over {RATE_LIMIT_MAX_WAIT_S:.0f} s); try again later.",
            )
        cache.set(key, start + interval, timeout=int(start - now + interval) + 60)
    finally:
        cache.delete(lock)
    if start > now:
        time.sleep(start - now)


# --------------------------------------------------------------------------- robots.txt


def _check_robots(target: _Target) -> None:
    origin = f"{target.scheme}://{target.host}:{target.port}"
    key = _cache_key("robots", origin)
    rules = cache.get(key)
    if rules is None:
        rules = _load_robots(origin)
        cache.set(key, rules, ROBOTS_ERROR_CACHE_S if rules[0] == "unavailable" else ROBOTS_CACHE_S)
    kind, text = rules
    if kind == "allow":
        return
    if kind == "unavailable":
        raise FetchRefused(
            Outcome.ROBOTS,
            f"{origin}/robots.txt answered {text}; the site is treated as disallowed until it answers (RFC 9309).",
            final_url=target.url,
        )
    parser = RobotFileParser()
    parser.modified()  # mark as read, or can_fetch answers False for everything
    parser.parse(text.splitlines())
    if not parser.can_fetch(_user_agent(), target.url):
        raise FetchRefused(
            Outcome.ROBOTS, f"{origin}/robots.txt disallows {target.url} for our crawler.", final_url=target.url
        )


def _load_robots(origin: str) -> tuple[str, str]:
    """("allow", ""), ("rules", text) or ("unavailable", why). A 4xx means no rules (RFC 9309);
    a network failure raises FetchRefused (not cached: the fetch it guards would fail too)."""
    try:
        conn, response, final_url = _follow(f"{origin}/robots.txt", respect_robots=False)
    except FetchRefused as exc:
        exc.detail = f"robots.txt could not be fetched: {exc.detail}"
        exc.args = (exc.detail,)
        raise
    try:
        if 400 <= response.status < 500:
            return "allow", ""
        if response.status >= 500 or not 200 <= response.status < 300:
            return "unavailable", f"HTTP {response.status}"
        data = response.read(ROBOTS_MAX_BYTES)
    except (OSError, http.client.HTTPException) as exc:
        raise FetchRefused(
            Outcome.ERROR, f"robots.txt could not be read: {_describe(exc)}.", final_url=final_url
        ) from exc
    finally:
        conn.close()
    return "rules", data.decode("utf-8", errors="replace")
