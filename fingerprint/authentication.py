"""API token authentication for platforms: `Authorization: Bearer <key>` (or `Token <key>`).

Keys are looked up by their sha256 digest (the only form stored). A revoked token, or one whose
user is deactivated, is refused. `request.auth` is the ApiToken, so views know the platform.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Field, Model
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from fingerprint.models import ApiToken, Platform
from fingerprint.models.platforms import token_digest

KEYWORDS = (b"bearer", b"token")
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class ApiTokenAuthentication(BaseAuthentication):
    """A platform's API key in the Authorization header, as `Bearer <key>` or `Token <key>`."""

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the key as 'Authorization: Bearer <key>'.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        return self.authenticate_key(key)

    def authenticate_key(self, key: str) -> tuple[Any, ApiToken]:
        token = active_token(token_digest(key))
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes unauthenticated requests answer 401 (with this challenge) rather than 403.
        return 'Bearer realm="api"'


def active_token(digest: str) -> ApiToken | None:
    """The unrevoked token with this digest, its platform and its user, in one query.

    Every API request runs this. Built by the ORM (select_related, filter, first) the query cost
    about a third of an upload request's CPU just to compile, so its SQL is composed once from the
    models' own metadata and only executed here; the rows become model instances as the ORM makes
    them (from_db, with the backend's and fields' converters)."""
    sql, layout = _token_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    instances = []
    for model, fields, start in layout:
        values = []
        for field, value in zip(fields, row[start : start + len(fields)], strict=True):
            col = field.cached_col
            for convert in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
                value = convert(value, col, connection)
            values.append(value)
        instances.append(model.from_db(connection.alias, [f.attname for f in fields], values))
    token, platform, user = instances
    ApiToken._meta.get_field("platform").set_cached_value(token, platform)
    ApiToken._meta.get_field("user").set_cached_value(token, user)
    return token


@functools.cache
def _token_query() -> tuple[str, list[tuple[type[Model], list[Field], int]]]:
    """SELECT token, platform and user columns by digest; and where each model's columns start."""
    quote = connection.ops.quote_name
    user_model = get_user_model()
    columns: list[str] = []
    layout = []
    for alias, model in (("t", ApiToken), ("p", Platform), ("u", user_model)):
        fields = list(model._meta.concrete_fields)
        layout.append((model, fields, len(columns)))
        columns += [f"{alias}.{quote(field.column)}" for field in fields]
    column = {
        name: quote(ApiToken._meta.get_field(name).column) for name in ("platform", "user", "digest", "revoked_at")
    }
    platform_pk, user_pk = quote(Platform._meta.pk.column), quote(user_model._meta.pk.column)
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(ApiToken._meta.db_table)} t "
        f"JOIN {quote(Platform._meta.db_table)} p ON p.{platform_pk} = t.{column['platform']} "
        f"JOIN {quote(user_model._meta.db_table)} u ON u.{user_pk} = t.{column['user']} "
        f"WHERE t.{column['digest']} = %s AND t.{column['revoked_at']} IS NULL"
    )
    return sql, layout


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents the token scheme in the OpenAPI schema (drf-spectacular)."""

    target_class = "fingerprint.authentication.ApiTokenAuthentication"
    name = "platformToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        scheme = build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")
        scheme["description"] = "A platform's API key: `Authorization: Bearer <key>` (`Token <key>` also works)."
        return scheme
