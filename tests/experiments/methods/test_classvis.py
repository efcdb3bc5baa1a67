"""Tests for experiments.methods.classvis: gradient ascent with jitter, blur, clamping, grids and records."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from experiments.methods.classvis import ClassVisConfig, class_visualization, random_init
from experiments.methods.transforms import clamp_channels, gaussian_blur
from tests.experiments.methods.conftest import assert_unchanged, parameters_copy

SMALL = ClassVisConfig(steps=25, lr=5.0, l2_reg=1e-3, max_jitter=3, blur_every=10, blur_sigma=0.5)


def _in_bounds(x, lo, hi) -> bool:
    return bool(torch.all(x >= lo.reshape(1, 3, 1, 1) - 1e-6) and torch.all(x <= hi.reshape(1, 3, 1, 1) + 1e-6))


def test_practical_defaults():
    config = ClassVisConfig()
    assert (config.steps, config.lr, config.l2_reg) == (200, 5.0, 1e-3)
    assert (config.max_jitter, config.blur_every, config.blur_sigma) == (16, 10, 0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.steps = 3  # type: ignore[misc]


def test_random_init_is_seeded_noise_of_the_requested_shape():
    a = random_init(2, 12, torch.Generator().manual_seed(0), "cpu")
    b = random_init(2, (12, 12), torch.Generator().manual_seed(0), torch.device("cpu"))
    assert a.shape == (2, 3, 12, 12) and torch.equal(a, b)
    assert 0.5 < a.std().item() < 1.5


def test_objective_and_target_probability_rise_and_images_stay_in_bounds(tiny_net, bounds):
    lo, hi = bounds
    before = parameters_copy(tiny_net)
    init = random_init(5, 16, torch.Generator().manual_seed(0), "cpu")
    init_copy = init.clone()
    targets = torch.arange(5)
    result = class_visualization(tiny_net, targets, init, SMALL, lo, hi, torch.Generator().manual_seed(1))
    assert result.history_steps == (0, 10, 20, 25)
    assert result.target_prob.shape == result.objective.shape == (5, 4)
    assert (result.objective[:, -1] - result.objective[:, 0] > 0.5).all()
    assert (result.objective[:, 1] > result.objective[:, 0]).all()
    assert (result.target_prob[:, -1] > result.target_prob[:, 0] + 0.05).all()
    assert _in_bounds(result.images, lo, hi)
    assert_unchanged(tiny_net, before)
    assert torch.equal(init, init_copy)


def test_recorded_values_are_those_of_the_returned_images(tiny_net, bounds):
    lo, hi = bounds
    init = random_init(2, 16, torch.Generator().manual_seed(0), "cpu")
    targets = torch.tensor([1, 3])
    result = class_visualization(tiny_net, targets, init, SMALL, lo, hi, torch.Generator().manual_seed(1))
    with torch.no_grad():
        scores = tiny_net(result.images)
    prob = scores.softmax(1)[torch.arange(2), targets].numpy()
    objective = scores[torch.arange(2), targets].numpy() - 1e-3 * result.images.pow(2).sum((1, 2, 3)).numpy()
    assert np.allclose(result.target_prob[:, -1], prob, atol=1e-6)
    assert np.allclose(result.objective[:, -1], objective, rtol=1e-5, atol=1e-5)


def test_a_batched_grid_equals_running_each_setting_alone(tiny_net, bounds):
    lo, hi = bounds
    init = random_init(1, 16, torch.Generator().manual_seed(2), "cpu").expand(3, -1, -1, -1)
    lrs, regs = torch.tensor([0.5, 5.0, 50.0]), torch.tensor([1e-3, 1e-1, 1e-4])
    grid = class_visualization(tiny_net, 2, init, SMALL, lo, hi, torch.Generator().manual_seed(7), lr=lrs, l2_reg=regs)
    for i in range(3):
        config = dataclasses.replace(SMALL, lr=float(lrs[i]), l2_reg=float(regs[i]))
        alone = class_visualization(tiny_net, 2, init[i : i + 1], config, lo, hi, torch.Generator().manual_seed(7))
        assert torch.allclose(grid.images[i], alone.images[0], atol=1e-5)
        assert np.allclose(grid.objective[i], alone.objective[0], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(grid.images[0], grid.images[2], atol=1e-3)


def test_stronger_l2_regularization_gives_a_smaller_image(tiny_net, bounds):
    lo, hi = bounds
    init = random_init(1, 16, torch.Generator().manual_seed(3), "cpu").expand(2, -1, -1, -1)
    result = class_visualization(
        tiny_net, 4, init, SMALL, lo, hi, torch.Generator().manual_seed(0), l2_reg=torch.tensor([0.0, 0.05])
    )
    norms = result.images.pow(2).sum((1, 2, 3))
    assert norms[1] < 0.5 * norms[0]


def test_snapshots_hold_the_images_after_the_requested_steps(tiny_net, bounds):
    lo, hi = bounds
    init = random_init(2, 16, torch.Generator().manual_seed(4), "cpu")
    run = class_visualization(
        tiny_net, 0, init, SMALL, lo, hi, torch.Generator().manual_seed(5), snapshot_steps=(0, 7, 25)
    )
    assert sorted(run.snapshots) == [0, 7, 25]
    assert torch.equal(run.snapshots[25], run.images)
    assert _in_bounds(run.snapshots[0], lo, hi)
    shorter = class_visualization(
        tiny_net, 0, init, dataclasses.replace(SMALL, steps=7), lo, hi, torch.Generator().manual_seed(5)
    )
    assert torch.allclose(run.snapshots[7], shorter.images)
    with pytest.raises(ValueError):
        class_visualization(tiny_net, 0, init, SMALL, lo, hi, None, snapshot_steps=(26,))


def test_same_seed_same_result_and_jitter_matters(tiny_net, bounds):
    lo, hi = bounds
    init = random_init(2, 16, torch.Generator().manual_seed(6), "cpu")
    runs = [
        class_visualization(tiny_net, 1, init, SMALL, lo, hi, torch.Generator().manual_seed(seed)).images
        for seed in (8, 8, 9)
    ]
    assert torch.equal(runs[0], runs[1])
    assert not torch.allclose(runs[0], runs[2])


def test_without_jitter_and_blur_it_is_plain_gradient_ascent(make_net, bounds):
    lo, hi = bounds
    net = make_net(seed=0)
    wide = (torch.full((3,), -100.0), torch.full((3,), 100.0))
    x = random_init(1, 8, torch.Generator().manual_seed(0), "cpu")
    config = ClassVisConfig(steps=3, lr=2.0, l2_reg=0.1, max_jitter=0, blur_every=0)
    result = class_visualization(net, 2, x, config, *wide, None)
    for _ in range(3):
        xg = x.clone().requires_grad_(True)
        (net(xg)[0, 2] - 0.1 * xg.pow(2).sum()).backward()
        x = x + 2.0 * xg.grad
    assert torch.allclose(result.images, x, atol=1e-5)
    assert lo.shape == (3,)


def test_jitter_is_undone_and_blur_is_applied_every_blur_every_steps(tiny_net, bounds):
    lo, hi = bounds
    init = clamp_channels(random_init(2, 16, torch.Generator().manual_seed(0), "cpu"), lo, hi)
    frozen = torch.zeros(2)  # lr 0: only jitter, clamping and blur act
    jitter_only = ClassVisConfig(steps=4, max_jitter=5, blur_every=0)
    run = class_visualization(tiny_net, 0, init, jitter_only, lo, hi, torch.Generator().manual_seed(0), lr=frozen)
    assert torch.allclose(run.images, init)
    blur = ClassVisConfig(steps=3, max_jitter=0, blur_every=2, blur_sigma=0.5)
    run = class_visualization(tiny_net, 0, init, blur, lo, hi, None, lr=frozen)
    assert torch.allclose(run.images, gaussian_blur(gaussian_blur(init, 0.5), 0.5), atol=1e-6)  # steps 0 and 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda_with_a_cpu_generator(make_net, bounds):
    lo, hi = bounds
    net = make_net(seed=0).cuda()
    init = random_init(2, 16, torch.Generator().manual_seed(0), "cuda")
    result = class_visualization(net, 1, init, SMALL, lo, hi, torch.Generator().manual_seed(1), lr=torch.ones(2))
    assert result.images.device.type == "cuda" and _in_bounds(result.images.cpu(), lo, hi)
