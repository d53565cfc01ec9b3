"""The identification verbs: register reference audio, accept an upload, identify a scan.

Views, admin, commands and tasks call these; nothing here knows about rights (they listen to
`fingerprint.signals.scan_identified`).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from catalog.checksums import sha256_file
from catalog.models import Artist, AudioAsset, Recording, Work
from catalog.stored_files import store_copy
from fingerprint import audio, intake, landmarks, matching, params, transform
from fingerprint.landmark_store import IndexMismatchError, LandmarkStore
from fingerprint.models import ArtistMatch, Match, ReferenceFingerprint, Scan, WorkMatch
from fingerprint.signals import scan_finished, scan_identified

if TYPE_CHECKING:
    from fingerprint import artist_index, works
    from fingerprint.embedding import Embedder
    from fingerprint.index import SearchResult, VectorIndex
    from fingerprint.work_store import WorkStore

logger = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

# A reference with fewer landmarks than this could never gather MIN_ALIGNED_HASHES.
MIN_REFERENCE_LANDMARKS = params.MIN_ALIGNED_HASHES
WORK_ID_PREFIX = "work:"  # catalogue works are "work:<pk>" in the work store; other ids are the bench CLI's

_stores: dict[Path, LandmarkStore] = {}
_vector_indexes: dict[tuple[Path, str], VectorIndex] = {}


class ReferenceConflictError(ValueError):
    """The audio is already registered as the reference of another recording (or rendition of another work)."""


def landmark_store() -> LandmarkStore:
    """The process's store for the configured index directory (keeps its loaded generation)."""
    directory = Path(settings.FINGERPRINT_INDEX_DIR)
    if directory not in _stores:
        _stores[directory] = LandmarkStore(directory)
    return _stores[directory]


def embedder() -> Embedder | None:
    """The shipped segment embedder, or None when no usable weights ship with this code (landmarks only)."""
    if not settings.FINGERPRINT_EMBEDDINGS:
        return None
    from fingerprint import embedding  # torch loads only where embeddings are used

    return embedding.default_embedder() if embedding.weights_available() else None


def vector_index(model: Embedder) -> VectorIndex:
    """The process's vector index for the configured directory and this embedder's model version."""
    from fingerprint.index import VectorIndex

    key = (Path(settings.FINGERPRINT_INDEX_DIR) / "vectors", model.model_version)
    if key not in _vector_indexes:
        _vector_indexes[key] = VectorIndex(key[0], params.EMBEDDING_DIM, model.model_version)
    return _vector_indexes[key]


def load_indexes() -> None:
    """Load the landmark index, the embedder and its vector index now: a batch of queries then pays
    for them once, before its clock starts, and query threads never race to load them."""
    landmark_store().generation()
    model = embedder()
    if model is not None:
        len(vector_index(model))


def decode_for_analysis(path: Path, sample_rate: int = params.ANALYSIS_SAMPLE_RATE) -> audio.DecodedAudio:
    """Decode with the configured size and duration limits."""
    return audio.decode(
        path, sample_rate, max_bytes=settings.AUDIO_MAX_BYTES, max_duration_s=settings.AUDIO_MAX_DURATION_S
    )


def validate_upload(path: Path) -> audio.AudioInfo:
    """Refuse unusable audio (AudioError) under the configured limits, as cheaply as possible."""
    return audio.validate(path, max_bytes=settings.AUDIO_MAX_BYTES, max_duration_s=settings.AUDIO_MAX_DURATION_S)


def _new_asset(
    path: Path, sha256: str, info: audio.AudioInfo, kind: str, original_name: str, recording: Recording | None
) -> AudioAsset:
    asset = AudioAsset(
        kind=kind,
        recording=recording,
        original_name=original_name or path.name,
        sha256=sha256,
        size_bytes=path.stat().st_size,
        format=info.format,
        codec=info.codec,
        sample_rate=info.sample_rate,
        channels=info.channels,
        duration_s=info.duration_s,
    )
    store_copy(asset.file, path)
    return asset


def store_generated_audio(path: Path, original_name: str = "") -> AudioAsset:
    """Validate and store audio an AI service generated (AudioError, with nothing stored, when it is
    not usable audio); the same bytes again give the asset already stored."""
    sha256 = sha256_file(path)
    existing = AudioAsset.objects.filter(kind=AudioAsset.Kind.GENERATED, sha256=sha256).first()
    if existing is not None:
        return existing
    asset = _new_asset(path, sha256, validate_upload(path), AudioAsset.Kind.GENERATED, original_name, None)
    try:
        with transaction.atomic():
            asset.save()
    except IntegrityError:  # the same output stored by a concurrent call: keep that one
        _delete_file(asset)
        return AudioAsset.objects.get(kind=AudioAsset.Kind.GENERATED, sha256=sha256)
    except BaseException:
        _delete_file(asset)
        raise
    return asset


def _delete_file(asset: AudioAsset | None) -> None:
    if asset is not None and asset.file.name:
        asset.file.storage.delete(asset.file.name)


