"""Judgements shared by many answers: a number against a reference, with a margin for "the same"."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    """`value` against a reference: higher, lower, or (neither) the same within the margin."""

    higher: bool
    lower: bool

    @property
    def same(self) -> bool:
        return not (self.higher or self.lower)


def difference(value: float, reference: float, same_within: float) -> Difference:
    """Higher or lower only when the gap exceeds `same_within`."""
    return Difference(value > reference + same_within, value < reference - same_within)
