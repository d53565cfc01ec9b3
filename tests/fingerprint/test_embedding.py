"""The neural embedder: its log-frequency front end, training on a folder of audio, loading and inference."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from django.core.management import call_command
from scipy import signal

from catalog import synth
from fingerprint import audio, embedding, params, training
from fingerprint.embedding import Embedder, EmbedderUnavailableError
from tests import audio as test_audio

SR = params.ANALYSIS_SAMPLE_RATE
TINY_CHANNELS = (8, 16, 32, 64, 64, 128)  # ~130 k parameters: trains in seconds on one core


@pytest.fixture(autouse=True)
def one_torch_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small batches on a shared 2-core machine run several times faster on one thread than on two.
    monkeypatch.setenv("CONTENTID_TORCH_THREADS", "1")


def _write_pieces(folder: Path, seeds: list[int], duration_s: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        sf.write(folder / f"piece-{seed}.wav", synth.compose(seed, duration_s).samples, synth.SAMPLE_RATE)
    return folder


def _at_analysis_rate(seed: int, duration_s: float) -> np.ndarray:
    """A synthetic piece resampled from synth's 22.05 kHz to the 11.025 kHz analysis rate."""
    return signal.resample_poly(synth.compose(seed, duration_s).samples, 1, 2).astype(np.float32)


# A few seconds of training can teach only a few invariances: the fixture's model learns noise, EQ and
# a time shift (what the retrieval test checks); the full chain runs in the command test below.
NOISE_AND_EQ = training.Augmentation(
    shift=0.5, speed=0, reverb=0, noise=0.8, eq=0.3, codec_sim=0, holes=0, pitch=0, tempo=0, codec_pool=0
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict]]:
    """A tiny model trained for a few seconds on four synthetic pieces (and one file that is not audio)."""
    root = tmp_path_factory.mktemp("embedder")
    folder = _write_pieces(root / "audio", [1, 2, 3, 4], 12.0)
    (folder / "cover.txt").write_text("not audio")
    messages: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONTENTID_TORCH_THREADS", "1")
        summary = training.train(
            folder,
            root / "embedder.pt",
            steps=40,
            batch_size=16,
            device="cpu",
            seed=3,
            channels=TINY_CHANNELS,
            learning_rate=3e-3,
            codec_pool=2,
            augmentation=NOISE_AND_EQ,
            log=messages.append,
        )
    summary["messages"] = messages
    yield root / "embedder.pt", summary


