"""The gateway every AI-service call goes through: an unlicensed call never reaches the service, and
every call, allowed, refused or failed, is on record and in the ledger."""

from __future__ import annotations

import datetime
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from catalog.models import AudioAsset, Recording
from generation_audit import ledger
from generation_audit.models import AIService, GeneratedOutput, LedgerEntry, ServiceCall
from generation_audit.services import gateway
from generation_audit.services.base import (
    BadResponseError,
    GenerationRequest,
    Recommendation,
    RecommendationRequest,
    ServiceError,
    ServiceRefusedError,
    ServiceTimeoutError,
)
from rights import licensing
from rights.models import Licence
from tests import factories
from tests.generation_audit.service_server import ServiceServer, licensed_service, send, wav

pytestmark = pytest.mark.django_db

D = datetime.date
DAY = D(2026, 6, 1)


class CatalogueOrderRecommender:
    """A careless plug-in recommender: every other recording in the catalogue, ignoring the licence
    filter it is handed, so the gateway's own filter is what keeps unlicensed recordings out."""

    made: list[int] = []  # ids of the services it was constructed for: a refused call builds none

    def __init__(self, service: AIService) -> None:
        self.made.append(service.pk)

    def recommend(self, request: RecommendationRequest, allowed: Any) -> list[Recommendation]:
        others = Recording.objects.exclude(pk=request.seed_recording_id).order_by("pk")
        return [Recommendation(r.pk, 0.9 - i / 10) for i, r in enumerate(others)]


class BrokenRecommender:
    """A plug-in with a bug in it."""

    def __init__(self, service: AIService) -> None:
        pass

    def recommend(self, request: RecommendationRequest, allowed: Any) -> list[Recommendation]:
        raise RuntimeError("index file is corrupt")


@dataclass
class World:
    server: ServiceServer
    service: AIService
    licence: Licence
    licensed: Recording
    unlicensed: Recording


@pytest.fixture
def world() -> Iterator[World]:
    """A generation service over HTTP, licensed for AI generation worldwide in 2026 for one recording."""
    server = ServiceServer()
    licensed, unlicensed = factories.recording(1), factories.recording(2)
    service = licensed_service(server.url, [licensed])
    assert service.licence is not None
    yield World(server, service, service.licence, licensed, unlicensed)
    server.close()


def events() -> list[str]:
    return list(LedgerEntry.objects.order_by("seq").values_list("event", flat=True))


# --- refused: nothing is sent --------------------------------------------------------------------------


def _no_licence(w: World) -> None:
    w.service.licence = None
    w.service.save()


def _another_licensee(w: World) -> None:
    w.licence.licensee = factories.party("Someone Else", kind="platform")
    w.licence.save()


def _streaming_only(w: World) -> None:
    w.licence.uses = ["streaming"]
    w.licence.save()


def _france_excluded(w: World) -> None:
    w.licence.excluded_territories = ["FR"]
    w.licence.save()


def _revoked(w: World) -> None:
    licensing.revoke_licence(w.licence, on=D(2026, 3, 1))


def _unchanged(w: World) -> None:
    pass


@pytest.mark.parametrize(
    ("change", "territory", "at", "condition_on_unlicensed", "why"),
    [
        (_no_licence, "GB", DAY, False, "service tunesmith has no licence: every call is refused"),
        (_another_licensee, "GB", DAY, False, "licence AI-GEN-2026 is not held by the operator Generator Co"),
        (_streaming_only, "GB", DAY, False, "licence AI-GEN-2026 does not grant ai_generation (grants streaming)"),
        (_france_excluded, "FR", DAY, False, "licence AI-GEN-2026 does not cover territory FR"),
        (_unchanged, "GB", D(2027, 2, 1), False, "licence AI-GEN-2026 is not in its term on 2027-02-01"),
        (_revoked, "GB", DAY, False, "licence AI-GEN-2026 was revoked from 2026-03-01"),
        (_unchanged, "GB", DAY, True, "(Track 2): no licence of this licensee covers"),
    ],
    ids=["no-licence", "another-licensee", "no-ai-generation", "territory-excluded", "expired", "revoked",
         "unlicensed-conditioning"],
)  # fmt: skip
def test_an_unlicensed_generation_is_refused_before_anything_is_sent(  # type: ignore[no-untyped-def]
    world, change, territory, at, condition_on_unlicensed, why
) -> None:
    change(world)
    world.service.refresh_from_db()
    conditioning = (world.licensed.pk, world.unlicensed.pk) if condition_on_unlicensed else (world.licensed.pk,)

    with pytest.raises(ServiceRefusedError, match="not licensed") as refused:
        gateway.generate(
            world.service, GenerationRequest("a waltz", conditioning), territory=territory, caller=None, at=at
        )

    assert world.server.requests == []
    call = ServiceCall.objects.get()
    assert refused.value.call_id == call.pk
    assert call.status == ServiceCall.Status.REFUSED and why in call.licence_reason
    entry = LedgerEntry.objects.get()
    assert (entry.event, entry.call_id, entry.payload["allowed"]) == ("call", call.pk, False)
    assert why in entry.payload["reason"] and entry.payload["territory"] == territory
    assert not GeneratedOutput.objects.exists() and ledger.verify().ok


