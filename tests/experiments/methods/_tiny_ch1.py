"""Tiny networks and synthetic data for the chapter-1 method tests (CPU, milliseconds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn


class TinyVGG(nn.Module):
    """VGG-shaped: ``features`` (conv/bn/relu-inplace/pool), ``avgpool``, ``classifier``
    (Linear, ReLU, Dropout, Linear) — head at ``classifier.3``."""

    def __init__(self, num_classes: int = 5, in_channels: int = 3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 4, 3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(inplace=True))
        self.avgpool = nn.AdaptiveAvgPool2d(2)
        self.classifier = nn.Sequential(
            nn.Linear(24, 8), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(8, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def tiny_vgg(num_classes: int = 5, seed: int = 0) -> TinyVGG:
    """A TinyVGG in eval mode with seeded weights and non-trivial batch-norm statistics."""
    generator = torch.Generator().manual_seed(seed)
    model = TinyVGG(num_classes)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
        bn = model.features[4]
        bn.running_mean.copy_(torch.randn(6, generator=generator) * 0.1)
        bn.running_var.copy_(torch.rand(6, generator=generator) + 0.5)
    return model.eval()


class Untraceable(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it, forward hooks can."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if x.shape[-1] > 1:  # control flow on a traced value: fx raises, eager runs it
            y = y * 2
        return self.head(y.mean(dim=(2, 3)))


def write_gray_images(folder: Path, count: int, seed: int = 0, suffix: str = ".jpg"
                      ) -> list[Path]:
    """``count`` random gray images of varying sizes (between 20 and 47 px a side)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        height, width = rng.integers(20, 48, size=2)
        pixels = rng.integers(0, 256, size=(height, width), dtype=np.uint8)
        path = folder / f"img{index:03d}{suffix}"
        Image.fromarray(pixels, mode="L").save(path)
        paths.append(path)
    return paths


def blobs(n_per_class: int, num_classes: int, dim: int, spread: float = 0.3, seed: int = 0
          ) -> tuple[np.ndarray, np.ndarray]:
    """Separable gaussian blobs around random unit-norm centres: (x float32, y int64)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(num_classes, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    y = np.repeat(np.arange(num_classes), n_per_class)
    noise = rng.normal(size=(len(y), dim)) * spread / np.sqrt(dim)
    return (centres[y] + noise).astype(np.float32), y.astype(np.int64)



class TinyTimm(nn.Module):
    """A timm-style net whose ``conv_stem`` is timm's ``Conv2dSame`` (TF "same" padding,
    computed from the input size at run time: torch.fx cannot trace it)."""

    def __init__(self) -> None:
        from timm.layers import create_conv2d

        super().__init__()
        self.conv_stem = create_conv2d(3, 8, 3, stride=2, padding="same")
        self.bn1 = nn.BatchNorm2d(8)
        self.blocks = nn.Sequential(nn.ReLU6(inplace=True), nn.Conv2d(8, 12, 3, padding=1),
                                    nn.ReLU6(inplace=True))
        self.classifier = nn.Linear(12, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.blocks(self.bn1(self.conv_stem(x))).mean((2, 3)))
