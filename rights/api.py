"""The platform API for claims (list, detail, dispute, appeal) and the scan detail with rights and provenance.

A platform sees only the claims on its own uploads; staff sessions see all. The dispute and appeal
rules are rights.disputes'; a request the claim's state does not allow answers 409 with the reason.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from fingerprint import api as fingerprint_api
from fingerprint.api_errors import Conflict, ErrorSerializer
from fingerprint.permissions import ActsForPlatform, scope
from rights import claims, disputes
from rights.models import Claim
from rights.serializers import (
    AppealRequestSerializer,
    ClaimDetailSerializer,
    ClaimSerializer,
    DisputeRequestSerializer,
    ScanDetailSerializer,
)

STATE_CONFLICT = OpenApiResponse(ErrorSerializer, description="The claim's state does not allow this (code conflict).")


@extend_schema_view(retrieve=extend_schema(summary="One scan: status, matches, provenance findings, claims"))
class ScanViewSet(fingerprint_api.ScanViewSet):
    """Scans of a platform's uploads: submit files or URLs, then read each scan's status, matches,
    AI-provenance findings and claims."""

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return ScanDetailSerializer if self.action == "retrieve" else super().get_serializer_class()


@extend_schema_view(
    list=extend_schema(summary="Claims on the platform's uploads, newest first"),
    retrieve=extend_schema(summary="One claim: its match, history and disputes"),
)
class ClaimViewSet(fingerprint_api.ScopedViewMixin, viewsets.ReadOnlyModelViewSet):
    """Claims made on the platform's uploads. Dispute an active claim; appeal a dispute the claimant upheld."""

    queryset = Claim.objects.none()
    filterset_fields = ["status", "action"]

    def get_queryset(self) -> QuerySet[Claim]:
        claims_ = Claim.objects.select_related("recording", "claimant", "match__scan__platform", "match__recording")
        if self.action != "list":
            claims_ = claims_.prefetch_related("disputes")
        return scope(claims_, self.request, "match__scan__platform")

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return ClaimSerializer if self.action == "list" else ClaimDetailSerializer

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.action in ("dispute", "appeal"):  # the uploading platform disputes, nobody else
            return [permissions.IsAuthenticated(), ActsForPlatform()]
        return super().get_permissions()

    def _answer(self, claim: Claim) -> Response:
        claim = self.get_queryset().get(pk=claim.pk)
        return Response(ClaimDetailSerializer(claim, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Dispute an active claim",
        description="The claim becomes disputed and the claimant has RIGHTS_TIMERS['dispute_answer_days'] "
        "(30 by default) to answer; no answer releases it.",
        request=DisputeRequestSerializer,
        responses={200: ClaimDetailSerializer, 409: STATE_CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def dispute(self, request: Request, pk: str | None = None) -> Response:
        claim = self.get_object()
        body = DisputeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            disputes.dispute_claim(claim, actor=request.user, **body.validated_data)
        except (disputes.DisputeError, claims.TransitionError) as exc:
            raise Conflict(str(exc)) from None
        return self._answer(claim)

    @extend_schema(
        summary="Appeal a dispute the claimant upheld",
        description="Allowed while the claim is disputed and its latest dispute was upheld; the claimant then "
        "has RIGHTS_TIMERS['appeal_answer_days'] (7 by default) to reinstate, release or take down.",
        request=AppealRequestSerializer,
        responses={200: ClaimDetailSerializer, 409: STATE_CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def appeal(self, request: Request, pk: str | None = None) -> Response:
        claim = self.get_object()
        body = AppealRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        latest = claim.latest_dispute()
        reason = data.get("reason") or (latest.reason if latest is not None else None)
        try:
            if reason is None:
                raise disputes.DisputeError("Only a dispute the claimant upheld can be appealed.")
            disputes.appeal_claim(claim, reason=reason, evidence=data["evidence"], actor=request.user)
        except (disputes.DisputeError, claims.TransitionError) as exc:
            raise Conflict(str(exc)) from None
        return self._answer(claim)
