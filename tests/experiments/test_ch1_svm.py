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


def test_fits_in_worker_processes_equal_the_same_fits_one_by_one():
    runs = [(*_split(seed), c) for seed, c in ((0, 0.01), (1, 1.0), (2, 100.0))]
    in_processes = svms(runs, seed=0, jobs=3)
    for run, got in zip(runs, in_processes):
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


def _scaled_rows(x: np.ndarray, seed: int) -> np.ndarray:
    """Each row times its own factor between 0.01 and 100: the same directions, very different norms."""
    return x * (10.0 ** np.random.default_rng(seed).uniform(-2, 2, size=(len(x), 1))).astype(np.float32)


def test_the_practicals_svm_equals_scikit_learn_fitted_by_hand_on_l2_normalized_features():
    from sklearn.svm import LinearSVC

    train_x, train_y, test_x, test_y = _split(4)
    train_x, test_x = _scaled_rows(train_x, 1), _scaled_rows(test_x, 2)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731 — the oracle, written out
    for C in (0.1, 1.0, 10.0):
        oracle = LinearSVC(C=C, dual=C <= 1.0, max_iter=10_000, random_state=0).fit(unit(train_x), train_y)
        for result in (svm(train_x, train_y, test_x, test_y, C=C), svms([(train_x, train_y, test_x, test_y, C)],
                                                                         seed=0, jobs=1)[0]):
            assert np.array_equal(result.predictions, oracle.predict(unit(test_x)))
            assert result.accuracy == np.mean(oracle.predict(unit(test_x)) == test_y)


def test_the_practicals_svm_does_not_change_when_each_row_is_scaled():
    from sklearn.svm import LinearSVC

    train_x, train_y, test_x, test_y = _split(5)
    wide_train, wide_test = _scaled_rows(train_x, 3), _scaled_rows(test_x, 4)
    assert np.array_equal(svm(train_x, train_y, test_x, test_y).predictions,
                          svm(wide_train, train_y, wide_test, test_y).predictions)
    raw = LinearSVC(max_iter=10_000, random_state=0)  # the control: on raw features the scaling does matter
    narrow = raw.fit(train_x, train_y).predict(test_x)
    assert not np.array_equal(narrow, raw.fit(wide_train, train_y).predict(wide_test))
