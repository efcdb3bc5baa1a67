"""Chapter 1: the worded judgements of the predictions, the from-scratch run, the layers, grayscale inputs, the
network as classifier, C and PCA."""
from __future__ import annotations

from dataclasses import dataclass

from experiments.methods.svm_results import PcaPoint
from experiments.results.ch1 import (
    ArchitectureParams,
    FromScratch,
    Grayscale,
    LayerSweep,
    NormalizationEffect,
    Predictions,
    PretrainedVsRandom,
    SvmC,
)
from experiments.results.ch1 import NetworkClassifier as NetworkClassifierResult
from experiments.results.ch1 import Pca as PcaResult
from experiments.settings import Fraction, NonNegative
from experiments.verdicts.compare import Difference, difference
from reportgen import verdict


@dataclass(frozen=True)
class Sure:
    sure_above: float  # the cut-off, shown in the text
    count: int  # images whose most probable class gets more than `sure_above`
    top5_finds_more: bool  # top-5 accuracy above top-1 on the validation images


def count_above(values: list[float], limit: float) -> int:
    return sum(v > limit for v in values)


@verdict
def predictions_sureness(predictions: Predictions, sure_above: Fraction = 0.5) -> Sure:
    """For how many of our images the network is sure of its first class."""
    first = [row.top5[0].probability for row in predictions.images]
    return Sure(sure_above, count_above(first, sure_above), predictions.top5 > predictions.top1)


@dataclass(frozen=True)
class Normalization:
    without: Difference  # top-1 with normalization against without (higher: normalization helps)
    unnormalized_change: float  # top-1 without normalization minus with
    changed: float  # share of the images whose predicted class changes without normalization


@verdict
def normalization_effect_size(normalization_effect: NormalizationEffect,
                              same_within: Fraction = 0.005) -> Normalization:
    """Whether dropping the normalization costs accuracy."""
    n = normalization_effect
    return Normalization(difference(n.normalized_top1, n.unnormalized_top1, same_within),
                         n.unnormalized_top1 - n.normalized_top1, 1 - n.agreement_unnormalized)


@dataclass(frozen=True)
class Scratch:
    overfits: bool  # training accuracy more than `overfit_gap` above test accuracy
    near_chance: bool  # test accuracy within `near_chance` of chance
    extraction_gain: float  # feature extraction's accuracy minus from-scratch's


def scratch_outcome(train: float, test: float, chance: float, overfit_gap: float, near_chance: float
                    ) -> tuple[bool, bool]:
    return train - test > overfit_gap, test < chance + near_chance


@verdict
def from_scratch_outcome(from_scratch: FromScratch, overfit_gap: Fraction = 0.15,
                         near_chance: Fraction = 0.1) -> Scratch:
    """Whether the from-scratch run overfits, barely leaves chance, or learns something."""
    s = from_scratch
    overfits, near = scratch_outcome(s.train_accuracy, s.accuracy, s.chance, overfit_gap, near_chance)
    return Scratch(overfits, near, s.baseline_accuracy - s.accuracy)


@dataclass(frozen=True)
class Layers:
    practical_below_best: bool
    practical_gap: float  # the practical layer's accuracy minus the best layer's
    last_below_best: bool  # the last layer more than `same_within` below the best


@verdict
def layer_sweep_depth(layer_sweep: LayerSweep, same_within: Fraction = 0.005) -> Layers:
    """Whether the practical's and the last layer fall short of the best."""
    r = layer_sweep
    return Layers(r.penultimate_accuracy < r.best_accuracy, r.penultimate_accuracy - r.best_accuracy,
                  r.rows[-1].accuracy < r.best_accuracy - same_within)


@dataclass(frozen=True)
class Gray:
    averaged: Difference  # averaging conv1's weights against replication
    change: float  # averaged minus replication accuracy
    cost_points: float  # what averaging costs, in points
    same_within_points: float  # the cut-off, in points, shown in the text
    robust: bool  # the change stays within `robust_within`
    some_predictions_differ: bool  # the exact fold does not predict the same class for every image


