"""The practical's SVM as the chapter-1 experiments use it: on the penultimate features, once for every image (the
`baseline` experiment) and again only on a subset or on other features, several fits in worker processes."""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.parallel import Parallel, delayed

from experiments.methods.classify import SvmResult, fit_jobs, svm_evaluate
from experiments.results.ch1 import Baseline, SceneFeatures
from reportgen.progress import progress

if TYPE_CHECKING:
    from experiments.ch1_common import Part


@contextlib.contextmanager
def quiet_convergence() -> Iterator[None]:
    """liblinear's convergence warnings silenced in the block (it runs up to 10,000 iterations). The filter is
    global: enter the block in the thread that starts any worker threads, not in each of them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def svm(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, C: float = 1.0,
        seed: int = 0) -> SvmResult:
    """The practical's classifier (L2-normalized features, LinearSVC(C)), convergence warnings silenced."""
    with quiet_convergence():
        return svm_evaluate(train_x, train_y, test_x, test_y, C=C, seed=seed)


def svms(runs: list[tuple], seed: int, jobs: int) -> list[SvmResult]:
    """`svm(train x, train y, test x, test y, C)` for each tuple of `runs`, in up to `jobs` worker processes
    (`fit_jobs`: each fit gives exactly what it gives alone; scikit-learn's Parallel carries the warning filters
    into the workers). Large feature arrays reach the workers memory-mapped, not copied."""
    with quiet_convergence():
        fits = Parallel(n_jobs=fit_jobs(jobs), return_as="generator")(
            delayed(svm_evaluate)(*run[:4], C=run[4], seed=seed) for run in runs)
        return list(progress(fits, total=len(runs), desc="SVM fits", unit="fit"))


def on_part(baseline: Baseline, features: SceneFeatures, part: Part | None = None) -> SvmResult:
    """The practical's SVM on the images of `part`: the `baseline` experiment's own result when the part is every
    image (or None), else fitted on the part with the baseline's C and seed."""
    if part is None or part.all:
        return baseline.svm
    return like(baseline, *penultimate(features, part))


def like(baseline: Baseline, train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray
         ) -> SvmResult:
    """The practical's SVM with the baseline's C and seed, on other features."""
    return svm(train_x, train_y, test_x, test_y, C=baseline.C, seed=baseline.seed)


def penultimate(features: SceneFeatures, part: Part | None = None) -> tuple[np.ndarray, ...]:
    """(train x, train y, test x, test y) of `scene_features`' penultimate layer, restricted to `part`."""
    label = features.penultimate
    arrays = (features.train[label], features.train_labels, features.test[label], features.test_labels)
    if part is None:
        return arrays
    return arrays[0][part.train], arrays[1][part.train], arrays[2][part.test], arrays[3][part.test]
