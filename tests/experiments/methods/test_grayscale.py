from __future__ import annotations

import pytest
import torch
from torch import nn

from experiments.methods.grayscale import (
    FoldedNormalizedConv,
    first_rgb_conv,
    fold_conv1,
    fold_conv1_normalized,
    fold_first_conv,
    fold_first_conv_normalized,
    max_output_difference,
)
from tests.experiments.methods._tiny_ch1 import TinyTimm, tiny_vgg

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _normalized_rgb(gray: torch.Tensor, mean=MEAN, std=STD) -> torch.Tensor:
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    return (gray.expand(-1, 3, -1, -1) - m) / s


def _gray(n: int = 2, size: int = 12) -> torch.Tensor:
    return torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(1))


def test_fold_conv1_sum_is_replication_and_mean_is_a_third():
    conv = nn.Conv2d(3, 5, 3, padding=1)
    before = conv.weight.detach().clone()
    summed, averaged = fold_conv1(conv, "sum"), fold_conv1(conv, "mean")
    assert summed.in_channels == 1 and summed.weight.shape == (5, 1, 3, 3)
    torch.testing.assert_close(summed.bias, conv.bias)
    torch.testing.assert_close(averaged.weight * 3, summed.weight)
    x = torch.randn(2, 1, 7, 7)
    assert max_output_difference(conv, x.expand(-1, 3, -1, -1), summed, x) < 1e-5
    torch.testing.assert_close(conv.weight, before)  # original untouched
    with pytest.raises(ValueError):
        fold_conv1(conv, "max")


def test_fold_first_conv_on_a_vgg_shaped_model():
    model = tiny_vgg()
    folded, name = fold_first_conv(model, "sum")
    assert name == "features.0" and folded.features[0].in_channels == 1
    assert model.features[0].in_channels == 3
    x = torch.randn(3, 1, 16, 16)
    diff = max_output_difference(model, x.expand(-1, 3, -1, -1), folded, x)
    assert diff < 1e-5
    averaged, _ = fold_first_conv(model, "mean")
    assert max_output_difference(model, x.expand(-1, 3, -1, -1), averaged, x) > 1e-2


def test_normalized_fold_is_exact_including_borders_while_naive_folds_are_not():
    model, gray = tiny_vgg(), _gray()
    folded, name = fold_first_conv_normalized(model, MEAN, STD)
    assert name == "features.0" and isinstance(folded.features[0], FoldedNormalizedConv)
    reference = model.features[0](_normalized_rgb(gray))  # conv1 maps, borders included
    scale = reference.abs().max().item()
    assert max_output_difference(model.features[0], _normalized_rgb(gray),
                                 folded.features[0], gray) < 1e-5 * scale
    out_scale = model(_normalized_rgb(gray)).abs().max().item()
    assert max_output_difference(model, _normalized_rgb(gray), folded, gray) < 1e-5 * out_scale
    # The naive alternatives: one channel normalized with the average statistics.
    single = (gray - sum(MEAN) / 3) / (sum(STD) / 3)
    for mode in ("sum", "mean"):
        naive, _ = fold_first_conv(model, mode)
        assert max_output_difference(model.features[0], _normalized_rgb(gray),
                                     naive.features[0], single) > 1e-3 * scale


def test_shift_must_follow_the_padding():
    """A constant bias (ignoring padding) is wrong at the borders only: the fold is not."""
    conv = nn.Conv2d(3, 4, 3, padding=1)
    gray = _gray(1, 8)
    folded = fold_first_conv_normalized(conv, MEAN, STD)[0]
    constant_shift = folded.shift(torch.ones(1, 1, 8, 8))[:, :, 4, 4].view(1, 4, 1, 1)
    wrong = folded.scale(gray) + constant_shift
    right = folded(gray)
    reference = conv(_normalized_rgb(gray))
    torch.testing.assert_close(right, reference, rtol=1e-5, atol=1e-5)
    assert (wrong - reference)[:, :, 1:-1, 1:-1].abs().max() < 1e-5
    assert (wrong - reference).abs().max() > 1e-3


def test_timm_conv_stem_with_same_padding_folds_exactly():
    pytest.importorskip("timm")
    model = TinyTimm().eval()
    folded, name = fold_first_conv_normalized(model, (0.5,) * 3, (0.5,) * 3)
    assert name == "conv_stem"
    gray = _gray(1, 33)  # odd size: asymmetric "same" padding
    rgb = _normalized_rgb(gray, (0.5,) * 3, (0.5,) * 3)
    stem = model.conv_stem(rgb).abs().max().item()
    assert max_output_difference(model.conv_stem, rgb, folded.conv_stem, gray) < 1e-5 * stem
    logits = model(rgb).abs().max().item()
    assert max_output_difference(model, rgb, folded, gray) < 1e-4 * logits


def test_first_rgb_conv_requires_one():
    assert first_rgb_conv(nn.Sequential(nn.Conv2d(1, 3, 1), nn.Conv2d(3, 2, 1))) == "1"
    with pytest.raises(ValueError):
        first_rgb_conv(nn.Sequential(nn.Linear(3, 3)))


@pytest.mark.parametrize("device", ["meta", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"))])
def test_normalized_fold_stays_on_the_weights_device(device):
    """The fold builds its mean/std tensors where the weights live (a network on the GPU failed here once)."""
    conv = nn.Conv2d(3, 4, 3, padding=1, device=device)
    folded = fold_conv1_normalized(conv, (0.4, 0.5, 0.6), (0.2, 0.3, 0.4))
    assert folded.scale.weight.device.type == device and folded.shift.weight.shape == (4, 1, 3, 3)
