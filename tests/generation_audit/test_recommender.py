"""The built-in recommender: recordings that sound like the seed, by FAISS neighbours of recording
profiles, only among recordings licensed for recommendation where the call is made; every one served
is in the ledger and becomes usage for royalties."""

from __future__ import annotations

import datetime
import shutil
from decimal import Decimal
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from django.conf import settings

from catalog.models import Artist, Label, Recording
from fingerprint import actions
from generation_audit import payouts
from generation_audit.models import AIService, LedgerEntry, ServiceCall
from generation_audit.services import gateway
from generation_audit.services.base import RecommendationRequest, ServiceError, ServiceRefusedError
from generation_audit.services.recommender import BuiltinRecommender
from rights import licensing
from rights.models import UsageLine
from tests import audio as test_audio
from tests import factories

pytestmark = pytest.mark.django_db

OCT = datetime.datetime(2026, 10, 14, 12, 0, tzinfo=datetime.UTC)
SECONDS = 12.0  # long enough for a stable profile, short enough to register seven quickly


def at(moment: datetime.datetime):  # type: ignore[no-untyped-def]
    return mock.patch("django.utils.timezone.now", return_value=moment)


def registered(tmp_path: Path, index: int, samples: np.ndarray, label: Label) -> Recording:
    """A catalogue recording whose reference audio is registered through fingerprint.actions."""
    recording = factories.recording(index, label=label)
    actions.register_reference(recording, test_audio.write(tmp_path / f"reference-{index}.wav", samples))
    return recording


class Catalogue:
    """Seven registered recordings: a seed, a noisy copy of it, four other pieces licensed to the
    service everywhere but the US, one licensed only in France and one not licensed at all."""

    def __init__(self, tmp_path: Path) -> None:
        label = Label.objects.create(name="Test Label")
        self.label = factories.party("Harbour Records", label=label)
        self.operator = factories.party("Tunefinder", kind="service")
        seed_audio = test_audio.piece(1, SECONDS)
        self.seed = registered(tmp_path, 1, seed_audio, label)
        self.copy = registered(tmp_path, 2, test_audio.add_noise(seed_audio, 15.0), label)
        self.others = [registered(tmp_path, i, test_audio.piece(i, SECONDS), label) for i in (3, 4, 5)]
        self.french_only = registered(tmp_path, 6, test_audio.piece(6, SECONDS), label)
        self.unlicensed = registered(tmp_path, 7, test_audio.piece(7, SECONDS), label)
        self.licence = self._licence("TF-2026", [self.seed, self.copy, *self.others], ["WORLD"], ["US"])
        self._licence("TF-FR-2026", [self.french_only], ["FR"], [])
        self.service = AIService.objects.create(
            name="tunefinder",
            kind=AIService.Kind.RECOMMENDATION,
            operator=self.operator,
            backend=AIService.Backend.BUILTIN_RECOMMENDER,
            licence=self.licence,
        )

    def _licence(self, reference: str, recordings: list[Recording], where: list[str], excluded: list[str]):  # type: ignore[no-untyped-def]
        return licensing.grant_licence(
            reference=reference,
            licensor=self.label,
            licensee=self.operator,
            recordings=recordings,
            uses=["recommendation"],
            territories=where,
            excluded_territories=excluded,
            start_date=datetime.date(2026, 1, 1),
            fee_model="per_use",
            per_use_rate=Decimal("0.002"),
        )

    def recommend(self, territory: str, count: int = 10, seed: Recording | None = None):  # type: ignore[no-untyped-def]
        with at(OCT):
            return gateway.recommend(
                self.service, RecommendationRequest((seed or self.seed).pk, count), territory=territory
            )


@pytest.fixture
def catalogue(tmp_path: Path) -> Catalogue:
    return Catalogue(tmp_path)


def ids(served: list) -> list[int]:  # type: ignore[type-arg]
    return [r.recording_id for r in served]


def test_it_recommends_the_nearest_licensed_recordings_best_first_never_the_seed(catalogue: Catalogue) -> None:
    call, served = catalogue.recommend("DE")

    assert ids(served)[0] == catalogue.copy.pk  # the same music with noise is the nearest
    assert sorted(ids(served)) == sorted([catalogue.copy.pk, *(r.pk for r in catalogue.others)])
    similarities = [r.similarity for r in served]
    assert similarities == sorted(similarities, reverse=True) and similarities[0] > 0.9
    assert call.status == ServiceCall.Status.OK
    assert call.response["recommended"] == [[r.recording_id, round(r.similarity, 4)] for r in served]


def test_only_recordings_licensed_in_the_calls_territory_are_recommended(catalogue: Catalogue) -> None:
    _, in_germany = catalogue.recommend("DE")
    _, in_france = catalogue.recommend("FR")
    _, two = catalogue.recommend("FR", count=2)

    assert catalogue.french_only.pk not in ids(in_germany)
    assert catalogue.french_only.pk in ids(in_france)
    assert catalogue.unlicensed.pk not in ids(in_germany) + ids(in_france)
    assert catalogue.seed.pk not in ids(in_germany) + ids(in_france)
    assert ids(two) == ids(in_france)[:2]


