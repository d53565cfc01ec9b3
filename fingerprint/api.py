"""The platform API for scans and webhooks. Uploads are handed to fingerprint.intake; nothing is decided here.

POST /scans takes one file, a multipart batch, or a JSON list of URLs and answers 202 at once with
each item's scan (or its reason for refusal); identification runs in Celery tasks after commit.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django_filters
from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.throttling import BaseThrottle

from fingerprint import intake
from fingerprint.api_errors import ErrorSerializer, JSONParser, PayloadTooLarge, Unprocessable
from fingerprint.audio import AudioError
from fingerprint.models import Scan, Submission, WebhookDelivery, WebhookEndpoint
from fingerprint.pagination import NewestFirstCursorPagination
from fingerprint.permissions import ActsForPlatform, platform_of, scope
from fingerprint.serializers import (
    ScanSerializer,
    ScanUploadSerializer,
    ScanUrlsSerializer,
    SubmissionRefusedSerializer,
    SubmissionSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointSerializer,
)
from fingerprint.throttling import ReadsThrottle, UploadsThrottle

# Refusals that are about size (413); every other AudioError is unusable content (422).
TOO_BIG_CODES = frozenset({"too_large", "too_long"})
# A JSON body lists URLs only: this is plenty for a full batch of long URLs.
JSON_BODY_LIMIT = 1024 * 1024
# Room for the multipart boundaries, headers and small fields around the files.
MULTIPART_OVERHEAD = 1024 * 1024


def _has_control_characters(text: str) -> bool:
    # NUL and other control characters are never valid in a URL, key or file name (PostgreSQL refuses NUL).
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def max_batch() -> int:
    return int(getattr(settings, "CONTENTID_MAX_BATCH_FILES", 100))


class ScopedViewMixin:
    """Reads are throttled per platform; lists page by cursor, newest first."""

    pagination_class = NewestFirstCursorPagination
    throttle_classes = [ReadsThrottle]


# --- submitting ------------------------------------------------------------------------------------


class _CappedUploadHandler(TemporaryFileUploadHandler):
    """Streams each uploaded file to a temporary file but keeps at most `limit` + 1 bytes: an oversize
    file is known to be oversize (its real size is still counted) without filling the disk."""

    def __init__(self, request: Any, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.kept = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.kept = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        room = self.limit + 1 - self.kept
        if room > 0:
            self.file.write(raw_data[:room])
            self.kept += min(room, len(raw_data))


@dataclass
class _Item:
    """One file or URL of a submission, and what became of it."""

    index: int
    name: str
    descriptor: str  # what the Idempotency-Key's digest covers
    path: Path | None = None
    sha256: str | None = None  # hashed once, for the digest, and handed to intake
    url: str | None = None
    scan: Scan | None = None
    code: str | None = None
    detail: str | None = None
    status_code: int | None = None

    def refuse(self, code: str, detail: str, status_code: int) -> None:
        self.code, self.detail, self.status_code = code, detail, status_code


def _file_items(request: Request, spill: Path) -> list[_Item]:
    """The uploaded files as items; any held in memory (parsed before this API's upload handler was
    installed) are written under `spill` first, since intake takes paths (the folder is made only
    then: this API's own handler leaves every file on disk already)."""
    items = []
    for field in request.FILES:
        for uploaded in request.FILES.getlist(field):
            name = "".join(ch for ch in uploaded.name or "" if not _has_control_characters(ch))
            item = _Item(index=len(items), name=name, descriptor="")
            limit = settings.AUDIO_MAX_BYTES
            if uploaded.size > limit:
                item.descriptor = f"oversize:{uploaded.size}:{item.name}"
                item.refuse("too_large", f"The file is {uploaded.size} bytes; the limit is {limit} bytes.", 413)
            else:
                if hasattr(uploaded, "temporary_file_path"):
                    item.path = Path(uploaded.temporary_file_path())
                else:
                    spill.mkdir(exist_ok=True)
                    item.path = spill / str(len(items))
                    with item.path.open("wb") as out:
                        for chunk in uploaded.chunks():
                            out.write(chunk)
                item.sha256 = intake.sha256_file(item.path)
                item.descriptor = f"file:{item.sha256}"
            items.append(item)
    return items


def _url_items(data: Any) -> list[_Item]:
    urls = data.get("urls") if isinstance(data, dict) else None
    if not isinstance(urls, list):
        raise ParseError('Send {"urls": ["https://…", …]} as JSON, or audio files as multipart.', code="no_items")
    items = []
    for index, url in enumerate(urls):
        if isinstance(url, str) and not _has_control_characters(url):
            items.append(_Item(index=index, name=url[:2000], descriptor=f"url:{url}", url=url))
        else:
            text = json.dumps(url)[:200]
            item = _Item(index=index, name=text, descriptor=f"invalid:{text}")
            item.refuse("invalid_url", f"Item {index} is not a URL string without control characters.", 422)
            items.append(item)
    return items


def _accept(item: _Item, request: Request, submission: Submission | None, replayed: bool, taken: set[int]) -> None:
    """Hand one item to intake. A replayed submission gets back the scans the first request made: files
    by their content (intake dedupes per platform), URLs from the submission's own scans."""
    if item.code is not None:
        return
    platform = platform_of(request)
    try:
        if item.path is not None:
            item.scan = intake.accept_file(
                item.path,
                original_name=item.name,
                platform=platform,
                submitted_by=request.user,
                submission=submission,
                sha256=item.sha256,
            )
        else:
            assert item.url is not None
            if replayed and submission is not None:
                earlier = submission.scans.filter(source_url=item.url.strip()).exclude(pk__in=taken)
                item.scan = earlier.order_by("pk").first()
            if item.scan is None:
                item.scan = intake.accept_url(
                    item.url, platform=platform, submitted_by=request.user, submission=submission
                )
    except AudioError as exc:
        item.refuse(exc.code, str(exc), 413 if exc.code in TOO_BIG_CODES else 422)
    except ValueError as exc:  # accept_url: not an http(s) URL
        item.refuse("invalid_url", str(exc), 422)
    if item.scan is not None:
        taken.add(item.scan.pk)


def _item_body(item: _Item, request: Request) -> dict[str, Any]:
    scan = item.scan
    return {
        "index": item.index,
        "name": item.name,
        "accepted": scan is not None,
        "id": scan.pk if scan else None,
        "url": reverse("scan-detail", args=[scan.pk], request=request) if scan else None,
        "status": scan.status if scan else None,
        "code": item.code,
        "detail": item.detail,
        "status_code": item.status_code,
    }


def _submission_response(items: list[_Item], request: Request, replayed: bool) -> Response:
    body = [_item_body(item, request) for item in items]
    accepted = [item for item in items if item.scan is not None]
    counts = {"accepted": len(accepted), "rejected": len(items) - len(accepted)}
    if accepted:
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        if len(items) == 1:
            headers["Location"] = body[0]["url"]
        return Response({**counts, "replayed": replayed, "items": body}, status.HTTP_202_ACCEPTED, headers=headers)
    if len(items) == 1:
        code, detail = items[0].code, items[0].detail
    elif all(item.status_code == 413 for item in items):
        code, detail = "too_large", "No item was accepted: every one is over the size or duration limit."
    else:
        code, detail = "nothing_accepted", "No item was accepted; each item says why."
    refused = 413 if all(item.status_code == 413 for item in items) else 422
    return Response({"code": code, "detail": detail, **counts, "items": body}, status=refused)


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Up to 255 characters. The same key with the same content returns the first request's scans "
    "(202, `replayed`: true, header Idempotent-Replayed) and stores nothing; with other content it is refused (422).",
)


