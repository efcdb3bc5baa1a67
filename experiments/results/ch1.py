"""Chapter 1's results that other experiments consume."""
from __future__ import annotations

from dataclasses import dataclass

from experiments.methods.svm_results import SvmResult


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