def test_a_call_in_an_excluded_territory_is_refused_and_recorded(catalogue: Catalogue) -> None:
    with pytest.raises(ServiceRefusedError, match="does not cover territory US") as refused:
        catalogue.recommend("US")

    call = ServiceCall.objects.get(pk=refused.value.call_id)
    assert call.status == ServiceCall.Status.REFUSED and call.response == {}
    assert LedgerEntry.objects.filter(call=call, event="call").exists()


def test_when_the_filter_turns_down_the_nearest_the_search_widens(catalogue: Catalogue) -> None:
    everything = BuiltinRecommender(catalogue.service).recommend(
        RecommendationRequest(catalogue.seed.pk, 6), lambda recording_id: True
    )
    farthest = everything[-1].recording_id

    # One wanted: the first search looks at three neighbours; the only one allowed is the sixth.
    found = BuiltinRecommender(catalogue.service).recommend(
        RecommendationRequest(catalogue.seed.pk, 1), lambda recording_id: recording_id == farthest
    )

    assert len(everything) == 6 and catalogue.seed.pk not in ids(everything)
    assert ids(found) == [farthest]


def test_every_recommendation_served_is_in_the_ledger_and_reported_as_usage(catalogue: Catalogue) -> None:
    calls = [catalogue.recommend("DE", 3)[0], catalogue.recommend("FR", 10)[0], catalogue.recommend("DE", 2)[0]]
    served: dict[tuple[str, str], int] = {}
    for call in calls:
        entry = LedgerEntry.objects.get(call=call, event="recommendation")
        assert entry.payload["served"] == call.response["recommended"]
        for recording_id, _ in call.response["recommended"]:
            key = (Recording.objects.get(pk=recording_id).isrc, call.territory)
            served[key] = served.get(key, 0) + 1

    result = payouts.ai_usage_report(catalogue.service, "2026-10", "EUR")

    lines = UsageLine.objects.filter(report=result.report).select_related("recording", "licence")
    assert {(line.recording.isrc, line.territory): line.quantity for line in lines} == served  # type: ignore[union-attr]
    assert all(line.use == "recommendation" for line in lines)
    assert all(line.amount == Decimal("0.002") * line.quantity for line in lines)  # the per-use rate
    assert {line.licence.reference for line in lines} == {"TF-2026"}  # type: ignore[union-attr]
    assert result.report.platform == catalogue.operator and result.skipped == ()


def test_profiles_come_back_the_same_after_an_index_rebuild(catalogue: Catalogue) -> None:
    _, before = catalogue.recommend("DE")
    shutil.rmtree(Path(settings.FINGERPRINT_INDEX_DIR) / "profiles")

    actions.rebuild_index()
    _, after = catalogue.recommend("DE")

    assert ids(after) == ids(before)
    assert [r.similarity for r in after] == pytest.approx([r.similarity for r in before], abs=1e-5)


def test_a_seed_without_reference_audio_fails_with_the_reason(catalogue: Catalogue) -> None:
    silent = factories.recording(8)

    with pytest.raises(ServiceError, match="no reference audio"):
        catalogue.recommend("DE", seed=silent)

    assert ServiceCall.objects.get(request__seed_recording_id=silent.pk).status == ServiceCall.Status.FAILED


def test_without_embedder_weights_the_service_says_it_cannot_recommend(catalogue: Catalogue, settings: object) -> None:
    settings.FINGERPRINT_EMBEDDINGS = False  # type: ignore[attr-defined]

    with pytest.raises(ServiceError, match="no usable embedder"):
        catalogue.recommend("DE")


def test_recordings_like_an_artist_are_other_artists_that_sound_like_them_and_licensed(tmp_path: Path) -> None:
    artists = factories.artist_catalogue(tmp_path)  # three artists, three recordings each, in their own sound
    soundalike = Artist.objects.create(name="Soundalike")  # plays in artist 1's style
    alike = [factories.artist_recording(tmp_path, soundalike, 1, 500 + n) for n in range(2)]
    operator = factories.party("Tunefinder", kind="service")
    everything = list(Recording.objects.all())
    licence = licensing.grant_licence(
        reference="TF-ALL", licensor=factories.party("Label"), licensee=operator, recordings=everything,
        uses=["recommendation"], territories=["WORLD"], start_date=datetime.date(2026, 1, 1), fee_model="per_use",
        per_use_rate=Decimal("0.002"),
    )  # fmt: skip
    licence.recordings.remove(alike[1])  # one of the soundalike's recordings may not be recommended
    service = AIService.objects.create(
        name="tunefinder", kind=AIService.Kind.RECOMMENDATION, operator=operator,
        backend=AIService.Backend.BUILTIN_RECOMMENDER, licence=licence,
    )  # fmt: skip

    with at(OCT):
        call, served = gateway.recommend(
            service, RecommendationRequest(seed_artist_id=artists[1].pk, count=3), territory="DE"
        )

    assert ids(served)[0] == alike[0].pk  # the other artist in the same sound comes first
    assert alike[1].pk not in ids(served)  # not licensed for recommendation
    assert not set(ids(served)) & set(artists[1].recordings.values_list("pk", flat=True))  # never their own
    assert call.request["seed_artist_id"] == artists[1].pk
    with pytest.raises(ServiceError, match="name one seed"):
        RecommendationRequest(seed_recording_id=alike[0].pk, seed_artist_id=artists[1].pk)
