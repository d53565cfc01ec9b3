"""The artists' index: one style profile per registered artist, searched with faiss, to find uploads that
sound like an artist without using any of their recordings (imitation candidates).

Registered reference audio gives style rows (fingerprint.style_views: the whole track and an excerpt
as platforms deliver it); a recording's rows count for each of its artists. The profiles and the
metric they live in (fingerprint.artist_profiles) are refitted from all rows whenever rows or a
recording's artists change: fitting takes well under a second for thousands of tracks, and a
metric fitted on the whole collection is what the evaluation measures.

On disk, under FINGERPRINT_INDEX_DIR/artists:
    styles.npy              the raw style rows, one record per reference asset: asset id, recording
                            id, (len(VIEWS), style.DIM) vectors
    metric-<digest>.npz     a fitted metric (mean, scale, transform), the artists' profiles (the
                            index's own copy, for reading one back) and each artist's two
                            yardsticks (artist_profiles: own and cohort similarities), named by
                            its content
    index/                  a VectorIndex of the profiles (ref id = artist pk), whose model version
                            names the metric's digest, so a profile is never read in another metric
    METRIC                  the digest of the live metric; replaced after the index is published.
                            A reader that catches the two a moment apart re-reads once.
    .lock                   serialises writers across processes
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from catalog.models import AudioAsset, Recording
from fingerprint import artist_profiles, audio, disk, file_lock, style, style_views
from fingerprint.index import VectorIndex, VectorIndexMismatchError

logger = logging.getLogger(__name__)

MIN_QUERY_S = 5.0  # seconds: under this the rhythm block and the timbre statistics are noise
_QUERY_CHUNK = 2000  # recording ids per database query (SQLite limits bound parameters)
_ROW_DTYPE = np.dtype([("asset", "<i8"), ("recording", "<i8"), ("vectors", "<f4", (len(style_views.VIEWS), style.DIM))])
_stores: dict[Path, ArtistStore] = {}


@dataclass(frozen=True)
class ArtistLikeness:
    """An upload's likeness to its nearest registered artist, and whether that makes it a candidate."""

    artist_id: int
    similarity: float  # cosine in the collection's metric
    typicality: float | None  # 0 at the other artists' edge, 1 at the artist's own median (artist_profiles)
    exclusivity: float | None  # share of other artists' excerpts no closer
    candidate: bool
    style_version: str = style.STYLE_VERSION


@dataclass(frozen=True)
class _Fitted:
    """One published fit: its digest, the metric, the artists (keys) with their profiles, and each
    artist's yardsticks ("own", "cohort": artist pk -> sorted similarities)."""

    digest: str
    metric: style.Metric
    keys: list[int]
    profiles: np.ndarray
    yardsticks: dict[str, dict[int, np.ndarray]]


