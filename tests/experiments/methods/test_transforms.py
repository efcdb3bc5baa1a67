"""Tests for experiments.methods.transforms: bounds, (de)normalization, jitter, blur, noise."""
from __future__ import annotations

import math

import torch

from experiments.methods.transforms import (
    add_gaussian_noise,
    clamp_channels,
    denormalize,
    gaussian_blur,
    gaussian_kernel1d,
    jitter,
    normalize,
    normalize_bounds,
)
from tests.experiments.methods.conftest import MEAN, STD


def test_normalize_bounds_are_images_of_0_and_1():
    lo, hi = normalize_bounds(MEAN, STD)
    assert lo.shape == hi.shape == (3,)
    assert torch.allclose(lo, torch.tensor([-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225]))
    assert torch.allclose(hi, torch.tensor([0.515 / 0.229, 0.544 / 0.224, 0.594 / 0.225]))


def test_denormalize_inverts_normalize_and_clamps():
    pixels = torch.rand(2, 3, 5, 5, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(denormalize(normalize(pixels, MEAN, STD), MEAN, STD), pixels, atol=1e-6)
    outside = torch.full((1, 3, 2, 2), 100.0)
    assert torch.equal(denormalize(outside, MEAN, STD), torch.ones_like(outside))


def test_clamp_channels_uses_each_channels_bounds():
    lo, hi = torch.tensor([-1.0, 0.0, 2.0]), torch.tensor([1.0, 0.5, 3.0])
    x = torch.tensor([-5.0, 5.0, 0.0]).reshape(1, 3, 1, 1)
    assert clamp_channels(x, lo, hi).flatten().tolist() == [-1.0, 0.5, 2.0]


def test_jitter_moves_pixels_and_is_undone_by_the_opposite_shift():
    x = torch.zeros(1, 1, 6, 8)
    x[0, 0, 1, 2] = 1.0
    moved = jitter(x, dx=3, dy=2)
    assert moved[0, 0, 3, 5] == 1.0 and moved.sum() == 1.0
    assert torch.equal(jitter(moved, -3, -2), x)


def test_gaussian_kernel_for_sigma_half_has_three_normalized_taps():
    k = gaussian_kernel1d(0.5)
    e = math.exp(-2.0)
    assert torch.allclose(k, torch.tensor([e, 1.0, e]) / (1.0 + 2.0 * e))


def test_gaussian_blur_of_a_delta_is_the_2d_kernel_and_channels_do_not_mix():
    x = torch.zeros(1, 2, 7, 7)
    x[0, 0, 3, 3] = 1.0
    blurred = gaussian_blur(x, 0.5)
    k = gaussian_kernel1d(0.5)
    assert torch.allclose(blurred[0, 0, 2:5, 2:5], torch.outer(k, k))
    assert torch.allclose(blurred[0, 0].sum(), torch.tensor(1.0))
    assert torch.equal(blurred[0, 1], torch.zeros(7, 7))


def test_gaussian_blur_keeps_a_constant_image_constant_up_to_the_border():
    x = torch.full((1, 3, 5, 6), 0.7)
    assert torch.allclose(gaussian_blur(x, 0.5), x)  # zero padding would darken the border
    assert torch.allclose(gaussian_blur(x, 1.5), x)
    assert torch.equal(gaussian_blur(x, 0.0), x)


def test_add_gaussian_noise_is_reproducible_and_scaled_per_image():
    x = torch.zeros(2, 3, 32, 32)
    std = torch.tensor([0.0, 2.0]).reshape(2, 1, 1, 1)
    a = add_gaussian_noise(x, std, torch.Generator().manual_seed(1))
    b = add_gaussian_noise(x, std, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert torch.equal(a[0], torch.zeros(3, 32, 32))
    assert abs(a[1].std().item() - 2.0) < 0.15
