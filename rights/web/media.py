"""The audio of a claim (the upload or the reference), streamed with HTTP Range support so players can seek.

Only someone who can see the claim (roles.claims_for) gets its audio; anyone else gets 404, so the
existence of a claim is not revealed either.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_safe

from catalog.models import AudioAsset
from rights import roles
from rights.models import Claim
from rights.web.access import role_required

SIDES = ("upload", "reference")
CONTENT_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg", "m4a": "audio/mp4"}
CHUNK_BYTES = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def visible_claim(viewer: roles.Viewer, pk: int) -> Claim:
    """The claim if the viewer can see it, else 404."""
    claim = roles.claims_for(viewer).with_sources().filter(pk=pk).first()
    if claim is None:
        raise Http404("No such claim.")
    return claim


def claim_asset(claim: Claim, side: str) -> AudioAsset:
    """The upload's or the reference's audio asset of a claim (404 for an unknown side or no asset); the
    reference of a melody claim is the work's rendition."""
    if side not in SIDES:
        raise Http404("Choose the upload or the reference.")
    asset = claim.scan.asset if side == "upload" else claim.reference_asset
    if asset is None or not asset.file or not asset.file.storage.exists(asset.file.name):
        raise Http404(f"The {side}'s audio file is not stored.")
    return asset


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The first and last byte of a single `bytes=` range, or None to send the whole file.

    A range that starts past the end raises ValueError (416). Several ranges, or a header we do not
    understand, get the whole file, which RFC 9110 allows.
    """
    found = _RANGE.match(header.strip()) if header else None
    if found is None:
        return None
    first, last = found.groups()
    if not first and not last:
        return None
    if not first:  # a suffix: the last N bytes
        length = int(last)
        if length == 0:
            raise ValueError("empty suffix range")
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise ValueError("range not satisfiable")
    return start, end


def _stream(handle: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def asset_response(request: HttpRequest, asset: AudioAsset) -> HttpResponse:
    """The asset's bytes: 200 with all of them, 206 with the asked range, 416 for a range past the end."""
    size = asset.file.storage.size(asset.file.name)
    content_type = CONTENT_TYPES.get(asset.format, "application/octet-stream")
    try:
        wanted = parse_range(request.headers.get("Range", ""), size)
    except ValueError:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    start, end = wanted if wanted is not None else (0, size - 1)
    length = max(0, end - start + 1)
    handle = asset.file.storage.open(asset.file.name, "rb")
    response = StreamingHttpResponse(_stream(handle, start, length), content_type=content_type)
    if wanted is not None:
        response.status_code = 206
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = f'inline; filename="{asset.kind}-{asset.pk}.{asset.format}"'
    return response


@require_safe
@role_required()
def claim_audio(request: HttpRequest, pk: int, side: str) -> HttpResponse:
    claim = visible_claim(request.viewer, pk)  # type: ignore[attr-defined]
    return asset_response(request, claim_asset(claim, side))
