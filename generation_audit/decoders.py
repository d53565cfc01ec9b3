"""Neural-decoder-style resynthesis in torch: the "generated" side of evaluation and training.

We cannot download real generators, so we rebuild the parts of their decoders that leave traces,
keeping the music intact so that a pair (real clip, decoded clip) differs only by the decoder:

- `TransposedConvDecoder`: the encoder is a stack of strided lapped transforms (MDCT filters as
  `Conv1d`), the decoder the matching stack of `ConvTranspose1d` layers, which alone would
  reconstruct perfectly. Like a trained decoder it then falls short of perfection: its weights
  are perturbed, each layer's input gets a bias and a mild rectifying non-linearity (a moving DC
  level, as ReLU/ELU/Snake activations leave), and optionally the latent is quantised (a codec).
  Zero-insertion makes that DC level periodic with period prod(strides): a comb at
  sample_rate / prod(strides). Weights are constructed and randomly perturbed, never trained.
- `UpsampleConvDecoder`: the same analysis, but each decoder layer is nearest-neighbour upsampling
  then a stride-1 convolution, fitted by least squares to the lapped synthesis filter.
- `griffin_lim`: STFT magnitude (optionally through a mel filterbank) with phase rebuilt by
  Griffin-Lim iterations.
- `phase_vocoder_resynthesis`: mel magnitude with phase from bin-frequency advance (a vocoder's
  phase model, no iterations).

All functions take and return mono float32 numpy arrays at the decoder's own sample rate (Hz).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F


def mdct_kernel(n: int) -> torch.Tensor:
    """MDCT analysis/synthesis filters for hop `n` samples: shape (n, 1, 2n), sine window (Princen-Bradley)."""
    t = torch.arange(2 * n, dtype=torch.float64)
    k = torch.arange(n, dtype=torch.float64)
    window = torch.sin(math.pi * (t + 0.5) / (2 * n))
    basis = torch.cos(math.pi / n * (t[None, :] + 0.5 + n / 2) * (k[:, None] + 0.5))
    return (math.sqrt(2.0 / n) * window[None, :] * basis).unsqueeze(1).float()


@dataclass(frozen=True)
class DecoderSpec:
    """One decoder configuration: rate (Hz), strides from latent to waveform, artefact strengths."""

    name: str
    sample_rate: int
    strides: tuple[int, ...]
    kind: str = "tconv"  # tconv | upsample_conv
    bias_db: float = -40.0  # bias level relative to each layer input's RMS (dB)
    weight_noise: float = 0.02  # relative perturbation of the synthesis weights
    rectify: float = 0.05  # mix of |h| into h before each layer (moving DC)
    quantize_levels: int = 0  # > 0: uniform latent quantisation to this many steps per channel RMS

    @property
    def hop(self) -> int:
        return int(np.prod(self.strides))

    @property
    def spacing_hz(self) -> float:
        return self.sample_rate / self.hop


class TransposedConvDecoder(torch.nn.Module):
    """A stacked-MDCT autoencoder whose ConvTranspose1d decoder is perturbed like a trained one (see module doc)."""

    def __init__(self, spec: DecoderSpec, seed: int = 0) -> None:
        super().__init__()
        self.spec = spec
        gen = torch.Generator().manual_seed(seed)
        self.enc_strides = list(reversed(spec.strides))  # waveform -> latent
        self.enc_kernels = [mdct_kernel(s) for s in self.enc_strides]
        self.dec_kernels: list[torch.Tensor] = []
        self.biases: list[torch.Tensor] = []
        channels = 1
        for s, kern in zip(self.enc_strides, self.enc_kernels, strict=True):
            dec = kern.repeat(channels, 1, 1)  # one weight set per input channel (grouped)
            noise = torch.randn(dec.shape, generator=gen) * spec.weight_noise * dec.std()
            self.dec_kernels.append(dec + noise)
            channels *= s
            self.biases.append(torch.randn(channels, generator=gen))

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, samples) -> (batch, samples), same length."""
        length = x.shape[-1]
        hop = self.spec.hop
        pad = 2 * hop + (-length) % hop
        h = F.pad(x[:, None, :], (2 * hop, pad))
        channels = 1
        for s, kern in zip(self.enc_strides, self.enc_kernels, strict=True):
            h = F.conv1d(h, kern.repeat(channels, 1, 1), stride=s, padding=s, groups=channels)
            channels *= s
        if self.spec.quantize_levels:
            step = h.pow(2).mean(dim=-1, keepdim=True).sqrt().clamp_min(1e-6) / self.spec.quantize_levels
            h = torch.round(h / step) * step
        for i, s in enumerate(self.spec.strides):
            layer = len(self.spec.strides) - 1 - i  # decoder layer i inverts encoder layer `layer`
            rms = h.pow(2).mean().sqrt().clamp_min(1e-8)
            bias = self.biases[layer].view(1, -1, 1)
            h = h + self.spec.rectify * h.abs() + bias * rms * 10 ** (self.spec.bias_db / 20)
            channels //= s
            h = self._synthesise(h, layer, s, channels)
        return h[:, 0, 2 * hop : 2 * hop + length]

    def _synthesise(self, h: torch.Tensor, layer: int, s: int, groups: int) -> torch.Tensor:
        return F.conv_transpose1d(h, self.dec_kernels[layer], stride=s, padding=s, groups=groups)