def _record_fingerprint(asset: AudioAsset, marks: landmarks.Landmarks) -> None:
    ReferenceFingerprint.objects.update_or_create(
        asset=asset,
        defaults={"engine_version": params.ENGINE_VERSION, "landmark_count": len(marks), "indexed_at": timezone.now()},
    )


@dataclass
class Registration:
    """One reference file to register, and what became of it."""

    recording: Recording
    path: Path
    original_name: str = ""
    asset: AudioAsset | None = None
    error: Exception | None = None
    skipped: bool = False  # already registered with the current engine: nothing to do


@dataclass
class _Analysed:
    registration: Registration
    existing: AudioAsset | None
    info: audio.AudioInfo
    marks: landmarks.Landmarks
    vectors: np.ndarray | None = None  # segment embeddings (n, EMBEDDING_DIM), when an embedder ships
    vector_times_s: np.ndarray | None = None
    style_rows: np.ndarray | None = None  # for the artists' index (fingerprint.artist_index)
    new_asset: AudioAsset | None = None  # unsaved, its copy of the file stored, when `existing` is None


def register_reference(recording: Recording, path: str | Path, original_name: str = "") -> AudioAsset:
    """Store, fingerprint and index reference audio for `recording`.

    Idempotent for the same bytes and recording. Raises audio.AudioError for unusable audio and
    ReferenceConflictError when the bytes are another recording's reference; in either case no
    row, file or index entry is left behind.
    """
    (done,) = register_references([Registration(recording, Path(path), original_name)])
    if done.error is not None:
        raise done.error
    assert done.asset is not None
    return done.asset


def register_references(
    registrations: list[Registration], progress: Callable[[Registration], None] | None = None, workers: int = 1
) -> list[Registration]:
    """Register many reference files, indexing them in one new index generation.

    Each file is analysed on its own: a file that cannot be used gets its `error` and is left out,
    without stopping the others. The usable ones are stored and indexed together, so a batch costs
    one index rewrite; if that fails, none of the batch's rows, files or index entries remain.
    `workers` files are decoded and fingerprinted at once, in threads (decoding, numpy, torch and
    faiss release the GIL); the database is read and written on the calling thread only.
    """
    checked: list[_Checked] = []
    analysed: list[_Analysed] = []
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for registration, digest in zip(registrations, pool.map(_digest, registrations), strict=True):
            try:
                check = _check_reference(registration, digest)
            except (ReferenceConflictError, OSError) as exc:
                registration.error = exc
            else:
                if check is not None:
                    checked.append(check)
                    continue
                registration.skipped = True
            if progress is not None:
                progress(registration)
        if checked:
            embedder()  # loaded once here, not raced for by the worker threads
        running: dict[int, Future[_Analysed | Exception]] = {}
        try:
            # Largest files first, so the batch does not end with one worker on a long file while
            # the others idle; the results are still taken, and stored, in the batch's order.
            by_size = sorted(checked, key=lambda check: _size(check.registration.path), reverse=True)
            running = {id(check): pool.submit(_analyse_reference, check) for check in by_size}
            for check in checked:
                outcome = running[id(check)].result()
                if isinstance(outcome, _Analysed):
                    analysed.append(outcome)
                else:
                    check.registration.error = outcome
                if progress is not None:
                    progress(check.registration)
        except BaseException:  # a worker failed unexpectedly, or an interrupt: no stored copy is left
            pool.shutdown(cancel_futures=True)  # waits for the files being analysed
            for future in running.values():
                if future.done() and not future.cancelled() and future.exception() is None:
                    outcome = future.result()
                    if isinstance(outcome, _Analysed):
                        _delete_file(outcome.new_asset)
            raise
    if analysed:
        _store_and_index(analysed)
    return registrations


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # gone since it was checked: its analysis reports that
        return 0


def _digest(registration: Registration) -> str | OSError:
    """The file's sha256 ("" for a missing or empty file, which decoding then refuses), read on a
    worker thread; the error that stops reading it is returned."""
    path = registration.path
    try:
        return sha256_file(path) if path.exists() and path.stat().st_size else ""
    except OSError as exc:
        return exc


@dataclass(frozen=True)
class _Checked:
    """A reference file the database says needs fingerprinting (read on the calling thread)."""

    registration: Registration
    sha256: str
    existing: AudioAsset | None
    styled: bool  # the recording has an artist, so the file also shapes the artists' index


def _check_reference(registration: Registration, sha256: str | OSError) -> _Checked | None:
    """The database's side of a registration; None when the file is already registered with this engine."""
    if isinstance(sha256, OSError):
        raise sha256
    existing = (
        AudioAsset.objects.filter(kind=AudioAsset.Kind.REFERENCE, sha256=sha256).select_related("recording").first()
    )
    if existing is not None:
        if existing.recording_id != registration.recording.pk:
            raise ReferenceConflictError(
                f"This audio is already the reference of recording {existing.recording}; "
                "one master registered twice must be resolved by staff, not claimed twice."
            )
        if ReferenceFingerprint.objects.filter(asset=existing, engine_version=params.ENGINE_VERSION).exists():
            registration.asset = existing
            return None
    return _Checked(registration, sha256, existing, registration.recording.artists.exists())


