from __future__ import annotations

import warnings

import numpy as np

from experiments.ch1_svm import like, quiet_convergence, svm, svms
from experiments.results.ch1 import Baseline
from tests.experiments.methods._tiny_ch1 import blobs


def _split(seed: int) -> tuple[np.ndarray, ...]:
    x, y = blobs(12, 3, 20, spread=1.2, seed=seed)
    train = np.arange(len(y)) % 2 == 0
    return x[train], y[train], x[~train], y[~train]


def test_fits_in_threads_equal_the_same_fits_one_by_one():
    runs = [(*_split(seed), c) for seed, c in ((0, 0.01), (1, 1.0), (2, 100.0))]
    threaded = svms(runs, seed=0, jobs=3)
    for run, got in zip(runs, threaded):
        alone = svm(*run[:4], C=run[4], seed=0)
        assert np.array_equal(got.predictions, alone.predictions) and got.accuracy == alone.accuracy


def test_like_uses_the_baselines_c_and_seed():
    split = _split(0)
    base = Baseline("net", "relu7", 0.01, 3, svm(*split, C=1.0))
    assert np.array_equal(like(base, *split).predictions, svm(*split, C=0.01, seed=3).predictions)


def test_quiet_convergence_restores_the_warning_filters():
    before = list(warnings.filters)
    with quiet_convergence():
        assert warnings.filters != before
    assert warnings.filters == before
