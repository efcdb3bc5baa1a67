"""The report's figure style and building blocks, for both chapters: type size, width, grids of image panels,
heat-map overlays and magnified differences (numpy and matplotlib only)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

FONT = 8  # points: the smallest size that stays readable on A4
WIDTH = 7.0  # inches: a figure that fits a 16 cm text width


@dataclass(frozen=True)
class Panel:
    """One image of a grid: (H, W, 3) in [0, 1] or (H, W) shown with `cmap`, with a short label above it."""

    image: np.ndarray
    label: str = ""
    cmap: str | None = None


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


VISIBLE_QUANTILE = 0.99  # the share of the differences a magnified difference image keeps in range


def visible_gain(deltas: Sequence[np.ndarray], quantile: float = VISIBLE_QUANTILE) -> float:
    """A gain that maps the `quantile` of |δ| over all the differences to half the grey range."""
    values = np.concatenate([np.abs(d).ravel() for d in deltas]) if deltas else np.zeros(1)
    return 0.5 / max(float(np.quantile(values, quantile)), 1e-6)


def magnified(delta: np.ndarray, gain: float) -> np.ndarray:
    """A pixel difference (H, W, 3) shown around mid-grey, multiplied by `gain`."""
    return np.clip(0.5 + gain * delta, 0.0, 1.0).astype(np.float32)