def _analyse_reference(check: _Checked) -> _Analysed | Exception:
    """Decode and fingerprint one file (no database access: this runs on worker threads); the error
    that makes the file unusable is returned, not raised, so the other files go on."""
    try:
        decoded = decode_for_analysis(check.registration.path)
        marks = landmarks.extract(decoded.samples)
        if len(marks) < MIN_REFERENCE_LANDMARKS:
            raise audio.AudioError("no_landmarks", "The audio has too little spectral structure to fingerprint.")
        item = _Analysed(check.registration, check.existing, decoded.info, marks)
        if check.styled:  # only a recording with an artist shapes a profile
            item.style_rows = _artist_index().registration_rows(check.registration.path)
        model = embedder()
        if model is not None:
            item.vectors, item.vector_times_s = model.embed_audio(decoded.samples)
        if check.existing is None:  # the copy is stored here too, beside the other workers' analysis
            registration = check.registration
            item.new_asset = _new_asset(
                registration.path,
                check.sha256,
                decoded.info,
                AudioAsset.Kind.REFERENCE,
                registration.original_name,
                registration.recording,
            )
    except (audio.AudioError, OSError) as exc:
        return exc
    return item


def _store_and_index(items: list[_Analysed]) -> None:
    store = landmark_store()
    created = [item.new_asset for item in items if item.new_asset is not None]  # stored by the workers
    indexed: list[int] = []
    indexed_vectors = profiled = styled = False
    recording_ids = {item.registration.recording.pk for item in items}
    try:
        with transaction.atomic():
            for item in items:
                registration = item.registration
                asset = item.existing
                if asset is None:
                    asset = item.new_asset
                    assert asset is not None
                    asset.save()
                _record_fingerprint(asset, item.marks)
                recording = registration.recording
                if recording.duration_s is None:
                    recording.duration_s = item.info.duration_s
                    recording.save(update_fields=["duration_s"])
                registration.asset = asset
            # Last inside the transaction: if indexing fails, the rows roll back with it.
            batch = [(item.registration.asset.pk, item.marks) for item in items]  # type: ignore[union-attr]
            model = embedder()
            if model is not None:
                vector_index(model).add_many(
                    (item.registration.asset.pk, item.vectors, item.vector_times_s)  # type: ignore[union-attr]
                    for item in items
                    if item.vectors is not None
                )
                indexed_vectors = True
            store.add_many(batch)
            indexed = [ref_id for ref_id, _ in batch]
            if model is not None:  # a recording's profile averages all its references: see fingerprint.profiles
                from fingerprint import profiles

                profiled = True
                known = {pk: i.vectors for (pk, _), i in zip(batch, items, strict=True) if i.vectors is not None}
                profiles.refresh(model, recording_ids, known)
            styled = True
            styled_rows = {
                i.registration.asset.pk: (i.registration.recording.pk, i.style_rows)  # type: ignore[union-attr]
                for i in items
                if i.style_rows is not None
            }
            if styled_rows:
                _artist_index().store().update(styled_rows)
    except BaseException:
        for ref_id in indexed:
            store.remove(ref_id)
        model = embedder() if indexed_vectors else None
        for item in items:
            if model is not None and item.registration.asset is not None:
                vector_index(model).remove(item.registration.asset.pk)
        for asset in created:
            _delete_file(asset)
        if styled:
            _restore_artist_rows([asset.pk for asset in created if asset.pk is not None])
        for item in items:
            item.registration.asset = None
        if profiled and model is not None:
            profiles.restore(model, recording_ids)
        raise


def _restore_artist_rows(created_asset_ids: list[int]) -> None:
    """After a failed registration: the new assets' style rows out of the artists' index again. Best
    effort, logged, like profiles.restore (another error is on its way up)."""
    try:
        _artist_index().store().update(dict.fromkeys(created_asset_ids))
    except Exception:
        logger.exception("Could not restore the artists' index; run python manage.py build_index")


def _artist_index():  # type: ignore[no-untyped-def]
    """fingerprint.artist_index, imported late like the embedder: faiss loads only where it is used."""
    from fingerprint import artist_index

    return artist_index


def work_store() -> WorkStore:
    """The process's work (composition) store; imported late, like the embedder: librosa and faiss load
    only where works are registered or identified."""
    from fingerprint.work_store import work_store as store

    return store()


def store_work_id(work: Work) -> str:
    """The id a catalogue work has in the work store."""
    return f"{WORK_ID_PREFIX}{work.pk}"


