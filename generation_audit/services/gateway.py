"""The gateway every AI-service call goes through: licence check, ledger, the call, the output.

1. The licence is checked (rights.licensing) before anything is sent: the service's own licence must
   be the operator's, grant the use (AI generation or recommendation) in the territory on the day,
   and have cap left; each catalogue recording the request names must be licensed for that use too.
2. The call is recorded (ServiceCall) and written to the ledger whether it is allowed or refused.
3. An allowed call goes to the service's adapter; a failure is recorded and written to the ledger.
4. Generated audio is validated and stored, written to the ledger by its hash, and audited after
   commit (replication screen, marks, attribution: generation_audit.output_audit).
"""

from __future__ import annotations

import datetime
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.identifiers import IdentifierError, normalize_territory
from catalog.models import Recording
from fingerprint import actions as fingerprint_actions
from fingerprint.audio import AudioError
from generation_audit import ledger
from generation_audit.models import AIService, GeneratedOutput, ServiceCall
from generation_audit.services import adapters
from generation_audit.services.base import (
    BadResponseError,
    GenerationRequest,
    OversizeOutputError,
    Recommendation,
    RecommendationRequest,
    ServiceError,
    ServiceRefusedError,
)
from rights import licensing, licensing_terms
from rights.models import Licence

USE_OF = {
    AIService.Kind.GENERATION: licensing_terms.Use.AI_GENERATION.value,
    AIService.Kind.RECOMMENDATION: licensing_terms.Use.RECOMMENDATION.value,
}


@dataclass(frozen=True)
class Decision:
    """Whether the call may go ahead, under which licence, and why (the refusal, when refused)."""

    allowed: bool
    licence: Licence | None
    reason: str


def check_call(service: AIService, territory: str, day: datetime.date, recording_ids: tuple[int, ...] = ()) -> Decision:
    """Whether `service` may be called in `territory` on `day`, naming these catalogue recordings."""
    use = USE_OF[service.kind]
    if not service.active:
        return Decision(False, None, f"service {service.name} is disabled")
    licence = service.licence
    if licence is None:
        return Decision(False, None, f"service {service.name} has no licence: every call is refused")
    if licence.licensee_id != service.operator_id:
        return Decision(False, None, f"licence {licence.reference} is not held by the operator {service.operator}")
    used = licensing.uses_this_month(licence, day) if licence.cap_uses is not None else 0
    why = licensing_terms.refusal(licence.terms(), use, territory, day, used)
    if why:
        return Decision(False, licence, f"licence {licence.reference} {why}")
    found = Recording.objects.in_bulk(list(recording_ids))
    for recording_id in recording_ids:
        recording = found.get(recording_id)
        if recording is None:
            return Decision(False, licence, f"recording {recording_id} is not in the catalogue")
        check = licensing.is_licensed(service.operator, use, territory, day, recording=recording)
        if not check:
            return Decision(False, licence, f"recording {recording_id} ({recording.title}): {check.reason}")
    return Decision(True, licence, f"licence {licence.reference} covers {use} in {territory} on {day}")


def call_facts(call: ServiceCall) -> dict[str, Any]:
    """The facts of a call written to the ledger (and compared with the call's row on verification)."""
    return {
        "call": call.pk,
        "service": call.service.name,
        "operation": call.operation,
        "caller": call.caller_id,
        "licensee": call.licensee_id,
        "territory": call.territory,
        "request": call.request,
        "licence": call.licence.reference if call.licence_id else None,
        "allowed": call.status != ServiceCall.Status.REFUSED,
        "reason": call.licence_reason,
    }


def _territory(territory: str) -> str:
    try:
        return normalize_territory(territory)
    except (IdentifierError, ValueError) as exc:
        raise ServiceError(f"territory {territory!r} is not valid: {exc}") from None


def _open_call(
    service: AIService,
    operation: str,
    request: dict[str, Any],
    territory: str,
    caller: Any,
    at: Any,
    recording_ids: tuple[int, ...],
) -> ServiceCall:
    """Check the licence, record the call and its ledger entry; raise ServiceRefusedError (after the
    refusal is committed) when the licence does not allow it."""
    territory = _territory(territory)
    day = licensing._day(at)
    decision = check_call(service, territory, day, recording_ids)
    with transaction.atomic():
        call = ServiceCall.objects.create(
            service=service,
            operation=operation,
            caller=caller if getattr(caller, "pk", None) else None,
            licensee=service.operator,
            territory=territory,
            request=request,
            licence=decision.licence,
            licence_reason=decision.reason,
            status=ServiceCall.Status.OK if decision.allowed else ServiceCall.Status.REFUSED,
        )
        ledger.append("call", call_facts(call), call)
    if not decision.allowed:
        raise ServiceRefusedError(f"not licensed: {decision.reason}", call.pk)
    return call


