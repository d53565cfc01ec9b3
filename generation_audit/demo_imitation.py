"""The artist-likeness part of the demo: three demo artists, each with registered recordings in their own
sound (catalog.synth.artist_style), and two AI-generated uploads from the demo platform in the style of
two of them, using none of their recordings. One artist has not opted in to AI-likeness licensing;
the other has, and the platform holds a licence for their style. Prints the possible-AI-imitation
reports the uploads get.

Idempotent: artists, recordings, consent and licence are made once; the same uploads again return
their scans and reports.
"""

from __future__ import annotations

import datetime
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from catalog import synth
from catalog.models import Artist, Label, Recording
from fingerprint import actions as fingerprint_actions
from fingerprint import audio, intake
from fingerprint.models import Scan
from generation_audit import decoders
from generation_audit.models import ImitationReport
from rights import actions as rights_actions
from rights import demo_people, licensing, registration
from rights.models import Licence, RightsHolder

ARTISTS = (("Mara Vell", 0), ("The Pluck Collective", 1), ("Saw & Snare", 2))  # (name, synthetic style)
RECORDINGS_EACH = 3
REFERENCE_S = 25.0
UPLOAD_RATE = 44100  # Hz: the rate the demo's generator "renders" at (its decoder comb sits at 86.13 Hz)
LICENSED = "The Pluck Collective"  # opted in to style, and the demo platform holds a licence for it
LIKENESS_LICENCE = "DEMO-LIKENESS-1"


def _isrc(artist_index: int, n: int) -> str:
    return f"GBDAI26{100 * (artist_index + 1) + n:05d}"


def register_artists(label: Label, workdir: Path) -> dict[str, Artist]:
    """The demo artists with their recordings' reference audio registered (which builds their profiles)."""
    artists = {}
    for index, (name, style_of) in enumerate(ARTISTS):
        artist, _ = Artist.objects.get_or_create(name=name, defaults={"label": label})
        artists[name] = artist
        for n in range(RECORDINGS_EACH):
            recording, _ = Recording.objects.get_or_create(
                isrc=_isrc(index, n), defaults={"title": f"{name} study {n + 1}", "label": label}
            )
            recording.artists.add(artist)
            samples = synth.artist_style(style_of, 100 * index + n, REFERENCE_S)
            path = workdir / f"{recording.isrc}.wav"
            path.write_bytes(audio.encode(samples, synth.SAMPLE_RATE, "wav"))
            fingerprint_actions.register_reference(recording, path, path.name)  # the same bytes again: a no-op
    return artists


def _license_style(label: Label, artist: Artist) -> None:
    registration.set_ai_consent(artist=artist, use="style", opted_in=True, note="Demo: licensed per campaign")
    if Licence.objects.filter(reference=LIKENESS_LICENCE).exists():
        return
    licensing.grant_licence(
        reference=LIKENESS_LICENCE,
        licensor=RightsHolder.objects.get(label=label, kind="label"),
        licensee=rights_actions.platform_party(demo_people.demo_platform()),
        uses=["ai_likeness_style"],
        territories=["GB", "US", "DE", "FR"],
        start_date=datetime.date(2025, 1, 1),
        fee_model=Licence.FeeModel.FLAT,
        flat_fee="2500.00",
        currency="EUR",
        artists=[artist],
    )


def generated_in_style(style_of: int, seed: int, path: Path) -> Path:
    """30 s in a demo artist's style, as a neural generator's decoder would render it (its comb is
    what the provenance detectors find)."""
    music = synth.artist_style(style_of, seed, 30.0, UPLOAD_RATE)
    spec = decoders.DecoderSpec("demo-generator", UPLOAD_RATE, (8, 8, 4, 2), bias_db=-40.0, weight_noise=0.02)
    out = decoders.decode(music, spec, seed=1)
    path.write_bytes(audio.encode((out / np.abs(out).max() * 0.9).astype(np.float32), UPLOAD_RATE, "wav"))
    return path


def _describe(scan: Scan) -> str:
    likeness = scan.artist_matches.select_related("artist").first()
    if likeness is None:
        return "no artist likeness found"
    said = (
        f"sounds like {likeness.artist.name} (closer to them than {likeness.exclusivity:.0%} of other artists' tracks)"
    )
    report = ImitationReport.objects.filter(scan=scan).first()
    if report is None:
        return f"{said}; not judged AI-generated, so no report"
    return f"{said}; AI score {report.ai_score:.2f}: {report.headline}: {report.status} ({report.licence_note})"


def run(log: Callable[[str], None] = print) -> None:
    label = Label.objects.get(name="Demo Records")
    with tempfile.TemporaryDirectory(prefix="contentid-demo-artists-") as tmp:
        workdir = Path(tmp)
        artists = register_artists(label, workdir)
        _license_style(label, artists[LICENSED])
        log(f"\nArtist likeness: {len(artists)} demo artists profiled, {RECORDINGS_EACH} recordings each")
        platform = demo_people.demo_platform()
        for index, (name, style_of) in enumerate(ARTISTS[:2]):
            path = generated_in_style(style_of, 900 + index, workdir / f"ai-in-the-style-of-{style_of}.wav")
            scan = intake.accept_file(path, original_name=path.name, platform=platform)
            scan.refresh_from_db()
            log(f"  upload {path.name} ({platform.name}, in {name}'s style): {_describe(scan)}")