def catalogue_work_pk(store_id: str | None) -> int | None:
    """The Work pk behind a work store id, or None for ids the catalogue did not register."""
    if store_id is None or not store_id.startswith(WORK_ID_PREFIX):
        return None
    digits = store_id.removeprefix(WORK_ID_PREFIX)
    return int(digits) if digits.isdigit() else None


def register_rendition(work: Work, path: str | Path, original_name: str = "") -> AudioAsset:
    """Store a rendition of `work` (a performance of the composition) and register it for work identification.

    The work store keeps one rendition per work, so this one replaces the work's previous one there.
    Idempotent for the same bytes and work. Raises audio.AudioError for unusable audio and
    ReferenceConflictError when the bytes are another work's rendition; then no row or file is left.
    """
    from fingerprint import work_features, works

    path = Path(path)
    sha256 = sha256_file(path) if path.exists() and path.stat().st_size else ""
    store = work_store()
    existing = AudioAsset.objects.filter(kind=AudioAsset.Kind.RENDITION, sha256=sha256).select_related("work").first()
    if existing is not None:
        if existing.work_id != work.pk:
            raise ReferenceConflictError(f"This audio is already the rendition of work {existing.work}.")
        if store_work_id(work) in store.ids():
            return existing
    info = validate_upload(path)
    decoded = decode_for_analysis(path, work_features.SAMPLE_RATE)
    features = works.analyse_reference(decoded.samples, decoded.sample_rate)
    if not len(features.vectors):
        raise audio.AudioError("no_harmony", "The audio has too little pitched content to learn the work from.")
    asset = existing
    try:
        with transaction.atomic():
            if asset is None:
                asset = _new_asset(path, sha256, info, AudioAsset.Kind.RENDITION, original_name, None)
                asset.work = work
                asset.save()
            # Last inside the transaction: if registering fails, the row rolls back with it.
            store.register_many([(store_work_id(work), features)])
    except BaseException:
        if existing is None:
            _delete_file(asset)
        raise
    return asset


def submit_upload(path: str | Path, original_name: str = "", submitted_by: object | None = None) -> Scan:
    """Validate and store a staff upload, create its Scan and queue identification after commit.

    The same bytes submitted again return the existing scan. Unusable audio raises
    audio.AudioError before anything is stored. Platform uploads go through `intake` directly.
    """
    return intake.accept_file(path, original_name=original_name, submitted_by=submitted_by)


def identify_scan(scan_id: int) -> Scan:
    """Match a scan's upload against the index and store its matches. Idempotent: a finished scan
    is kept as it is, and a scan given to a URL is fetched first."""
    scan = Scan.objects.select_related("asset").get(pk=scan_id)
    if scan.status in Scan.FINAL:
        return scan
    Scan.objects.filter(pk=scan.pk).update(
        status=Scan.Status.RUNNING, started_at=timezone.now(), error="", attempts=F("attempts") + 1
    )
    if scan.asset_id is None:
        scan = intake.fetch_scan_audio(scan)
        if scan.asset_id is None:
            return scan  # the fetch failed and said why
    try:
        decoded = decode_for_analysis(Path(scan.asset.file.path))
        alignments = match_samples(decoded.samples)
    except (audio.AudioError, IndexMismatchError, FileNotFoundError) as exc:
        return intake.fail_scan(scan, str(exc))
    performed = identify_works(Path(scan.asset.file.path), decoded, scan_id)
    # Only audio that uses no registered recording or work is asked whether it imitates an artist.
    sounds_like = None if alignments or performed else identify_artist(Path(scan.asset.file.path), scan_id)

    references = AudioAsset.objects.in_bulk([a.ref_id for a in alignments])
    with transaction.atomic():
        scan = Scan.objects.select_for_update().get(pk=scan_id)
        if scan.status in Scan.FINAL:  # another worker finished it meanwhile
            return scan
        scan.matches.all().delete()
        matches = Match.objects.bulk_create(
            [_match_row(scan, references[a.ref_id], a) for a in alignments if _still_catalogued(references, a)]
        )
        scan.work_matches.all().delete()
        WorkMatch.objects.bulk_create(_work_match_rows(scan, performed, {m.recording_id for m in matches}))
        scan.artist_matches.all().delete()
        if sounds_like is not None and not matches and Artist.objects.filter(pk=sounds_like.artist_id).exists():
            ArtistMatch.objects.create(
                scan=scan,
                artist_id=sounds_like.artist_id,
                similarity=round(sounds_like.similarity, 4),
                typicality=None if sounds_like.typicality is None else round(sounds_like.typicality, 4),
                exclusivity=round(sounds_like.exclusivity or 0.0, 4),
                style_version=sounds_like.style_version,
            )
        scan.status = Scan.Status.DONE
        scan.engine_version = params.ENGINE_VERSION
        scan.finished_at = timezone.now()
        scan.save(update_fields=["status", "engine_version", "finished_at"])
        # The platform hears that the scan finished before it hears of the claims made from it.
        transaction.on_commit(lambda: scan_finished.send(sender=Scan, scan_id=scan_id))
        transaction.on_commit(lambda: scan_identified.send(sender=Scan, scan_id=scan_id))
    return scan


