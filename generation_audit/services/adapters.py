"""Which adapter reaches a service: the built-in recommender, the HTTP adapter, or a Python class
named by dotted path (constructed with the AIService row). Imported lazily: the built-in
recommender pulls in the FAISS index, the HTTP adapter only the standard library."""

from __future__ import annotations

from django.utils.module_loading import import_string

from generation_audit.models import AIService
from generation_audit.services.base import GenerationAdapter, RecommendationAdapter, ServiceError


def _python_adapter(service: AIService) -> object:
    try:
        cls = import_string(service.adapter_path)
    except ImportError as exc:
        raise ServiceError(
            f"service {service.name}: adapter {service.adapter_path!r} cannot be imported ({exc})"
        ) from None
    return cls(service)


def generation_adapter(service: AIService) -> GenerationAdapter:
    """The adapter that generates audio for `service`."""
    if service.backend == AIService.Backend.HTTP:
        from generation_audit.services.http import HttpGenerationAdapter

        return HttpGenerationAdapter(service)
    if service.backend == AIService.Backend.PYTHON:
        return _python_adapter(service)  # type: ignore[return-value]
    raise ServiceError(f"service {service.name}: backend {service.backend} cannot generate audio")


def recommendation_adapter(service: AIService) -> RecommendationAdapter:
    """The adapter that recommends recordings for `service`."""
    if service.backend == AIService.Backend.BUILTIN_RECOMMENDER:
        from generation_audit.services.recommender import BuiltinRecommender

        return BuiltinRecommender(service)
    if service.backend == AIService.Backend.PYTHON:
        return _python_adapter(service)  # type: ignore[return-value]
    raise ServiceError(f"service {service.name}: backend {service.backend} cannot recommend")
