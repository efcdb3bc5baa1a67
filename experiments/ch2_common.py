"""Shared by the chapter-2 experiments: image sets as network batches and predictions (figures: experiments.figures;
class names: experiments.network_names)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from experiments.assets.imagenet import ImageSet
from experiments.assets.networks import Network
from experiments.methods.inference import for_gradients
from experiments.methods.transforms import denormalize, normalize, normalize_bounds


@dataclass(frozen=True)
class Batch:
    """An image set prepared for one network: normalized pixels (N, 3, S, S) on the device, labels (N,)."""

    x: Tensor
    labels: Tensor  # -1 where the class is unknown
    names: tuple[str, ...]
    lo: Tensor  # per-channel bounds of the normalized image range, on the device
    hi: Tensor


@dataclass(frozen=True)
class Prediction:
    """Per image: predicted class, its probability, and the probability of a chosen class."""

    classes: np.ndarray
    confidence: np.ndarray
    target_prob: np.ndarray


def fast(net: Network, device: torch.device) -> Network:
    """`net` with a module that computes the same function faster (batch norm folded; channels-last on a CPU),
    for the chapter's many forward and backward passes; `net` itself is left as it is."""
    return replace(net, module=for_gradients(net.module, net.input_size, torch.device(device)))


def resize_normalize(pixels: Tensor, net: Network) -> Tensor:
    """Pixels (N, 3, H, W) in [0, 1] → normalized (N, 3, S, S) for `net` (resized with the network's own
    interpolation when S differs from H, W)."""
    size = net.input_size
    if pixels.shape[-2:] != (size, size):
        pixels = F.interpolate(pixels, size=(size, size), mode=net.interpolation, antialias=True, align_corners=False)
        pixels = pixels.clamp(0.0, 1.0)
    return normalize(pixels, net.mean, net.std)


def pixels_to_batch(images: np.ndarray, net: Network, device: torch.device) -> Tensor:
    """uint8 (N, H, W, 3) → normalized (N, 3, S, S) for `net` on `device`."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).float() / 255.0
    return resize_normalize(x, net)


def prepare(images: ImageSet, net: Network, device: torch.device) -> Batch:
    """The image set as a batch for `net`, with its labels and the normalized range's bounds."""
    lo, hi = normalize_bounds(net.mean, net.std)
    labels = torch.as_tensor(images.labels, dtype=torch.long, device=device)
    return Batch(pixels_to_batch(images.images, net, device), labels, tuple(images.names), lo.to(device), hi.to(device))


def to_pixels(x: Tensor, net: Network) -> np.ndarray:
    """Normalized (N, 3, H, W) → float32 (N, H, W, 3) in [0, 1], for display."""
    return denormalize(x.detach(), net.mean, net.std).permute(0, 2, 3, 1).cpu().numpy().astype(np.float32)


def to_uint8(x: Tensor, net: Network) -> np.ndarray:
    """Normalized (N, 3, H, W) → uint8 (N, H, W, 3), rounded: what an 8-bit image file would hold."""
    return np.round(to_pixels(x, net) * 255.0).astype(np.uint8)


def scores(net: Network, x: Tensor, chunk: int = 64) -> Tensor:
    """Unnormalized class scores (N, K) without gradients, in chunks of `chunk` images."""
    with torch.no_grad():
        return torch.cat([net.module(x[i : i + chunk]) for i in range(0, x.shape[0], chunk)])


def predict(net: Network, x: Tensor, target: Tensor | None = None) -> Prediction:
    """Predicted class and confidence per image, and the probability of `target` (N,) when given."""
    probs = scores(net, x).softmax(dim=1)
    confidence, classes = probs.max(dim=1)
    picked = probs.gather(1, target.reshape(-1, 1))[:, 0] if target is not None else confidence
    as_np = lambda t: t.cpu().numpy()  # noqa: E731
    return Prediction(as_np(classes).astype(np.int64), as_np(confidence).astype(np.float64),
                      as_np(picked).astype(np.float64))


def known_or_predicted(labels: Tensor, predicted: np.ndarray) -> Tensor:
    """The true class where it is known, else the network's prediction (what a saliency map explains)."""
    return torch.where(labels >= 0, labels, torch.as_tensor(predicted, device=labels.device))