def identify_works(path: Path, decoded: audio.DecodedAudio, scan_id: int) -> list[tuple[int, works.WorkMatch]]:
    """The catalogue works performed in the audio (accepted matches, as (Work pk, match)); [] when the work
    store is empty. A failure here is logged and gives [], so a recording match is never lost to it."""
    from fingerprint import work_features

    try:
        store = work_store()
        if not len(store):
            return []
        if decoded.sample_rate != work_features.SAMPLE_RATE:
            decoded = decode_for_analysis(path, work_features.SAMPLE_RATE)
        found = [m for m in store.identify(decoded.samples, decoded.sample_rate) if m.accepted]
    except Exception:  # any failure of the work engine (index version, disk, a bug) must not fail the scan
        logger.exception("Work identification failed for scan %s; its recording matches are kept.", scan_id)
        return []
    performed = []
    for match in found:
        pk = catalogue_work_pk(store.work_id(match.ref_id))
        if pk is not None:
            performed.append((pk, match))
    return performed


def identify_artist(path: Path, scan_id: int) -> artist_index.ArtistLikeness | None:
    """The registered artist the upload is an imitation candidate of, or None (no candidate, no artist
    profiles, too short). A failure is logged and gives None: it must never fail the scan."""
    try:
        found = _artist_index().likeness(path)
    except Exception:
        logger.exception("Artist likeness failed for scan %s; its other results are kept.", scan_id)
        return None
    return found if found is not None and found.candidate else None


def _work_match_rows(
    scan: Scan, performed: list[tuple[int, works.WorkMatch]], recording_ids: set[int]
) -> list[WorkMatch]:
    """Rows for the works performed, less those a matched recording embeds (its claim covers them already)
    and those no longer in the catalogue."""
    if not performed:
        return []
    from fingerprint.works import ENGINE_VERSION as engine_version

    embedded = set(
        Recording.works.through.objects.filter(recording_id__in=recording_ids).values_list("work_id", flat=True)
    )
    wanted = [(pk, m) for pk, m in performed if pk not in embedded]
    present = Work.objects.in_bulk([pk for pk, _ in wanted])
    renditions: dict[int, AudioAsset] = {}
    for asset in AudioAsset.objects.filter(kind=AudioAsset.Kind.RENDITION, work_id__in=present).order_by("pk"):
        renditions[asset.work_id] = asset  # type: ignore[index]  # the latest is the one in the work store
    return [
        WorkMatch(
            scan=scan,
            work=present[pk],
            rendition=renditions.get(pk),
            query_start_s=m.query_start_s,
            query_end_s=m.query_end_s,
            reference_start_s=m.ref_start_s,
            reference_end_s=m.ref_end_s,
            transpose_semitones=m.transpose_semitones,
            tempo_ratio=m.tempo_ratio,
            score=m.score,
            confidence=m.confidence,
            engine_version=engine_version,
        )
        for pk, m in wanted
        if pk in present
    ]


def _still_catalogued(references: dict[int, AudioAsset], alignment: matching.Alignment) -> bool:
    """False for a reference removed from the catalogue after the index was written."""
    reference = references.get(alignment.ref_id)
    return reference is not None and reference.recording_id is not None


def _match_row(scan: Scan, reference: AudioAsset, alignment: matching.Alignment) -> Match:
    return Match(
        scan=scan,
        recording_id=reference.recording_id,
        reference_asset=reference,
        query_start_s=round(alignment.query_start_s, 3),
        query_end_s=round(alignment.query_end_s, 3),
        reference_start_s=round(alignment.reference_start_s, 3),
        reference_end_s=round(alignment.reference_end_s, 3),
        pitch_factor=round(alignment.pitch_factor, 4),
        tempo_factor=round(alignment.tempo_factor, 4),
        aligned_landmarks=round(alignment.aligned),
        score=round(float(alignment.aligned), 3),
        confidence=round(alignment.confidence, 4),
        engine_version=params.ENGINE_VERSION,
    )


def find_alignments(path: Path) -> list[matching.Alignment]:
    """The references heard in the audio at `path` that pass the match decision, best first."""
    return match_samples(decode_for_analysis(path).samples)


def match_samples(samples: np.ndarray) -> list[matching.Alignment]:
    """The references heard in decoded analysis-rate audio that pass the match decision, best first."""
    return refine_transforms(samples, decided_alignments(samples)[1], _stored_reference_path)


# Seconds of a match read to measure its pitch and tempo: enough to pin a 1 % tempo change, and a
# bounded cost however long the match.
TRANSFORM_SPAN_S = 20.0


