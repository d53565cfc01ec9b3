from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from fingerprint import actions
from fingerprint.models import Scan
from tests import audio as test_audio
from tests import factories


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["here", "in a worker"])
def test_build_index_restores_identification_after_the_index_is_lost(
    tmp_path: Path, django_capture_on_commit_callbacks, where: str
) -> None:
    target = factories.registered_recording(tmp_path, seed=11)
    factories.registered_recording(tmp_path, seed=12)
    shutil.rmtree(settings.FINGERPRINT_INDEX_DIR)
    actions._stores.clear()

    out = StringIO()
    call_command("build_index", *(["--in-worker"] if where == "in a worker" else []), stdout=out)

    # In a worker: the task (gpu queue) runs in-process in tests, as it does without a broker.
    assert ("Indexed 2 reference files" if where == "here" else "Queued the rebuild") in out.getvalue()
    upload = test_audio.write(tmp_path / "clip.mp3", test_audio.excerpt(test_audio.piece(11), 5.0, 8.0))
    with django_capture_on_commit_callbacks(execute=True):
        scan = actions.submit_upload(upload)
    scan.refresh_from_db()
    assert scan.status == Scan.Status.DONE
    assert [m.recording for m in scan.matches.all()] == [target]


@pytest.mark.django_db
def test_a_rebuild_on_several_workers_restores_exactly_the_index_registration_built(tmp_path: Path) -> None:
    for seed in (21, 22, 23, 24):
        factories.registered_recording(tmp_path, seed=seed)
    store = actions.landmark_store()
    before = (len(store), store.ref_ids())
    model = actions.embedder()
    vectors_before = (len(actions.vector_index(model)), actions.vector_index(model).ref_ids()) if model else None
    shutil.rmtree(settings.FINGERPRINT_INDEX_DIR)
    actions._stores.clear()
    actions._vector_indexes.clear()

    out = StringIO()
    call_command("build_index", "--workers", "3", stdout=out)

    assert "Indexed 4 reference files" in out.getvalue()
    store = actions.landmark_store()
    assert (len(store), store.ref_ids()) == before
    if model is not None:
        assert (len(actions.vector_index(model)), actions.vector_index(model).ref_ids()) == vectors_before
