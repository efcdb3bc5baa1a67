"""2.Q8: do the regularized class images look more like the class than the practical's, by the two measures?"""
from __future__ import annotations

from dataclasses import dataclass

from experiments.results.ch2 import ClassImagesRegularized, RegularizerAblation
from experiments.settings import Fraction
from reportgen import verdict


@dataclass(frozen=True)
class Recognition:
    transfers_better: bool  # a second network recognizes the regularized images more often, by more than `clearly_by`
    transfers_worse: bool  # … less often, by more than `clearly_by`
    smoother: bool  # their high-frequency share is lower, by more than `smoother_by`
    practical_transfers: bool  # the second network recognizes at least one of the practical's images


def recognition(practical_top1: float, regularized_top1: float, practical_high: float, regularized_high: float,
                clearly_by: float, smoother_by: float) -> Recognition:
    return Recognition(regularized_top1 > practical_top1 + clearly_by, regularized_top1 < practical_top1 - clearly_by,
                       regularized_high < practical_high - smoother_by, practical_top1 > 0)


@verdict
def class_images_recognition(class_images_regularized: ClassImagesRegularized, clearly_by: Fraction = 0.2,
                             smoother_by: Fraction = 0.05) -> Recognition:
    """Whether the regularizers make images a second network recognizes, and smoother ones."""
    practical, regularized = class_images_regularized.practical, class_images_regularized.regularized
    return recognition(practical.other_top1, regularized.other_top1, practical.high_frequency,
                       regularized.high_frequency, clearly_by, smoother_by)


@dataclass(frozen=True)
class Ablation:
    fourier_enough: bool  # the Fourier parameterization alone is recognized within `close_by` of both together
    transforms_enough: bool  # … the transforms alone
    fourier_smoother: bool  # the Fourier variant's high-frequency share is below the transforms-only one's
    tv_better: bool  # adding total variation raises the second network's top-1 by more than `close_by`
    tv_worse: bool  # … lowers it by more than `close_by`


def ablation(both_top1: float, fourier_top1: float, transforms_top1: float, tv_top1: float, fourier_high: float,
             transforms_high: float, close_by: float, smoother_by: float) -> Ablation:
    return Ablation(fourier_top1 >= both_top1 - close_by, transforms_top1 >= both_top1 - close_by,
                    fourier_high < transforms_high - smoother_by, tv_top1 > both_top1 + close_by,
                    tv_top1 < both_top1 - close_by)


@verdict
def regularizer_ablation_effects(regularizer_ablation: RegularizerAblation, close_by: Fraction = 0.3,
                                 smoother_by: Fraction = 0.05) -> Ablation:
    """Which regularizer alone keeps the regularized images' recognition, and what total variation adds."""
    a = regularizer_ablation
    return ablation(a.regularized.other_top1, a.fourier_only.other_top1, a.transforms_only.other_top1,
                    a.with_tv.other_top1, a.fourier_only.high_frequency, a.transforms_only.high_frequency, close_by,
                    smoother_by)
