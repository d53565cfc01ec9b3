"""Keeps the artists' index in step with the catalogue: a recording's artists changed (added, removed,
cleared) means its references' style rows are brought up to date and the profiles refitted, by a
task queued once the change is committed (it may decode the recording's reference audio)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed

from catalog.models import Recording

logger = logging.getLogger(__name__)


def _queue_refresh(recording_id: int) -> None:
    from fingerprint import tasks

    try:
        tasks.refresh_artist_profiles.delay([recording_id])
    except Exception as exc:
        if tasks.refresh_artist_profiles.app.conf.task_always_eager:
            raise
        # The change is committed; a profile left stale is repaired by build_index, and said so.
        logger.warning("Artists' profiles not refreshed for recording %s (%s): run build_index", recording_id, exc)


def _on_recording_artists(instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any) -> None:
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if reverse:  # artist.recordings changed: the recordings are in pk_set (all of them on clear)
        ids = sorted(pk_set) if pk_set else list(instance.recordings.values_list("pk", flat=True))
    else:
        ids = [instance.pk]
    for recording_id in ids:
        transaction.on_commit(lambda rid=recording_id: _queue_refresh(rid))


def connect() -> None:
    m2m_changed.connect(_on_recording_artists, sender=Recording.artists.through, dispatch_uid="artist-index-refit")