@verdict
def grayscale_effects(grayscale: Grayscale, same_within: Fraction = 0.005, robust_within: Fraction = 0.03) -> Gray:
    """What averaging conv1's weights costs against replicating the gray channel."""
    g = grayscale
    change = g.averaged_accuracy - g.replication_accuracy
    return Gray(difference(g.averaged_accuracy, g.replication_accuracy, same_within), change, -change * 100,
                same_within * 100, abs(change) < robust_within, g.same_predictions < 1)


@dataclass(frozen=True)
class NetworkClassifier:
    head: Difference  # the new last layer against the SVM
    head_change: float
    head_shortfall: float
    finetune: Difference  # fine-tuning against the SVM on the same training images
    finetune_change: float
    finetune_loss_points: float


@verdict
def network_classifier_comparison(network_classifier: NetworkClassifierResult,
                                  same_within: Fraction = 0.01) -> NetworkClassifier:
    """The network's own last layer, and fine-tuning, against the SVM."""
    c = network_classifier
    base = c.svm_accuracy if c.subset.all else c.svm_subset_accuracy
    head, tuned = c.head_accuracy - c.svm_accuracy, c.finetune_accuracy - base
    return NetworkClassifier(difference(c.head_accuracy, c.svm_accuracy, same_within), head, -head,
                             difference(c.finetune_accuracy, base, same_within), tuned, -tuned * 100)


@dataclass(frozen=True)
class C:
    within_noise: bool  # the gain of the chosen C is within `noise_stderrs` standard errors


@verdict
def svm_c_significance(svm_c: SvmC, noise_stderrs: NonNegative = 2.0) -> C:
    """Whether choosing C changed the accuracy by more than sampling noise."""
    return C(abs(svm_c.gain) < noise_stderrs * svm_c.stderr)


@dataclass(frozen=True)
class Pca:
    smallest_close: PcaPoint | None  # the fewest dimensions within `tolerance` of no PCA
    tolerance_points: float
    costs_more: bool  # … and PCA with the SVM takes longer than the SVM alone
    helps: bool  # the best dimension beats no PCA by more than `gain_above`
    fewest_fall: bool  # the fewest dimensions fall more than `tolerance` below no PCA


def smallest_within(points: list[PcaPoint], reference: float, tolerance: float) -> PcaPoint | None:
    return next((p for p in points if p.accuracy >= reference - tolerance), None)


@verdict
def pca_reduction(pca: PcaResult, tolerance: Fraction = 0.01, gain_above: Fraction = 0.005) -> Pca:
    """How few dimensions keep the accuracy, and whether reducing helps."""
    full, points = pca.full, pca.points
    close = smallest_within(points, full.accuracy, tolerance)
    return Pca(close, tolerance * 100, close is not None and close.total_seconds > full.total_seconds,
               pca.best.accuracy > full.accuracy + gain_above,
               bool(points) and points[0].accuracy < full.accuracy - tolerance)


@dataclass(frozen=True)
class Pretraining:
    helps: bool  # pretrained features beat random ones
    helps_much: bool  # … by more than `large_gain`
    random_above_chance: bool  # random features beat chance by more than `above_chance`
    some_zero_features: bool  # some random-weight feature vectors are all zero


@verdict
def pretrained_vs_random_gain(pretrained_vs_random: PretrainedVsRandom, large_gain: Fraction = 0.2,
                              above_chance: Fraction = 0.05) -> Pretraining:
    """What pre-training brings over the same architecture untrained."""
    r = pretrained_vs_random
    return Pretraining(r.difference > 0, r.difference > large_gain, r.random > r.chance + above_chance,
                       r.random_zero_features > 0)


@dataclass(frozen=True)
class Parameters:
    classifier_heavy: bool  # the fully connected layers hold more than `classifier_heavy_above` of the parameters


@verdict
def architecture_params_split(architecture_params: ArchitectureParams,
                              classifier_heavy_above: Fraction = 0.5) -> Parameters:
    """Whether the classifier or the convolutions hold most parameters."""
    return Parameters(architecture_params.fc_share > classifier_heavy_above)
