from __future__ import annotations

import inspect
import types
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score

from experiments import settings
from experiments.methods.classify import (
    choose_c,
    confusion_matrix,
    fit_jobs,
    l2_normalize,
    linear_svc,
    most_confused,
    pca_sweep,
    per_class_accuracy,
    svm_evaluate,
)
from tests.experiments.methods._tiny_ch1 import blobs


def _split(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    train = np.arange(len(y)) % 2 == 0
    return x[train], y[train], x[~train], y[~train]


def test_l2_normalize_gives_unit_rows_and_keeps_zero_rows():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [-1.0, 0.0]])
    out = l2_normalize(x)
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0], [-1.0, 0.0]])


def test_svm_on_separable_data_is_perfect():
    train_x, train_y, test_x, test_y = _split(*blobs(20, 4, 30))
    result = svm_evaluate(train_x, train_y, test_x, test_y)
    assert result.accuracy == 1.0
    assert result.confusion.shape == (4, 4) and result.confusion.sum() == len(test_y)
    np.testing.assert_array_equal(np.diag(result.confusion), np.bincount(test_y))
    np.testing.assert_array_equal(result.per_class, np.ones(4))
    np.testing.assert_array_equal(result.predictions, test_y)
    assert result.fit_seconds >= 0.0


def test_confusion_and_per_class_by_hand():
    true = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 1, 0])
    matrix = confusion_matrix(true, predicted, 4)
    np.testing.assert_array_equal(matrix, [[1, 2, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0],
                                           [0, 0, 0, 0]])
    recall = per_class_accuracy(matrix)
    np.testing.assert_allclose(recall[:3], [1 / 3, 1.0, 0.0])
    assert np.isnan(recall[3])


def test_no_convergence_warning_on_4096_d_features():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(15), 20)
    x = np.maximum(rng.normal(size=(len(y), 4096)) + rng.normal(size=(15, 4096))[y], 0)
    train_x, train_y, test_x, test_y = _split(x.astype(np.float32), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        for C in (0.1, 1.0, 100.0):
            svm_evaluate(train_x, train_y, test_x, test_y, C=C)
    with pytest.warns(ConvergenceWarning):  # the check above can see a warning
        svm_evaluate(train_x, train_y, test_x, test_y, C=100.0, max_iter=2)


def test_choose_c_uses_training_data_only_and_rejects_underfitting():
    assert not any("test" in name for name in inspect.signature(choose_c).parameters)
    # Separable only along a short axis; a tiny C shrinks w towards the class-mean
    # difference, dominated by the long noisy axis, and underfits.
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 40)
    x = np.stack([rng.uniform(-10, 10, 80), 0.5 * y + rng.uniform(-0.1, 0.1, 80)], axis=1)
    best, means = choose_c(x, y, [1e-4, 1.0], folds=4, normalize=False, n_jobs=1)
    assert best == 1.0
    assert means.shape == (2,) and means[1] == 1.0 and means[0] < 0.7


def test_choose_c_is_deterministic_and_breaks_ties_by_order():
    x, y = blobs(10, 2, 5, spread=0.1)
    first = choose_c(x, y, [10.0, 1.0], folds=2, n_jobs=1)
    second = choose_c(x, y, [10.0, 1.0], folds=2, n_jobs=1)
    assert first[0] == second[0] == 10.0  # both perfect: the first listed wins
    np.testing.assert_array_equal(first[1], second[1])


def test_choose_c_scores_each_c_as_a_plain_cross_validation_in_the_order_given():
    """The search runs the largest C first, in worker processes; the means must still be those of each C, in
    ``cs``'s order, each with the solver ``linear_svc`` picks for it."""
    x, y = blobs(12, 3, 6, spread=1.5, seed=2)
    cs = [0.01, 100.0, 1.0, 0.1]
    _best, means = choose_c(x, y, cs, folds=3, n_jobs=2)
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = [cross_val_score(linear_svc(c), l2_normalize(x), y, cv=cv).mean() for c in cs]
    np.testing.assert_allclose(means, expected)
    assert len(set(np.round(expected, 6))) > 1  # the Cs do differ here


def test_linear_svc_uses_the_dual_solver_up_to_c_1_and_the_primal_above():
    assert [linear_svc(c).dual for c in (0.001, 1.0, 10.0, 100.0)] == [True, True, False, False]
    assert all(linear_svc(c).C == c for c in (0.001, 100.0))


def test_pca_sweep_skips_impossible_dims_and_times_each():
    train_x, train_y, test_x, test_y = _split(*blobs(10, 3, 40, spread=0.2))
    points = pca_sweep(train_x, train_y, test_x, test_y, dims=[2, 8, 15, 16, 500])
    assert [p.dim for p in points] == [2, 8, 15]  # 15 training images cap the rank
    assert all(0.0 <= p.accuracy <= 1.0 for p in points)
    assert all(p.total_seconds >= p.fit_seconds >= 0.0 for p in points)
    assert points[-1].dim == 15 and points[-1].accuracy == 1.0


def test_most_confused_on_a_hand_made_matrix():
    confusion = np.array([[5, 3, 0], [1, 8, 1], [0, 3, 1]])
    names = ["coast", "forest", "office"]
    top = most_confused(confusion, names, k=3)
    assert [(t.true_name, t.predicted_name, t.count) for t in top] == [
        ("office", "forest", 3), ("coast", "forest", 3), ("forest", "coast", 1)]
    assert top[0].rate == pytest.approx(3 / 4) and top[1].rate == pytest.approx(3 / 8)
    assert len(most_confused(confusion, names, k=10)) == 4  # zeros never listed


def test_fits_run_one_at_a_time_inside_a_daemonic_process(monkeypatch):
    """A Dask worker is a daemonic process, which may not start the fits' worker processes: one job there."""
    assert fit_jobs(-1) == -1 and fit_jobs(3) == 3
    monkeypatch.setattr(settings.multiprocessing, "current_process", lambda: types.SimpleNamespace(daemon=True))
    assert fit_jobs(-1) == 1 and fit_jobs(3) == 1