def refine_transforms(
    samples: np.ndarray, matches: list[matching.Alignment], reference_path: Callable[[int], Path | None]
) -> list[matching.Alignment]:
    """`matches` with those only the segment embeddings found given the pitch shift, tempo and offset
    read from the query and reference audio (fingerprint.transform); the others, and any whose
    reference cannot be read or whose reading is not convincing, as they are. `reference_path` gives
    the stored file of a reference asset id.

    An embeddings-only match whose audio fits best outside the pitch and tempo range the engine
    covers (params.MAX_PITCH_SHIFT_ST, params.MAX_TEMPO_FACTOR) is dropped: the embedder, trained to
    ignore key and tempo, also finds passages of other music much like it (a calibration query cut
    from one Wesnoth track found a passage of another that fits best 2 semitones lower and 20 %
    slower, 0.81 similar along that line), and a fit past the range is that, not this recording
    under a transformation the engine covers."""
    refined = []
    for match in matches:
        path = reference_path(match.ref_id) if match.embeddings_only else None
        found = _read_transform(samples, match, path) if path is not None else None
        if found is None:
            refined.append(match)
        elif not found[1].beyond_range:
            refined.append(found[0])
    return refined


def _read_transform(
    samples: np.ndarray, match: matching.Alignment, path: Path
) -> tuple[matching.Alignment, transform.Transform] | None:
    rate = params.ANALYSIS_SAMPLE_RATE
    start_s = match.query_start_s
    end_s = min(match.query_end_s, start_s + TRANSFORM_SPAN_S, len(samples) / rate)
    reference_at = match.offset_s + start_s  # where the embeddings put the span's start (tempo 1)
    reference_from = max(0.0, reference_at - transform.OFFSET_SEARCH_S - 0.5)
    length = (end_s - start_s) * params.MAX_TEMPO_FACTOR + 2 * transform.OFFSET_SEARCH_S + 1.0
    try:
        reference = audio.decode_span(path, reference_from, length, rate)
    except audio.AudioError:
        return None
    found = transform.estimate(
        landmarks.log_spectrogram(samples[int(start_s * rate) : int(end_s * rate)]),
        landmarks.log_spectrogram(reference),
        (reference_at - reference_from) / params.FRAME_S,
    )
    if found is None:
        return None
    # The line was found from the span's first frame in the reference stretch's frames: restate it as
    # the reference frame at query frame 0.
    offset = reference_from / params.FRAME_S + found.offset_frames - found.tempo * start_s / params.FRAME_S
    return replace(match, tempo=found.tempo, pitch_shift_st=found.pitch_shift_st, offset_frames=offset), found


def reference_paths() -> dict[int, Path]:
    """Every reference asset's stored file, by asset id (read once for a batch of queries)."""
    assets = AudioAsset.objects.filter(kind=AudioAsset.Kind.REFERENCE).exclude(file="")
    return {asset.pk: Path(asset.file.path) for asset in assets.only("pk", "file")}


def _stored_reference_path(asset_id: int) -> Path | None:
    asset = AudioAsset.objects.filter(pk=asset_id).only("pk", "file").first()
    return Path(asset.file.path) if asset is not None and asset.file else None


def candidate_alignments(samples: np.ndarray) -> list[matching.Alignment]:
    """Every candidate reference's best alignment, matched or not, best first.

    Landmark triplets find the reference and its pitch, tempo and offset; segment embeddings (when
    an embedder ships) add evidence where noise or reverberation has destroyed the peaks: a
    reference both engines place at the same offset gets both scores, and one only the embeddings
    find is reported at tempo and pitch 1 with its embedding score.
    """
    return query_evidence(samples).fused()


def decided_alignments(samples: np.ndarray) -> tuple[list[matching.Alignment], list[matching.Alignment]]:
    """(every candidate's alignment, those that pass the match decision), best first, in query time.

    A query longer than params.QUERY_CHUNK_S is matched in overlapping stretches of that length, each
    as below, and their alignments joined (matching.join_pieces): memory and time stay bounded
    whatever the length of the upload."""
    rate = params.ANALYSIS_SAMPLE_RATE
    chunk = int(params.QUERY_CHUNK_S * rate)
    if len(samples) <= chunk:
        return _decided_in_stretch(samples)
    hop = chunk - int(params.QUERY_CHUNK_OVERLAP_S * rate)
    starts = [*range(0, len(samples) - chunk, hop), len(samples) - chunk]
    candidates: list[matching.Alignment] = []
    decided: list[matching.Alignment] = []
    for start in starts:
        found, passed = _decided_in_stretch(samples[start : start + chunk])
        start_frames = start / rate / params.FRAME_S
        candidates += [matching.shifted(a, start_frames) for a in found]
        decided += [matching.shifted(a, start_frames) for a in passed]
    gap = params.QUERY_CHUNK_OVERLAP_S / params.FRAME_S
    return matching.join_pieces(candidates, gap), matching.without_echoes(matching.join_pieces(decided, gap))


