"""Neural audio embeddings: the log-frequency front end, model loading, device choice, batched inference.

Units: samples are mono float32 at params.ANALYSIS_SAMPLE_RATE (11025 Hz); STFT frames are
params.EMBED_HOP samples (23.2 ms); a patch is params.EMBED_N_FRAMES frames (~1 s) by
params.EMBED_N_BANDS log-frequency bands (1/3 semitone apart); an embedding is a unit-length
float32 vector of params.EMBEDDING_DIM values. One patch starts every ~EMBED_HOP_S seconds.

The front end (`stft_power` -> `band_levels_db` -> `normalise_patches`) is the one used by both
training and inference, so the network always sees the same numbers. Apart from networks.py and
training.py this is the only module that imports torch; callers get numpy arrays.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fingerprint import params
from fingerprint.networks import EmbedderNet

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "embedder.pt"
WEIGHTS_FORMAT = 1
# Samples one patch spans: (frames - 1) hops plus one window.
PATCH_SAMPLES = (params.EMBED_N_FRAMES - 1) * params.EMBED_HOP + params.EMBED_N_FFT
# Patches computed per front-end call inside embed_audio, and per network batch. It bounds memory
# whatever the audio's length, and keeps every intermediate buffer under glibc's 32 MB mmap
# ceiling: 256 reference patches span 128 s, whose complex STFT is 23 MB, and a batch's stem output
# is 20 MB. Larger buffers are mapped fresh on every call and page-faulted in zero-filled: at 1024
# that was a quarter of the reference indexing's CPU time, spent in the kernel.
_CHUNK_PATCHES = 256
_POWER_FLOOR = 1e-10  # band power floor (-100 dB re. unit power), keeps log10 finite on digital silence


class EmbedderUnavailableError(RuntimeError):
    """The embedding model cannot be used: weights missing, unreadable, or built for other parameters."""


def front_end_config() -> dict[str, Any]:
    """The parameters a trained model depends on; weights whose config differs are refused."""
    return {
        "sample_rate": params.ANALYSIS_SAMPLE_RATE,
        "n_fft": params.EMBED_N_FFT,
        "hop": params.EMBED_HOP,
        "n_frames": params.EMBED_N_FRAMES,
        "n_bands": params.EMBED_N_BANDS,
        "bands_per_octave": params.EMBED_BANDS_PER_OCTAVE,
        "fmin_hz": params.EMBED_FMIN_HZ,
        "db_range": params.EMBED_DB_RANGE,
        "embedding_dim": params.EMBEDDING_DIM,
    }


# --- Front end -------------------------------------------------------------------------------------


@functools.cache
def log_filterbank() -> np.ndarray:
    """Triangular log-frequency filterbank, shape (EMBED_N_BANDS, bins) float32; rows sum to 1.

    Band k is centred on fmin * 2**(k / bands_per_octave) Hz with edges at its neighbours' centres,
    so band spacing is constant in log frequency (a pitch ratio is a band shift). Where that is
    narrower than an STFT bin (low bands), the triangle is widened to one bin each side, which
    makes the band a linear interpolation of the spectrum at its centre. `bins` stops at the last
    bin any band uses.
    """
    sr, n_fft = params.ANALYSIS_SAMPLE_RATE, params.EMBED_N_FFT
    bin_hz = sr / n_fft
    k = np.arange(-1, params.EMBED_N_BANDS + 1)
    edges = params.EMBED_FMIN_HZ * 2.0 ** (k / params.EMBED_BANDS_PER_OCTAVE)
    centre = edges[1:-1]
    lower = np.minimum(edges[:-2], centre - bin_hz)
    upper = np.maximum(edges[2:], centre + bin_hz)
    if upper[-1] >= sr / 2:
        raise ValueError(f"the top band reaches {upper[-1]:.0f} Hz, above the Nyquist frequency ({sr / 2:.0f} Hz)")
    freqs = np.arange(math.ceil(upper[-1] / bin_hz) + 1) * bin_hz
    rising = (freqs[None, :] - lower[:, None]) / (centre - lower)[:, None]
    falling = (upper[:, None] - freqs[None, :]) / (upper - centre)[:, None]
    weights = np.clip(np.minimum(rising, falling), 0.0, None)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


@functools.cache
def _filterbank_tensor(device: torch.device) -> torch.Tensor:
    return torch.from_numpy(log_filterbank()).to(device)


@functools.cache
def _sparse_filterbank() -> torch.Tensor:
    """The filterbank as a CPU sparse (CSR) matrix: each band reads a few bins, so on the CPU a
    sparse product does a twentieth of the dense one's work (on a GPU the dense one is faster)."""
    with warnings.catch_warnings():  # torch calls its CSR support "beta"; the product is all we use
        warnings.simplefilter("ignore", UserWarning)
        return _filterbank_tensor(torch.device("cpu")).to_sparse_csr()


