import pytest

from experiments.verdicts import ch1 as v
from tests.experiments.verdicts.fake import fake


def test_count_above_is_strict() -> None:
    assert v.count_above([0.2, 0.5, 0.51, 0.9], 0.5) == 2


@pytest.mark.parametrize(("top1", "top5", "more"), [(0.6, 0.8, True), (0.6, 0.6, False)])
def test_predictions_sureness(top1, top5, more) -> None:
    images = [{"top5": [{"probability": p}]} for p in (0.3, 0.7)]
    s = v.predictions_sureness(fake({"images": images, "top1": top1, "top5": top5}))
    assert (s.count, s.sure_above, s.top5_finds_more) == (1, 0.5, more)


@pytest.mark.parametrize(("normalized", "unnormalized", "branch"), [(0.8, 0.5, "higher"), (0.5, 0.8, "lower"),
                                                                    (0.8, 0.798, "same")])
def test_normalization_branches(normalized, unnormalized, branch) -> None:
    n = v.normalization_effect_size(fake({"normalized_top1": normalized, "unnormalized_top1": unnormalized,
                                     "agreement_unnormalized": 0.75}))
    assert getattr(n.without, branch) and n.changed == 0.25
    assert n.unnormalized_change == pytest.approx(unnormalized - normalized)


@pytest.mark.parametrize(("train", "test", "expected"), [
    (0.9, 0.3, (True, False)), (0.12, 0.1, (False, True)), (0.4, 0.35, (False, False)),
])
def test_from_scratch_branches(train, test, expected) -> None:
    assert v.scratch_outcome(fake(train), fake(test), 1 / 15, 0.15, 0.1) == expected
    s = v.from_scratch_outcome(fake({"train_accuracy": train, "accuracy": test, "chance": 1 / 15,
                                "baseline_accuracy": 0.9}))
    assert (s.overfits, s.near_chance) == expected and s.extraction_gain == pytest.approx(0.9 - test)


@pytest.mark.parametrize(("practical", "last", "expected"), [(0.85, 0.80, (True, True)), (0.9, 0.898, (False, False))])
def test_layer_sweep_branches(practical, last, expected) -> None:
    r = v.layer_sweep_depth(fake({"penultimate_accuracy": practical, "best_accuracy": 0.9,
                                  "rows": [{"accuracy": last}]}))
    assert (r.practical_below_best, r.last_below_best) == expected


@pytest.mark.parametrize(("averaged", "branch", "robust"), [(0.80, "lower", False), (0.92, "higher", True),
                                                           (0.901, "same", True)])
def test_grayscale_branches(averaged, branch, robust) -> None:
    g = v.grayscale_effects(fake({"averaged_accuracy": averaged, "replication_accuracy": 0.9, "same_predictions": 1.0}))
    assert getattr(g.averaged, branch) and g.robust is robust and not g.some_predictions_differ
    assert g.cost_points == pytest.approx((0.9 - averaged) * 100) and g.same_within_points == 0.5
    assert v.grayscale_effects(fake({"averaged_accuracy": 0.9, "replication_accuracy": 0.9,
                                "same_predictions": 0.99})).some_predictions_differ


@pytest.mark.parametrize(("head", "tuned", "everything", "head_branch", "tuned_branch"), [
    (0.905, 0.95, True, "same", "higher"), (0.95, 0.80, True, "higher", "lower"),
    (0.80, 0.705, False, "lower", "same"),  # on a subset, fine-tuning is compared with the subset's SVM (0.70)
])
def test_network_classifier_branches(head, tuned, everything, head_branch, tuned_branch) -> None:
    c = v.network_classifier_comparison(fake({"head_accuracy": head, "svm_accuracy": 0.9, "svm_subset_accuracy": 0.7,
                                         "finetune_accuracy": tuned, "subset": {"all": everything}}))
    assert getattr(c.head, head_branch) and getattr(c.finetune, tuned_branch)
    assert c.head_shortfall == pytest.approx(-c.head_change)


@pytest.mark.parametrize(("gain", "within"), [(0.01, True), (0.05, False)])
def test_svm_c_branches(gain, within) -> None:
    assert v.svm_c_significance(fake({"gain": gain, "stderr": 0.01})).within_noise is within


def _pca(points, full_seconds=1.0, best=0.9):
    return fake({"points": [{"dim": d, "accuracy": a, "total_seconds": t} for d, a, t in points],
                 "full": {"accuracy": 0.9, "total_seconds": full_seconds}, "best": {"accuracy": best}})


def test_pca_when_few_dimensions_suffice_but_cost_more() -> None:
    p = v.pca_reduction(_pca([(8, 0.5, 0.1), (16, 0.895, 2.0), (32, 0.92, 3.0)], best=0.92))
    assert p.smallest_close.dim == 16 and p.costs_more and p.helps and p.fewest_fall and p.tolerance_points == 1


def test_pca_when_no_dimension_comes_close() -> None:
    p = v.pca_reduction(_pca([(8, 0.5, 0.1)], best=0.5))
    assert p.smallest_close is None and not p.costs_more and not p.helps and p.fewest_fall
    assert not v.pca_reduction(_pca([(8, 0.9, 0.1)], full_seconds=1.0)).costs_more
    assert not v.pca_reduction(_pca([])).fewest_fall


@pytest.mark.parametrize(("difference", "random", "zeros", "expected"), [
    (0.6, 0.3, 0.1, (True, True, True, True)),  # much better; random still above chance; some zero vectors
    (0.1, 0.08, 0.0, (True, False, False, False)),  # helps a little; random at chance
    (-0.05, 0.5, 0.0, (False, False, True, False)),  # does not help
])
def test_pretraining_branches(difference, random, zeros, expected) -> None:
    p = v.pretrained_vs_random_gain(fake({"difference": difference, "random": random, "chance": 1 / 15,
                                     "random_zero_features": zeros}))
    assert (p.helps, p.helps_much, p.random_above_chance, p.some_zero_features) == expected


@pytest.mark.parametrize(("share", "heavy"), [(0.9, True), (0.3, False)])
def test_parameter_split_branches(share, heavy) -> None:
    assert v.architecture_params_split(fake({"fc_share": share})).classifier_heavy is heavy
