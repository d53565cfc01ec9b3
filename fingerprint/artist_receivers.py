"""Keeps the artists' index in step with the catalogue: a recording's artists changed (added, removed,
cleared) means the profiles are refitted once the change is committed."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed

from catalog.models import Recording

logger = logging.getLogger(__name__)


def _refit() -> None:
    from fingerprint import artist_index

    try:
        target = artist_index.store()
        if target.styles_path.exists():  # nothing registered yet: nothing to refit
            target.refit()
    except Exception:  # the catalogue change is committed; a stale profile must not undo or fail it
        logger.exception("Could not refit the artists' profiles; run python manage.py build_index")


def _on_recording_artists(action: str, **kwargs: Any) -> None:
    if action in {"post_add", "post_remove", "post_clear"}:
        transaction.on_commit(_refit)


def connect() -> None:
    m2m_changed.connect(_on_recording_artists, sender=Recording.artists.through, dispatch_uid="artist-index-refit")
