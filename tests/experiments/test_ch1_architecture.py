"""1.1 Q1–Q2 on the real VGG16 architecture (meta device: no weights, no memory, fast)."""
from __future__ import annotations

import pytest

from experiments.ch1_architecture import architecture_output, architecture_params
from experiments.resources import architecture, categories

CONV_CHANNELS = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
                 (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
CONV_SIDES = [224, 224, 112, 112, 56, 56, 56, 28, 28, 28, 14, 14, 14]
FC = [(25088, 4096), (4096, 4096), (4096, 1000)]


@pytest.fixture(scope="module")
def vgg16():
    return architecture("vgg16")


@pytest.fixture(scope="module")
def params(vgg16) -> dict:
    return architecture_params(vgg16)


def test_totals(params: dict) -> None:
    assert params.total == 138_357_544
    assert params.fc_total == 123_642_856
    assert params.conv_total == 14_714_688
    assert params.other_total == 0
    assert params.fc_share == pytest.approx(0.8936, abs=5e-5)
    assert params.fc_share == pytest.approx(123_642_856 / 138_357_544)


def test_estimate_from_the_fc_weights_alone(params: dict) -> None:
    weights = sum(i * o for i, o in FC)
    assert params.fc_weights_only == weights == 123_633_664
    assert params.estimate_error == pytest.approx((138_357_544 - weights) / 138_357_544)


def test_one_row_per_conv_and_fc_layer_with_shapes_from_a_forward_pass(params: dict) -> None:
    rows = params.layers
    assert [r.kind for r in rows] == ["conv"] * 13 + ["fc"] * 3
    for row, (cin, cout), side in zip(rows[:13], CONV_CHANNELS, CONV_SIDES):
        assert (row.inputs, row.outputs, row.shape) == (cin, cout, [cout, side, side])
        assert (row.weights, row.biases) == (cin * cout * 9, cout)
        assert row.total == row.weights + row.biases
    for row, (fin, fout) in zip(rows[13:], FC):
        assert (row.inputs, row.outputs, row.shape) == (fin, fout, [fout])
        assert (row.weights, row.biases, row.total) == (fin * fout, fout, fin * fout + fout)
    assert rows[0].layer == "features.0" and rows[-1].layer == "classifier.6"
    assert sum(r.total for r in rows) == params.total


def test_fc_layers_summary(params: dict) -> None:
    assert [(f.inputs, f.outputs) for f in params.fc_layers] == FC
    assert [f.total for f in params.fc_layers] == [102_764_544, 16_781_312, 4_097_000]


def test_output_size_and_categories(vgg16) -> None:
    names = categories("vgg16", "IMAGENET1K_V1")
    assert len(names) == 1000
    out = architecture_output(vgg16, names)
    assert out.shape == [1, 1000] and out.size == 1000 and out.categories == 1000
    assert [e.index for e in out.examples] == [0, 1, 500, 999]
    assert [e.name for e in out.examples] == [names[0], names[1], names[500], names[999]]
    assert out.examples[0].name == "tench"


def test_the_results_can_be_stored(params: dict, tmp_path) -> None:
    from reportgen import store

    store.write_entry(tmp_path / "e", params, {})
    assert store.read_entry(tmp_path / "e", ("experiments",)) == params
