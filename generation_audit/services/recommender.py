"""The built-in recommendation service: recordings that sound like the seed, only among recordings the
licence filter allows. A seed recording is compared by FAISS neighbours of recording profiles
(fingerprint.profiles); a seed artist by the artists' style profiles (fingerprint.artist_index),
which rank other artists' recordings by how much they sound like the artist.

The licence filter is asked about each candidate, nearest first; when it turns down too many, the
search widens (twice as many neighbours each round) until enough are found, the whole catalogue has
been seen, or MAX_CANDIDATES have been checked. This module loads faiss (through fingerprint.profiles):
generation_audit.services.adapters imports it only when a built-in recommender is called.
"""

from __future__ import annotations

from collections.abc import Callable

from catalog.models import Artist, Recording
from fingerprint import actions as fingerprint_actions
from fingerprint import profiles
from generation_audit.models import AIService
from generation_audit.services.base import Recommendation, RecommendationRequest, ServiceError

# Neighbours asked for in the first round, per recommendation wanted: most catalogues license most
# recordings, so a few spare usually survive the licence filter without a second search.
OVERFETCH = 3
# Candidates the licence filter is asked about at most in one call: each check reads the database,
# so a licence that allows almost nothing must not turn one call into a scan of the whole catalogue.
MAX_CANDIDATES = 5000


class BuiltinRecommender:
    """Recommends recordings by cosine similarity of their profiles (mean segment embeddings)."""

    def __init__(self, service: AIService) -> None:
        self.service = service

    def recommend(self, request: RecommendationRequest, allowed: Callable[[int], bool]) -> list[Recommendation]:
        """Up to `request.count` recordings like the seed, best first, each one `allowed`; never the seed."""
        if request.seed_artist_id is not None:
            return self._like_artist(request, allowed)
        model = fingerprint_actions.embedder()
        if model is None:
            raise ServiceError(
                f"service {self.service.name}: the built-in recommender compares segment embeddings, and this "
                "installation has no usable embedder (fingerprint/weights/embedder.pt missing or unusable, or "
                "CONTENTID_EMBEDDINGS=0)"
            )
        if not Recording.objects.filter(pk=request.seed_recording_id).exists():
            raise ServiceError(f"recording {request.seed_recording_id} is not in the catalogue")
        store = profiles.store(model)
        served: list[Recommendation] = []
        checked: set[int] = set()
        k = request.count * OVERFETCH
        while True:
            found, total = self._neighbours(store, request.seed_recording_id, k)
            for recording_id, similarity in found:
                if recording_id in checked:
                    continue  # seen in an earlier, narrower round
                checked.add(recording_id)
                if allowed(recording_id):
                    served.append(Recommendation(recording_id, similarity))
                if len(served) == request.count:
                    return served
            # found < k: the index had no more to give (an IVF index may return fewer than k).
            if len(found) < k or k >= total or len(checked) >= MAX_CANDIDATES:
                return served
            k *= 2

    @staticmethod
    def _like_artist(request: RecommendationRequest, allowed: Callable[[int], bool]) -> list[Recommendation]:
        """Other artists' recordings nearest the seed artist's style profile, licence-filtered. The style
        table is small (one row per reference), so every candidate is ranked at once."""
        from fingerprint import artist_index

        if not Artist.objects.filter(pk=request.seed_artist_id).exists():
            raise ServiceError(f"artist {request.seed_artist_id} is not in the catalogue")
        ranked = artist_index.store().recordings_like(request.seed_artist_id)  # type: ignore[arg-type]
        if ranked is None:
            raise ServiceError(
                f"artist {request.seed_artist_id} has no style profile: register reference audio of their recordings"
            )
        served: list[Recommendation] = []
        for recording_id, similarity in ranked[:MAX_CANDIDATES]:
            if allowed(recording_id):
                served.append(Recommendation(recording_id, similarity))
                if len(served) == request.count:
                    break
        return served

    @staticmethod
    def _neighbours(store: profiles.ProfileStore, seed: int, k: int) -> tuple[list[tuple[int, float]], int]:
        """The seed's k nearest other recordings, and how many recordings have a profile."""
        try:
            total = len(store)
            found = store.neighbours(seed, min(k, total))
        except profiles.ProfilesUnavailableError as exc:
            raise ServiceError(f"the recording profiles cannot be read: {exc}") from None
        if found is None:
            raise ServiceError(
                f"recording {seed} has no reference audio registered: there is nothing to compare it with"
            )
        return found, total
