"""torch modules for the learned provenance detector (definitions only; training in training.py).

Input: mono audio at MODEL_RATE Hz cut into CLIP_SECONDS clips -> log power spectrogram
(Hann N_FFT, hop HOP) standardised per clip -> a small CNN -> one logit per clip (> 0: generated).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

MODEL_RATE = 22050  # Hz: the band below 11 kHz survives most codecs; low-passes are augmented anyway
CLIP_SECONDS = 1.5
N_FFT = 512  # 23 ms window: fine enough in time to see smeared transients and phase-reconstruction blur
HOP = 256  # samples (11.6 ms): half the frames of a finer hop, for a CPU budget
CLIP_SAMPLES = int(CLIP_SECONDS * MODEL_RATE)


def log_spectrogram(clips: torch.Tensor) -> torch.Tensor:
    """(batch, samples) float -> (batch, 1, N_FFT // 2 + 1, frames) log power, zero mean / unit spread per clip."""
    spec = torch.stft(clips, N_FFT, HOP, window=torch.hann_window(N_FFT, device=clips.device), return_complex=True)
    logp = torch.log10(spec.real**2 + spec.imag**2 + 1e-10)
    mean = logp.mean(dim=(1, 2), keepdim=True)
    std = logp.std(dim=(1, 2), keepdim=True).clamp_min(1e-3)
    return ((logp - mean) / std).unsqueeze(1)


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)
    )


class ProvenanceCNN(nn.Module):
    """A strided stem and three conv blocks over (frequency, time), mean over time, mean+max over frequency, a logit.

    About 12 k weights and 10 M multiply-adds per 1.5 s clip: cheap enough for every upload on a CPU.
    """

    def __init__(self, channels: tuple[int, ...] = (8, 16, 24, 32)) -> None:
        super().__init__()
        stem = nn.Sequential(
            nn.Conv2d(1, channels[0], 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(channels[0]), nn.ReLU()
        )
        layers, c_in = [stem], channels[0]
        for c in channels[1:]:
            layers.append(_block(c_in, c))
            c_in = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(2 * c_in, 1))

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """(batch, CLIP_SAMPLES) audio -> (batch,) logits."""
        h = self.features(log_spectrogram(clips))
        over_time = h.mean(dim=-1)  # (batch, channels, freq)
        pooled = torch.cat([over_time.mean(dim=-1), over_time.amax(dim=-1)], dim=1)
        return self.head(pooled).squeeze(-1)


def clips_of(samples: np.ndarray, max_clips: int) -> np.ndarray:
    """Up to `max_clips` non-overlapping CLIP_SAMPLES clips spread evenly over `samples` (at MODEL_RATE)."""
    count = len(samples) // CLIP_SAMPLES
    if count == 0:
        return np.zeros((0, CLIP_SAMPLES), dtype=np.float32)
    starts = np.linspace(0, len(samples) - CLIP_SAMPLES, min(count, max_clips)).astype(int)
    return np.stack([samples[s : s + CLIP_SAMPLES] for s in starts]).astype(np.float32)
