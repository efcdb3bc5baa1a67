"""Chapter 1's results that other experiments consume."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from experiments.methods.svm_results import SvmResult


@dataclass(frozen=True)
class SceneFeatures:
    """Every layer's pooled features of every 15 Scene image, from one pass of the transfer network."""

    network: str
    classes: list[str]
    layers: list[dict]  # {"label", "module", "dim"} per layer, shallow to deep
    penultimate: str  # the label of the layer that feeds the classifier
    train: dict[str, np.ndarray]  # label → (training images, dim)
    test: dict[str, np.ndarray]
    train_labels: np.ndarray
    test_labels: np.ndarray
    images: int
    seconds: float
    images_per_second: float
    amp: bool
    device: str
    batchnorm_folded: bool
    batch_size: int


@dataclass(frozen=True)
class Baseline:
    """The practical's SVM on every image's penultimate features, with the C and seed the others reuse."""

    network: str
    layer: str
    C: float
    seed: int
    svm: SvmResult

    @property
    def accuracy(self) -> float:
        return self.svm.accuracy

    @property
    def fit_seconds(self) -> float:
        return self.svm.fit_seconds
