"""The feature-visualization regularizers on tiny networks and synthetic images."""
import math

import pytest
import torch
from torch import nn

from experiments.methods import featvis
from experiments.methods.featvis import FeatureVisConfig

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def tiny_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5)).eval().requires_grad_(False)


def test_the_fourier_parameterization_round_trips():
    image = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    scale = featvis.spectrum_scale(16, 16, 1.0)
    again = featvis.fourier_to_image(featvis.image_to_fourier(image, scale), scale, (16, 16))
    torch.testing.assert_close(again, image, atol=1e-5, rtol=1e-5)


def test_the_spectrum_scale_is_one_over_frequency_with_a_floor():
    scale = featvis.spectrum_scale(8, 8, 1.0)
    assert scale[0, 0] == pytest.approx(8.0)  # the DC term: 1 / (1/8)
    assert scale[0, 1] == pytest.approx(8.0) and scale[0, 4] == pytest.approx(2.0)  # 1/8 and 1/2 cycle per pixel
    assert scale[2, 2] == pytest.approx(1 / math.hypot(0.25, 0.25))


def test_no_transform_is_the_identity_and_a_transform_changes_the_image():
    x = torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    still = FeatureVisConfig(max_scale=0.0, max_rotation=0.0, max_shift=0.0)
    torch.testing.assert_close(featvis.random_affine(x, still, torch.Generator().manual_seed(0)), x, atol=1e-5, rtol=0)
    moved = featvis.random_affine(x, FeatureVisConfig(max_rotation=30.0), torch.Generator().manual_seed(0))
    assert (moved - x).abs().mean() > 0.05


@pytest.mark.parametrize("fourier", [True, False])
def test_the_objective_rises(fourier):
    config = FeatureVisConfig(steps=30, fourier=fourier, lr=0.1)
    images, history = featvis.generate(tiny_model(), torch.tensor([1, 3]), config, 16, MEAN, STD,
                                       torch.Generator().manual_seed(0), "cpu")
    assert images.shape == (2, 3, 16, 16) and 0 <= images.min() and images.max() <= 1
    assert (history[:, -5:].mean(1) > history[:, :5].mean(1) + 0.01).all()


def test_total_variation_falls_when_its_weight_rises():
    tv = []
    for weight in (0.0, 20.0):
        config = FeatureVisConfig(steps=40, fourier=False, lr=0.2, tv_weight=weight)
        images, _ = featvis.generate(tiny_model(), torch.tensor([2]), config, 16, MEAN, STD,
                                     torch.Generator().manual_seed(0), "cpu")
        tv.append(float(featvis.total_variation(images)))
    assert tv[1] < 0.7 * tv[0]


def test_total_variation_by_hand():
    x = torch.zeros(1, 1, 2, 3)
    x[0, 0, :, 2] = 1.0  # one vertical edge: 2 of the 4 horizontal neighbour pairs differ by 1, no vertical pair
    assert float(featvis.total_variation(x)) == pytest.approx(0.5)


def test_high_frequency_share_tells_noise_from_smooth_pictures():
    noise = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    ramp = torch.linspace(0, 1, 64)
    smooth = (ramp[None, :] * ramp[:, None]).expand(1, 3, 64, 64)
    share = featvis.high_frequency_share(noise)
    assert share.mean() == pytest.approx(1 - math.pi * 0.25**2, abs=0.03)  # white noise: area outside the disk
    assert featvis.white_noise_share(0.25) == pytest.approx(1 - math.pi * 0.25**2)
    assert float(featvis.high_frequency_share(smooth)) < 0.01
    checker = (torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2  # the highest frequency there is
    assert float(featvis.high_frequency_share(checker.float().expand(1, 3, 64, 64))) > 0.95


def test_colour_decorrelation_is_linear_and_invertible():
    x = torch.randn(1, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    y = featvis.decorrelated_to_rgb(x)
    torch.testing.assert_close(featvis.decorrelated_to_rgb(2 * x), 2 * y)
    matrix = torch.tensor(featvis.COLOUR_SQRT)
    assert torch.linalg.matrix_rank(matrix) == 3