def test_the_front_end_cuts_one_second_patches_every_half_second() -> None:
    samples = _at_analysis_rate(7, 5.0)

    patches, starts = embedding.patch_features(samples)

    assert patches.dtype == np.float32 and starts.dtype == np.float64
    assert patches.shape == (9, params.EMBED_N_BANDS, params.EMBED_N_FRAMES)  # starts 0, 0.5, ... 4.0 s
    np.testing.assert_allclose(starts, np.arange(9) * params.EMBED_HOP_S, atol=0.5 * params.EMBED_HOP / SR)
    assert embedding.PATCH_SAMPLES / SR == pytest.approx(params.EMBED_PATCH_S, abs=0.01)
    # Normalised per patch: a gain change does not change a patch.
    np.testing.assert_allclose(patches.mean(axis=(1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(patches.std(axis=(1, 2)), 1.0, atol=1e-3)
    np.testing.assert_allclose(embedding.patch_features(0.1 * samples)[0], patches, atol=2e-3)
    # A clip shorter than one patch still gives one (padded) patch.
    assert embedding.patch_features(samples[: SR // 2])[0].shape == (1, params.EMBED_N_BANDS, params.EMBED_N_FRAMES)


def test_a_pitch_shift_is_a_shift_along_the_band_axis() -> None:
    t = np.arange(3 * SR) / SR
    chord = sum(np.sin(2 * np.pi * f0 * k * t) / k for f0 in (220.0, 277.18, 329.63) for k in range(1, 9))
    chord = (0.1 * chord).astype(np.float32)
    # Played 449/400 = 1.1225 times faster: up 2.000 semitones, i.e. 6 bands of 1/3 semitone.
    raised = signal.resample_poly(chord, 400, 449).astype(np.float32)

    original = embedding.patch_features(chord)[0][1]
    shifted = embedding.patch_features(raised)[0][1]

    def similarity(bands: int) -> float:
        a, b = original[: params.EMBED_N_BANDS - bands], shifted[bands:]
        return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])

    scores = {bands: similarity(bands) for bands in range(13)}
    assert max(scores, key=scores.__getitem__) == 6
    assert scores[6] > 0.9
    assert scores[0] < 0.6


def test_without_augmentation_a_positive_is_exactly_its_anchor() -> None:
    rng = np.random.default_rng(0)
    tracks = [_at_analysis_rate(seed, 6.0) for seed in (1, 2)]
    batch = {
        k: torch.from_numpy(v)
        for k, v in training.sample_batch(training.Corpus(tracks, ["a", "b"], 12.0), 4, rng, 0.0).items()
    }
    off = training.Augmentation(**dict.fromkeys(training.Augmentation.__dataclass_fields__, 0.0))

    anchors = training.anchors(batch["clean"])
    positives = training.positives(batch["source"], batch["babble"], torch.Generator().manual_seed(0), off)
    augmented = training.positives(
        batch["source"], batch["babble"], torch.Generator().manual_seed(0), training.Augmentation()
    )

    torch.testing.assert_close(positives, anchors, atol=1e-3, rtol=0)
    assert anchors.shape == (4, params.EMBED_N_BANDS, params.EMBED_N_FRAMES)
    assert (augmented - anchors).abs().mean() > 0.1


def test_training_writes_weights_that_load_and_embed_to_unit_vectors(trained: tuple[Path, dict]) -> None:
    path, summary = trained

    model = Embedder.load(path, device="cpu")

    assert path.is_file() and not list(path.parent.glob(".*.tmp"))
    assert model.model_version == summary["model_version"] and model.model_version.startswith("nafp64-")
    assert model.dim == params.EMBEDDING_DIM
    assert model.trained["files"] == 4 and model.trained["steps"] == 40 and model.trained["complete"]
    assert {"command", "data", "hours", "wall_time_s", "device", "batch_size"} <= set(model.trained)
    assert any("cover.txt" in message for message in summary["messages"])  # skipped, with a reason
    assert summary["first_loss"] > 0 and summary["final_loss"] > 0  # (curriculum: losses rise with difficulty)
    assert summary["self_check_top1"]["candidates"] == 64
    samples = _at_analysis_rate(9, 4.0)
    vectors, starts = model.embed_audio(samples)
    assert vectors.shape == (7, params.EMBEDDING_DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(starts, embedding.patch_features(samples)[1])
    np.testing.assert_allclose(model.embed_patches(embedding.patch_features(samples)[0]), vectors, atol=1e-5)
    # Batch norm folded into the convs for inference changes nothing but speed.
    blob = torch.load(path, weights_only=True)
    unfolded = embedding.build_network(blob["config"])
    unfolded.load_state_dict(blob["state_dict"])
    with torch.no_grad():
        reference = unfolded.eval()(torch.from_numpy(embedding.patch_features(samples)[0][:, None])).numpy()
    exact = Embedder.load(path, device="cpu", precision="float32")
    np.testing.assert_allclose(exact.embed_audio(samples)[0], reference, atol=1e-4)
    # bfloat16 (the default on CPUs that have it in hardware) moves no vector measurably; where this
    # machine's bfloat16 kernels would, the embedder has fallen back to float32.
    fast = Embedder.load(path, device="cpu", precision="bfloat16")
    assert fast.precision in (torch.bfloat16, torch.float32) and exact.precision == torch.float32
    assert float(np.min(np.sum(fast.embed_audio(samples)[0] * reference, axis=1))) > 0.999


class _WrongInLowPrecision(torch.nn.Module):
    """A network whose reduced-precision kernels are broken, as one CPU's bfloat16 convolution was:
    under autocast it returns other unit vectors than in float32."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        vectors = x.flatten(1)[:, : params.EMBEDDING_DIM]
        if torch.is_autocast_enabled(x.device.type):
            vectors = vectors.flip(1)
        return torch.nn.functional.normalize(vectors.float(), dim=1)


class _LinearWrongInLowPrecision(torch.nn.Linear):
    """One layer with a broken reduced-precision kernel: under autocast its output is reversed."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        return out.flip(1) if torch.is_autocast_enabled(x.device.type) else out


PROBE_CONFIG = {"n_bands": params.EMBED_N_BANDS, "n_frames": params.EMBED_N_FRAMES}
CPU = torch.device("cpu")


def _normalised(*layers: torch.nn.Module) -> torch.nn.Module:
    class Net(torch.nn.Sequential):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.normalize(super().forward(x).float(), dim=1)

    torch.manual_seed(0)
    return Net(torch.nn.Flatten(), *layers).eval()


def test_a_network_wrong_in_bfloat16_on_this_machine_falls_back_to_float32() -> None:
    with pytest.warns(RuntimeWarning, match="wrong vectors in bfloat16"):
        assert embedding.checked_precision(_WrongInLowPrecision(), PROBE_CONFIG, CPU, torch.bfloat16) == torch.float32
    probes = embedding._probes(PROBE_CONFIG, CPU)
    assert embedding.precision_agreement(_WrongInLowPrecision(), probes, torch.bfloat16) < 0.5


def test_only_the_layer_whose_bfloat16_kernel_is_wrong_is_kept_in_float32() -> None:
    size = params.EMBED_N_BANDS * params.EMBED_N_FRAMES
    net = _normalised(
        torch.nn.Linear(size, 128), torch.nn.ReLU(), _LinearWrongInLowPrecision(128, params.EMBEDDING_DIM)
    )
    probes = embedding._probes(PROBE_CONFIG, CPU)
    assert embedding.precision_agreement(net, probes, torch.bfloat16) < 0.5  # as built, bfloat16 is wrong

    assert embedding.checked_precision(net, PROBE_CONFIG, CPU, torch.bfloat16) == torch.bfloat16
    assert embedding.float32_layers(net) == ["3"]  # the broken layer, and only it
    assert embedding.precision_agreement(net, probes, torch.bfloat16) > embedding.PRECISION_MIN_COSINE
    # A network whose bfloat16 kernels are all right is left as it is.
    fine = _normalised(torch.nn.Linear(size, params.EMBEDDING_DIM))
    assert embedding.checked_precision(fine, PROBE_CONFIG, CPU, torch.bfloat16) == torch.bfloat16
    assert embedding.float32_layers(fine) == []


def _top1(model: Embedder, passages: list[np.ndarray], snr_db: float) -> float:
    """Share of noisy passages whose nearest clean passage (cosine) is their own."""
    clean = model.embed_patches(np.concatenate([embedding.patch_features(p)[0] for p in passages]))
    noisy = model.embed_patches(
        np.concatenate(
            [embedding.patch_features(test_audio.add_noise(p, snr_db, seed=i))[0] for i, p in enumerate(passages)]
        )
    )
    return float(np.mean(np.argmax(noisy @ clean.T, axis=1) == np.arange(len(passages))))


def test_a_noisy_passage_is_nearest_to_its_own_clean_passage(trained: tuple[Path, dict]) -> None:
    model = Embedder.load(trained[0], device="cpu")
    torch.manual_seed(0)
    untrained = Embedder(embedding.build_network(model.config), model.config, "untrained", {}, torch.device("cpu"))
    # Passages of pieces the model never saw: 3 from each of 4 pieces, 1 s each, 3 s apart.
    pieces = [_at_analysis_rate(seed, 8.5) for seed in (21, 22, 23, 24)]
    passages = [piece[int(s * SR) : int(s * SR) + embedding.PATCH_SAMPLES] for piece in pieces for s in (1, 4, 7)]

    learned, before = _top1(model, passages, 10.0), _top1(untrained, passages, 10.0)

    # Chance is 1/12; this model reaches ~0.8 after its few seconds of training, the untrained net ~0.1.
    assert learned >= 0.5, (learned, before)
    assert learned >= before + 0.25, (learned, before)


def test_missing_or_mismatched_weights_raise_a_clear_error(
    tmp_path: Path, trained: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(EmbedderUnavailableError, match=r"No embedder weights at .*manage.py train_embedder"):
        Embedder.load(tmp_path / "missing.pt")

    blob = torch.load(trained[0], weights_only=True)
    blob["config"]["n_bands"] = 96
    torch.save(blob, tmp_path / "other.pt")
    with pytest.raises(
        EmbedderUnavailableError, match=r"trained for other parameters \(n_bands: weights 96 vs code 180\)"
    ):
        Embedder.load(tmp_path / "other.pt")

    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(EmbedderUnavailableError, match="cannot be read"):
        Embedder.load(tmp_path / "junk.pt")

    monkeypatch.setattr(embedding, "DEFAULT_WEIGHTS", tmp_path / "missing.pt")
    embedding.default_embedder.cache_clear()
    try:
        assert embedding.weights_available() is False
        with pytest.raises(EmbedderUnavailableError):
            embedding.MODEL_VERSION  # noqa: B018 - the attribute is computed on access
    finally:
        embedding.default_embedder.cache_clear()


def test_training_can_continue_from_earlier_weights_and_records_them(
    tmp_path: Path, trained: tuple[Path, dict]
) -> None:
    """--init-from: a later run starts where an earlier one stopped (at learning rate 0 the learned
    weights stay exactly the earlier model's; only batch-norm statistics move), says so in its record,
    and refuses weights of another architecture."""
    earlier = Embedder.load(trained[0], device="cpu")
    folder = _write_pieces(tmp_path / "audio", [7], 6.0)
    common = {"steps": 2, "batch_size": 4, "device": "cpu", "codec_pool": 1, "log": lambda message: None}

    summary = training.train(
        folder, tmp_path / "more.pt", channels=TINY_CHANNELS, learning_rate=0.0, init_from=trained[0], **common
    )

    later = Embedder.load(tmp_path / "more.pt", device="cpu")
    before = torch.load(trained[0], weights_only=True)["state_dict"]
    after = torch.load(tmp_path / "more.pt", weights_only=True)["state_dict"]
    learned = [name for name in before if "running_" not in name and "num_batches" not in name]
    assert learned and all(torch.equal(before[name], after[name]) for name in learned)
    samples = _at_analysis_rate(11, 4.0)
    similarity = (later.embed_audio(samples)[0] * earlier.embed_audio(samples)[0]).sum(axis=1)
    assert similarity.min() > 0.9  # the same model, up to its batch-norm statistics
    assert summary["initialised_from"]["model_version"] == earlier.model_version
    assert later.trained["initialised_from"]["steps"] == earlier.trained["steps"]
    with pytest.raises(ValueError, match=r"--init-from .*other settings \(channels\)"):
        training.train(folder, tmp_path / "other.pt", init_from=trained[0], **common)  # default, larger channels


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="speech babble needs espeak-ng (apt install espeak-ng)")
def test_speech_babble_talkers_are_synthesised_and_mixed_into_batches() -> None:
    corpus = training.Corpus([_at_analysis_rate(21, 6.0)], ["piece"], 6.0)

    training.build_speech_pool(corpus, 16.0, np.random.default_rng(0), log=lambda message: None)

    assert len(corpus.talkers) == training.SPEECH_TALKERS
    assert all(len(talker) >= 1.5 * SR for talker in corpus.talkers)  # 16 s shared by 8 talkers, ~2 s each
    batch = training.sample_batch(corpus, 8, np.random.default_rng(1), pool_share=0.0)
    speech = batch["speech"]
    assert speech.shape == (4, training.POS_SAMPLES)
    assert (np.sqrt(np.mean(np.square(speech), axis=1)) > 0.01).all()  # every row holds someone talking


def test_without_speech_talkers_batches_carry_no_speech_rows() -> None:
    corpus = training.Corpus([_at_analysis_rate(21, 6.0)], ["piece"], 6.0)

    training.build_speech_pool(corpus, 0.0, np.random.default_rng(0), log=lambda message: None)

    assert corpus.talkers == []
    assert training.sample_batch(corpus, 8, np.random.default_rng(1), pool_share=0.0)["speech"].shape[0] == 0


def test_the_device_comes_from_the_environment_or_the_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTENTID_DEVICE", "cpu")
    assert embedding.resolve_device() == torch.device("cpu")
    monkeypatch.delenv("CONTENTID_DEVICE")
    assert embedding.resolve_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no usable CUDA GPU"):
            embedding.resolve_device("cuda")


def test_the_train_embedder_command_trains_within_its_time_budget_and_records_how(tmp_path: Path) -> None:
    folder = _write_pieces(tmp_path / "audio", [5, 6], 5.0)
    (folder / "broken.mp3").write_bytes(b"ID3" + bytes(500))
    out, err = StringIO(), StringIO()

    call_command(
        "train_embedder",
        str(folder),
        "--out",
        str(tmp_path / "w.pt"),
        "--steps",
        "100000",
        "--batch-size",
        "4",
        "--device",
        "cpu",
        "--seed",
        "1",
        "--time-budget",
        "3",
        stdout=out,
        stderr=err,
    )

    assert "broken.mp3" in err.getvalue()  # skipped, with the decoder's reason
    assert "step 1/100000" in err.getvalue() and "loss" in err.getvalue()
    assert "Saved" in out.getvalue() and "steps of 4 pairs on 2 files" in out.getvalue()
    model = Embedder.load(tmp_path / "w.pt", device="cpu")
    assert model.trained["command"].startswith("python manage.py train_embedder")
    assert "--time-budget 3" in model.trained["command"]
    assert model.trained["data"] == str(folder.resolve())
    assert 1 <= model.trained["steps"] < 100000 and model.trained["complete"] is False
    assert model.trained["device"] == "cpu"
    decoded = audio.decode(folder / "piece-5.wav", max_bytes=10**8, max_duration_s=60)
    assert model.embed_audio(decoded.samples)[0].shape == (9, params.EMBEDDING_DIM)
