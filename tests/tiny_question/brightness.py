"""2.Q12 (an example question): how bright are the validation images?"""
from __future__ import annotations

from dataclasses import dataclass

from experiments.assets.imagenet import ImageSet
from reportgen import experiment


@dataclass(frozen=True)
class Brightness:
    images: int
    mean_level: float  # mean pixel value, 0–255
    darkest_level: float  # the darkest image's mean pixel value


@experiment
def image_brightness(imagenet_val: ImageSet) -> Brightness:
    """Mean pixel level of the validation images."""
    levels = imagenet_val.images.reshape(len(imagenet_val.images), -1).mean(axis=1)
    return Brightness(len(levels), float(levels.mean()), float(levels.min()))
