"""Number formatting filters against hand-written strings."""
from __future__ import annotations

import numpy as np
import pytest

from reportgen import filters
from reportgen.filters import num, pct, seconds, sig, signed, thousands


@pytest.mark.parametrize(("value", "expected"), [
    (138357544, "138,357,544"), (123642856, "123,642,856"), (0, "0"), (999, "999"), (1000, "1,000"),
    (-1234567, "-1,234,567"), (np.int64(14714688), "14,714,688"), (2**60 + 1, "1,152,921,504,606,846,977"),
    (1234.4, "1,234"), (299999.99999999994, "300,000"), (np.float32(2.5e6), "2,500,000"), ("1000", "1,000"),
])
def test_thousands(value, expected: str) -> None:
    assert thousands(value) == expected


@pytest.mark.parametrize(("value", "args", "expected"), [
    (0.8936, (), "89.4 %"), (0.8932, (), "89.3 %"), (1, (), "100.0 %"), (0, (), "0.0 %"),
    (0.123456, (2,), "12.35 %"), (0.5, (0,), "50 %"), (np.float64(0.07), (), "7.0 %"), (-0.031, (), "-3.1 %"),
])
def test_pct(value, args, expected: str) -> None:
    assert pct(value, *args) == expected


@pytest.mark.parametrize(("value", "args", "expected"), [
    (1234.5678, (), "1,234.57"), (0.5, (), "0.50"), (1234567.891, (1,), "1,234,567.9"), (3, (0,), "3"),
    (-0.004, (2,), "-0.00"),
])
def test_num(value, args, expected: str) -> None:
    assert num(value, *args) == expected


@pytest.mark.parametrize(("value", "args", "expected"), [
    (0.000123, (), "0.000123"), (2.5e-9, (), "2.5e-09"), (123456, (), "1.23e+05"), (0.123456, (2,), "0.12"),
    (3.14159, (), "3.14"), (0, (), "0.0"), (float("nan"), (), "nan"), (float("inf"), (), "inf"),
])
def test_sig(value, args, expected: str) -> None:
    assert sig(value, *args) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (0.042, "42 ms"), (0, "0 ms"), (0.9994, "999 ms"), (0.9996, "1.0 s"), (1, "1.0 s"), (12.3, "12.3 s"),
    (59.94, "59.9 s"), (59.96, "1 min 0 s"), (60, "1 min 0 s"), (245, "4 min 5 s"), (119.6, "2 min 0 s"),
    (3725, "62 min 5 s"),
])
def test_seconds(value, expected: str) -> None:
    assert seconds(value) == expected


@pytest.mark.parametrize(("value", "args", "expected"), [
    (0.031, (), "+3.1 points"), (-0.02, (), "-2.0 points"), (0, (), "+0.0 points"), (0.12345, (2,), "+12.35 points"),
])
def test_signed(value, args, expected: str) -> None:
    assert signed(value, *args) == expected


def test_every_filter_is_registered_for_templates() -> None:
    assert filters.ALL == {"thousands": thousands, "pct": pct, "num": num, "sig": sig, "seconds": seconds,
                           "signed": signed, "plural": filters.plural, "columns": filters.columns,
                           "apply": filters.apply, "place": filters.place}


@pytest.mark.parametrize("fn", [thousands, pct, num, sig, seconds, signed])
def test_text_that_is_no_number_is_an_error(fn) -> None:
    with pytest.raises(ValueError):
        fn("four")


def test_plural_endings() -> None:
    from reportgen.filters import plural

    assert (plural(1), plural(0), plural(2), plural(1, "s are", " is"), plural(3, "s are", " is")) == (
        "", "s", "s", " is", "s are")


def test_columns_fill_down_then_across() -> None:
    from reportgen.filters import columns

    assert columns([1, 2, 3]) == [(1, 3), (2, None)]
    assert columns([1, 2, 3, 4]) == [(1, 3), (2, 4)] and columns([]) == []


def test_apply_names_a_format() -> None:
    from reportgen.filters import apply

    assert apply(0.8936, "pct") == "89.4 %" and apply(138357544, "thousands") == "138,357,544"
    with pytest.raises(ValueError, match="no number format named 'bold'"):
        apply(1, "bold")


def test_paths_read_relative_to_the_project_or_home() -> None:
    from reportgen.filters import relative_place

    assert relative_place("/p/proj/data/scene15", "/p/proj", "/home/u") == "data/scene15"
    assert relative_place("/home/u/.cache/torch/x.pth", "/p/proj", "/home/u") == "~/.cache/torch/x.pth"
    assert relative_place("/srv/shared/w.pth", "/p/proj", "/home/u") == "/srv/shared/w.pth"
    assert relative_place("configs/offline.toml", "/p/proj", "/home/u") == "configs/offline.toml"
    assert relative_place(3, "/p/proj", "/home/u") == 3