class ArtistStore:
    """Style rows, the fitted metric and the artist-profile index (see the module docstring)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.styles_path = self.directory / "styles.npy"
        self._indexes: dict[str, VectorIndex] = {}  # by metric digest: each loads its generation once
        self._fitted: _Fitted | None = None

    # --- reading ---------------------------------------------------------------------------------
    def rows(self) -> np.ndarray:
        try:
            table = np.load(self.styles_path)
        except FileNotFoundError:
            return np.zeros(0, _ROW_DTYPE)
        if table.dtype != _ROW_DTYPE:
            raise VectorIndexMismatchError(
                f"{self.styles_path} holds {table.dtype}, not {style.STYLE_VERSION} rows: "
                "run python manage.py build_index"
            )
        return table

    def _digest(self) -> str:
        try:
            return (self.directory / "METRIC").read_text().strip()
        except FileNotFoundError:
            return ""

    def _index(self, digest: str) -> VectorIndex:
        if digest not in self._indexes:
            self._indexes = {
                digest: VectorIndex(self.directory / "index", style.DIM, f"{style.STYLE_VERSION}:{digest}")
            }
        return self._indexes[digest]

    def _fitted_for(self, digest: str) -> _Fitted:
        """The fitted collection `digest` names, read from disk once (queries ask on every scan)."""
        if self._fitted is None or self._fitted.digest != digest:
            with np.load(self.directory / f"metric-{digest}.npz") as data:
                yardsticks = {}
                for name in ("own", "cohort"):
                    offsets = data[f"{name}_offsets"]
                    yardsticks[name] = {
                        int(key): data[f"{name}_values"][offsets[i] : offsets[i + 1]]
                        for i, key in enumerate(data["keys"])
                    }
                self._fitted = _Fitted(
                    digest,
                    style.Metric(data["mean"], data["scale"], data["transform"]),
                    data["keys"].tolist(),
                    data["profiles"],
                    yardsticks,
                )
        return self._fitted

    def artist_count(self) -> int:
        digest = self._digest()
        return len(self._index(digest)) if digest else 0

    def nearest(self, vector: np.ndarray) -> ArtistLikeness | None:
        """The registered artist a raw style vector is most like; None when no artist has a profile."""
        for attempt in range(2):
            digest = self._digest()
            if not digest:
                return None
            try:
                fitted = self._fitted_for(digest)
                found = self._index(digest).search(fitted.metric.apply(vector), 1)
                break
            except (VectorIndexMismatchError, FileNotFoundError):
                if attempt:  # a writer published between our two reads twice over: a damaged store
                    raise
        artist, similarity = int(found.ref_ids[0][0]), float(found.scores[0][0])
        if artist < 0:
            return None
        none = np.zeros(0, np.float32)
        own = fitted.yardsticks["own"].get(artist, none)
        if not len(own):  # an artist with one track: the other artists' spread stands in for theirs
            own = np.concatenate([none, *fitted.yardsticks["own"].values()])
        cohort = fitted.yardsticks["cohort"].get(artist, none)
        typicality = artist_profiles.typicality(own, cohort, similarity)
        exclusivity = artist_profiles.share_below(cohort, similarity)
        candidate = artist_profiles.decide(typicality, exclusivity)
        return ArtistLikeness(artist, similarity, typicality, exclusivity, candidate)

    def recordings_like(self, artist_id: int) -> list[tuple[int, float]] | None:
        """Recordings of other artists ranked by their whole tracks' cosine to the artist's profile (best
        reference per recording), best first; None when the artist has no profile."""
        digest = self._digest()
        if not digest:
            return None
        fitted = self._fitted_for(digest)
        if artist_id not in fitted.keys:
            return None
        profile = fitted.profiles[fitted.keys.index(artist_id)]
        table = self.rows()
        theirs = set(Recording.objects.filter(artists=artist_id).values_list("pk", flat=True))
        others = np.array([int(r) not in theirs for r in table["recording"]], bool)
        if not others.any():
            return []
        scores = fitted.metric.apply(table["vectors"][others, 0]) @ profile  # view 0: the whole track
        best: dict[int, float] = {}
        for recording_id, score in zip(table["recording"][others].tolist(), scores.tolist(), strict=True):
            best[recording_id] = max(score, best.get(recording_id, -1.0))
        return sorted(best.items(), key=lambda item: (-item[1], item[0]))

    # --- writing ---------------------------------------------------------------------------------
    def update(self, changes: Mapping[int, tuple[int, np.ndarray] | None]) -> None:
        """Set these assets' rows ((recording id, vectors), or None: gone) and refit the profiles."""
        with file_lock.exclusive(self.directory):
            table = self.rows()
            kept = table[~np.isin(table["asset"], np.fromiter(changes, np.int64, len(changes)))]
            new = [(asset, *row) for asset, row in changes.items() if row is not None]
            self._publish(np.concatenate([kept, _rows(new)]))

    def replace(self, rows: Iterable[tuple[int, int, np.ndarray]]) -> None:
        """Every asset's rows replaced with these (asset id, recording id, vectors); profiles refitted."""
        with file_lock.exclusive(self.directory):
            self._publish(_rows(list(rows)))

    def refit(self) -> None:
        """Profiles refitted from the rows, e.g. after a recording's artists changed."""
        with file_lock.exclusive(self.directory):
            self._publish(self.rows())

    def _publish(self, table: np.ndarray) -> None:
        table = np.sort(table, order="asset")
        disk.atomic_write(self.styles_path, disk.npy_bytes(table))
        artists_of = recording_artists(table["recording"].tolist())
        keep = [i for i, rid in enumerate(table["recording"].tolist()) if artists_of.get(rid)]
        if not keep:  # no artist has a profile: readers see an empty METRIC and search nothing
            disk.atomic_write(self.directory / "METRIC", b"")
            return
        vectors = table["vectors"][keep].reshape(-1, style.DIM)
        keys = [tuple(artists_of[int(table["recording"][i])]) for i in keep for _ in style_views.VIEWS]
        tracks = [int(table["asset"][i]) for i in keep for _ in style_views.VIEWS]
        excerpt_rows = [view != "whole" for _ in keep for view in style_views.VIEWS]
        model = artist_profiles.ProfileModel.fit(vectors, keys, tracks, excerpt_rows)
        metric = model.metric
        payload = io.BytesIO()
        np.savez(
            payload,
            mean=metric.mean,
            scale=metric.scale,
            transform=metric.transform,
            keys=np.array(model.keys, np.int64),
            profiles=model.profiles,
            own_values=np.concatenate([*model.own, np.zeros(0, np.float32)]),
            own_offsets=np.cumsum([0, *(len(t) for t in model.own)]),
            cohort_values=np.concatenate([*model.cohort, np.zeros(0, np.float32)]),
            cohort_offsets=np.cumsum([0, *(len(t) for t in model.cohort)]),
        )
        digest = hashlib.sha256(payload.getvalue()).hexdigest()[:16]
        disk.atomic_write(self.directory / f"metric-{digest}.npz", payload.getvalue())
        zero = np.zeros(1, np.float32)
        self._index(digest).rebuild((int(key), model.profiles[i][None, :], zero) for i, key in enumerate(model.keys))
        disk.atomic_write(self.directory / "METRIC", digest.encode())
        for old in self.directory.glob("metric-*.npz"):
            if old.name != f"metric-{digest}.npz":
                old.unlink(missing_ok=True)