def _fail(call: ServiceCall, error: str, started: float) -> None:
    with transaction.atomic():
        ServiceCall.objects.filter(pk=call.pk).update(
            status=ServiceCall.Status.FAILED, error=error, duration_ms=_ms(started)
        )
        ledger.append("failed", {"call": call.pk, "error": error}, call)


def _describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def generate(
    service: AIService,
    request: GenerationRequest,
    *,
    territory: str,
    caller: Any = None,
    at: datetime.date | datetime.datetime | None = None,
) -> GeneratedOutput:
    """Generate audio through a licensed generation service; returns the stored output, whose audit
    runs after commit. Raises ServiceRefusedError (nothing sent), or ServiceError (the call failed;
    recorded, nothing stored)."""
    if service.kind != AIService.Kind.GENERATION:
        raise ServiceError(f"service {service.name} is not a generation service")
    call = _open_call(
        service, "generate", request.as_dict(), territory, caller, at, tuple(request.conditioning_recording_ids)
    )
    started = time.monotonic()
    try:
        answer = adapters.generation_adapter(service).generate(request)
        if len(answer.audio) > service.max_output_bytes:  # an adapter that does not bound what it reads
            raise OversizeOutputError(
                f"the service sent {len(answer.audio)} bytes of audio; at most {service.max_output_bytes} are accepted"
            )
        output = _store_output(call, answer.audio, answer.metadata, started)
    except Exception as exc:
        # A broken plug-in adapter (any exception) is a failed call too: the ledger must say so.
        _fail(call, _describe(exc), started)
        raise
    from generation_audit import tasks  # tasks import the audits, which import the fingerprint engine

    transaction.on_commit(lambda: tasks.audit_generated_output.delay(output.pk))
    return output


def _store_output(call: ServiceCall, audio: bytes, metadata: dict[str, Any], started: float) -> GeneratedOutput:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"call-{call.pk}.bin"
        path.write_bytes(audio)
        try:
            asset = fingerprint_actions.store_generated_audio(path, original_name=f"{call.service.name}-{call.pk}")
        except AudioError as exc:
            raise BadResponseError(f"the service's audio is not usable: {exc}") from None
    with transaction.atomic():
        output = GeneratedOutput.objects.create(call=call, asset=asset, metadata=metadata)
        call.response = {"output": output.pk, "sha256": asset.sha256, "bytes": asset.size_bytes}
        call.duration_ms = _ms(started)
        call.save(update_fields=["response", "duration_ms"])
        ledger.append(
            "output",
            {
                "call": call.pk,
                "output": output.pk,
                "sha256": asset.sha256,
                "bytes": asset.size_bytes,
                "duration_s": round(asset.duration_s, 3),
                "metadata": metadata,
            },
            call,
        )
    return output


def recommend(
    service: AIService,
    request: RecommendationRequest,
    *,
    territory: str,
    caller: Any = None,
    at: datetime.date | datetime.datetime | None = None,
) -> tuple[ServiceCall, list[Recommendation]]:
    """Recommendations from a licensed recommendation service, only among recordings the operator
    may recommend in `territory`; every one served is in the call's response (usage for royalties)."""
    if service.kind != AIService.Kind.RECOMMENDATION:
        raise ServiceError(f"service {service.name} is not a recommendation service")
    if request.count < 1 or request.count > 100:
        raise ServiceError("ask for 1 to 100 recommendations")
    call = _open_call(
        service,
        "recommend",
        {
            "seed_recording_id": request.seed_recording_id,
            "seed_artist_id": request.seed_artist_id,
            "count": request.count,
        },
        territory,
        caller,
        at,
        (),
    )
    day = licensing._day(at)
    use = USE_OF[service.kind]
    recordings: dict[int, Recording | None] = {}

    def allowed(recording_id: int) -> bool:
        if recording_id not in recordings:
            recordings[recording_id] = Recording.objects.filter(pk=recording_id).first()
        recording = recordings[recording_id]
        return recording is not None and bool(
            licensing.is_licensed(service.operator, use, call.territory, day, recording=recording)
        )

    started = time.monotonic()
    try:
        served = adapters.recommendation_adapter(service).recommend(request, allowed)[: request.count]
    except Exception as exc:
        _fail(call, _describe(exc), started)
        raise
    served = [r for r in served if allowed(r.recording_id)]  # never trust an adapter with the licence filter
    with transaction.atomic():
        call.response = {"recommended": [[r.recording_id, round(r.similarity, 4)] for r in served]}
        call.duration_ms = _ms(started)
        call.save(update_fields=["response", "duration_ms"])
        ledger.append("recommendation", {"call": call.pk, "served": call.response["recommended"]}, call)
    return call, served


def served_at(call: ServiceCall) -> datetime.date:
    """The day a call was made, in the project's time zone (usage is reported by month)."""
    return timezone.localtime(call.created_at).date()
