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
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from fingerprint import api as fingerprint_api
from fingerprint.api_errors import Conflict, ErrorSerializer
from fingerprint.permissions import ActsForPlatform, scope, token_of
from rights import actions, claims, disputes, roles
from rights.api_access import viewer_of
from rights.models import Claim
from rights.serializers import (
    AppealRequestSerializer,
    ClaimDetailSerializer,
    ClaimSerializer,
    DisputeRequestSerializer,
    ScanDetailSerializer,
)


class ReviewRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, help_text="Kept in the history.")


class ActsAsLabelStaff(permissions.BasePermission):
    """Label staff with a session; a platform's API token never decides claims."""

    message = "Only label staff decide claims."

    def has_permission(self, request: Request, view: Any) -> bool:
        return token_of(request) is None and viewer_of(request).is_staff


STATE_CONFLICT = OpenApiResponse(ErrorSerializer, description="The claim's state does not allow this (code conflict).")


@extend_schema_view(retrieve=extend_schema(summary="One scan: status, matches, provenance findings, claims"))
class ScanViewSet(fingerprint_api.ScanViewSet):
    """Scans of a platform's uploads: submit files or URLs, then read each scan's status, matches,
    AI-provenance findings and claims."""

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return ScanDetailSerializer if self.action == "retrieve" else super().get_serializer_class()

    def get_queryset(self) -> QuerySet[Any]:
        # A token acts for its platform (the parent's scope); a session sees its roles' scans, so label
        # staff see the uploads that matched their labels' recordings, not every platform's.
        scans = super().get_queryset()
        if token_of(self.request) is not None:
            return scans
        return scans.filter(pk__in=roles.scans_for(viewer_of(self.request)).values("pk"))


@extend_schema_view(
    list=extend_schema(summary="Claims on the platform's uploads, newest first"),
    retrieve=extend_schema(summary="One claim: its match, history and disputes"),
)
class ClaimViewSet(fingerprint_api.ScopedViewMixin, viewsets.ReadOnlyModelViewSet):
    """Claims made on the platform's uploads. Dispute an active claim; appeal a dispute the claimant upheld."""

    queryset = Claim.objects.none()
    filterset_fields = ["status", "action"]

    def get_queryset(self) -> QuerySet[Claim]:
        claims_ = Claim.objects.with_sources().select_related("claimant")
        if self.action != "list":
            claims_ = claims_.prefetch_related("disputes")
        if token_of(self.request) is not None:  # the platform's uploads, whichever kind of match was claimed
            return scope(claims_, self.request, "match__scan__platform") | scope(
                claims_, self.request, "work_match__scan__platform"
            )
        return claims_.filter(pk__in=roles.claims_for(viewer_of(self.request)).values("pk"))

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return ClaimSerializer if self.action == "list" else ClaimDetailSerializer

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.action in ("dispute", "appeal"):  # the uploading platform disputes, nobody else
            return [permissions.IsAuthenticated(), ActsForPlatform()]
        if self.action in ("approve", "release"):  # label staff decide their labels' claims
            return [permissions.IsAuthenticated(), ActsAsLabelStaff()]
        return super().get_permissions()

    def _reviewable(self) -> Claim:
        claim = self.get_object()
        if not roles.claims_to_review(viewer_of(self.request)).filter(pk=claim.pk).exists():
            raise PermissionDenied("Only staff of the claim's label decide it.")
        return claim

    @extend_schema(
        summary="Approve a potential claim (label staff)",
        request=ReviewRequestSerializer,
        responses={200: ClaimDetailSerializer, 409: STATE_CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return self._review(actions.approve_claim, request)

    @extend_schema(
        summary="Release a claim (label staff): the upload is no longer claimed",
        request=ReviewRequestSerializer,
        responses={200: ClaimDetailSerializer, 409: STATE_CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: str | None = None) -> Response:
        return self._review(actions.release_claim, request)

    def _review(self, verb: Any, request: Request) -> Response:
        claim = self._reviewable()
        body = ReviewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            verb(claim, request.user, body.validated_data.get("reason", ""))
        except claims.TransitionError as exc:
            raise Conflict(str(exc)) from None
        return self._answer(claim)

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
