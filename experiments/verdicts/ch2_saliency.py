"""2.1: what the saliency maps' numbers say — concentration against correctness, the sanity checks, the boxes."""
from __future__ import annotations

from dataclasses import dataclass

from experiments.results.ch2 import Localization, SaliencyCompare, SaliencyLimits, SaliencyMaps
from experiments.settings import Fraction
from experiments.verdicts.compare import Difference, difference
from reportgen import verdict


@dataclass(frozen=True)
class Maps:
    correct_against_wrong: Difference | None  # maps of correct predictions against wrong ones (None: one kind only)


@verdict
def saliency_maps_concentration(saliency_maps: SaliencyMaps, same_within: Fraction = 0.01) -> Maps:
    """Whether concentrated maps go with correct predictions."""
    right, wrong = saliency_maps.correct_concentration, saliency_maps.wrong_concentration
    return Maps(None if right is None or wrong is None else difference(right, wrong, same_within))


@dataclass(frozen=True)
class Limits:
    passes: bool  # randomized maps are further from the trained ones than noisy-input maps, by `pass_gap`
    residual: bool  # randomized maps still correlate above `residual_above`
    fragile: bool  # plain maps keep a rank correlation below `fragile_below` under imperceptible noise
    smooth_against_plain: Difference  # SmoothGrad's reproducibility against the plain gradient's
    smooth_more_concentrated: bool


def sanity_check(random: float, noise: float, pass_gap: float) -> bool:
    """Adebayo et al.'s check passes when randomizing the weights changes the maps clearly more than noise does."""
    return random < noise - pass_gap


@verdict
def saliency_limits_checks(saliency_limits: SaliencyLimits, pass_gap: Fraction = 0.2, residual_above: Fraction = 0.05,
                           fragile_below: Fraction = 0.8, same_within: Fraction = 0.1) -> Limits:
    """The sanity check, the noise sensitivity, and SmoothGrad against the plain gradient."""
    r = saliency_limits
    return Limits(sanity_check(r.random_correlation, r.noise_correlation, pass_gap),
                  r.random_correlation > residual_above, r.plain_stability < fragile_below,
                  difference(r.smooth_stability, r.plain_stability, same_within),
                  r.smooth_concentration > r.plain_concentration)


@verdict
def localization_boxes(localization: Localization, same_within: Fraction = 0.02) -> Difference:
    """The saliency boxes' crops against a blind centred crop of the same size."""
    return difference(localization.crop_accuracy, localization.centre_crop_accuracy, same_within)


@dataclass(frozen=True)
class Agreement:
    beyond_chance: bool  # the two networks' maps agree more than `agree_above_chance` above chance
    concentration: Difference  # the compare network's map concentration against the visualize network's


@verdict
def saliency_compare_agreement(saliency_compare: SaliencyCompare,
                               saliency_maps: SaliencyMaps, agree_above_chance: Fraction = 0.1,
                               same_within: Fraction = 0.02) -> Agreement:
    """How far the second network's maps agree with the first's, and which are more concentrated."""
    r = saliency_compare
    return Agreement(r.mean_correlation > r.chance_correlation + agree_above_chance,
                     difference(r.compare_concentration, saliency_maps.mean_concentration, same_within))