def _rows(items: list[tuple[int, int, np.ndarray]]) -> np.ndarray:
    rows = np.zeros(len(items), _ROW_DTYPE)
    for i, (asset, recording, vectors) in enumerate(items):
        rows[i] = (asset, recording, np.asarray(vectors, np.float32))
    return rows


def recording_artists(recording_ids: list[int]) -> dict[int, list[int]]:
    """Each recording's artist pks, sorted (a recording with none has no entry)."""
    through = Recording.artists.through
    found: dict[int, list[int]] = {}
    ids = sorted(set(recording_ids))
    for start in range(0, len(ids), _QUERY_CHUNK):
        pairs = through.objects.filter(recording_id__in=ids[start : start + _QUERY_CHUNK]).values_list(
            "recording_id", "artist_id"
        )
        for recording_id, artist_id in pairs:
            found.setdefault(recording_id, []).append(artist_id)
    return {rid: sorted(artists) for rid, artists in found.items()}


def store() -> ArtistStore:
    """The process's artist store for the configured index directory."""
    directory = Path(settings.FINGERPRINT_INDEX_DIR) / "artists"
    if directory not in _stores:
        _stores[directory] = ArtistStore(directory)
    return _stores[directory]


def decode_for_style(path: Path) -> np.ndarray:
    """Mono samples at the style rate (timbre needs the band up to 7.6 kHz the analysis rate lacks)."""
    return audio.decode(
        path, style.SAMPLE_RATE, max_bytes=settings.AUDIO_MAX_BYTES, max_duration_s=settings.AUDIO_MAX_DURATION_S
    ).samples


def registration_rows(path: Path) -> np.ndarray:
    """The style rows of a reference file (see fingerprint.style_views.registration_vectors)."""
    return style_views.registration_vectors(decode_for_style(path))


def likeness(path: Path) -> ArtistLikeness | None:
    """The upload's likeness to its nearest registered artist; None when there is no artist profile or
    the audio is too short to say."""
    target = store()
    if not target.artist_count():
        return None
    samples = decode_for_style(path)
    if len(samples) < MIN_QUERY_S * style.SAMPLE_RATE:
        return None
    return target.nearest(style.style_vector(samples))


def _asset_rows(asset: AudioAsset) -> np.ndarray | None:
    try:
        return registration_rows(Path(asset.file.path))
    except (OSError, audio.AudioError):
        logger.warning("Reference asset %s cannot be read; the artists' index leaves it out", asset.pk)
        return None


def _references_with_artists(recording_ids: Iterable[int] | None = None) -> Iterable[AudioAsset]:
    """Reference assets whose recording has at least one artist: only they can shape a profile, so
    only they are analysed (a catalogue registered without artists costs nothing here)."""
    assets = AudioAsset.objects.filter(kind=AudioAsset.Kind.REFERENCE, recording__artists__isnull=False)
    if recording_ids is not None:
        assets = assets.filter(recording_id__in=list(recording_ids))
    return assets.distinct().order_by("pk")


def refresh_recordings(recording_ids: Iterable[int]) -> int:
    """After these recordings' artists changed: rows computed for their references that have none (a
    recording that gained its first artist), dropped for those that no longer count, and the profiles
    refitted. Idempotent; returns how many rows were computed."""
    ids = sorted(set(recording_ids))
    target = store()
    have = set(target.rows()["asset"].tolist())
    wanted = {asset.pk: asset for asset in _references_with_artists(ids)}
    changes: dict[int, tuple[int, np.ndarray] | None] = {}
    for pk, asset in wanted.items():
        if pk not in have and (rows := _asset_rows(asset)) is not None:
            changes[pk] = (asset.recording_id, rows)  # type: ignore[assignment]
    stale = AudioAsset.objects.filter(kind=AudioAsset.Kind.REFERENCE, recording_id__in=ids).exclude(pk__in=wanted)
    changes.update(dict.fromkeys(pk for pk in stale.values_list("pk", flat=True) if pk in have))
    if changes:
        target.update(changes)
    else:
        target.refit()  # the rows stand; the artists they count for changed
    return sum(v is not None for v in changes.values())


def rebuild() -> int:
    """Style rows of every reference asset whose recording has an artist recomputed from its file and
    the profiles refitted; returns how many assets gave rows (an unreadable file is logged, left out)."""
    items = []
    for asset in _references_with_artists():
        rows = _asset_rows(asset)
        if rows is not None:
            items.append((asset.pk, asset.recording_id, rows))
    store().replace(items)
    return len(items)
