"""URLs of the review pages (included in rights.web.urls, namespace `web`): the staff review queue, the
claims list, and one claim's page with its audio, alignment plot and spectrograms."""

from __future__ import annotations

from django.urls import URLPattern, path

from rights.web import claim_detail, claims, media, review

urlpatterns: list[URLPattern] = [
    path("review/", review.review_queue, name="review"),
    path("review/<int:pk>/<str:decision>/", review.review_decide, name="review-decide"),
    path("claims/", claims.claim_list, name="claims"),
    path("claims/<int:pk>/", claim_detail.claim_detail, name="claim"),
    path("claims/<int:pk>/alignment.svg", claim_detail.claim_alignment, name="claim-alignment"),
    path("claims/<int:pk>/spectrogram/<str:side>.png", claim_detail.claim_spectrogram, name="claim-spectrogram"),
    path("claims/<int:pk>/audio/<str:side>", media.claim_audio, name="claim-audio"),
]
