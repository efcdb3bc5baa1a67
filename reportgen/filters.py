"""Number formatting for templates: numbers are never formatted by hand."""
from __future__ import annotations

import math
from typing import Any


def thousands(value: Any) -> str:
    """138357544 → "138,357,544"."""
    return f"{int(value):,}"


def pct(value: Any, digits: int = 1) -> str:
    """A fraction as a percentage: 0.8932 → "89.3 %"."""
    return f"{float(value) * 100:.{digits}f} %"


def num(value: Any, digits: int = 2) -> str:
    """Fixed decimals with thousands separators."""
    return f"{float(value):,.{digits}f}"


def sig(value: Any, digits: int = 3) -> str:
    """Significant figures, plain notation where it stays short: 0.000123 → "0.000123", 2.5e-09 → "2.5e-09"."""
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def seconds(value: Any) -> str:
    """A duration: 0.042 → "42 ms", 12.3 → "12.3 s", 245 → "4 min 5 s"."""
    value = float(value)
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    return f"{int(value // 60)} min {value % 60:.0f} s"


def signed(value: Any, digits: int = 1) -> str:
    """A difference of fractions in percentage points: 0.031 → "+3.1 points"."""
    return f"{float(value) * 100:+.{digits}f} points"


ALL = {"thousands": thousands, "pct": pct, "num": num, "sig": sig, "seconds": seconds, "signed": signed}
