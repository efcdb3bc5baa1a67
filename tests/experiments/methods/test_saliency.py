"""Tests for experiments.methods.saliency: gradients, SmoothGrad, weight randomization and map statistics."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from experiments.methods.saliency import (
    as_targets,
    localize,
    mass_concentration,
    randomize_weights,
    rank_correlation,
    saliency,
    smoothgrad,
)
from tests.experiments.methods.conftest import assert_unchanged, parameters_copy


def _linear_net(seed: int = 0) -> nn.Module:
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 5, 5))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=generator))
    return net.eval().requires_grad_(False)


def test_as_targets_accepts_an_int_or_one_index_per_image():
    assert as_targets(3, 4, torch.device("cpu")).tolist() == [3, 3, 3, 3]
    assert as_targets(torch.tensor([1, 0]), 2, torch.device("cpu")).tolist() == [1, 0]
    with pytest.raises(ValueError):
        as_targets(torch.tensor([1, 0, 2]), 2, torch.device("cpu"))


def test_saliency_of_a_linear_model_is_the_max_abs_weight_row_over_channels():
    net = _linear_net()
    x = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(1))
    maps = saliency(net, x, torch.tensor([2, 4]))
    weight = net[1].weight
    for i, t in enumerate([2, 4]):
        expected = weight[t].reshape(3, 4, 5).abs().amax(dim=0)
        assert torch.allclose(maps[i], expected)


def test_saliency_uses_the_unnormalized_score_not_the_softmax():
    net = _linear_net()
    x = torch.randn(1, 3, 4, 5, generator=torch.Generator().manual_seed(1))
    maps = saliency(net, x, 0)
    assert torch.allclose(maps[0], net[1].weight[0].reshape(3, 4, 5).abs().amax(dim=0))  # independent of x


def test_saliency_batch_equals_per_image_and_leaves_model_and_input_alone(tiny_net, images):
    before, x_before = parameters_copy(tiny_net), images.clone()
    targets = torch.tensor([0, 1, 2, 3, 4, 0])
    maps = saliency(tiny_net, images, targets)
    assert maps.shape == (6, 16, 16)
    for i in range(6):
        assert torch.allclose(maps[i], saliency(tiny_net, images[i : i + 1], int(targets[i]))[0], atol=1e-6)
    assert_unchanged(tiny_net, before)
    assert torch.equal(images, x_before)


def test_saliency_in_chunks_equals_one_batch(tiny_net, images):
    targets = torch.tensor([0, 1, 2, 3, 4, 0])
    whole = saliency(tiny_net, images, targets, batch_size=6)
    for size in (1, 4):
        torch.testing.assert_close(saliency(tiny_net, images, targets, batch_size=size), whole, rtol=1e-5, atol=1e-6)


def test_saliency_works_inside_no_grad(tiny_net, images):
    with torch.no_grad():
        maps = saliency(tiny_net, images, 1)
    assert torch.allclose(maps, saliency(tiny_net, images, 1))


def test_smoothgrad_without_noise_equals_saliency(tiny_net, images):
    maps = smoothgrad(tiny_net, images, 2, samples=5, noise=0.0, batch_size=12)
    assert torch.allclose(maps, saliency(tiny_net, images, 2), atol=1e-6)


def test_smoothgrad_is_reproducible_and_averages_noisy_saliency(tiny_net, images):
    a = smoothgrad(tiny_net, images, 1, samples=7, noise=0.2, generator=torch.Generator().manual_seed(5), batch_size=12)
    b = smoothgrad(tiny_net, images, 1, samples=7, noise=0.2, generator=torch.Generator().manual_seed(5), batch_size=60)
    assert torch.allclose(a, b, atol=1e-6)  # chunking does not change the samples drawn
    assert not torch.allclose(a, saliency(tiny_net, images, 1), atol=1e-4)
    assert torch.all(a >= 0)


def test_smoothgrad_matches_a_hand_made_average(tiny_net, images):
    x = images[:2]
    generator = torch.Generator().manual_seed(9)
    span = (x.reshape(2, -1).amax(1) - x.reshape(2, -1).amin(1)).reshape(2, 1, 1, 1)
    noisy = [x + 0.1 * span * torch.randn(x.shape, generator=generator) for _ in range(3)]
    expected = sum(saliency(tiny_net, n, 3) for n in noisy) / 3
    got = smoothgrad(tiny_net, x, 3, samples=3, noise=0.1, generator=torch.Generator().manual_seed(9), batch_size=2)
    assert torch.allclose(got, expected, atol=1e-6)


def test_randomize_weights_changes_a_copy_only(tiny_net, images):
    before = parameters_copy(tiny_net)
    global_state = torch.get_rng_state()
    random = randomize_weights(tiny_net, seed=0)
    assert torch.equal(torch.get_rng_state(), global_state)
    assert_unchanged(tiny_net, before)
    for (name, p), q in zip(random.named_parameters(), tiny_net.parameters()):
        assert not torch.equal(p, q), name
        assert not p.requires_grad
    assert not random.training
    again = randomize_weights(tiny_net, seed=0)
    assert all(torch.equal(p, q) for p, q in zip(random.parameters(), again.parameters()))
    assert not torch.allclose(saliency(random, images, 0), saliency(tiny_net, images, 0))


def test_randomize_weights_inits_parameters_of_modules_without_reset():
    class Scale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gain = nn.Parameter(torch.ones(3))

    random = randomize_weights(nn.Sequential(Scale()).eval(), seed=1)
    assert not torch.equal(random[0].gain, torch.ones(3))


def test_rank_correlation_is_one_with_itself_and_lower_with_a_permutation():
    rng = np.random.default_rng(0)
    maps = rng.random((3, 8, 8))
    assert np.allclose(rank_correlation(maps, maps), 1.0)
    assert np.allclose(rank_correlation(maps, 2.0 * maps + 1.0), 1.0)  # monotone transform
    assert np.allclose(rank_correlation(maps, -maps), -1.0)
    shuffled = maps.reshape(3, -1)[:, rng.permutation(64)].reshape(3, 8, 8)
    assert np.all(rank_correlation(maps, shuffled) < 0.5)


def test_rank_correlation_matches_scipy_spearman_and_accepts_tensors():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(1)
    a, b = rng.random((2, 5, 5)), rng.random((2, 5, 5))
    got = rank_correlation(torch.from_numpy(a), b)
    for i in range(2):
        assert got[i] == pytest.approx(spearmanr(a[i].ravel(), b[i].ravel()).statistic)


def test_mass_concentration_of_uniform_and_one_hot_maps():
    uniform = np.ones((1, 20, 20))
    one_hot = np.zeros((1, 20, 20))
    one_hot[0, 5, 7] = 3.0
    assert mass_concentration(uniform, 0.05)[0] == pytest.approx(0.05)
    assert mass_concentration(one_hot, 0.05)[0] == pytest.approx(1.0)
    ramp = np.arange(100, dtype=float).reshape(1, 10, 10)
    assert mass_concentration(ramp, 0.1)[0] == pytest.approx(sum(range(90, 100)) / sum(range(100)))


def test_localize_box_surrounds_the_largest_hot_spot():
    maps = np.zeros((2, 20, 20))
    maps[:, 4:8, 10:15] = 5.0  # 20 hot pixels (5 % of 400)
    maps[0, 17, 1] = 6.0  # an isolated hotter pixel that the largest component ignores
    masks, boxes = localize(torch.from_numpy(maps), quantile=0.9)
    assert masks.dtype == bool and masks.shape == (2, 20, 20)
    assert masks[0, 17, 1] and masks[0, 4:8, 10:15].all()
    assert boxes.tolist() == [[10, 4, 15, 8], [10, 4, 15, 8]]
    _, whole = localize(maps[:1], quantile=0.9, largest_component=False)
    assert whole.tolist() == [[1, 4, 15, 18]]


def test_localize_of_a_constant_map_takes_the_whole_image():
    masks, boxes = localize(np.ones((1, 6, 9)))
    assert masks.all() and boxes.tolist() == [[0, 0, 9, 6]]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda_with_a_cpu_generator(tiny_net, images):
    net, x = randomize_weights(tiny_net.cuda(), seed=0), images.cuda()
    maps = smoothgrad(net, x, 1, samples=3, generator=torch.Generator().manual_seed(0))
    assert maps.device.type == "cuda"
    assert torch.allclose(saliency(net, x, 1).cpu(), saliency(net.cpu(), images, 1), atol=1e-5)
