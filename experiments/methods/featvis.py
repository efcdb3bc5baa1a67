"""Class images a person can recognize: the feature-visualization regularizers of Olah et al. (Distill, 2017).

Three regularizers against the practical's plain ascent on pixels, each usable alone:
- a decorrelated Fourier parameterization: the image is the inverse FFT of a spectrum scaled by 1/frequency, in
  colour-decorrelated space, squashed to [0, 1] by a sigmoid; an optimizer step then changes low frequencies as
  readily as high ones, instead of favouring the high-frequency patterns that plain gradients amplify;
- transformation robustness: every step sees the image under a random affine transform (scale, rotation,
  translation), so only patterns that survive small transforms are reinforced;
- total variation: a penalty on differences between neighbouring pixels.

`generate(model, targets, config, ...)` has one call shape for all of them; the images come back as pixels in
[0, 1]. `high_frequency_share` measures the high-frequency energy that makes an image look like noise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from experiments.methods.transforms import normalize
from reportgen.progress import progress

# The square root of ImageNet's RGB colour covariance (its SVD square root, columns scaled to a maximum norm of 1),
# as published with the Fourier parameterization (Olah et al. 2017, lucid's `color_correlation_svd_sqrt`).
COLOUR_SQRT = ((0.26, 0.09, 0.02), (0.27, 0.00, -0.05), (0.27, -0.09, 0.03))


@dataclass(frozen=True)
class FeatureVisConfig:
    """One regularized generation: parameterization, optimizer and per-step transforms."""

    steps: int = 256
    lr: float = 0.05  # Adam, on the parameterization
    fourier: bool = True  # decorrelated Fourier parameterization; False: pixels through a sigmoid
    decay: float = 1.0  # the spectrum's 1/f**decay scaling
    tv_weight: float = 0.0  # total-variation penalty, per pixel
    max_scale: float = 0.1  # random scale in [1 - max_scale, 1 + max_scale]
    max_rotation: float = 10.0  # degrees, random in [-max_rotation, max_rotation]
    max_shift: float = 0.06  # translation, as a fraction of the image's size


def frequencies(height: int, width: int, device: torch.device | str = "cpu") -> Tensor:
    """|f| for each entry of an rfft2 spectrum (H, W // 2 + 1), in cycles per pixel."""
    fy = torch.fft.fftfreq(height, device=device)[:, None]
    fx = torch.fft.rfftfreq(width, device=device)[None, :]
    return torch.sqrt(fx**2 + fy**2)


def spectrum_scale(height: int, width: int, decay: float, device: torch.device | str = "cpu") -> Tensor:
    """1 / max(|f|, 1 / max(H, W)) ** decay: every frequency gets about the same energy per step."""
    floor = 1.0 / max(height, width)
    return 1.0 / frequencies(height, width, device).clamp_min(floor) ** decay


def fourier_to_image(spectrum: Tensor, scale: Tensor, size: tuple[int, int]) -> Tensor:
    """(N, 3, H, W // 2 + 1, 2) real/imaginary parameters → (N, 3, H, W) image, before colour and sigmoid."""
    complex_spectrum = torch.view_as_complex(spectrum.contiguous()) * scale
    return torch.fft.irfft2(complex_spectrum, s=size, norm="ortho")


def image_to_fourier(image: Tensor, scale: Tensor) -> Tensor:
    """The inverse of `fourier_to_image`: an image (N, 3, H, W) → its scaled spectrum parameters."""
    spectrum = torch.fft.rfft2(image, norm="ortho") / scale
    return torch.view_as_real(spectrum)


def decorrelated_to_rgb(x: Tensor) -> Tensor:
    """Colour-decorrelated channels → RGB (N, 3, H, W), by the ImageNet colour covariance's square root."""
    matrix = torch.as_tensor(COLOUR_SQRT, dtype=x.dtype, device=x.device)
    matrix = matrix / matrix.norm(dim=0).max()
    return torch.einsum("ij,njhw->nihw", matrix, x)


@dataclass
class Parameterization:
    """The optimized tensor and how it becomes pixels in [0, 1] (`scale`: the spectrum's, None for pixels)."""

    param: Tensor
    size: tuple[int, int]
    scale: Tensor | None

    def pixels(self) -> Tensor:
        if self.scale is None:
            return torch.sigmoid(self.param)
        return torch.sigmoid(decorrelated_to_rgb(fourier_to_image(self.param, self.scale, self.size)))


def start(n: int, size: int, config: FeatureVisConfig, generator: torch.Generator,
          device: torch.device | str) -> Parameterization:
    """Small random parameters (an almost grey image), drawn from `generator`."""
    shape = (n, 3, size, size // 2 + 1, 2) if config.fourier else (n, 3, size, size)
    noise = torch.randn(shape, generator=generator, device=generator.device) * 0.01
    scale = spectrum_scale(size, size, config.decay, device) if config.fourier else None
    return Parameterization(noise.to(device).requires_grad_(True), (size, size), scale)


def random_affine(x: Tensor, config: FeatureVisConfig, generator: torch.Generator) -> Tensor:
    """Each image under its own random scale, rotation and translation (reflected at the borders)."""
    n = x.shape[0]
    draw = torch.rand((n, 4), generator=generator, device=generator.device).to(x.device) * 2 - 1
    scale = 1 + config.max_scale * draw[:, 0]
    angle = math.radians(config.max_rotation) * draw[:, 1]
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    shift = 2 * config.max_shift * draw[:, 2:]
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def total_variation(x: Tensor) -> Tensor:
    """Mean absolute difference between neighbouring pixels, per image (N,)."""
    dy = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().mean(dim=(1, 2, 3))
    dx = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean(dim=(1, 2, 3))
    return dx + dy


def objective(model: nn.Module, pixels: Tensor, targets: Tensor, mean: tuple, std: tuple,
              config: FeatureVisConfig, generator: torch.Generator) -> Tensor:
    """Target score − tv_weight · total variation, per image (N,), the images under a random transform."""
    seen = random_affine(pixels, config, generator) if config.max_scale or config.max_rotation or config.max_shift \
        else pixels
    scores = model(normalize(seen, mean, std))
    return scores.gather(1, targets[:, None])[:, 0] - config.tv_weight * total_variation(pixels)


def generate(model: nn.Module, targets: Tensor, config: FeatureVisConfig, size: int, mean: tuple, std: tuple,
             generator: torch.Generator, device: torch.device | str) -> tuple[Tensor, np.ndarray]:
    """Images (N, 3, size, size) in [0, 1] that `model` scores highly for `targets`, and the objective per step
    (N, steps), all images in one batch."""
    image = start(len(targets), size, config, generator, device)
    optimizer = torch.optim.Adam([image.param], lr=config.lr)
    history = []
    for _ in progress(range(config.steps), desc=f"ascent of {len(targets)} images", unit="step"):
        optimizer.zero_grad(set_to_none=True)
        with torch.enable_grad():
            value = objective(model, image.pixels(), targets, mean, std, config, generator)
            (-value.sum()).backward()
        optimizer.step()
        history.append(value.detach().cpu().numpy())
    with torch.no_grad():
        return image.pixels().detach(), np.stack(history, axis=1)


def white_noise_share(cutoff: float = 0.25) -> float:
    """The high-frequency share of white noise (a flat spectrum): the part of the frequency square [-1/2, 1/2]²
    outside the disk of radius `cutoff`."""
    return 1.0 - math.pi * min(cutoff, 0.5) ** 2


def high_frequency_share(pixels: Tensor, cutoff: float = 0.25) -> Tensor:
    """Share of each image's spectral energy (grey level, mean removed) at frequencies above `cutoff` cycles per
    pixel (half the Nyquist frequency by default), per image (N,): near 0 for smooth pictures, about 0.8 for white
    noise. A Hann window first, so that the jump between opposite borders does not count as high frequency."""
    grey = pixels.mean(dim=1)
    grey = grey - grey.mean(dim=(1, 2), keepdim=True)
    h, w = grey.shape[1:]
    window = torch.hann_window(h, periodic=False, device=grey.device)[:, None] * \
        torch.hann_window(w, periodic=False, device=grey.device)[None, :]
    grey = grey * window
    power = torch.fft.rfft2(grey, norm="ortho").abs() ** 2
    twice = slice(1, -1) if grey.shape[-1] % 2 == 0 else slice(1, None)  # not the DC (nor Nyquist) column
    power[..., twice] *= 2  # the half spectrum stands for both halves
    high = frequencies(*grey.shape[1:], device=grey.device) > cutoff
    return (power * high).sum(dim=(1, 2)) / power.sum(dim=(1, 2)).clamp_min(1e-12)