class UpsampleConvDecoder(TransposedConvDecoder):
    """Nearest-neighbour upsampling then a stride-1 convolution, fitted to the lapped synthesis filters."""

    def __init__(self, spec: DecoderSpec, seed: int = 0) -> None:
        super().__init__(spec, seed)
        self.fitted = [self._fit(k, s) for k, s in zip(self.dec_kernels, self.enc_strides, strict=True)]

    # Extra taps (per unit of stride) the fitted filter gets beyond the lapped filter's 2 * stride:
    # the box's spectral nulls make an exact fit impossible, longer filters get closer.
    EXTRA_TAPS_PER_STRIDE = 6

    def _fit(self, kern: torch.Tensor, s: int) -> torch.Tensor:
        # Nearest upsampling = zero insertion then a length-s box; solve box * g ~= kern (least squares).
        extra = self.EXTRA_TAPS_PER_STRIDE * s
        rows = kern.shape[0]
        target = torch.cat(
            [torch.zeros(rows, extra // 2), kern[:, 0, :], torch.zeros(rows, extra - extra // 2 + s - 1)], dim=-1
        ).double()
        taps = kern.shape[-1] + extra
        box = torch.zeros(taps + s - 1, taps, dtype=torch.float64)
        for j in range(taps):
            box[j : j + s, j] = 1.0
        return torch.linalg.lstsq(box, target.T).solution.T.float().unsqueeze(1)

    def _synthesise(self, h: torch.Tensor, layer: int, s: int, groups: int) -> torch.Tensor:
        g = self.fitted[layer]
        up = torch.repeat_interleave(h, s, dim=-1)
        # conv_transpose1d(x, k, padding=s) is the full convolution of zero-inserted x with k, shifted by s;
        # here the zero-insert-then-box (nearest upsampling) is followed by the fitted filter instead.
        taps = g.shape[-1]
        weight = torch.flip(g, dims=[-1]).view(groups, s, taps)
        out = F.conv1d(up, weight, padding=taps - 1, groups=groups)
        offset = s + self.EXTRA_TAPS_PER_STRIDE * s // 2
        return out[..., offset : offset + (h.shape[-1] - 1) * s]


def decode(samples: np.ndarray, spec: DecoderSpec, seed: int = 0) -> np.ndarray:
    """Pass mono `samples` (at spec.sample_rate Hz) through the decoder described by `spec`."""
    model = (UpsampleConvDecoder if spec.kind == "upsample_conv" else TransposedConvDecoder)(spec, seed)
    x = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None, :]
    return model(x)[0].numpy().astype(np.float32)


def mel_filterbank(sample_rate: int, n_fft: int, bands: int, f_max: float | None = None) -> np.ndarray:
    """Triangular mel filters (HTK mel scale), shape (bands, n_fft // 2 + 1), for `sample_rate` Hz."""
    f_max = f_max or sample_rate / 2
    mel = np.linspace(0.0, 2595 * np.log10(1 + f_max / 700), bands + 2)
    edges = 700 * (10 ** (mel / 2595) - 1)
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - freqs[None, :]) / np.maximum(upper - centre, 1e-9)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def _stft(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    return torch.stft(x, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True)


def _istft(spec: torch.Tensor, n_fft: int, hop: int, length: int) -> torch.Tensor:
    return torch.istft(spec, n_fft, hop, window=torch.hann_window(n_fft), length=length)


def _magnitude(x: torch.Tensor, sample_rate: int, n_fft: int, hop: int, mel_bands: int | None) -> torch.Tensor:
    """STFT magnitude, or the magnitude a mel spectrogram implies (pseudo-inverse, as mel vocoders must guess)."""
    mag = _stft(x, n_fft, hop).abs()
    if not mel_bands:
        return mag
    fb = torch.from_numpy(mel_filterbank(sample_rate, n_fft, mel_bands))
    return (torch.linalg.pinv(fb) @ (fb @ mag)).clamp_min(0.0)


@torch.no_grad()
def griffin_lim(
    samples: np.ndarray,
    sample_rate: int,
    n_fft: int = 1024,
    iterations: int = 32,
    mel_bands: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Keep the STFT magnitude (hop n_fft/4, optionally through `mel_bands` mel bands); rebuild phase by Griffin-Lim."""
    hop = n_fft // 4
    x = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    mag = _magnitude(x, sample_rate, n_fft, hop, mel_bands)
    gen = torch.Generator().manual_seed(seed)
    angles = torch.exp(2j * math.pi * torch.rand(mag.shape, generator=gen))
    previous = torch.zeros_like(angles)
    for _ in range(iterations):
        rebuilt = _stft(_istft(mag * angles, n_fft, hop, len(samples)), n_fft, hop)
        accelerated = rebuilt - 0.99 * previous  # "fast Griffin-Lim" momentum (Perraudin et al. 2013)
        previous = rebuilt
        angles = accelerated / accelerated.abs().clamp_min(1e-8)
    return _istft(mag * angles, n_fft, hop, len(samples)).numpy().astype(np.float32)


@torch.no_grad()
def phase_vocoder_resynthesis(
    samples: np.ndarray, sample_rate: int, n_fft: int = 1024, mel_bands: int | None = 80, seed: int = 0
) -> np.ndarray:
    """Mel magnitude with phase advanced at each bin's centre frequency: a vocoder's phase model, no iterations."""
    hop = n_fft // 4
    x = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    mag = _magnitude(x, sample_rate, n_fft, hop, mel_bands)
    bins, frames = mag.shape
    gen = torch.Generator().manual_seed(seed)
    start = 2 * math.pi * torch.rand(bins, 1, generator=gen)
    advance = 2 * math.pi * torch.arange(bins, dtype=torch.float32)[:, None] * hop / n_fft
    phase = start + advance * torch.arange(frames, dtype=torch.float32)[None, :]
    return _istft(mag * torch.exp(1j * phase), n_fft, hop, len(samples)).numpy().astype(np.float32)
