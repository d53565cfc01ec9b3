"""The adapter for an external generation service reached over HTTP.

The request is POSTed as JSON: the prompt, the conditioning recordings (id, ISRC, title) and free
parameters. The service answers either with the audio itself (`Content-Type: audio/*` or
`application/octet-stream`, optional JSON metadata in `X-Generation-Metadata`) or with JSON
`{"audio_base64": ..., "content_type": "audio/...", "metadata": {...}}`.

A service is outside our control, so every answer is bounded: one deadline (the service's
`timeout_s`) covers connecting, sending and reading, however slowly the bytes drip; the body is read
in chunks and refused as soon as it passes `max_output_bytes`; redirects are followed only to the
same origin. Standard library only (http.client), so importing it costs nothing.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import math
import socket
import ssl
import threading
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

from catalog.models import Recording
from generation_audit.models import AIService
from generation_audit.services.base import (
    BadResponseError,
    GeneratedAudio,
    GenerationRequest,
    OversizeOutputError,
    ServiceError,
    ServiceTimeoutError,
)

METADATA_HEADER = "X-Generation-Metadata"
_CHUNK_BYTES = 64 * 1024
_EXCERPT_BYTES = 200  # of an error body, quoted in the error message
_JSON_SLACK_BYTES = 1024 * 1024  # metadata and JSON framing around the base64 audio
_MAX_REDIRECTS = 3
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL; ("", "", 0) when it has none usable (a bad port, say)."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        return "", "", 0


def _media_type(value: str | None) -> str:
    """`audio/wav; rate=44100` -> `audio/wav`; '' when absent."""
    return (value or "").split(";", 1)[0].strip().lower()


def _is_audio_type(media_type: str) -> bool:
    return media_type.startswith("audio/") or media_type == "application/octet-stream"


def _json_object(text: str | bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadResponseError(f"{what} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise BadResponseError(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


class _Exchange:
    """One HTTP request and its response under a hard deadline.

    Socket timeouts alone bound each read, not the total: a server sending a byte a second never
    trips them. So each read gets the time left as its timeout, and a watchdog timer shuts the socket
    down at the deadline, which ends any read still blocked (header lines included).
    """

    def __init__(self, url: str, deadline: float) -> None:
        parts = urlsplit(url)
        self.deadline = deadline
        self.expired = threading.Event()
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        remaining = max(self.remaining(), 0.001)
        if parts.scheme.lower() == "https":
            self.conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=remaining, context=ssl.create_default_context()
            )
        else:
            self.conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=remaining)
        self.sock: socket.socket | None = None
        self.watchdog = threading.Timer(remaining, self._expire)
        self.watchdog.daemon = True

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _expire(self) -> None:
        self.expired.set()
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed: the read it would end is over

    def arm(self) -> None:
        """Give the next socket operation only the time left (or fail now if none is)."""
        left = self.remaining()
        if left <= 0 or self.expired.is_set():
            raise TimeoutError("deadline passed")
        if self.sock is not None:
            self.sock.settimeout(left)

    def post(self, body: bytes, headers: dict[str, str]) -> http.client.HTTPResponse:
        self.watchdog.start()
        self.conn.connect()
        # Keep our own handle: http.client drops conn.sock once the response owns the connection.
        self.sock = self.conn.sock
        self.arm()
        self.conn.request("POST", self.path, body=body, headers=headers)
        self.arm()
        response = self.conn.getresponse()
        if self.expired.is_set():  # the watchdog's shutdown ends the headers early: they are not whole
            raise TimeoutError("deadline passed")
        return response

    def read(self, response: http.client.HTTPResponse, limit: int, oversize: str) -> bytes:
        """The whole body, refusing it (OversizeOutputError) as soon as it passes `limit` bytes."""
        declared = response.getheader("Content-Length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            raise OversizeOutputError(oversize.format(size=f"{int(declared)} bytes (Content-Length)"))
        body = bytearray()
        while True:
            self.arm()
            chunk = response.read1(min(_CHUNK_BYTES, limit + 1 - len(body)))
            if not chunk:
                break
            body += chunk
            if len(body) > limit:
                raise OversizeOutputError(oversize.format(size=f"more than {limit} bytes"))
        if self.expired.is_set():
            raise TimeoutError("deadline passed")  # the watchdog's shutdown looks like the end of the body
        if response.length:  # http.client hands back a body cut short of its Content-Length as if whole
            raise http.client.IncompleteRead(bytes(body), response.length)
        return bytes(body)

    def excerpt(self, response: http.client.HTTPResponse) -> str:
        try:
            self.arm()
            text = response.read1(_EXCERPT_BYTES).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            return ""
        return " ".join(text.split())[:_EXCERPT_BYTES]

    def close(self) -> None:
        self.watchdog.cancel()
        self.conn.close()
        if self.sock is not None:
            self.sock.close()


class HttpGenerationAdapter:
    """Generate audio by POSTing the request to the service's endpoint (see the module docstring)."""

    def __init__(self, service: AIService) -> None:
        self.service = service
        scheme, host, _ = _origin(service.endpoint)
        if scheme not in _DEFAULT_PORTS or not host:
            raise ServiceError(f"service {service.name}: endpoint {service.endpoint!r} is not an http(s) URL")

    def payload(self, request: GenerationRequest) -> dict[str, Any]:
        """The JSON body: recordings go by ISRC too, since the service does not know our ids."""
        ids = list(request.conditioning_recording_ids)
        found = Recording.objects.in_bulk(ids)
        missing = [pk for pk in ids if pk not in found]
        if missing:
            raise ServiceError(f"conditioning recordings {missing} are not in the catalogue")
        conditioning = [{"recording_id": pk, "isrc": found[pk].isrc, "title": found[pk].title} for pk in ids]
        return {"prompt": request.prompt, "conditioning": conditioning, "parameters": request.parameters}

    def generate(self, request: GenerationRequest) -> GeneratedAudio:
        """POST the request and return the audio; ServiceError subclasses say what went wrong."""
        body = json.dumps(self.payload(request)).encode("utf-8")
        deadline = time.monotonic() + self.service.timeout_s
        url = self.service.endpoint
        for _ in range(_MAX_REDIRECTS + 1):
            exchange = _Exchange(url, deadline)
            try:
                response = exchange.post(body, self._headers())
                if response.status in (307, 308):  # the only redirects that keep the POST and its body
                    url = self._redirect(url, response.getheader("Location") or "")
                    continue
                return self._answer(exchange, response)
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                raise self._transport_error(exc, exchange, url) from None
            finally:
                exchange.close()
        raise BadResponseError(f"service {self.service.name} redirected more than {_MAX_REDIRECTS} times")

    def _headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "Accept": "audio/*, application/json",
            "User-Agent": "contentid-gateway",
            "Connection": "close",
        }

    def _redirect(self, url: str, location: str) -> str:
        target = urljoin(url, location)
        if not location or _origin(target) != _origin(url):
            # Another host could be anything reachable from here (an internal address): never follow.
            raise BadResponseError(
                f"service {self.service.name} redirected to {target!r}; only same-origin redirects are followed"
            )
        return target

    def _answer(self, exchange: _Exchange, response: http.client.HTTPResponse) -> GeneratedAudio:
        name, limit = self.service.name, self.service.max_output_bytes
        if not 200 <= response.status < 300:
            raise BadResponseError(
                f"service {name} answered HTTP {response.status} {response.reason}: {exchange.excerpt(response)!r}"
            )
        media_type = _media_type(response.getheader("Content-Type"))
        oversize = f"service {name} sent {{size}} of audio; at most {limit} bytes are accepted"
        if _is_audio_type(media_type):
            audio = exchange.read(response, limit, oversize)
            header = response.getheader(METADATA_HEADER)
            metadata = _json_object(header, f"the {METADATA_HEADER} header") if header else {}
            return self._audio(audio, media_type, metadata)
        if media_type == "application/json":
            # base64 takes 4 bytes per 3; the slack is for metadata and framing.
            text = exchange.read(response, 4 * math.ceil(limit / 3) + _JSON_SLACK_BYTES, oversize)
            return self._from_json(_json_object(text, f"service {name}'s answer"), oversize)
        raise BadResponseError(
            f"service {name} answered with Content-Type {media_type or '(none)'!r}; "
            "expected audio/*, application/octet-stream or application/json"
        )

    def _from_json(self, answer: dict[str, Any], oversize: str) -> GeneratedAudio:
        name, limit = self.service.name, self.service.max_output_bytes
        encoded = answer.get("audio_base64")
        if not isinstance(encoded, str) or not encoded:
            raise BadResponseError(f"service {name}'s JSON answer has no audio_base64 text")
        if len(encoded) // 4 * 3 - 2 > limit:  # refuse before decoding: the decoded bytes would be too many
            raise OversizeOutputError(oversize.format(size=f"about {len(encoded) // 4 * 3} bytes"))
        try:
            audio = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadResponseError(f"service {name}'s audio_base64 is not valid base64 ({exc})") from None
        if len(audio) > limit:
            raise OversizeOutputError(oversize.format(size=f"{len(audio)} bytes"))
        content_type = answer.get("content_type", "")
        if not isinstance(content_type, str) or (content_type and not _is_audio_type(_media_type(content_type))):
            raise BadResponseError(f"service {name} declared content_type {content_type!r}, which is not audio")
        metadata = answer.get("metadata", {})
        if not isinstance(metadata, dict):
            raise BadResponseError(f"service {name}'s metadata must be a JSON object")
        return self._audio(audio, _media_type(content_type), metadata)

    def _audio(self, audio: bytes, content_type: str, metadata: dict[str, Any]) -> GeneratedAudio:
        if not audio:
            raise BadResponseError(f"service {self.service.name} sent no audio (an empty body)")
        return GeneratedAudio(audio=audio, content_type=content_type, metadata=metadata)

    def _transport_error(self, exc: BaseException, exchange: _Exchange, url: str) -> ServiceError:
        name, (_, host, port) = self.service.name, _origin(url)
        if exchange.expired.is_set() or exchange.remaining() <= 0 or isinstance(exc, TimeoutError):
            return ServiceTimeoutError(f"service {name} did not answer within {self.service.timeout_s:g} s")
        if isinstance(exc, ConnectionRefusedError):
            return ServiceError(f"service {name} refused the connection at {host}:{port} (is it running?)")
        if isinstance(exc, http.client.HTTPException):
            return BadResponseError(f"service {name} broke the HTTP exchange: {type(exc).__name__} {exc}")
        return ServiceError(f"service {name} could not be reached at {host}:{port}: {exc}")
