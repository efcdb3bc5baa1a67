"""Number formatting for templates: numbers are never formatted by hand."""
from __future__ import annotations

import math
import operator
import os
from pathlib import Path
from typing import Any

import jinja2


def thousands(value: Any) -> str:
    """138357544 → "138,357,544"; a float is rounded, not truncated: 2999.9999 → "3,000"."""
    try:
        return f"{operator.index(value):,}"  # an integer (Python's or numpy's), exactly
    except TypeError:
        return f"{round(float(value)):,}"


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
    if round(value * 1000) < 1000:  # compared once rounded: never "1000 ms", "60.0 s" or "1 min 60 s"
        return f"{value * 1000:.0f} ms"
    if round(value, 1) < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest} s"


def signed(value: Any, digits: int = 1) -> str:
    """A difference of fractions in percentage points: 0.031 → "+3.1 points"."""
    return f"{float(value) * 100:+.{digits}f} points"


def plural(count: Any, many: str = "s", one: str = "") -> str:
    """The ending after a count: "layer{{ n|plural }}" reads "1 layer", "2 layers"."""
    return one if count == 1 else many


def columns(rows: Any, count: int = 2) -> list[tuple[Any, ...]]:
    """A list laid out down `count` columns, as table rows: [1, 2, 3] → [(1, 3), (2, None)]."""
    rows = list(rows)
    height = math.ceil(len(rows) / count)
    return [tuple(rows[i + k * height] if i + k * height < len(rows) else None for k in range(count))
            for i in range(height)]


def apply(value: Any, name: str) -> str:
    """The filter called `name` applied to `value`: a format chosen by data, e.g. a question's key number."""
    if name not in FORMATS:
        raise ValueError(f"no number format named {name!r}; use one of {', '.join(FORMATS)}")
    return FORMATS[name](value)


def relative_place(value: Any, root: str | os.PathLike, home: str | os.PathLike) -> Any:
    """An absolute path inside `root` relative to it, one inside `home` as "~/…"; anything else unchanged."""
    if not isinstance(value, str) or not os.path.isabs(value):
        return value
    path = Path(value)
    for base, shown in ((Path(root), None), (Path(home), "~")):
        if path.is_relative_to(base) and path != base:
            rest = path.relative_to(base).as_posix()
            return f"{shown}/{rest}" if shown else rest
    return value


@jinja2.pass_context
def place(context: Any, value: Any) -> Any:
    """A path as the report shows it: relative to the project (`build.root`) or the user's home, not this disk's."""
    root = context.get("build", {}).get("root", "") or os.getcwd()
    return relative_place(value, root, os.path.expanduser("~"))


FORMATS = {"thousands": thousands, "pct": pct, "num": num, "sig": sig, "seconds": seconds, "signed": signed}
ALL = {**FORMATS, "plural": plural, "columns": columns, "apply": apply, "place": place}