@extend_schema_view(
    list=extend_schema(summary="The platform's scans, newest first"),
    retrieve=extend_schema(summary="One scan: status, matches"),
)
class ScanViewSet(ScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Scans of a platform's uploads: submit files or URLs, then read each scan's status and matches."""

    serializer_class = ScanSerializer
    queryset = Scan.objects.none()  # for the schema; get_queryset scopes the real one
    parser_classes = [JSONParser, MultiPartParser]
    filterset_fields = ["status"]

    def get_queryset(self) -> QuerySet[Scan]:
        scans = Scan.objects.select_related("asset", "submission").prefetch_related(
            "matches__recording", "work_matches__work"
        )
        return scope(scans, self.request, "platform")

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.action == "create":
            return [permissions.IsAuthenticated(), ActsForPlatform()]
        return super().get_permissions()

    def get_throttles(self) -> list[BaseThrottle]:
        return [UploadsThrottle()] if self.action == "create" else super().get_throttles()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if self.action == "create":  # before anything (a session's CSRF check) reads the body
            self._limit_body(request)
        super().initial(request, *args, **kwargs)

    def _limit_body(self, request: Request) -> None:
        """Refuse a body over the batch's total allowance by its Content-Length, without reading it;
        stream files to disk, keeping no more of each than shows that it is over the file limit."""
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise ParseError("The Content-Length header is not a number.") from None
        multipart = (request.content_type or "").startswith("multipart/")
        limit = settings.AUDIO_MAX_BYTES * max_batch() + MULTIPART_OVERHEAD if multipart else JSON_BODY_LIMIT
        if length > limit:
            raise PayloadTooLarge(f"The request is {length} bytes; at most {limit} bytes are accepted.")
        try:
            request._request.upload_handlers = [_CappedUploadHandler(request._request, settings.AUDIO_MAX_BYTES)]
        except AttributeError:  # the body was already parsed (not by this API's clients)
            pass

    @extend_schema(
        summary="Submit audio files or URLs for scanning",
        description="One file or a multipart batch of files (any field name, e.g. `files`), or JSON "
        '`{"urls": [...]}` of audio to fetch. Answers 202 at once: each item with its scan id and URL, or '
        "with why it was refused (413: over AUDIO_MAX_BYTES or AUDIO_MAX_DURATION_S; 422: not audio, "
        "undecodable, silent, too short, not an http(s) URL). Valid items are accepted even when others are "
        "refused; when none is accepted the answer is 413 (all too big) or 422. The same content from the "
        "same platform returns its existing scan. Formats are sniffed from the content, not the file name.",
        request={"multipart/form-data": ScanUploadSerializer, "application/json": ScanUrlsSerializer},
        parameters=[
            IDEMPOTENCY_KEY,
            OpenApiParameter(
                "Idempotent-Replayed",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=[202],
                description="'true' when the answer repeats an earlier request's under the same Idempotency-Key.",
            ),
            OpenApiParameter(
                "Location",
                OpenApiTypes.URI,
                OpenApiParameter.HEADER,
                response=[202],
                description="The scan's URL, when one item was submitted.",
            ),
        ],
        responses={
            202: SubmissionSerializer,
            400: OpenApiResponse(ErrorSerializer, description="No files or URLs, or a malformed body or header."),
            403: OpenApiResponse(ErrorSerializer, description="The caller acts for no platform."),
            413: OpenApiResponse(
                SubmissionRefusedSerializer,
                description="The body is over the batch allowance, there are too many items, or every item is "
                "over the size or duration limit.",
            ),
            422: OpenApiResponse(
                SubmissionRefusedSerializer,
                description="No item was usable, or the Idempotency-Key was used before for other content "
                "(code idempotency_key_reused).",
            ),
        },
    )
    def create(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is not None and (not 0 < len(key.strip()) <= 255 or _has_control_characters(key)):
            raise ValidationError(
                {"Idempotency-Key": ["Must be 1 to 255 characters, without control characters."]},
                code="invalid_idempotency_key",
            )
        # Made only if a file has to be spilled (rarely): a folder made and removed per request costs
        # milliseconds of filesystem work on the hot path.
        spill = Path(tempfile.gettempdir()) / f"contentid-spill-{uuid.uuid4().hex}"
        try:
            return self._submit(request, key, spill)
        finally:
            if spill.exists():
                shutil.rmtree(spill, ignore_errors=True)

    def _submit(self, request: Request, key: str | None, spill: Path) -> Response:
        items = _file_items(request, spill) if request.FILES else _url_items(request.data)
        if not items:
            raise ParseError("Send at least one audio file or URL.", code="no_items")
        if len(items) > max_batch():
            raise PayloadTooLarge(f"{len(items)} items; at most {max_batch()} per request.", code="too_many_items")
        submission, replayed = None, False
        taken: set[int] = set()
        # One transaction for the submission and all its items, and one broker message, sent from
        # outside the request (intake.one_dispatch_per_batch): the request pays one durable commit and
        # never waits for the broker. Each item still stands alone: unusable audio is refused before it
        # writes anything, and a race with a request sending the same bytes is settled without an error.
        with transaction.atomic(), intake.one_dispatch_per_batch(in_background=True):
            if key is not None:
                digest = intake.request_digest(item.descriptor for item in items)
                try:
                    submission, created = intake.open_submission(platform_of(request), key, digest)
                except intake.SubmissionConflict as exc:
                    raise Unprocessable(str(exc), code="idempotency_key_reused") from None
                replayed = not created
            for item in items:
                _accept(item, request, submission, replayed, taken)
            if submission is not None and not replayed and not taken:
                submission.delete()  # nothing came of it: the key may be used again once the items are fixed
        return _submission_response(items, request, replayed)


# --- webhooks --------------------------------------------------------------------------------------


class WebhookEndpointViewSet(ScopedViewMixin, viewsets.ModelViewSet):
    """The platform's webhook endpoints: where signed event notifications are POSTed."""

    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.none()

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return scope(WebhookEndpoint.objects.all(), self.request, "platform")

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.action == "create":
            return [permissions.IsAuthenticated(), ActsForPlatform()]
        return super().get_permissions()

    def perform_create(self, serializer: WebhookEndpointSerializer) -> None:
        serializer.save(platform=platform_of(self.request))


class WebhookDeliveryFilter(django_filters.FilterSet):
    endpoint = django_filters.NumberFilter(field_name="endpoint_id")

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "status", "event"]


class WebhookDeliveryViewSet(ScopedViewMixin, viewsets.ReadOnlyModelViewSet):
    """Every event sent to the platform's endpoints, with each attempt's outcome; any can be sent again."""

    serializer_class = WebhookDeliverySerializer
    queryset = WebhookDelivery.objects.none()
    filterset_class = WebhookDeliveryFilter

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        return scope(WebhookDelivery.objects.all(), self.request, "endpoint__platform")

    @extend_schema(
        summary="Send a delivery's event again",
        description="Queues a new delivery of the same event (a fresh event id) and answers 202 with it.",
        request=None,
        responses={202: WebhookDeliverySerializer},
    )
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, pk: str | None = None) -> Response:
        from fingerprint import webhooks  # the delivery machinery (and its HTTP client) loads only here

        copy = webhooks.resend(self.get_object().pk)
        return Response(self.get_serializer(copy).data, status=status.HTTP_202_ACCEPTED)
