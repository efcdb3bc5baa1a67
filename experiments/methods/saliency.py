"""Saliency maps (Simonyan et al. 2014), SmoothGrad, a weight-randomization check and map statistics."""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
from scipy import ndimage, stats
from torch import Tensor, nn

from experiments.methods.transforms import add_gaussian_noise


def as_targets(target: int | Tensor, n: int, device: torch.device) -> Tensor:
    """One class index per image as a LongTensor (n,) on `device`, from an int or a tensor of n indices."""
    t = torch.as_tensor(target, dtype=torch.long, device=device)
    if t.ndim == 0:
        return t.expand(n).clone()
    if t.shape != (n,):
        raise ValueError(f"target must be an int or have shape ({n},), got {tuple(t.shape)}")
    return t


def input_gradient(model: nn.Module, inputs: Tensor, target: int | Tensor) -> Tensor:
    """d score[target] / d input for each image (N, C, H, W), unnormalized scores, one backward pass."""
    x = inputs.detach().clone().requires_grad_(True)
    targets = as_targets(target, x.shape[0], x.device)
    with torch.enable_grad():
        scores = model(x)
        picked = scores.gather(1, targets[:, None]).sum()
        (grad,) = torch.autograd.grad(picked, x)
    return grad


def saliency(model: nn.Module, inputs: Tensor, target: int | Tensor, batch_size: int = 8) -> Tensor:
    """Saliency map (N, H, W): max over channels of |d score[target] / d input| (Simonyan et al. 2014), computed
    `batch_size` images at a time (a backward pass holds every activation of its batch: about 0.1 GB per image
    for EfficientNet-Lite0 at 224 pixels)."""
    targets = as_targets(target, inputs.shape[0], inputs.device)
    return torch.cat([input_gradient(model, inputs[i : i + batch_size], targets[i : i + batch_size]).abs().amax(dim=1)
                      for i in range(0, inputs.shape[0], batch_size)])


def smoothgrad(
    model: nn.Module,
    inputs: Tensor,
    target: int | Tensor,
    samples: int = 25,
    noise: float = 0.15,
    generator: torch.Generator | None = None,
    batch_size: int = 16,
) -> Tensor:
    """Mean saliency (N, H, W) over `samples` noisy copies, noise std = noise * (max - min) of each image; about
    `batch_size` noisy images per backward pass (the memory it holds grows with it)."""
    n = inputs.shape[0]
    targets = as_targets(target, n, inputs.device)
    flat = inputs.detach().reshape(n, -1)
    std = (noise * (flat.amax(dim=1) - flat.amin(dim=1))).reshape(1, n, 1, 1, 1)
    per_chunk = max(1, batch_size // n)
    total = torch.zeros(inputs.shape[0], *inputs.shape[2:], device=inputs.device, dtype=inputs.dtype)
    done = 0
    while done < samples:
        k = min(per_chunk, samples - done)
        copies = inputs.detach().unsqueeze(0).expand(k, *inputs.shape)
        noisy = add_gaussian_noise(copies, std, generator).reshape(k * n, *inputs.shape[1:])
        maps = saliency(model, noisy, targets.repeat(k), batch_size=noisy.shape[0])
        total += maps.reshape(k, n, *maps.shape[1:]).sum(dim=0)
        done += k
    return total / samples


def randomize_weights(model: nn.Module, seed: int) -> nn.Module:
    """A deep copy with every learnable parameter re-initialized (reset_parameters, else N(0, 0.01)), eval, frozen."""
    clone = copy.deepcopy(model)
    cuda = sorted({p.device.index or 0 for p in clone.parameters() if p.is_cuda})
    with torch.random.fork_rng(devices=cuda), torch.no_grad():
        torch.manual_seed(seed)
        for module in clone.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
            else:
                for p in module.parameters(recurse=False):
                    p.normal_(0.0, 0.01)
    return clone.eval().requires_grad_(False)


def _flat_maps(maps: Tensor | np.ndarray) -> np.ndarray:
    """A batch of maps (N, ...) as a float64 array (N, P)."""
    if isinstance(maps, Tensor):
        maps = maps.detach().cpu().numpy()
    arr = np.asarray(maps, dtype=np.float64)
    return arr.reshape(arr.shape[0], -1)


def rank_correlation(a: Tensor | np.ndarray, b: Tensor | np.ndarray) -> np.ndarray:
    """Spearman rank correlation (N,) between maps a[i] and b[i] (ties get mean ranks; constant map -> nan)."""
    ra = stats.rankdata(_flat_maps(a), axis=1)
    rb = stats.rankdata(_flat_maps(b), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denom = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(axis=1) / denom


def map_agreement(a: Tensor | np.ndarray, b: Tensor | np.ndarray) -> np.ndarray:
    """How much two batches of maps agree, per image (N,): their Spearman rank correlation."""
    return rank_correlation(a, b)


def mass_concentration(maps: Tensor | np.ndarray, fraction: float = 0.05) -> np.ndarray:
    """Share (N,) of each (non-negative) map's total mass held by its top `fraction` of pixels (uniform -> fraction)."""
    flat = _flat_maps(maps)
    k = max(1, math.ceil(fraction * flat.shape[1]))
    top = -np.partition(-flat, k - 1, axis=1)[:, :k]
    with np.errstate(invalid="ignore", divide="ignore"):
        return top.sum(axis=1) / flat.sum(axis=1)


def _bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of a non-empty boolean mask, x1 and y1 exclusive."""
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of a non-empty boolean mask."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if count <= 1:
        return mask
    sizes = np.bincount(labels.ravel())[1:]
    return labels == (int(np.argmax(sizes)) + 1)


def _threshold_mask(m: np.ndarray, quantile: float) -> np.ndarray:
    """Pixels above the map's quantile; those at it if none is above; all pixels if the map is not finite."""
    threshold = np.quantile(m, quantile)
    for mask in (m > threshold, m >= threshold):
        if mask.any():
            return mask
    return np.ones(m.shape, dtype=bool)


def localize(
    maps: Tensor | np.ndarray, quantile: float = 0.95, largest_component: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Masks (N, H, W) bool: map > its quantile (>= if that is empty); boxes (N, 4) int x0, y0, x1, y1 (exclusive)
    around the mask's largest connected component, or around the whole mask."""
    arr = maps.detach().cpu().numpy() if isinstance(maps, Tensor) else np.asarray(maps)
    masks = np.zeros(arr.shape, dtype=bool)
    boxes = np.zeros((arr.shape[0], 4), dtype=np.int64)
    for i, m in enumerate(arr):
        mask = _threshold_mask(m, quantile)
        masks[i] = mask
        boxes[i] = _bounding_box(_largest_component(mask) if largest_component else mask)
    return masks, boxes