def stft_power(samples: torch.Tensor) -> torch.Tensor:
    """Power spectrogram |STFT|^2 of (B, n) samples -> (B, bins, frames), float32.

    Hann window of EMBED_N_FFT, hop EMBED_HOP, no centring or padding: frame j covers samples
    [j * hop, j * hop + n_fft), so frames of a long signal and of any hop-aligned excerpt agree.
    Only the bins the filterbank reads are kept.
    """
    window = torch.hann_window(params.EMBED_N_FFT, device=samples.device, dtype=samples.dtype)
    spectrum = torch.stft(
        samples, params.EMBED_N_FFT, params.EMBED_HOP, window=window, center=False, return_complex=True
    )
    kept = spectrum[:, : log_filterbank().shape[1]]
    # re^2 + im^2 directly: twice as fast as abs().square(), which takes a square root first.
    return kept.real.square() + kept.imag.square()


def band_levels_db(power: torch.Tensor) -> torch.Tensor:
    """Power spectrogram (B, bins, frames) -> log-frequency band levels in dB, (B, EMBED_N_BANDS, frames)."""
    if power.device.type == "cpu":
        filterbank = _sparse_filterbank()
        bands = torch.stack([filterbank @ spectrum for spectrum in power])
    else:
        bands = torch.matmul(_filterbank_tensor(power.device), power)
    return 10.0 * torch.log10(bands.clamp_min(_POWER_FLOOR))


def normalise_patches(levels_db: torch.Tensor) -> torch.Tensor:
    """Per-patch normalisation of (B, bands, frames) dB levels: clamp to EMBED_DB_RANGE below the
    patch maximum, then zero mean and unit variance (a gain change leaves the patch unchanged)."""
    peak = levels_db.amax(dim=(1, 2), keepdim=True)
    x = torch.maximum(levels_db, peak - params.EMBED_DB_RANGE)
    centred = x - x.mean(dim=(1, 2), keepdim=True)
    # The deviation from the centred values: the same population std as torch.std, without its
    # Welford loop (a seventh of CPU embedding time).
    std = centred.square().mean(dim=(1, 2), keepdim=True).sqrt()
    # The floor (dB) keeps near-constant patches (silence, a held DC offset) from blowing up.
    return centred / std.clamp_min(1e-3)


