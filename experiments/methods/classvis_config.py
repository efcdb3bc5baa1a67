"""The class-visualization method's settings: plain data without torch, so that a stored result rebuilds it cheaply."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClassVisConfig:
    """The practical's defaults: 200 steps of lr 5, L2 weight 1e-3, jitter up to 16 px, blur sigma 0.5 every 10."""

    steps: int = 200
    lr: float = 5.0
    l2_reg: float = 1e-3
    max_jitter: int = 16
    blur_every: int = 10
    blur_sigma: float = 0.5
