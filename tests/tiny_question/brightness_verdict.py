"""2.Q12's judgement: are the images dark?"""
from __future__ import annotations

from dataclasses import dataclass

from reportgen import verdict


@dataclass(frozen=True)
class Darkness:
    dark: bool  # mean level below `dark_below`


def darkness(mean_level: float, dark_below: float) -> Darkness:
    return Darkness(mean_level < dark_below)


@verdict
def image_brightness_darkness(image_brightness, dark_below: float = 100.0) -> Darkness:
    """Whether the images are dark on average."""
    return darkness(image_brightness.mean_level, dark_below)
