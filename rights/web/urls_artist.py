"""URLs of the artist pages (included in rights.web.urls, namespace `web`)."""

from __future__ import annotations

from django.urls import URLPattern, path

from rights.web import artist

urlpatterns: list[URLPattern] = [
    path("artist/", artist.portal, name="artist"),
    path("artist/works/new/", artist.work_new, name="artist-work-new"),
    path("artist/recordings/new/", artist.recording_new, name="artist-recording-new"),
    path("artist/recordings/<int:recording_id>/reference/", artist.reference, name="artist-reference"),
    path("artist/references/<int:upload_id>/status/", artist.reference_status, name="artist-reference-status"),
    path("artist/splits/", artist.split_list, name="artist-splits"),
    path("artist/splits/new/", artist.split_new, name="artist-split-new"),
    path("artist/ai-likeness/", artist.ai_consent, name="artist-ai-consent"),
    # The registration forms check identifiers as they are typed (any logged-in role may ask).
    path("validate/<str:kind>", artist.validate_identifier, name="validate-identifier"),
]