def patch_start_frames(n_samples: int, hop_s: float = params.EMBED_HOP_S) -> np.ndarray:
    """First STFT frame of each patch of a signal `n_samples` long: one every `hop_s` (reference
    patches: EMBED_HOP_S), rounded to a frame; int64. A signal shorter than one patch still gets one
    (zero-padded) patch."""
    n_frames = max(1, 1 + (n_samples - params.EMBED_N_FFT) // params.EMBED_HOP)
    last = max(0, n_frames - params.EMBED_N_FRAMES)
    hop_frames = hop_s * params.ANALYSIS_SAMPLE_RATE / params.EMBED_HOP
    count = int((last + 0.5) // hop_frames) + 1  # + 0.5: a start that rounds down onto `last` still fits
    starts = np.floor(np.arange(count) * hop_frames + 0.5).astype(np.int64)
    return starts[starts <= last]


def _patches(samples: torch.Tensor, start_frames: np.ndarray) -> torch.Tensor:
    """Normalised patches (n, bands, frames) for the given start frames of 1-D `samples` (one STFT for all)."""
    first, last = int(start_frames[0]), int(start_frames[-1]) + params.EMBED_N_FRAMES
    need = (last - 1) * params.EMBED_HOP + params.EMBED_N_FFT
    piece = samples[first * params.EMBED_HOP : need]
    if len(piece) < need - first * params.EMBED_HOP:
        piece = torch.nn.functional.pad(piece, (0, need - first * params.EMBED_HOP - len(piece)))
    levels = band_levels_db(stft_power(piece[None]))[0]  # (bands, frames)
    windows = levels.unfold(1, params.EMBED_N_FRAMES, 1)  # (bands, positions, frames)
    index = torch.as_tensor(start_frames - first, device=levels.device)
    return normalise_patches(windows[:, index].permute(1, 0, 2))


def patch_features(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mono float32 audio at ANALYSIS_SAMPLE_RATE -> (patches (n, EMBED_N_BANDS, EMBED_N_FRAMES) float32,
    start times (n,) float64 in seconds).

    A patch covers PATCH_SAMPLES samples (0.998 s) from its start; patches start every EMBED_HOP_S
    (rounded to a 23.2 ms frame: within 11.6 ms of k * 0.5 s) and only whole patches are made, so
    the last < 0.5 s may be unused.
    """
    starts = patch_start_frames(len(samples))
    signal = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    with torch_threads(), torch.inference_mode():
        chunks = [
            _patches(signal, starts[i : i + _CHUNK_PATCHES]).numpy() for i in range(0, len(starts), _CHUNK_PATCHES)
        ]
    return np.concatenate(chunks), starts * (params.EMBED_HOP / params.ANALYSIS_SAMPLE_RATE)


# --- Runtime: threads, device ---------------------------------------------------------------------


def default_threads() -> int:
    """Intra-op threads for torch on CPU: CONTENTID_TORCH_THREADS, else the CPUs this process may use."""
    configured = os.environ.get("CONTENTID_TORCH_THREADS", "").strip()
    if configured:
        return max(1, int(configured))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def torch_threads(n: int | None = None) -> Iterator[None]:
    """Run the block with `n` torch CPU threads (default `default_threads()`), then restore the previous count.

    Set around the work rather than at import, so importing this module changes nothing for
    the rest of the process (web workers, other libraries' thread pools).
    """
    n = n or default_threads()
    previous = torch.get_num_threads()
    if n != previous:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n != previous:
            torch.set_num_threads(previous)


# CONTENTID_EMBED_PRECISION values: "auto" picks per machine (see resolve_precision).
PRECISIONS = {"auto": None, "float32": torch.float32, "bfloat16": torch.bfloat16}


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX tiles)."""
    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private: absent means no
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


def resolve_precision(device: torch.device, requested: str | None = None) -> torch.dtype:
    """The dtype the network computes in: `requested`, else env CONTENTID_EMBED_PRECISION, else
    "auto": bfloat16 on a CPU that has it in hardware, float32 everywhere else.

    bfloat16 makes the network about 30 % faster on such CPUs and moves each embedding by less than
    one part in 10,000 of cosine similarity (public corpus: worst 0.99993), far inside every
    matching threshold. Set "float32" to reproduce float32 vectors bit for bit elsewhere. A loaded
    Embedder still checks that its CPU's bfloat16 kernels give those vectors (`checked_precision`).
    """
    name = (requested or os.environ.get("CONTENTID_EMBED_PRECISION", "") or "auto").strip().lower()
    if name not in PRECISIONS:
        raise ValueError(f"unknown embedding precision {name!r}: use one of {', '.join(PRECISIONS)}")
    if name == "auto":
        return torch.bfloat16 if device.type == "cpu" and native_bfloat16() else torch.float32
    return PRECISIONS[name]


# A lower precision is used only where it gives the float32 answer. On an Intel Xeon with AMX tiles
# (torch 2.13, oneDNN 3.12) the network's last convolution (256 channels, 2 x 2 in, 1 x 3 kernel, stride
# 2) came out wrong in bfloat16: relative error 0.5 and sometimes inf, every vector at cosine ~0.2 to
# its float32 value, which broke every index built there; every other layer was right, and bfloat16
# ran the network 1.8 x faster. Whether a kernel is right depends on the CPU, the library build and
# the shapes, so it is checked on the machine, at load, layer by layer, not assumed.
PRECISION_MIN_COSINE = 0.999  # every probe vector at least this close to float32 (measured: 0.9999)
LAYER_MAX_RELATIVE_ERROR = 0.02  # a right bfloat16 layer is off by ~0.003 (8 mantissa bits); a wrong one by 0.5
PRECISION_PROBE_BATCHES = (_CHUNK_PATCHES, 37)  # the batch size references use, and an odd small one


class _InFloat32(torch.nn.Module):
    """A layer kept in float32 inside an autocast region (its reduced-precision kernel is wrong here)."""

    def __init__(self, layer: torch.nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return self.layer(x.float())


def checked_precision(
    net: torch.nn.Module, config: dict[str, Any], device: torch.device, dtype: torch.dtype
) -> torch.dtype:
    """The dtype to run `net` in on this machine: `dtype` when its vectors agree with float32, after
    keeping in float32 any layer whose `dtype` kernel is wrong here (`net` is changed in place);
    float32, with a warning, when even then they do not. A seeded probe of random patches at the
    batch sizes used, once per loaded model: about 0.1 s, 0.4 s when layers must be checked one by one."""
    probes = _probes(config, device)
    if precision_agreement(net, probes, dtype) >= PRECISION_MIN_COSINE:
        return dtype
    wrong = _layers_wrong_in(net, probes, dtype)
    for name in wrong:
        net.set_submodule(name, _InFloat32(net.get_submodule(name)))
    worst = precision_agreement(net, probes, dtype)
    if wrong and worst >= PRECISION_MIN_COSINE:
        return dtype
    for name in wrong:  # leave the network as it was: all of it runs in float32 now
        net.set_submodule(name, net.get_submodule(name).layer)
    warnings.warn(
        f"The embedder computes wrong vectors in {str(dtype).removeprefix('torch.')} on this machine "
        f"(worst cosine to float32 {worst:.4f} < {PRECISION_MIN_COSINE}); using float32. "
        "Set CONTENTID_EMBED_PRECISION=float32 to skip this check.",
        RuntimeWarning,
        stacklevel=3,
    )
    return torch.float32


def float32_layers(net: torch.nn.Module) -> list[str]:
    """The layers `checked_precision` keeps in float32 (their reduced-precision kernel is wrong here)."""
    return [name for name, module in net.named_modules() if isinstance(module, _InFloat32)]


def _probes(config: dict[str, Any], device: torch.device) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    shape = (1, int(config["n_bands"]), int(config["n_frames"]))
    return [
        torch.randn(size, *shape, generator=generator).to(device).contiguous(memory_format=torch.channels_last)
        for size in PRECISION_PROBE_BATCHES
    ]


def precision_agreement(net: torch.nn.Module, probes: list[torch.Tensor], dtype: torch.dtype) -> float:
    """The lowest cosine similarity between a probe vector computed in `dtype` and in float32 (0.0 when
    any value is not finite)."""
    worst = 1.0
    with torch_threads(), torch.inference_mode():
        for probe in probes:
            exact = net(probe).float()
            with torch.autocast(probe.device.type, dtype=dtype):
                fast = net(probe).float()
            if not bool(torch.isfinite(fast).all()):
                return 0.0
            worst = min(worst, float(torch.nn.functional.cosine_similarity(exact, fast, dim=1).min()))
    return worst


def _layers_wrong_in(net: torch.nn.Module, probes: list[torch.Tensor], dtype: torch.dtype) -> list[str]:
    """Names of the layers with weights whose output in `dtype`, from the same float32 input as in a
    float32 pass over the probes, is off by more than LAYER_MAX_RELATIVE_ERROR (or not finite)."""
    layers = {
        name: module for name, module in net.named_modules() if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear))
    }
    wrong: set[str] = set()
    with torch_threads(), torch.inference_mode():
        for probe in probes:
            seen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
            hooks = [
                # A copy of the output: the in-place ReLU after each layer would change it.
                module.register_forward_hook(
                    lambda _m, args, out, name=name, seen=seen: seen.__setitem__(name, (args[0], out.clone()))
                )
                for name, module in layers.items()
            ]
            try:
                net(probe)
            finally:
                for hook in hooks:
                    hook.remove()
            for name, (layer_input, exact) in seen.items():
                with torch.autocast(probe.device.type, dtype=dtype):
                    fast = layers[name](layer_input).float()
                error = float((fast - exact).norm() / exact.norm().clamp_min(1e-12))
                if not math.isfinite(error) or error > LAYER_MAX_RELATIVE_ERROR:
                    wrong.add(name)
    return sorted(wrong)


def resolve_device(requested: str | None = None) -> torch.device:
    """`requested`, else env CONTENTID_DEVICE, else `cuda` when available, else `cpu`.

    Raises ValueError for a device that does not exist here (e.g. cuda on a CPU-only machine).
    """
    name = (requested or os.environ.get("CONTENTID_DEVICE", "")).strip()
    if not name:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ValueError(f"unknown torch device {name!r}: {exc}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was requested but this machine has no usable CUDA GPU")
    return device


# --- The model -------------------------------------------------------------------------------------


def build_network(config: dict[str, Any]) -> EmbedderNet:
    """A fresh (untrained) network for a weights config (see training.py for the keys)."""
    return EmbedderNet(
        n_bands=int(config["n_bands"]),
        n_frames=int(config["n_frames"]),
        dim=int(config["embedding_dim"]),
        channels=tuple(int(c) for c in config["channels"]),
        head_hidden=int(config["head_hidden"]),
    )


def read_weights(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise EmbedderUnavailableError(
            f"No embedder weights at {path}. Train them with `python manage.py train_embedder AUDIO_DIR` "
            "(see fingerprint/weights/README.md)."
        )
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged or foreign file
        raise EmbedderUnavailableError(f"Embedder weights at {path} cannot be read: {exc}") from exc
    missing = {"state_dict", "config", "model_version", "trained"} - set(blob if isinstance(blob, dict) else ())
    if missing:
        raise EmbedderUnavailableError(
            f"Embedder weights at {path} lack {sorted(missing)}: not a file train_embedder wrote."
        )
    if blob.get("format") != WEIGHTS_FORMAT:
        raise EmbedderUnavailableError(
            f"Embedder weights at {path} have format {blob.get('format')!r}; this code reads format {WEIGHTS_FORMAT}."
        )
    expected = front_end_config()
    differs = {k: (blob["config"].get(k), v) for k, v in expected.items() if blob["config"].get(k) != v}
    if differs:
        detail = ", ".join(f"{k}: weights {w!r} vs code {c!r}" for k, (w, c) in differs.items())
        raise EmbedderUnavailableError(
            f"Embedder weights at {path} were trained for other parameters ({detail}); "
            "retrain with `python manage.py train_embedder` or restore the matching params.py."
        )
    return blob


class Embedder:
    """A loaded, inference-ready embedding model on one device; holds no per-call state, so one instance
    serves a whole process (see `default_embedder`)."""

    def __init__(
        self,
        net: EmbedderNet,
        config: dict[str, Any],
        model_version: str,
        trained: dict[str, Any],
        device: torch.device,
        path: Path | None = None,
        precision: str | None = None,
    ) -> None:
        self.config = config
        self.model_version = model_version
        self.trained = trained  # how the weights were made: command, data, steps, time, device
        self.device = device
        self.path = path
        # channels_last is ~25% faster for these small convs on CPU (oneDNN) and neutral on GPU.
        self.net = net.fold_batch_norm().to(device, memory_format=torch.channels_last)
        self.dim = int(config["embedding_dim"])
        self.precision = resolve_precision(device, precision)  # the dtype the network computes in
        if self.precision != torch.float32:
            self.precision = checked_precision(self.net, config, device, self.precision)

    @classmethod
    def load(cls, path: str | Path | None = None, device: str | None = None, precision: str | None = None) -> Embedder:
        """Load weights (default fingerprint/weights/embedder.pt) onto `device` (default: `resolve_device()`),
        to compute in `precision` (default: `resolve_precision()`).

        Raises EmbedderUnavailableError when the file is missing, unreadable, or was trained for a
        different front end or embedding size than params.py now declares.
        """
        path = Path(path) if path is not None else DEFAULT_WEIGHTS
        blob = read_weights(path)
        try:
            target = resolve_device(device)
        except ValueError as exc:
            raise EmbedderUnavailableError(str(exc)) from exc
        net = build_network(blob["config"])
        try:
            net.load_state_dict(blob["state_dict"])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise EmbedderUnavailableError(f"Embedder weights at {path} do not fit the network code: {exc}") from exc
        config, version, trained = dict(blob["config"]), str(blob["model_version"]), dict(blob["trained"])
        return cls(net, config, version, trained, target, path, precision)

    def embed_patches(self, patches: np.ndarray, batch_size: int = _CHUNK_PATCHES) -> np.ndarray:
        """Patches (n, EMBED_N_BANDS, EMBED_N_FRAMES) from `patch_features` -> unit vectors (n, dim) float32."""
        patches = np.asarray(patches, dtype=np.float32)
        if patches.ndim != 3 or patches.shape[1:] != (self.config["n_bands"], self.config["n_frames"]):
            raise ValueError(
                f"patches must be (n, {self.config['n_bands']}, {self.config['n_frames']}), not {patches.shape}"
            )
        out = np.empty((len(patches), self.dim), dtype=np.float32)
        with torch_threads(), torch.inference_mode():
            for i in range(0, len(patches), batch_size):
                out[i : i + batch_size] = self._forward(torch.from_numpy(patches[i : i + batch_size]))
        return out

    def embed_audio(
        self, samples: np.ndarray, batch_size: int = _CHUNK_PATCHES, hop_s: float = params.EMBED_HOP_S
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mono float32 audio at ANALYSIS_SAMPLE_RATE -> (unit vectors (n, dim) float32, patch start times (n,) s).

        The computation of `embed_patches(patch_features(samples)[0])`, run on the model's device (the
        front end too) a chunk at a time, so memory stays bounded for hour-long audio. Patches start
        every `hop_s`: EMBED_HOP_S for references, EMBED_QUERY_HOP_S for queries.
        """
        starts = patch_start_frames(len(samples), hop_s)
        signal = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)).to(self.device)
        out = np.empty((len(starts), self.dim), dtype=np.float32)
        with torch_threads(), torch.inference_mode():
            for i in range(0, len(starts), _CHUNK_PATCHES):
                patches = _patches(signal, starts[i : i + _CHUNK_PATCHES])
                for j in range(0, len(patches), batch_size):
                    batch = patches[j : j + batch_size]
                    out[i + j : i + j + len(batch)] = self._forward(batch)
        return out, starts * (params.EMBED_HOP / params.ANALYSIS_SAMPLE_RATE)

    def _forward(self, patches: torch.Tensor) -> np.ndarray:
        x = patches.to(self.device, non_blocking=True).unsqueeze(1).contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=self.precision, enabled=self.precision != torch.float32):
            return self.net(x).float().cpu().numpy()


@functools.cache
def default_embedder() -> Embedder:
    """The process's embedder for the shipped weights, loaded once (raises EmbedderUnavailableError)."""
    return Embedder.load()


def weights_available() -> bool:
    """Whether the shipped weights exist and fit this code (loads them once on first call)."""
    try:
        default_embedder()
    except EmbedderUnavailableError:
        return False
    return True


def __getattr__(name: str) -> str:
    # MODEL_VERSION is read from the shipped weights' metadata on first use, not at import.
    if name == "MODEL_VERSION":
        return default_embedder().model_version
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
