"""A tiny ImageNet-shaped network and tiny synthetic datasets, for the end-to-end "tiny build" on the CPU."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from torch import nn

from experiments.assets.scene15_layout import CLASSES


def tiny_net() -> nn.Module:
    """VGG-shaped (features, then a classifier of Linear layers) with 1,000 outputs, a few thousand parameters."""
    features = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    )
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 1000))
    model = nn.Sequential()
    model.add_module("features", features)
    model.add_module("avgpool", nn.AdaptiveAvgPool2d(1))
    model.add_module("classifier", classifier)
    return model


def write_scene15(root: Path, train: int = 3, test: int = 2, size: int = 32, seed: int = 0) -> Path:
    """The practical's layout with `train`/`test` grayscale JPEGs per class, each class a different texture."""
    rng = np.random.default_rng(seed)
    for split, count in (("train", train), ("test", test)):
        for index, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                ramp = np.linspace(0, 255 * (index + 1) / len(CLASSES), size)
                pixels = np.add.outer(ramp, ramp[::-1] * (index % 3) / 2) / 2 + rng.normal(0, 8, (size, size))
                Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L").save(folder / f"image_{i:04d}.jpg")
    return root


def write_imagenet_val(path: Path, n: int = 4, size: int = 32, seed: int = 0) -> Path:
    """An .npz shaped like the practical's imagenet_val_25.npz: X uint8 (n, size, size, 3), y, label_map."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    labels = np.arange(n, dtype=np.int64) * 7
    label_map = np.array({int(i): f"class {i}" for i in range(1000)}, dtype=object)
    np.savez(path, X=images, y=labels, label_map=label_map)
    return path


def tiny_net_wide() -> nn.Module:
    """A second tiny network (wider), for the "compare with another network" answers."""
    model = tiny_net()
    model.features[0] = nn.Conv2d(3, 12, 3, padding=1)
    model.features[3] = nn.Conv2d(12, 16, 3, padding=1)
    return model