def _decided_in_stretch(samples: np.ndarray) -> tuple[list[matching.Alignment], list[matching.Alignment]]:
    """(every candidate's alignment, those that pass the match decision) for one stretch, best first.

    The search covers params.COVERED. When nothing passes there, the landmarks search again with
    denser query triplets (params.DENSE_TRIPLET_TARGETS), keeping only untransformed matches that the
    segment embeddings place at the same reference and offset (matching.corroborated_matches; in a
    stretch over params.DENSE_HINTED_ONLY_MIN_S, looking up only the hinted references), and if
    none, once more with those triplets formed on denser peaks (params.DENSE_PEAK_*), where most of
    the query's segments must agree on that placement (params.FIRM_HINT_*); then, if still nothing,
    over params.WIDE (pitch and tempo changes past the covered range) with the same segment
    embeddings and the same decision, keeping what scores at least params.WIDE_MIN_SCORE; and last,
    on the query played back at each of params.SPEED_COMPENSATIONS (a sped-up or slowed version).
    Only unmatched queries pay for any of these, and no match found by the first search can be
    displaced by a chance alignment a later one allows."""
    segments, triplets = _segment_search(samples), landmarks.query_triplets(samples)
    candidates = _fused_evidence(triplets, params.COVERED, segments).fused()
    decided = matching.decide(candidates)
    if decided:
        return candidates, decided
    if segments is not None and segments.hints:
        long_stretch = len(samples) > params.DENSE_HINTED_ONLY_MIN_S * params.ANALYSIS_SAMPLE_RATE
        for dense_peaks, hints in _denser_searches(samples, triplets.peaks, segments):
            dense_triplets = landmarks.with_targets(dense_peaks, params.DENSE_TRIPLET_TARGETS)
            hinted = np.unique([ref for ref, _ in hints]) if long_stretch else None  # the others cannot stand
            dense = _fused_evidence(dense_triplets, params.COVERED, segments, hinted).fused()
            corroborated = matching.corroborated_matches(dense, hints)
            if corroborated:
                return dense, corroborated
    wide = _fused_evidence(triplets, params.WIDE, segments).fused()
    decided = [a for a in matching.decide(wide) if a.aligned >= params.WIDE_MIN_SCORE]
    if decided:
        return wide, decided
    for up, down in params.SPEED_COMPENSATIONS:
        candidates, decided = _decided_played_at(samples, up, down)
        if decided:
            return candidates, decided
    return wide, []


def _decided_played_at(
    samples: np.ndarray, up: int, down: int
) -> tuple[list[matching.Alignment], list[matching.Alignment]]:
    """The first search on the query played at `down`/`up` of its speed (params.SPEED_COMPENSATIONS),
    keeping landmark matches that score at least params.WIDE_MIN_SCORE; in the query's own time and pitch."""
    played = audio.played_at(samples, up, down)
    candidates = _fused_evidence(landmarks.query_triplets(played), params.COVERED, _segment_search(played)).fused()
    decided = [a for a in matching.decide(candidates) if a.aligned >= params.WIDE_MIN_SCORE and not a.embeddings_only]
    back = [matching.from_played_at(a, up, down) for a in candidates]
    return back, [matching.from_played_at(a, up, down) for a in decided]


def _denser_searches(
    samples: np.ndarray, peaks: landmarks.Peaks, segments: SegmentSearch
) -> Iterator[tuple[landmarks.Peaks, list[tuple[int, float]]]]:
    """The denser searches in turn, as (peaks to pair densely, hints a match must sit at): the query's
    own peaks at every hint, then (picked only if those found nothing) its denser peaks
    (landmarks.denser_peaks) at the firm hints only, since more peaks give chance more alignments."""
    yield peaks, segments.hints
    if segments.firm_hints:
        yield landmarks.denser_peaks(samples), segments.firm_hints


def query_evidence(samples: np.ndarray, search: params.SearchRange = params.COVERED) -> matching.QueryEvidence:
    """What both engines find for decoded analysis-rate audio, before fusion (see candidate_alignments)."""
    return _fused_evidence(landmarks.query_triplets(samples), search, _segment_search(samples))


@dataclass(frozen=True)
class SegmentSearch:
    """The vector search of a query's segment embeddings: patch start times, the search result, and
    where it places the query for the landmarks to look again ((reference, offset s); matching._guided)."""

    times_s: np.ndarray
    result: SearchResult
    hints: list[tuple[int, float]]
    firm_hints: list[tuple[int, float]]  # those most of the query agrees on (params.FIRM_HINT_*)


def embedding_shortlist(samples: np.ndarray) -> list[tuple[int, float]]:
    """(reference id, summed similarity) ranked by the segment embeddings alone (matching.shortlist);
    empty without an embedder or vector index."""
    segments = _segment_search(samples)
    if segments is None:
        return []
    return matching.shortlist(segments.result.ref_ids, segments.result.scores)


