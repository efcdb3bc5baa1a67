"""Linear-SVM evaluation of feature matrices (the practical's sklearn part).

Labels are integer class indices 0..K-1; confusion matrices and per-class accuracies are
indexed by them (K = largest label seen in train or test + 1).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.svm import LinearSVC

from experiments.methods.svm_results import ConfusedPair, PcaPoint, SvmResult
from experiments.settings import may_start_processes
from reportgen.progress import progress

# An upper bound on liblinear's iterations: enough for its dual solver at C <= 1 on the features tried here.
DEFAULT_MAX_ITER = 10_000


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows of ``x`` scaled to unit Euclidean norm (all-zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, eps)


def linear_svc(C: float = 1.0, seed: int = 0, max_iter: int = DEFAULT_MAX_ITER) -> LinearSVC:
    """The practical's classifier: ``LinearSVC(C)`` (squared hinge, one-vs-rest), solved in the dual up to C = 1
    and in the primal above.

    Both solvers minimize the same objective. The dual's coordinate descent needs far more passes as C grows
    or when features are nearly parallel (random-weight networks); Newton's method in the primal does not, but
    costs more per fit at small C. Measured on 15 Scene: pretrained features, dual 0.4 s / primal 0.7 s at C = 1,
    2.2 s / 2.3 s at C = 100, the same accuracy; 500 random-weight VGG16 features at C = 100, 30 s (2,893
    iterations) against 2.9 s (23), the same accuracy.
    """
    return LinearSVC(C=C, dual=_dual(C), max_iter=max_iter, random_state=seed)


def _dual(C: float) -> bool:
    """Whether ``linear_svc`` solves the dual problem at this C."""
    return C <= 1.0


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts; entry [i, j] = images of class i predicted as j."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true), np.asarray(predicted)), 1)
    return matrix


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Recall of each class (diagonal / row sum); NaN for a class absent from the test set."""
    totals = confusion.sum(axis=1)
    diagonal = np.diag(confusion).astype(np.float64)
    return np.divide(diagonal, totals, out=np.full(len(totals), np.nan), where=totals > 0)


def svm_evaluate(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
                 test_y: np.ndarray, C: float = 1.0, normalize: bool = True, seed: int = 0,
                 max_iter: int = DEFAULT_MAX_ITER) -> SvmResult:
    """Fit ``LinearSVC(C)`` on train (rows L2-normalized when ``normalize``), score on test."""
    if normalize:
        train_x, test_x = l2_normalize(train_x), l2_normalize(test_x)
    classifier = linear_svc(C, seed, max_iter)
    start = time.perf_counter()
    classifier.fit(train_x, train_y)
    fit_seconds = time.perf_counter() - start
    predictions = classifier.predict(test_x)
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    confusion = confusion_matrix(test_y, predictions, num_classes)
    return SvmResult(accuracy=float(np.mean(predictions == test_y)),
                     per_class=per_class_accuracy(confusion), confusion=confusion,
                     predictions=predictions, fit_seconds=fit_seconds)


def fit_jobs(jobs: int) -> int:
    """How many worker processes (joblib's loky) liblinear fits may use: ``jobs`` (-1: every core), or 1 inside a
    daemonic process such as a Dask worker, which may not start children. Processes, not threads: liblinear's dual
    solver draws from one random generator per process, seeded at the start of each fit, so fits in separate
    processes give exactly what they give one after another, while fits in threads of one process disturb each
    other's draws (their results then depend on timing)."""
    return jobs if may_start_processes() else 1


def choose_c(train_x: np.ndarray, train_y: np.ndarray, cs: Sequence[float], folds: int = 5,
             seed: int = 0, normalize: bool = True, n_jobs: int = -1,
             max_iter: int = DEFAULT_MAX_ITER) -> tuple[float, np.ndarray]:
    """Pick C by stratified k-fold cross-validation on the training set only.

    Returns (best C, mean validation accuracy per entry of ``cs``); ties go to the first
    best entry of ``cs``. L2 normalization is per row, so it cannot leak across folds. The fits
    run in up to ``n_jobs`` worker processes (``fit_jobs``), the largest C first, as those converge slowest.
    """
    if normalize:
        train_x = l2_normalize(train_x)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    order = sorted(range(len(cs)), key=lambda i: -cs[i])
    grid = [{"C": [cs[i]], "dual": [_dual(cs[i])]} for i in order]
    search = GridSearchCV(linear_svc(seed=seed, max_iter=max_iter), grid, cv=cv, n_jobs=fit_jobs(n_jobs),
                          refit=False)
    search.fit(train_x, train_y)
    means = np.empty(len(cs), dtype=np.float64)
    means[order] = search.cv_results_["mean_test_score"]
    return float(cs[int(np.argmax(means))]), means


def pca_sweep(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
              test_y: np.ndarray, dims: Sequence[int], C: float = 1.0, normalize: bool = True,
              seed: int = 0) -> list[PcaPoint]:
    """SVM accuracy and time after PCA to each of ``dims`` (PCA fitted on train only).

    Pipeline: L2-normalize (when ``normalize``) -> PCA(dim) -> LinearSVC(C). Dimensions above
    min(n_train, n_features) are skipped.
    """
    if normalize:
        train_x, test_x = l2_normalize(train_x), l2_normalize(test_x)
    limit = min(train_x.shape)
    points = []
    for dim in progress([d for d in dims if 0 < d <= limit], desc="PCA dimensions", unit="fit"):
        start = time.perf_counter()
        pca = PCA(n_components=dim, random_state=seed).fit(train_x)
        result = svm_evaluate(pca.transform(train_x), train_y, pca.transform(test_x), test_y,
                              C=C, normalize=False, seed=seed)
        total = time.perf_counter() - start
        points.append(PcaPoint(dim, result.accuracy, result.fit_seconds, total))
    return points


def most_confused(confusion: np.ndarray, class_names: Sequence[str], k: int = 5
                  ) -> list[ConfusedPair]:
    """The ``k`` largest off-diagonal entries of ``confusion`` (ties: higher rate, then index);
    zero entries are never listed."""
    totals = confusion.sum(axis=1)
    pairs = [(int(confusion[i, j]), confusion[i, j] / totals[i], i, j)
             for i in range(len(confusion)) for j in range(len(confusion))
             if i != j and confusion[i, j] > 0]
    pairs.sort(key=lambda p: (-p[0], -p[1], p[2], p[3]))
    return [ConfusedPair(class_names[i], class_names[j], count, float(rate))
            for count, rate, i, j in pairs[:k]]
