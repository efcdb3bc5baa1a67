"""Tiny seeded networks and synthetic normalized images for the chapter-2 method tests."""
from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn

from experiments.methods.transforms import normalize, normalize_bounds

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def build_tiny_net(seed: int = 0, classes: int = 5, scale: float = 0.5) -> nn.Module:
    """Conv(3, 8) -> ReLU -> global average pool -> Linear(8, classes), weights N(0, scale^2), eval, frozen."""
    generator = torch.Generator().manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, classes)
    )
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * scale)
    return net.eval().requires_grad_(False)


def parameters_copy(model: nn.Module) -> dict[str, Tensor]:
    """A detached copy of every parameter and buffer, to check that a method left the model unchanged."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_unchanged(model: nn.Module, before: dict[str, Tensor]) -> None:
    """The model still has the same weights, is in eval mode and frozen."""
    after = model.state_dict()
    assert after.keys() == before.keys()
    for k, v in before.items():
        assert torch.equal(after[k], v), k
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())


@pytest.fixture
def make_net() -> Callable[..., nn.Module]:
    return build_tiny_net


@pytest.fixture
def tiny_net() -> nn.Module:
    return build_tiny_net(seed=0)


@pytest.fixture
def bounds() -> tuple[Tensor, Tensor]:
    return normalize_bounds(MEAN, STD)


@pytest.fixture
def images() -> Tensor:
    """Six normalized 3x16x16 images made from uniform pixels."""
    generator = torch.Generator().manual_seed(123)
    return normalize(torch.rand((6, 3, 16, 16), generator=generator), MEAN, STD)