def _segment_search(samples: np.ndarray) -> SegmentSearch | None:
    """The query's segment embeddings searched in the vector index; None without an embedder or index."""
    model = embedder()
    if model is None:
        return None
    short = len(samples) <= params.DENSE_QUERY_MAX_S * params.ANALYSIS_SAMPLE_RATE
    vectors, times = model.embed_audio(samples, hop_s=params.EMBED_QUERY_HOP_S if short else params.EMBED_HOP_S)
    index = vector_index(model)
    if len(vectors) == 0 or len(index) == 0:
        return None
    result = index.search(vectors, params.EMBED_SEARCH_K)
    segments = matching.segment_alignments(
        times, result.scores, result.ref_ids, result.times_s, params.GUIDED_HINT_MIN_SIMILARITY
    )
    placed = [seg for seg in segments if seg.segments >= params.EMBED_CORROBORATED_MIN_SEGMENTS][: params.GUIDED_HINTS]
    return SegmentSearch(
        times,
        result,
        [(seg.ref_id, seg.offset_s) for seg in placed],
        [(seg.ref_id, seg.offset_s) for seg in placed if seg.is_firm_placement()],
    )


def _fused_evidence(
    triplets: landmarks.QueryTriplets,
    search: params.SearchRange,
    segments: SegmentSearch | None,
    only_refs: np.ndarray | None = None,
) -> matching.QueryEvidence:
    """The landmarks' alignments over `search` (also looking where `segments` places the query) beside
    the segment search, ready to fuse; with `only_refs`, the landmarks of those references only."""
    query = landmarks.expand_query(triplets, search)
    postings = landmark_store().lookup(query.hashes, only_refs)
    hints = segments.hints if segments is not None else []
    aligned = matching.best_alignments(
        query.anchor_frames, query.anchor_pitches, query.owner[postings.query_index], postings, hints, search
    )
    if segments is None:
        return matching.QueryEvidence(aligned)
    found = segments.result
    return matching.QueryEvidence(aligned, segments.times_s, found.scores, found.ref_ids, found.times_s)


def rebuild_index(workers: int = 1) -> int:
    """Re-fingerprint (and, when an embedder ships, re-embed) every reference asset into fresh index
    generations, each swapped in atomically; returns how many. `workers` files are decoded and
    fingerprinted at once, in threads, as in register_references; the database is written on the
    calling thread only."""
    assets = list(AudioAsset.objects.filter(kind=AudioAsset.Kind.REFERENCE).order_by("pk"))
    model = embedder()
    vectors: list[tuple[int, np.ndarray, np.ndarray]] = []

    def analyse(asset: AudioAsset) -> tuple[landmarks.Landmarks, tuple[np.ndarray, np.ndarray] | None]:
        samples = decode_for_analysis(Path(asset.file.path)).samples
        return landmarks.extract(samples), (model.embed_audio(samples) if model is not None else None)

    def items():  # type: ignore[no-untyped-def]
        with ThreadPoolExecutor(max(1, workers)) as pool:
            for asset, (marks, embedded) in zip(assets, _in_order(pool, analyse, assets, 2 * workers), strict=True):
                if embedded is not None:
                    vectors.append((asset.pk, *embedded))
                _record_fingerprint(asset, marks)
                yield asset.pk, marks

    landmark_store().rebuild(items())
    if model is not None:
        from fingerprint import profiles

        vector_index(model).rebuild(vectors)
        recording_of = {asset.pk: asset.recording_id for asset in assets}
        profiles.rebuild(model, ((recording_of[pk], v) for pk, v, _ in vectors))
    _artist_index().rebuild()
    rebuild_work_index()
    return len(assets)


def _in_order(pool: ThreadPoolExecutor, work: Callable[[T], R], items: list[T], ahead: int) -> Iterator[R]:
    """`work` on each item in the pool, results in the items' order, at most `ahead` items running or
    waiting to be taken (memory stays bounded however many items). Stopping early cancels the rest."""
    pending: deque[Future[R]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def rebuild_work_index() -> int:
    """Re-analyse every work's latest rendition into a fresh work index (after a feature-version change,
    the index on disk cannot be read: see work_store.WorkIndexMismatchError); returns how many. An
    index holding only works registered from a list (the bench's `register_works`) is left alone: the
    catalogue has no audio to rebuild it from. An unreadable rendition is logged and left out."""
    from fingerprint import work_features, works

    latest: dict[int, AudioAsset] = {}
    for asset in AudioAsset.objects.filter(kind=AudioAsset.Kind.RENDITION, work__isnull=False).order_by("pk"):
        latest[asset.work_id] = asset  # type: ignore[index]
    if not latest:
        return 0
    items = []
    for work_id, asset in sorted(latest.items()):
        try:
            decoded = decode_for_analysis(Path(asset.file.path), work_features.SAMPLE_RATE)
        except (OSError, audio.AudioError):
            logger.warning("Rendition %s cannot be read; the work index leaves work %s out", asset.pk, work_id)
            continue
        features = works.analyse_reference(decoded.samples, decoded.sample_rate)
        if len(features.vectors):
            items.append((f"{WORK_ID_PREFIX}{work_id}", features))
    return work_store().replace_all(items)
