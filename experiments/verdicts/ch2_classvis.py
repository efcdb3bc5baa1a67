"""2.3: how sure the network is of its generated images, what the grids show, what starting from a photo keeps."""
from __future__ import annotations

from dataclasses import dataclass

from experiments.results.ch2 import ClassFromImage, ClassImageGrids, ClassImages, ClassImagesCompare
from experiments.settings import Fraction, NonNegative
from experiments.verdicts.compare import difference
from reportgen import verdict


@dataclass(frozen=True)
class Certainty:
    certain: bool  # above `certain_above`
    fairly: bool  # above `fairly_above` (and maybe above `certain_above` too)


def certainty(probability: float, certain_above: float, fairly_above: float) -> Certainty:
    return Certainty(probability > certain_above, probability > fairly_above)


@verdict
def class_images_certainty(class_images: ClassImages,
                           certain_above: Fraction = 0.9, fairly_above: Fraction = 0.5) -> Certainty:
    """How sure the network is of the images generated from noise (their mean target probability)."""
    return certainty(class_images.mean_probability, certain_above, fairly_above)


@dataclass(frozen=True)
class Grids:
    saturated: bool  # the probability before the last snapshot is within `saturated_ratio` of the last
    rising: bool  # more than one snapshot, and not saturated
    larger_step_contrasted: bool  # the largest step gives more contrast than the smallest
    larger_step_rougher: bool
    large_step_overshoots: bool  # the largest step ends more than `overshoot_gap` below the best step
    small_step_short: bool  # the smallest step ends more than `overshoot_gap` below the best step
    best_step_probability: float
    larger_weight_greyer: bool  # the largest λ gives less contrast than the smallest
    larger_weight_costs: bool  # … and a probability more than `cost_gap` lower


def saturation(probabilities: list[float], saturated_ratio: float) -> tuple[bool, bool]:
    """(saturated, rising) for the mean probabilities at increasing numbers of steps."""
    if len(probabilities) < 2:
        return False, False
    saturated = probabilities[-2] >= saturated_ratio * probabilities[-1]
    return saturated, not saturated


def short_of(probability: float, best: float, gap: float) -> bool:
    return probability < best - gap


@verdict
def class_image_grids_effects(class_image_grids: ClassImageGrids,
                              saturated_ratio: Fraction = 0.9, overshoot_gap: Fraction = 0.1,
                              cost_gap: Fraction = 0.05) -> Grids:
    """What the number of steps, the step size and the L2 weight do to the images."""
    grids = class_image_grids
    steps, lr, reg = grids.steps_table, grids.lr_table, grids.reg_table
    saturated, rising = saturation([row.probability for row in steps], saturated_ratio)
    best = max(row.probability for row in lr)
    return Grids(
        saturated, rising, lr[-1].contrast > lr[0].contrast, lr[-1].roughness > lr[0].roughness,
        short_of(lr[-1].probability, best, overshoot_gap), short_of(lr[0].probability, best, overshoot_gap),
        best, reg[-1].contrast < reg[0].contrast, short_of(reg[-1].probability, reg[0].probability,
                                                                 cost_gap),
    )


@dataclass(frozen=True)
class FromImage:
    layout_kept: bool  # mean correlation with the photo above `layout_kept_above`
    probability_fell: bool  # the target's mean probability ends below where it started
    small_change: bool  # mean pixel change below `small_change_below` levels


@verdict
def class_from_image_effects(class_from_image: ClassFromImage, layout_kept_above: Fraction = 0.5,
                             small_change_below: NonNegative = 20.0) -> FromImage:
    """Whether the ascent from a photo keeps it, and how little it had to change."""
    r = class_from_image
    return FromImage(r.mean_similarity > layout_kept_above, r.mean_probability < r.mean_start_probability,
                     r.mean_change < small_change_below)


@dataclass(frozen=True)
class CompareCertainty:
    equally_sure: bool  # the two networks' mean target probabilities within `same_within`


@verdict
def class_images_compare_certainty(class_images_compare: ClassImagesCompare,
                                   same_within: Fraction = 0.05) -> CompareCertainty:
    """Whether the second network is as sure of its own generated images as the first."""
    r = class_images_compare
    return CompareCertainty(difference(r.mean_probability, r.visualize_mean_probability, same_within).same)
