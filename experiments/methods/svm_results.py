"""What the SVM methods return: plain data, no I/O and no sklearn, so that stored results rebuild cheaply."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SvmResult:
    """Test-set outcome of one SVM: accuracy, per-class recall (K,), confusion (K, K)
    (rows = true class, columns = predicted), test predictions, training time."""

    accuracy: float
    per_class: np.ndarray
    confusion: np.ndarray
    predictions: np.ndarray
    fit_seconds: float


@dataclass(frozen=True)
class PcaPoint:
    """One PCA dimension: test accuracy, SVM fit time, and PCA + SVM fit + predict time."""

    dim: int
    accuracy: float
    fit_seconds: float
    total_seconds: float


@dataclass(frozen=True)
class ConfusedPair:
    """``count`` test images of ``true_name`` predicted as ``predicted_name``;
    ``rate`` = count / number of test images of ``true_name``."""

    true_name: str
    predicted_name: str
    count: int
    rate: float
