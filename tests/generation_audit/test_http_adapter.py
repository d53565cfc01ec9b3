"""The HTTP generation adapter against a real HTTP server on 127.0.0.1 playing the external service:
both answer shapes, and every way a service can misbehave (slow, broken, oversize, not audio, gone)."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from catalog.models import AudioAsset, Recording
from generation_audit.models import AIService, GeneratedOutput, ServiceCall
from generation_audit.services import gateway
from generation_audit.services.base import (
    BadResponseError,
    GenerationRequest,
    OversizeOutputError,
    ServiceError,
    ServiceTimeoutError,
)
from generation_audit.services.http import HttpGenerationAdapter
from tests import factories
from tests.conftest import stored_files
from tests.generation_audit.service_server import (
    DAY,
    Answer,
    ServiceServer,
    licensed_service,
    send,
    send_json,
    wav,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def server() -> Iterator[ServiceServer]:
    running = ServiceServer()
    yield running
    running.close()


@pytest.fixture
def service(server: ServiceServer) -> AIService:
    return licensed_service(server.url, [factories.recording(1)])


def generate(service: AIService, **request: Any) -> Any:
    return HttpGenerationAdapter(service).generate(GenerationRequest(**{"prompt": "a calm piano piece", **request}))


# --- the two answer shapes ----------------------------------------------------------------------------


def test_it_posts_the_request_with_isrcs_and_takes_raw_audio_with_header_metadata(server, service) -> None:  # type: ignore[no-untyped-def]
    audio = wav()
    server.answer = send(audio, "audio/wav", {"X-Generation-Metadata": json.dumps({"model": "ts-2", "seed": 7})})
    recording = Recording.objects.get()

    answer = generate(service, conditioning_recording_ids=(recording.pk,), parameters={"duration_s": 3})

    assert answer.audio == audio and answer.content_type == "audio/wav"
    assert answer.metadata == {"model": "ts-2", "seed": 7}
    assert server.requests == [
        {
            "path": "/generate",
            "body": {
                "prompt": "a calm piano piece",
                "conditioning": [{"recording_id": recording.pk, "isrc": "GBTST2600001", "title": "Track 1"}],
                "parameters": {"duration_s": 3},
            },
        }
    ]


def test_octet_stream_without_metadata_is_audio_too(server, service) -> None:  # type: ignore[no-untyped-def]
    server.answer = send(wav(), "application/octet-stream", content_length=False)

    answer = generate(service)

    assert answer.audio == wav() and answer.metadata == {}


def test_it_takes_base64_audio_in_a_json_answer(server, service) -> None:  # type: ignore[no-untyped-def]
    audio = wav(2)
    server.answer = send_json(
        {"audio_base64": base64.b64encode(audio).decode(), "content_type": "audio/wav", "metadata": {"model": "ts-2"}}
    )

    answer = generate(service)

    assert (answer.audio, answer.content_type, answer.metadata) == (audio, "audio/wav", {"model": "ts-2"})


def test_a_same_origin_307_is_followed_with_the_body(server, service) -> None:  # type: ignore[no-untyped-def]
    def moved_then_audio(handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/generate":
            send(b"", "text/plain", {"Location": "/v2/generate"}, status=307)(handler)
        else:
            send(wav())(handler)

    server.answer = moved_then_audio

    assert generate(service).audio == wav()
    assert [r["path"] for r in server.requests] == ["/generate", "/v2/generate"]
    assert server.requests[1]["body"]["prompt"] == "a calm piano piece"


def test_a_redirect_to_another_host_is_not_followed(server, service) -> None:  # type: ignore[no-untyped-def]
    elsewhere = ServiceServer()
    try:
        server.answer = send(b"", "text/plain", {"Location": elsewhere.url}, status=307)

        with pytest.raises(BadResponseError, match="only same-origin redirects are followed"):
            generate(service)

        assert elsewhere.requests == []
    finally:
        elsewhere.close()


# --- a service that misbehaves ------------------------------------------------------------------------


def test_a_server_error_quotes_the_status_and_the_start_of_the_body(server, service) -> None:  # type: ignore[no-untyped-def]
    server.answer = send(b"model crashed: CUDA out of memory\n" + b"x" * 10_000, "text/plain", status=500)

    with pytest.raises(BadResponseError, match=r"HTTP 500 .*CUDA out of memory") as caught:
        generate(service)

    assert len(str(caught.value)) < 400  # an excerpt, not the whole page


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (send(b"{not json", "application/json"), "not valid JSON"),
        (send_json(["a", "list"]), "must be a JSON object"),
        (send_json({"metadata": {}}), "no audio_base64"),
        (send_json({"audio_base64": "!!! not base64 !!!"}), "not valid base64"),
        (send_json({"audio_base64": base64.b64encode(b"RIFF").decode(), "content_type": "text/html"}), "not audio"),
        (send(b"<html>hello</html>", "text/html"), "Content-Type 'text/html'"),
        (send(b"RIFF....", "audio/wav", {"X-Generation-Metadata": "{oops"}), "X-Generation-Metadata header"),
        (send(b"", "audio/wav"), "sent no audio"),
    ],
    ids=["bad-json", "json-list", "no-audio", "bad-base64", "json-not-audio", "html", "bad-metadata", "empty"],
)
def test_a_malformed_answer_is_a_bad_response(server, service, answer, why) -> None:  # type: ignore[no-untyped-def]
    server.answer = answer

    with pytest.raises(BadResponseError, match=why):
        generate(service)


def test_audio_cut_short_of_its_content_length_is_a_bad_response(server, service) -> None:  # type: ignore[no-untyped-def]
    def cut_short(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "audio/wav")
        handler.send_header("Content-Length", str(len(wav())))
        handler.end_headers()
        handler.wfile.write(wav()[:5000])  # then the connection closes

    server.answer = cut_short

    with pytest.raises(BadResponseError, match="IncompleteRead"):
        generate(service)


def test_an_endpoint_that_is_not_an_http_url_is_refused(service) -> None:  # type: ignore[no-untyped-def]
    service.endpoint = "ftp://127.0.0.1/generate"

    with pytest.raises(ServiceError, match="is not an http"):
        generate(service)


def test_a_server_that_never_answers_times_out_at_the_deadline(server, service) -> None:  # type: ignore[no-untyped-def]
    service.timeout_s = 0.5
    server.answer = lambda handler: server.stopping.wait(5)  # accepts, reads, says nothing

    started = time.monotonic()
    with pytest.raises(ServiceTimeoutError, match=r"did not answer within 0\.5 s"):
        generate(service)

    assert time.monotonic() - started < 2.0


def drip(server: ServiceServer, head: bytes, seconds: float = 5.0, step: float = 0.05) -> Answer:
    """Send `head`, then one byte every `step` seconds: each read succeeds, the whole never ends."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(head)
        end = time.monotonic() + seconds
        while time.monotonic() < end and not server.stopping.is_set():
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(step)

    return answer


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.0 200 OK\r\nContent-Type: audio/wav\r\n\r\nRIFF",  # a body that drips
        b"HTTP/1.0 200 OK\r\nX-Padding: ",  # headers that drip
    ],
    ids=["body", "headers"],
)
def test_a_slow_drip_cannot_outlast_the_total_deadline(server, service, head) -> None:  # type: ignore[no-untyped-def]
    service.timeout_s = 0.6
    server.answer = drip(server, head)

    started = time.monotonic()
    with pytest.raises(ServiceTimeoutError):
        generate(service)

    assert time.monotonic() - started < 1.5  # 12 reads of a byte each would each be inside any per-read timeout


