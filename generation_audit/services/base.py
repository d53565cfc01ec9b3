"""What a service adapter is given and gives back, and the errors a call can end with.

An adapter wraps one way of reaching a service; it knows nothing of licences or the ledger (the
gateway does that). Generation adapters implement `generate`, recommendation adapters `recommend`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class ServiceError(Exception):
    """A call could not be completed; the message says why in terms the caller can act on."""


class ServiceRefusedError(ServiceError):
    """The licence does not allow this call: nothing was sent to the service."""

    def __init__(self, message: str, call_id: int | None = None) -> None:
        super().__init__(message)
        self.call_id = call_id


class ServiceTimeoutError(ServiceError):
    """The service did not answer within the service's timeout."""


class BadResponseError(ServiceError):
    """The service answered with something that is not a valid response (status, shape, audio)."""


class OversizeOutputError(BadResponseError):
    """The service sent more audio than the service's `max_output_bytes` allows."""


@dataclass(frozen=True)
class GenerationRequest:
    """A request to generate audio: the prompt, optional catalogue recordings to condition on (by id;
    the gateway checks each is licensed for AI generation) and free parameters (duration, seed...)."""

    prompt: str
    conditioning_recording_ids: tuple[int, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "conditioning_recording_ids": list(self.conditioning_recording_ids),
            "parameters": self.parameters,
        }


@dataclass(frozen=True)
class GeneratedAudio:
    """What a generation service returned: the audio bytes, their declared media type, and metadata
    (model version, seed, anything the service says of the output)."""

    audio: bytes
    content_type: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecommendationRequest:
    """Recordings like the seed, `count` of them at most. The seed is a recording (by catalogue id), or
    an artist (by catalogue id: recordings of other artists that sound like them, by style profile)."""

    seed_recording_id: int | None = None
    count: int = 10
    seed_artist_id: int | None = None

    def __post_init__(self) -> None:
        if (self.seed_recording_id is None) == (self.seed_artist_id is None):
            raise ServiceError("name one seed: a recording or an artist")


@dataclass(frozen=True)
class Recommendation:
    """One recommended recording and its similarity to the seed (cosine, -1..1)."""

    recording_id: int
    similarity: float


class GenerationAdapter(Protocol):
    def generate(self, request: GenerationRequest) -> GeneratedAudio: ...


class RecommendationAdapter(Protocol):
    def recommend(
        self,
        request: RecommendationRequest,
        allowed: Any,  # allowed: Callable[[int], bool], the licence filter
    ) -> list[Recommendation]: ...
