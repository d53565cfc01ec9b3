"""Cursor pagination for the API's growing lists (scans, claims, deliveries): newest first, stable under inserts."""

from __future__ import annotations

from rest_framework.exceptions import NotFound, ParseError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request


class NewestFirstCursorPagination(CursorPagination):
    """Pages ordered by -id; `?page_size=` up to 500. A malformed cursor is a 400, not a 404."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ParseError(
                "The cursor is not one this API handed out; follow the `next` link.", code="invalid_cursor"
            ) from None
