"""Shared by the chapter-2 experiments: image sets as network batches, class names, predictions, image grids."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor

from experiments.assets.imagenet import ImageSet
from experiments.assets.networks import Network
from experiments.methods.transforms import denormalize, normalize, normalize_bounds

FONT = 8  # points: the smallest size that stays readable on A4
WIDTH = 7.0  # inches: a figure that fits a 16 cm text width


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


@dataclass(frozen=True)
class Panel:
    """One image of a grid: (H, W, 3) in [0, 1] or (H, W) shown with `cmap`, with a short label above it."""

    image: np.ndarray
    label: str = ""
    cmap: str | None = None


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


def short_name(net: Network, index: int) -> str:
    """The class's first synonym ("stingray", "tench"), or "class i" beyond the network's list."""
    if 0 <= index < len(net.categories):
        return net.categories[index].split(",")[0].strip()
    return f"class {index}"


def class_index(net: Network, name: str | int) -> int:
    """A class given by index ("6", 6) or by name, matched case-insensitively with any of its synonyms."""
    text = str(name).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(net.categories):
            raise ValueError(f"class {index} is outside 0..{len(net.categories) - 1} of {net.name}")
        return index
    wanted = text.lower()
    for i, category in enumerate(net.categories):
        if wanted == category.lower() or wanted in (s.strip().lower() for s in category.split(",")):
            return i
    raise ValueError(f"no class named {text!r} among the {len(net.categories)} classes of {net.name}")


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


def same_network(a: Network, b: Network) -> bool:
    """Whether two roles hold the same model with the same weights file (the same numbers in, the same out)."""
    same_weights = a.sha256 == b.sha256 if a.sha256 and b.sha256 else a.weights == b.weights
    return (a.name, a.input_size, a.mean, a.std) == (b.name, b.input_size, b.mean, b.std) and same_weights


def image_grid(panels: Sequence[Panel], columns: int, column_titles: Sequence[str] = (),
               width: float = WIDTH, max_cell: float = 1.75) -> Figure:
    """Panels row by row, `columns` to a row, without axes, at most `max_cell` inches each; labels above each
    panel in FONT points."""
    rows = max(1, -(-len(panels) // columns))
    cell = min(width / columns, max_cell)
    labelled = any(p.label for p in panels) or bool(column_titles)
    lines = max([p.label.count("\n") + 1 for p in panels if p.label] or [1]) + (1 if column_titles else 0)
    fig = Figure(figsize=(cell * columns, rows * (cell + (0.16 * lines if labelled else 0.05))))
    axes = fig.subplots(rows, columns, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < len(panels):
            p = panels[i]
            ax.imshow(p.image, cmap=p.cmap, interpolation="nearest", vmin=0 if p.cmap else None)
            title = p.label
            if i < columns and column_titles:
                title = f"{column_titles[i]}\n{title}" if title else column_titles[i]
            ax.set_title(title, fontsize=FONT, pad=2)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.99, wspace=0.04, hspace=0.25 if labelled else 0.04)
    return fig


def small_type(ax, legend: str = "right") -> None:
    """The report's small type on a plot, with its legend at the right of the axes or above them."""
    if legend == "right":
        ax.legend(fontsize=FONT, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    else:
        ax.legend(fontsize=FONT, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, frameon=False)
    ax.tick_params(labelsize=FONT)
    ax.xaxis.label.set_size(FONT)
    ax.yaxis.label.set_size(FONT)


def clip(text: str, length: int = 18) -> str:
    """Shorten a label so that it fits above a grid panel."""
    return text if len(text) <= length else text[: length - 1] + "…"


def scaled_map(heat: np.ndarray) -> np.ndarray:
    """A non-negative map divided by its 99th percentile and clipped to [0, 1] (a few peaks do not hide the rest)."""
    top = float(np.quantile(heat, 0.99))
    return np.clip(heat / top, 0.0, 1.0) if top > 0 else np.zeros_like(heat)


def overlay(image: np.ndarray, heat: np.ndarray, cmap: str = "inferno") -> np.ndarray:
    """The map in colour over the image in dimmed grey, (H, W, 3) in [0, 1]."""
    from matplotlib import colormaps

    grey = image.mean(axis=2, keepdims=True)
    coloured = colormaps[cmap](scaled_map(heat))[..., :3]
    return np.clip(0.4 * grey + 0.6 * coloured, 0.0, 1.0).astype(np.float32)


def visible_gain(deltas: Sequence[np.ndarray]) -> float:
    """A gain that maps the 99th percentile of |δ| over all the differences to half the grey range."""
    values = np.concatenate([np.abs(d).ravel() for d in deltas]) if deltas else np.zeros(1)
    return 0.5 / max(float(np.quantile(values, 0.99)), 1e-6)


def magnified(delta: np.ndarray, gain: float) -> np.ndarray:
    """A pixel difference (H, W, 3) shown around mid-grey, multiplied by `gain`."""
    return np.clip(0.5 + gain * delta, 0.0, 1.0).astype(np.float32)
