"""The audit of a generated output as a label sees it: what it replicates (and whether the operator
may use that), which required marks it misses, who it is attributed to, its status, and the one
ledger entry that records all of it."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from pathlib import Path

import av
import numpy as np
import pytest

from catalog.models import ArtistAIConsent, Recording
from fingerprint import actions as fingerprint_actions
from fingerprint import audio
from fingerprint.audio import AudioError
from generation_audit import attribution, ledger, output_audit, tasks
from generation_audit.models import AIService, GeneratedOutput, LedgerEntry, OutputAttribution, ServiceCall
from rights import licensing
from tests import audio as test_audio
from tests import factories
from tests.generation_audit import c2pa_signing
from tests.generation_audit.splicing import HOST_SEED, REFERENCE_SEED, reference_excerpt, spliced

pytestmark = pytest.mark.django_db

ALL_MARKS = ["c2pa", "digital_source_type", "ai_tag"]


@pytest.fixture
def reference(tmp_path: Path) -> Recording:
    """The catalogue: the recording outputs may replicate, and one other."""
    factories.registered_recording(tmp_path, 15)
    return factories.registered_recording(tmp_path, REFERENCE_SEED)


def generated(tmp_path: Path, data: bytes, required: list[str] | None = None, name: str = "out.wav") -> GeneratedOutput:
    """A stored output of a call to a generation service that requires `required` marks."""
    operator = factories.party("SongForge", kind="service")
    service = AIService.objects.create(
        name=f"songforge-{GeneratedOutput.objects.count()}",
        kind=AIService.Kind.GENERATION,
        operator=operator,
        backend=AIService.Backend.PYTHON,
        adapter_path="songforge.Generator",
        required_marks=required or [],
    )
    call = ServiceCall.objects.create(
        service=service, operation="generate", licensee=operator, territory="GB", status=ServiceCall.Status.OK
    )
    path = tmp_path / name
    path.write_bytes(data)
    return GeneratedOutput.objects.create(call=call, asset=fingerprint_actions.store_generated_audio(path))


def wav(samples: np.ndarray) -> bytes:
    return audio.encode(samples, test_audio.SR, "wav")


def audit_entries(output: GeneratedOutput) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(event="audit", call=output.call))


# --------------------------------------------------------------------------- replication and status


def test_an_output_that_replicates_a_recording_is_flagged_with_the_span_and_attributed_to_it(
    tmp_path: Path, reference: Recording
) -> None:
    output = generated(tmp_path, wav(spliced(reference_excerpt())))

    audited = output_audit.audit_output(output.pk)

    assert audited.audit_status == GeneratedOutput.Audit.FLAGGED
    (span,) = audited.replicated_spans
    assert span["recording_id"] == reference.pk
    assert span["output_start_s"] == pytest.approx(12.0, abs=1.0)
    assert span["reference_start_s"] == pytest.approx(8.0, abs=1.0)
    assert span["duration_s"] >= 8.0
    assert span["unlicensed"] is True  # the operator holds no licence for it
    shares = list(audited.attributions.all())
    assert shares[0].recording_id == reference.pk
    assert sum(a.share for a in shares) == Decimal("100.0000")
    assert audited.audited_at is not None and audited.audit_error == ""


def test_an_output_without_catalogue_audio_or_required_marks_is_clear(tmp_path: Path, reference: Recording) -> None:
    output = generated(tmp_path, wav(test_audio.piece(HOST_SEED, 36.0)))

    audited = output_audit.audit_output(output.pk)

    assert audited.audit_status == GeneratedOutput.Audit.CLEAR
    assert audited.replicated_spans == []
    assert audited.marks["missing"] == []
    # Attribution by similarity may still name pieces that sound alike (the synthesiser's pieces share
    # chord progressions); whatever it names shares exactly 100 %.
    assert sum(a.share for a in audited.attributions.all()) in (Decimal(0), Decimal("100.0000"))


def test_a_replicated_recording_the_operator_may_use_for_ai_generation_is_not_marked_unlicensed(
    tmp_path: Path, reference: Recording
) -> None:
    output = generated(tmp_path, wav(spliced(reference_excerpt())))
    licensing.grant_licence(
        reference="SF-AI-2026",
        licensor=factories.party("Harbour Records"),
        licensee=output.call.service.operator,
        recordings=[reference],
        uses=["ai_generation"],
        territories=["WORLD"],
        start_date=datetime.date(2020, 1, 1),
        fee_model="flat",
        flat_fee=Decimal("1000"),
    )

    audited = output_audit.audit_output(output.pk)

    (span,) = audited.replicated_spans
    assert span["unlicensed"] is False
    assert "SF-AI-2026" in span["licence_check"]
    assert audited.audit_status == GeneratedOutput.Audit.FLAGGED  # a replication is flagged all the same


# --------------------------------------------------------------------------- the ledger and idempotence


def test_the_audit_is_one_ledger_entry_with_spans_marks_and_shares(tmp_path: Path, reference: Recording) -> None:
    output = generated(tmp_path, wav(spliced(reference_excerpt())), required=["c2pa"])

    audited = output_audit.audit_output(output.pk)

    (entry,) = audit_entries(output)
    assert entry.payload["output"] == output.pk and entry.payload["status"] == "flagged"
    assert entry.payload["replicated_spans"] == audited.replicated_spans
    assert entry.payload["marks"] == {"found": [], "missing": ["c2pa"]}
    shares = {a["recording"]: Decimal(a["share"]) for a in entry.payload["attribution"]}
    assert shares == {a.recording_id: a.share for a in audited.attributions.all()}
    assert sum(shares.values()) == Decimal("100.0000")
    assert any("missing required marks: c2pa" in reason for reason in entry.payload["reasons"])
    assert entry.entry_hash == ledger.head().entry_hash  # appended at the end of the chain


def test_auditing_again_returns_the_audited_output_and_writes_nothing(tmp_path: Path, reference: Recording) -> None:
    output = generated(tmp_path, wav(spliced(reference_excerpt())))
    first = output_audit.audit_output(output.pk)
    shares = list(OutputAttribution.objects.filter(output=output).values_list("recording_id", "share"))

    again = output_audit.audit_output(output.pk)
    status = tasks.audit_generated_output.delay(output.pk).get()

    assert status == "flagged"
    assert again.audited_at == first.audited_at and again.replicated_spans == first.replicated_spans
    assert list(OutputAttribution.objects.filter(output=output).values_list("recording_id", "share")) == shares
    assert len(audit_entries(output)) == 1


def test_an_audit_that_fails_is_left_failed_with_its_error_and_runs_again(tmp_path: Path, reference: Recording) -> None:
    output = generated(tmp_path, wav(spliced(reference_excerpt())))
    stored = Path(output.asset.file.path)
    kept = stored.read_bytes()
    stored.unlink()

    with pytest.raises(AudioError) as failure:
        output_audit.audit_output(output.pk)

    output.refresh_from_db()
    assert output.audit_status == GeneratedOutput.Audit.FAILED
    assert output.audit_error == f"AudioError: {failure.value}"
    assert audit_entries(output) == []
    stored.write_bytes(kept)  # the storage is back: the task's retry audits it
    assert output_audit.audit_output(output.pk).audit_status == GeneratedOutput.Audit.FLAGGED
    assert len(audit_entries(output)) == 1


# --------------------------------------------------------------------------- marks


def test_missing_required_marks_are_reported_and_flag_the_output(tmp_path: Path, reference: Recording) -> None:
    output = generated(tmp_path, wav(test_audio.piece(HOST_SEED, 36.0)), required=ALL_MARKS)

    audited = output_audit.audit_output(output.pk)

    assert audited.audit_status == GeneratedOutput.Audit.FLAGGED
    assert audited.marks["found"] == []
    assert audited.marks["missing"] == ALL_MARKS
    assert audited.marks["evidence"]["c2pa_manifest"]["evidence"] == {"manifest": "absent"}
    assert set(audited.marks["evidence"]) == {"c2pa_manifest", "metadata_tags"}


def signed_wav(samples: np.ndarray) -> bytes:
    """`samples` as WAV with a C2PA manifest, signed offline, that declares trained-algorithmic media."""
    return c2pa_signing.sign(wav(samples), "audio/wav", c2pa_signing.make_pki(), "output.wav")


def tagged_mp3(samples: np.ndarray, tags: dict[str, str]) -> bytes:
    """`samples` as MP3 with ID3 `tags` written by ffmpeg's muxer."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp3") as container:
        container.metadata.update(tags)
        stream = container.add_stream("libmp3lame", rate=test_audio.SR, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = test_audio.SR
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return out.getvalue()


def test_an_output_signed_as_trained_algorithmic_media_carries_both_manifest_marks(
    tmp_path: Path, reference: Recording
) -> None:
    output = generated(
        tmp_path, signed_wav(test_audio.piece(HOST_SEED, 36.0)), required=["c2pa", "digital_source_type"]
    )

    audited = output_audit.audit_output(output.pk)

    assert audited.marks["found"] == ["c2pa", "digital_source_type"]
    assert audited.marks["missing"] == []
    assert audited.audit_status == GeneratedOutput.Audit.CLEAR


def test_a_declared_ai_tag_is_a_mark_and_a_generator_name_alone_is_not(tmp_path: Path, reference: Recording) -> None:
    music = test_audio.piece(HOST_SEED, 36.0)
    declared = generated(tmp_path, tagged_mp3(music, {"AI_GENERATED": "true"}), ["ai_tag"], "declared.mp3")
    named = generated(tmp_path, tagged_mp3(music * 0.9, {"comment": "Made with Suno"}), ["ai_tag"], "named.mp3")

    assert output_audit.audit_output(declared.pk).marks["found"] == ["ai_tag"]
    assert output_audit.audit_output(declared.pk).audit_status == GeneratedOutput.Audit.CLEAR
    assert output_audit.audit_output(named.pk).marks["missing"] == ["ai_tag"]


# --------------------------------------------------------------------------- attribution


def test_without_embedder_weights_attribution_rests_on_the_replicated_span(
    tmp_path: Path, settings: object, reference: Recording
) -> None:
    settings.FINGERPRINT_EMBEDDINGS = False  # type: ignore[attr-defined]  # as when no weights ship
    copying = generated(tmp_path, wav(spliced(reference_excerpt())))
    unrelated = generated(tmp_path, wav(test_audio.piece(HOST_SEED, 36.0)), name="unrelated.wav")

    copied = output_audit.audit_output(copying.pk)

    assert [(a.recording_id, a.share) for a in copied.attributions.all()] == [(reference.pk, Decimal("100.0000"))]
    assert not output_audit.audit_output(unrelated.pk).attributions.exists()


def test_shares_follow_similarity_and_always_sum_to_exactly_one_hundred() -> None:
    thirds = attribution.shares({1: 0.3, 2: 0.3, 3: 0.3})
    assert [a.share for a in thirds] == [Decimal("33.3334"), Decimal("33.3333"), Decimal("33.3333")]
    weighted = attribution.shares({1: 0.6, 2: 0.2, 3: 0.15, 4: 0.12, 5: 0.11, 6: 0.105, 7: 0.9})
    assert [a.recording_id for a in weighted] == [7, 1, 2, 3, 4]  # the top MAX_RECORDINGS only
    assert sum(a.share for a in weighted) == Decimal("100.0000")
    assert all(a.share.as_tuple().exponent == -4 for a in weighted)


def test_nothing_above_the_floor_is_no_attribution_unless_it_was_replicated() -> None:
    faint = {1: attribution.SIMILARITY_FLOOR / 2, 2: attribution.SIMILARITY_FLOOR / 3}

    assert attribution.shares(faint) == []
    assert [(a.recording_id, a.share) for a in attribution.shares(faint, replicated={2})] == [(2, Decimal("100.0000"))]


# --------------------------------------------------------------------------- artist likeness


def test_an_output_that_imitates_a_registered_artist_is_flagged_unless_the_operator_may(tmp_path: Path) -> None:
    artists = factories.artist_catalogue(tmp_path)
    in_their_style = test_audio.artist_track(1, 905, seconds=30.0, rate=test_audio.SR)  # none of their recordings

    unlicensed = output_audit.audit_output(generated(tmp_path, wav(in_their_style), name="like-1.wav").pk)

    assert unlicensed.replicated_spans == []
    (imitated,) = unlicensed.imitated_artists
    assert imitated["artist_id"] == artists[1].pk and imitated["unlicensed"] is True
    assert imitated["licence_check"] == "Artist 1 has not opted in to AI likeness use 'style'"
    assert unlicensed.audit_status == GeneratedOutput.Audit.FLAGGED
    (entry,) = audit_entries(unlicensed)
    assert "imitates artist Artist 1 (not licensed for AI likeness)" in entry.payload["reasons"]

    # The artist consents to style and the operator holds a likeness licence for them: the same output is clear.
    ArtistAIConsent.objects.create(artist=artists[1], use="style", opted_in=True)
    licensed_output = generated(tmp_path, wav(in_their_style), name="like-1-again.wav")
    licensing.grant_licence(
        reference="LIKE-SF", licensor=factories.party("Label"), licensee=licensed_output.call.service.operator,
        uses=["ai_likeness_style"], territories=["GB"], start_date=datetime.date(2020, 1, 1), fee_model="flat",
        flat_fee="5000.00", artists=[artists[1]],
    )  # fmt: skip
    licensed = output_audit.audit_output(licensed_output.pk)
    (imitated,) = licensed.imitated_artists
    assert imitated["unlicensed"] is False and "LIKE-SF" in imitated["licence_check"]
    assert licensed.audit_status == GeneratedOutput.Audit.CLEAR