def test_a_licensed_generation_is_stored_and_ledgered_by_the_audio_hash(  # type: ignore[no-untyped-def]
    world, django_capture_on_commit_callbacks
) -> None:
    audio = wav(4)
    world.server.answer = send(audio, "audio/wav", {"X-Generation-Metadata": '{"model": "ts-2"}'})

    with django_capture_on_commit_callbacks(execute=False) as queued:
        output = gateway.generate(
            world.service, GenerationRequest("a waltz", (world.licensed.pk,)), territory="gb", at=DAY
        )

    assert len(queued) == 1  # the output audit, queued for after commit
    assert world.server.requests[0]["body"]["conditioning"][0]["isrc"] == world.licensed.isrc
    sha = hashlib.sha256(audio).hexdigest()
    assert output.asset.kind == AudioAsset.Kind.GENERATED and output.asset.sha256 == sha
    assert output.audit_status == GeneratedOutput.Audit.PENDING and output.metadata == {"model": "ts-2"}
    call = output.call
    assert call.status == ServiceCall.Status.OK and call.territory == "GB" and call.licence == world.licence
    assert call.response["sha256"] == sha
    assert events() == ["call", "output"]
    recorded = LedgerEntry.objects.get(event="output").payload
    assert (recorded["sha256"], recorded["output"], recorded["bytes"]) == (sha, output.pk, len(audio))
    assert ledger.verify().ok


@pytest.mark.parametrize(
    ("answer", "error", "why"),
    [
        (send(b"upstream exploded", "text/plain", status=500), BadResponseError, "HTTP 500"),
        (lambda handler: time.sleep(1.0), ServiceTimeoutError, "did not answer within 0.3 s"),
    ],
    ids=["server-error", "timeout"],
)
def test_a_failed_generation_is_recorded_and_stores_nothing(world, answer, error, why) -> None:  # type: ignore[no-untyped-def]
    world.server.answer = answer
    world.service.timeout_s = 0.3

    with pytest.raises(error, match=why):
        gateway.generate(world.service, GenerationRequest("a waltz"), territory="GB", at=DAY)

    call = ServiceCall.objects.get()
    assert call.status == ServiceCall.Status.FAILED and why in call.error
    assert events() == ["call", "failed"]
    assert why in LedgerEntry.objects.get(event="failed").payload["error"]
    assert not AudioAsset.objects.exists() and not GeneratedOutput.objects.exists()
    assert ledger.verify().ok


def test_a_recommendation_service_cannot_generate(world) -> None:  # type: ignore[no-untyped-def]
    world.service.kind = AIService.Kind.RECOMMENDATION

    with pytest.raises(ServiceError, match="not a generation service"):
        gateway.generate(world.service, GenerationRequest("a waltz"), territory="GB", at=DAY)

    assert not ServiceCall.objects.exists() and world.server.requests == []


# --- recommendation ---------------------------------------------------------------------------------------


def recommender(adapter: type, uses: list[str], recordings: list[Recording]) -> AIService:
    operator = factories.party("Streamer", kind="platform")
    licence = licensing.grant_licence(
        reference="REC-2026", licensor=factories.party("Label"), licensee=operator, uses=uses,
        territories=["GB", "IE"], start_date=D(2026, 1, 1), fee_model="per_use", per_use_rate="0.001",
        recordings=recordings,
    )  # fmt: skip
    return AIService.objects.create(
        name="similar", kind=AIService.Kind.RECOMMENDATION, operator=operator, backend=AIService.Backend.PYTHON,
        adapter_path=f"{__name__}.{adapter.__name__}", licence=licence,
    )  # fmt: skip


@pytest.fixture
def catalogue() -> list[Recording]:
    CatalogueOrderRecommender.made.clear()
    return [factories.recording(i) for i in (1, 2, 3)]


def test_an_unlicensed_recommendation_is_filtered_out(catalogue) -> None:  # type: ignore[no-untyped-def]
    seed, licensed, unlicensed = catalogue
    service = recommender(CatalogueOrderRecommender, ["recommendation"], [seed, licensed])

    call, served = gateway.recommend(service, RecommendationRequest(seed.pk, count=5), territory="IE", at=DAY)

    offered = CatalogueOrderRecommender(service).recommend(RecommendationRequest(seed.pk), lambda _: True)
    assert [r.recording_id for r in offered] == [licensed.pk, unlicensed.pk]  # what the plug-in offered
    assert [r.recording_id for r in served] == [licensed.pk]  # what the gateway let through
    assert call.response == {"recommended": [[licensed.pk, 0.9]]}
    assert events() == ["call", "recommendation"]
    assert LedgerEntry.objects.get(event="recommendation").payload == {"call": call.pk, "served": [[licensed.pk, 0.9]]}
    assert ledger.verify().ok


def test_a_recommender_without_the_use_is_never_asked(catalogue) -> None:  # type: ignore[no-untyped-def]
    service = recommender(CatalogueOrderRecommender, ["streaming"], catalogue)

    with pytest.raises(ServiceRefusedError, match="does not grant recommendation"):
        gateway.recommend(service, RecommendationRequest(catalogue[0].pk), territory="GB", at=DAY)

    assert CatalogueOrderRecommender.made == []
    assert ServiceCall.objects.get().status == ServiceCall.Status.REFUSED and events() == ["call"]


def test_a_crashing_plug_in_is_a_failed_call_on_record(catalogue) -> None:  # type: ignore[no-untyped-def]
    service = recommender(BrokenRecommender, ["recommendation"], catalogue)

    with pytest.raises(RuntimeError):
        gateway.recommend(service, RecommendationRequest(catalogue[0].pk), territory="GB", at=DAY)

    call = ServiceCall.objects.get()
    assert (call.status, call.error) == (ServiceCall.Status.FAILED, "RuntimeError: index file is corrupt")
    assert events() == ["call", "failed"] and ledger.verify().ok
