"""A real HTTP server on 127.0.0.1 playing an external generation service, and a licensed service
pointing at it: shared by the adapter, gateway and ledger tests."""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from catalog.models import Recording
from fingerprint.audio import encode
from generation_audit.models import AIService
from rights import licensing
from rights.models import RightsHolder
from tests import audio as test_audio
from tests import factories

DAY = datetime.date(2026, 6, 1)
Answer = Callable[[BaseHTTPRequestHandler], None]


def wav(seed: int = 1, seconds: float = 3.0) -> bytes:
    """Real WAV bytes of synthetic music, as a generation service would send."""
    return encode(test_audio.piece(seed, seconds), test_audio.SR, "wav")


class ServiceServer:
    """A real HTTP server on an ephemeral 127.0.0.1 port playing an external generation service.

    `answer` decides how it responds to each POST; every request it receives is kept in `requests`
    (path and JSON body), so a test can tell that nothing was sent.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answer: Answer = send(wav())
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.requests.append({"path": self.path, "body": json.loads(body or b"null")})
                try:
                    server.answer(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the adapter hung up on us, as it should on a bad answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False  # a handler still dripping must not hold up the test's end
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/generate"

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def send(body: bytes, content_type: str = "audio/wav", headers: dict[str, str] | None = None, status: int = 200,
         content_length: bool = True) -> Answer:  # fmt: skip
    """An answer: `body` with this status, media type and extra headers (Content-Length optional:
    without it the body ends when the connection closes)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        if content_length:
            handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def send_json(document: Any) -> Answer:
    return send(json.dumps(document).encode(), "application/json")


def licensed_service(endpoint: str, recordings: list[Recording], **fields: Any) -> AIService:
    """An HTTP generation service operated by a licensee holding an AI-generation licence, worldwide
    in 2026, for `recordings`."""
    operator = RightsHolder.objects.create(name="Generator Co", kind="service")
    licence = licensing.grant_licence(
        reference="AI-GEN-2026",
        licensor=factories.party("Label"),
        licensee=operator,
        uses=["ai_generation"],
        territories=["WORLD"],
        start_date=datetime.date(2026, 1, 1),
        end_date=datetime.date(2026, 12, 31),
        fee_model="flat",
        flat_fee="1000",
        recordings=recordings,
    )
    return AIService.objects.create(
        name="tunesmith", kind=AIService.Kind.GENERATION, operator=operator, backend=AIService.Backend.HTTP,
        endpoint=endpoint, licence=licence, **{"timeout_s": 5.0, **fields},
    )  # fmt: skip
