"""Rights endpoints: policies, licences, splits, usage reports and statements, each scoped by role.

Reads take their rows from rights.roles; writes go through the same verbs as the admin and the web
(rights.splits, rights.usage). Auditors read and never write; a platform's token acts for it alone.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from fingerprint.api_errors import Conflict, ErrorSerializer
from fingerprint.models import Platform
from rights import actions, exports, roles, splits, usage
from rights.api_access import HasRole, viewer_of
from rights.models import Licence, Policy, Split, Statement, UsageReport
from rights.serializers_rights import (
    LicenceSerializer,
    PolicySerializer,
    SplitSerializer,
    StatementSerializer,
    UsageReportSerializer,
    UsageReportUploadSerializer,
)

REFUSED = OpenApiResponse(ErrorSerializer, description="Refused, with the rule it broke; nothing was written.")


class _Scoped(viewsets.GenericViewSet):
    permission_classes = [HasRole]
    write_roles: tuple[str, ...] = ()

    @property
    def viewer(self) -> roles.Viewer:
        return viewer_of(self.request)


@extend_schema_view(list=extend_schema(summary="Match policies of your labels and parties"))
class PolicyViewSet(_Scoped, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    serializer_class = PolicySerializer
    queryset = Policy.objects.none()

    def get_queryset(self) -> QuerySet[Policy]:
        return roles.policies_for(self.viewer).select_related("label", "owner").prefetch_related("rules").order_by("pk")


@extend_schema_view(list=extend_schema(summary="Licences your parties granted or hold"))
class LicenceViewSet(_Scoped, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    serializer_class = LicenceSerializer
    queryset = Licence.objects.none()
    filterset_fields = ["licensee", "licensor"]

    def get_queryset(self) -> QuerySet[Licence]:
        return (
            roles.licences_for(self.viewer)
            .select_related("licensor", "licensee")
            .prefetch_related("recordings", "works")
            .order_by("pk")
        )


@extend_schema_view(
    list=extend_schema(summary="Splits of the recordings and works you may see"),
    create=extend_schema(
        summary="Record a split (shares must sum to exactly 100 %)",
        responses={201: SplitSerializer, 400: REFUSED, 403: REFUSED},
    ),
)
class SplitViewSet(_Scoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin):
    serializer_class = SplitSerializer
    queryset = Split.objects.none()
    filterset_fields = ["recording", "work", "stream"]
    write_roles = (roles.STAFF, roles.ARTIST)

    def get_queryset(self) -> QuerySet[Split]:
        return roles.splits_for(self.viewer).prefetch_related("shares__party").order_by("pk")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data: dict[str, Any] = serializer.validated_data
        recording, work = data.get("recording"), data.get("work")
        if not roles.may_edit_asset(self.viewer, recording=recording, work=work):
            raise PermissionDenied("You may only split recordings and works of your label or credited to you.")
        shares = [(row["party"], row["share"], row.get("role", "")) for row in data["shares"]]
        try:
            serializer.instance = splits.set_split(
                shares=shares,
                recording=recording,
                work=work,
                territories=data.get("territories") or (),
                start_date=data.get("start_date"),
                end_date=data.get("end_date"),
                note=data.get("note", ""),
                actor=self.request.user,
            )
        except splits.SplitError as exc:
            raise serializers.ValidationError({"detail": str(exc)}) from None


@extend_schema_view(list=extend_schema(summary="Usage reports: a platform's own; staff's those touching their labels"))
class UsageReportViewSet(_Scoped, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    serializer_class = UsageReportSerializer
    queryset = UsageReport.objects.none()
    write_roles = (roles.PLATFORM,)
    parser_classes = [MultiPartParser]  # reports arrive as files

    def get_queryset(self) -> QuerySet[UsageReport]:
        return roles.usage_reports_for(self.viewer).select_related("platform").order_by("-period_start", "-pk")

    @extend_schema(
        summary="Import a usage report (CSV or DSR): all rows or none",
        request={"multipart/form-data": UsageReportUploadSerializer},
        responses={201: UsageReportSerializer, 400: REFUSED, 409: REFUSED},
    )
    def create(self, request: Request) -> Response:
        viewer = self.viewer
        if len(viewer.platforms) != 1:
            raise PermissionDenied("Send the report with your platform's API token (this account acts for several).")
        (platform_id,) = viewer.platforms
        body = UsageReportUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        upload = data["file"]
        party = actions.platform_party(Platform.objects.get(pk=platform_id))
        try:
            raw = upload.read()
            if data["format"] == "dsr":
                report = usage.import_dsr(raw, platform=party, actor=request.user, file_name=upload.name)
            else:
                report = usage.import_csv(
                    raw,
                    period=data["period"],
                    currency=data["currency"].upper(),
                    platform=party,
                    actor=request.user,
                    file_name=upload.name,
                )
        except usage.DuplicateReportError as exc:
            raise Conflict(str(exc)) from None
        except usage.UsageImportError as exc:
            raise serializers.ValidationError({"detail": str(exc), "errors": exc.errors}) from None
        except IntegrityError:  # the same file imported at the same moment by another request
            raise Conflict("This file has already been imported.") from None
        return Response(UsageReportSerializer(report).data, status=status.HTTP_201_CREATED)


@extend_schema_view(list=extend_schema(summary="Royalty statements you may read"))
class StatementViewSet(_Scoped, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    serializer_class = StatementSerializer
    queryset = Statement.objects.none()
    filterset_fields = ["run", "currency"]

    def get_queryset(self) -> QuerySet[Statement]:
        return roles.statements_for(self.viewer).select_related("run", "party").order_by("-run__period", "pk")

    def _download(self, chunks: Any, statement: Statement, suffix: str, content_type: str) -> StreamingHttpResponse:
        response = StreamingHttpResponse(chunks, content_type=content_type)
        name = f"{exports.statement_file_stem(statement, with_currency=suffix == 'csv')}.{suffix}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @extend_schema(summary="The statement's lines as CSV", responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def csv(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        statement = self.get_object()
        chunks = exports.statement_csv(statement.run, statement.party, currency=statement.currency)
        return self._download(chunks, statement, "csv", "text/csv")

    @extend_schema(
        summary="The statement as a DDEX DSR-shaped flat file",
        responses={(200, "text/tab-separated-values"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"])
    def dsr(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        statement = self.get_object()
        return self._download(
            exports.statement_dsr(statement.run, statement.party), statement, "tsv", "text/tab-separated-values"
        )
