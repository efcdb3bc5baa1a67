"""The typed results survive the store: nested dataclasses (or None in their place), lists of them, dicts of arrays,
figures."""
from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest

from experiments.results.ch1 import EvalModeEffect, PassStatistics, SceneFeatures
from experiments.results.ch2 import SeenPerImage, SetMeasures
from reportgen import store

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402


def _round_trip(tmp_path, value):
    store.write_entry(tmp_path / "e", value, {})
    return store.read_entry(tmp_path / "e", ("experiments",))


def test_nested_dataclasses_none_and_a_figure(tmp_path) -> None:
    stats = PassStatistics(0.5, 0.25, 0.1, 0.2, 0.3, [0.5, None], None, None)
    fig = Figure()
    fig.subplots().plot([0, 1])
    value = EvalModeEffect("net", 4, 2, 2, 1, 0, 0.0, None, stats, None, fig, 0.5)
    back = _round_trip(tmp_path, value)
    assert type(back) is EvalModeEffect and back.train == stats and back.dropout_only is None
    assert isinstance(back.figure, store.Figure) and back.figure.path.is_file()


def test_dicts_of_arrays_and_nested_per_image_measures(tmp_path) -> None:
    features = SceneFeatures("net", ["a"], [], "x", {"x": np.ones((2, 3), np.float32)}, {"x": np.zeros((1, 3))},
                             np.array([0, 1]), np.array([1]), 3, 1.0, 3.0, False, "cpu", True, 4)
    back = _round_trip(tmp_path, features)
    assert back.train["x"].dtype == np.float32 and back.train["x"].shape == (2, 3)
    per_image = SeenPerImage(np.array([0.5]), np.array([True]), np.array([True]), np.array([3]), ["cat"],
                             np.array([0.1]))
    measures = _round_trip(tmp_path, SetMeasures(0.5, 1.0, 1.0, 0.1, per_image))
    assert measures.per_image.other_names == ["cat"] and measures.per_image.other_top1.dtype == bool


def test_an_old_entry_whose_class_is_gone_is_a_one_line_error(tmp_path) -> None:
    store.write_entry(tmp_path / "e", PassStatistics(0, 0, 0, 0, 0, [], None, None), {})
    data = json.loads((tmp_path / "e" / store.RESULT).read_text())
    data["__dataclass__"] = "experiments.results.ch1:Gone"
    (tmp_path / "e" / store.RESULT).write_text(json.dumps(data))
    with pytest.raises(ValueError, match="delete this cache entry"):
        store.read_entry(tmp_path / "e", ("experiments",))
