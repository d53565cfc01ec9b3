"""The embedding network: torch nn.Module definitions only (no I/O, no device choice, no front end).

`EmbedderNet` maps normalised log-frequency patches (B, 1, bands, frames) to L2-normalised
embeddings (B, dim), in the style of Chang et al. 2021, "Neural Audio Fingerprint for
High-specific Audio Retrieval based on Contrastive Learning" (NAFP): a stack of separable
convolutions (a frequency kernel then a time kernel, each stride 2) and a split projection head.
It is shrunk from NAFP's ~17 M parameters to about 0.64 M so that CPU inference stays cheap.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn
from torch.nn import functional as F

# Default architecture; the weights' config stores the values used, so a file rebuilds its own net.
DEFAULT_CHANNELS: tuple[int, ...] = (16, 32, 64, 128, 192, 256)
DEFAULT_HEAD_HIDDEN = 16  # units in each split-head branch (NAFP's u, scaled down)
# The stem strides 3 bands x 2 frames: at 1/3-semitone bands that is one semitone per step, and
# shrinking the full-resolution map early is what makes CPU inference fast (the early layers are
# memory-bound, not compute-bound).
STEM_KERNEL = (5, 3)
STEM_STRIDE = (3, 2)


def _out_size(size: int, kernel: int, stride: int) -> int:
    """Length after a convolution with `kernel`, padding kernel // 2 and `stride`."""
    return (size + 2 * (kernel // 2) - kernel) // stride + 1


def _conv_bn(c_in: int, c_out: int, kernel: tuple[int, int], stride: tuple[int, int]) -> list[nn.Module]:
    padding = (kernel[0] // 2, kernel[1] // 2)
    return [nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class SplitHead(nn.Module):
    """NAFP's projection: the feature vector is cut into `dim` equal groups and each group is mapped
    to one output unit by its own Linear-ELU-Linear. All groups run as two batched einsums."""

    def __init__(self, features: int, dim: int, hidden: int) -> None:
        super().__init__()
        if features % dim:
            raise ValueError(f"features ({features}) must be a multiple of the embedding dim ({dim})")
        group = features // dim
        self.dim = dim
        bound_1, bound_2 = 1 / math.sqrt(group), 1 / math.sqrt(hidden)  # nn.Linear's default init range
        self.w1 = nn.Parameter(torch.empty(dim, group, hidden).uniform_(-bound_1, bound_1))
        self.b1 = nn.Parameter(torch.empty(dim, hidden).uniform_(-bound_1, bound_1))
        self.w2 = nn.Parameter(torch.empty(dim, hidden).uniform_(-bound_2, bound_2))
        self.b2 = nn.Parameter(torch.empty(dim).uniform_(-bound_2, bound_2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], self.dim, -1)
        hidden = F.elu(torch.einsum("bdg,dgh->bdh", x, self.w1) + self.b1)
        return (hidden * self.w2).sum(-1) + self.b2


class EmbedderNet(nn.Module):
    """Patches (B, 1, n_bands, n_frames) -> unit-length embeddings (B, dim), float32.

    A strided stem, then separable blocks (3x1 frequency conv stride 2, 1x3 time conv stride 2,
    NAFP's "SC" block) until both axes are small; the final map is flattened (its frequency
    position carries pitch information) and projected by the split head. Batch norm follows every
    conv while training; `fold_batch_norm()` merges it into the convs for inference.
    """

    def __init__(
        self,
        n_bands: int,
        n_frames: int,
        dim: int,
        channels: tuple[int, ...] | list[int] = DEFAULT_CHANNELS,
        head_hidden: int = DEFAULT_HEAD_HIDDEN,
    ) -> None:
        super().__init__()
        self.n_bands, self.n_frames, self.dim = n_bands, n_frames, dim
        channels = tuple(channels)
        layers = _conv_bn(1, channels[0], STEM_KERNEL, STEM_STRIDE)
        f = _out_size(n_bands, STEM_KERNEL[0], STEM_STRIDE[0])
        t = _out_size(n_frames, STEM_KERNEL[1], STEM_STRIDE[1])
        for c_in, c_out in itertools.pairwise(channels):
            stride_f, stride_t = (2 if f > 1 else 1), (2 if t > 1 else 1)
            layers += _conv_bn(c_in, c_out, (3, 1), (stride_f, 1)) + _conv_bn(c_out, c_out, (1, 3), (1, stride_t))
            f, t = _out_size(f, 3, stride_f), _out_size(t, 3, stride_t)
        self.encoder = nn.Sequential(*layers)
        features = channels[-1] * f * t
        # The split head needs a multiple of dim; a linear map rounds up only when the shape demands it.
        padded = dim * -(-features // dim)
        self.fit = nn.Identity() if padded == features else nn.Linear(features, padded)
        self.head = SplitHead(padded, dim, head_hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fit(self.encoder(x).flatten(1))
        return F.normalize(self.head(x), dim=1)

    @torch.no_grad()
    def fold_batch_norm(self) -> EmbedderNet:
        """Merge each BatchNorm's running statistics into the preceding conv (inference only: about a
        third faster on CPU, same outputs to float precision). Returns self, in eval mode."""
        self.eval()
        layers = list(self.encoder)
        folded: list[nn.Module] = []
        for layer in layers:
            if isinstance(layer, nn.BatchNorm2d) and folded and isinstance(folded[-1], nn.Conv2d):
                conv = folded[-1]
                scale = layer.weight / torch.sqrt(layer.running_var + layer.eps)
                bias = conv.bias if conv.bias is not None else torch.zeros_like(layer.running_mean)
                merged = nn.Conv2d(
                    conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True
                )
                merged.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
                merged.bias.copy_((bias - layer.running_mean) * scale + layer.bias)
                folded[-1] = merged.to(conv.weight.device)
            else:
                folded.append(layer)
        self.encoder = nn.Sequential(*folded)
        return self
