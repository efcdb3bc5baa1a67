"""Tests for experiments.methods.inference: the folded, channels-last network keeps its function and gradients."""
from __future__ import annotations

import torch
from torch import nn

from experiments.methods.inference import ChannelsLast, for_gradients
from tests.experiments.methods.conftest import assert_unchanged, parameters_copy

CPU = torch.device("cpu")


def _net() -> nn.Module:
    """Conv -> BN (with non-trivial statistics) -> ReLU -> pool -> Linear, eval, frozen."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(6, 4))
    with torch.no_grad():
        net[1].running_mean.uniform_(-1, 1)
        net[1].running_var.uniform_(0.5, 2)
        net[1].weight.uniform_(0.5, 1.5)
        net[1].bias.uniform_(-0.5, 0.5)
    return net.eval().requires_grad_(False)


def _input_gradient(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(xg)[:, 1].sum(), xg)
    return grad


def test_for_gradients_keeps_outputs_and_input_gradients_and_leaves_the_module():
    net = _net()
    before = parameters_copy(net)
    fast = for_gradients(net, 8, CPU)
    assert isinstance(fast, ChannelsLast) and not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    x = torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(fast(x), net(x), rtol=1e-5, atol=1e-5)
    grad = _input_gradient(fast, x)
    assert grad.shape == x.shape
    torch.testing.assert_close(grad, _input_gradient(net, x), rtol=1e-5, atol=1e-6)
    assert_unchanged(net, before)
    assert next(net.parameters()).is_contiguous()  # the module's own layout is not changed