def test_oversize_audio_is_refused_from_its_content_length(server, service) -> None:  # type: ignore[no-untyped-def]
    service.max_output_bytes = 50_000
    server.answer = send(wav())  # about 130 kB

    with pytest.raises(OversizeOutputError, match="Content-Length"):
        generate(service)


def test_oversize_audio_without_a_length_is_cut_off_while_streaming(server, service) -> None:  # type: ignore[no-untyped-def]
    service.max_output_bytes = 100_000
    sent = []

    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "audio/wav")
        handler.end_headers()
        for _ in range(10_000):  # 640 MB, if nobody hung up
            handler.wfile.write(b"\0" * 65536)
            sent.append(65536)

    server.answer = endless

    with pytest.raises(OversizeOutputError, match="more than 100000 bytes"):
        generate(service)

    time.sleep(0.2)
    assert sum(sent) < 20_000_000  # the adapter hung up early instead of reading it all


def test_base64_audio_over_the_limit_once_decoded_is_oversize(server, service) -> None:  # type: ignore[no-untyped-def]
    service.max_output_bytes = 1000
    server.answer = send_json({"audio_base64": base64.b64encode(b"\1" * 1200).decode()})

    with pytest.raises(OversizeOutputError):
        generate(service)


def test_a_refused_connection_says_the_service_is_not_running(service) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    service.endpoint = f"http://127.0.0.1:{port}/generate"

    with pytest.raises(ServiceError, match=rf"refused the connection at 127.0.0.1:{port} \(is it running\?\)"):
        generate(service)


# --- through the gateway: what is stored ---------------------------------------------------------------


def test_bytes_that_are_not_audio_fail_the_call_and_store_nothing(server, service, isolated_data_dir) -> None:  # type: ignore[no-untyped-def]
    server.answer = send(b"ID3 but really just text, not an MP3 at all" * 100, "audio/mpeg")

    with pytest.raises(BadResponseError, match="not usable"):
        gateway.generate(service, GenerationRequest(prompt="noise"), territory="GB", at=DAY)

    call = ServiceCall.objects.get()
    assert call.status == ServiceCall.Status.FAILED and "not usable" in call.error
    assert not AudioAsset.objects.exists() and not GeneratedOutput.objects.exists()
    assert stored_files(Path(isolated_data_dir) / "media") == []


def test_audio_through_the_gateway_is_stored_by_its_hash(server, service, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    audio = wav(3)
    server.answer = send_json({"audio_base64": base64.b64encode(audio).decode(), "metadata": {"model": "ts-2"}})

    with django_capture_on_commit_callbacks(execute=False):
        output = gateway.generate(service, GenerationRequest(prompt="strings"), territory="GB", at=DAY)

    assert output.asset.kind == AudioAsset.Kind.GENERATED
    assert output.asset.sha256 == hashlib.sha256(audio).hexdigest()
    assert output.asset.file.read() == audio
    assert output.metadata == {"model": "ts-2"}
