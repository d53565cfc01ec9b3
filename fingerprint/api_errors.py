"""One shape for every API error, `{"code": ..., "detail": ...}`, and the error responses in the schema.

`exception_handler` (REST_FRAMEWORK["EXCEPTION_HANDLER"]) turns DRF's and Django's request errors
into that shape; validation errors keep their per-field messages under `errors`. Django's own
refusals of a request body (too big, too many fields or files, a malformed upload) become 413 or
400 rather than an HTML error page. `add_error_responses` (a drf-spectacular postprocessing hook)
documents the errors any operation can answer, so the schema lists every status the API returns;
`not_found` (handler404) answers unknown /api/ URLs in JSON too, and `JSONParser` refuses JSON nested
too deeply for Python's decoder with a 400.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views import defaults
from rest_framework import exceptions, parsers, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is larger than the API accepts."
    default_code = "too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The resource's state does not allow this."
    default_code = "conflict"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request is well formed but cannot be processed."
    default_code = "unprocessable"


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing JSON nested too deeply for Python's decoder with a 400 (not a 500)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None


class ErrorSerializer(serializers.Serializer):
    """An API error: a stable machine-readable `code` and a sentence for people."""

    code = serializers.CharField(help_text="Machine-readable, stable: e.g. not_found, throttled, invalid.")
    detail = serializers.CharField(help_text="What went wrong, for people.")
    errors = serializers.JSONField(
        required=False, help_text="Validation errors only: the messages per field (or per item)."
    )


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An API error: a stable machine-readable `code` and a sentence for people.",
    "properties": {
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {"description": "Validation errors only: the messages per field (or per item)."},
    },
    "required": ["code", "detail"],
}


def _as_api_exception(exc: Exception) -> exceptions.APIException | None:
    """Django's 404 and 403, and its refusals of a request body, as API errors (not HTML error pages)."""
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge("The request body is larger than the server accepts.")
    if isinstance(exc, TooManyFilesSent):
        return PayloadTooLarge("The request holds more files than one request may carry.", code="too_many_items")
    if isinstance(exc, TooManyFieldsSent):
        return PayloadTooLarge("The request holds more form fields than allowed.", code="too_many_items")
    if isinstance(exc, MultiPartParserError | BadRequest | SuspiciousOperation | UnicodeDecodeError):
        return exceptions.ParseError(f"The request body cannot be read: {exc}")
    return None


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for field, value in detail.items():
            message = _first_message(value)
            if message:
                return message if field == "non_field_errors" else f"{field}: {message}"
        return ""
    if isinstance(detail, list):
        return next((m for m in (_first_message(item) for item in detail) if m), "")
    return str(detail)


def _first_code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    while isinstance(codes, dict | list):
        if not codes:
            return exc.default_code
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return str(codes)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with Django's request errors added and every body as {"code", "detail"}."""
    exc = _as_api_exception(exc) or exc
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        message = _first_message(exc.detail) or "Invalid input."
        response.data = {"code": "invalid", "detail": message, "errors": response.data}
    else:
        response.data = {"code": _first_code(exc), "detail": _first_message(exc.detail)}
    return response


# --- the schema ----------------------------------------------------------------------------------

_DESCRIPTIONS = {
    "400": "Malformed request: invalid JSON, parameters or fields (`errors` says which).",
    "401": "No credentials, or an invalid or revoked API key.",
    "403": "The caller may not do this (not staff, or acting for no platform).",
    "404": "Not found, or not visible to the caller.",
    "413": "The request body is larger than allowed.",
    "415": "The request body's content type is not accepted.",
    "429": "Too many requests for this platform: wait for Retry-After seconds.",
}


def _error_response(code: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if code == "429":
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
    return response


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: document on every operation the errors any request can meet."""
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault("Error", ERROR_SCHEMA)
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            codes = ["401", "403", "429"]
            inputs = [p for p in operation.get("parameters", []) if p.get("in") != "path"]
            if inputs or "requestBody" in operation:
                codes.append("400")
            if "{" in path:
                codes.append("404")
            if "requestBody" in operation:
                codes += ["413", "415"]
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, _error_response(code))
    return result


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: a URL under /api/ that matches no route answers like the API does (JSON), not HTML."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "No such API route."}, status=404)
    return defaults.page_not_found(request, exception)
