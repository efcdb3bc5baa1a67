"""Small composable image transforms on normalized batches (N, C, H, W): bounds, jitter, blur, noise."""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def _channel_view(values: Tensor | Sequence[float], like: Tensor) -> Tensor:
    """Per-channel values (C,) as a (1, C, 1, 1) tensor on `like`'s device and dtype."""
    return torch.as_tensor(values, dtype=like.dtype, device=like.device).reshape(1, -1, 1, 1)


def normalize_bounds(
    mean: Tensor | Sequence[float], std: Tensor | Sequence[float]
) -> tuple[Tensor, Tensor]:
    """Per-channel bounds (lo, hi), each (C,), of the normalized image range: (0 - mean)/std, (1 - mean)/std."""
    mean_t = torch.as_tensor(mean, dtype=torch.float32)
    std_t = torch.as_tensor(std, dtype=torch.float32)
    return (0.0 - mean_t) / std_t, (1.0 - mean_t) / std_t


def normalize(x: Tensor, mean: Tensor | Sequence[float], std: Tensor | Sequence[float]) -> Tensor:
    """Map a batch with pixels in [0, 1] to the network's normalized space: (x - mean) / std per channel."""
    return (x - _channel_view(mean, x)) / _channel_view(std, x)


def denormalize(x: Tensor, mean: Tensor | Sequence[float], std: Tensor | Sequence[float]) -> Tensor:
    """Map a normalized batch back to pixels in [0, 1] (clamped): x * std + mean per channel."""
    return (x * _channel_view(std, x) + _channel_view(mean, x)).clamp(0.0, 1.0)


def clamp_channels(x: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    """Clamp each channel c of a (N, C, H, W) batch to [lo[c], hi[c]] (a new tensor)."""
    return torch.maximum(torch.minimum(x, _channel_view(hi, x)), _channel_view(lo, x))


def jitter(x: Tensor, dx: int, dy: int) -> Tensor:
    """Roll a batch by dx pixels along the width and dy along the height (circular; undone by -dx, -dy)."""
    return torch.roll(x, shifts=(int(dy), int(dx)), dims=(2, 3))


def gaussian_kernel1d(sigma: float, device: torch.device | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
    """A normalized 1-D Gaussian of radius max(1, ceil(2*sigma)) (sigma=0.5 gives 3 taps)."""
    radius = max(1, math.ceil(2.0 * sigma))
    offsets = torch.arange(-radius, radius + 1, device=device, dtype=dtype)
    weights = torch.exp(-(offsets**2) / (2.0 * sigma**2))
    return weights / weights.sum()


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Blur each channel separately with a normalized 2-D Gaussian (reflect padding); sigma <= 0 returns a copy."""
    if sigma <= 0:
        return x.clone()
    k1 = gaussian_kernel1d(sigma, device=x.device, dtype=x.dtype)
    radius = (k1.numel() - 1) // 2
    channels = x.shape[1]
    kernel = torch.outer(k1, k1).expand(channels, 1, -1, -1)
    padded = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    return F.conv2d(padded, kernel, groups=channels)


def randn_like(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Standard normal noise shaped like x, drawn from `generator` (on its own device), returned on x's device."""
    device = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=device, dtype=x.dtype).to(x.device)


def rand_like(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Uniform [0, 1) noise shaped like x, drawn from `generator` (on its own device), returned on x's device."""
    device = generator.device if generator is not None else x.device
    return torch.rand(x.shape, generator=generator, device=device, dtype=x.dtype).to(x.device)


def add_gaussian_noise(x: Tensor, std: Tensor | float, generator: torch.Generator | None = None) -> Tensor:
    """x + std * N(0, 1) noise; `std` may be a float or broadcastable to x (e.g. (N, 1, 1, 1) per image)."""
    return x + randn_like(x, generator) * std
