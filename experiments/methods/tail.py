"""Fine-tuning a network's tail: its modules as a chain, where to split it, and a trainable copy of the tail with a
new last layer."""
from __future__ import annotations

import copy

import torch
from torch import nn


def with_new_head(module: nn.Module, classifier: str, num_classes: int) -> nn.Module:
    """`module` with its last layer replaced by a fresh one with `num_classes` outputs (global RNG init)."""
    old = module.get_submodule(classifier)
    if isinstance(old, nn.Linear):
        new: nn.Module = nn.Linear(old.in_features, num_classes)
    elif isinstance(old, nn.Conv2d):
        new = nn.Conv2d(old.in_channels, num_classes, old.kernel_size, old.stride, old.padding)
    else:
        raise TypeError(f"cannot replace the last layer {classifier!r}: it is a {type(old).__name__}")
    module.set_submodule(classifier, new.to(next(module.parameters()).device))
    return module


def module_chain(module: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    """(name, module) in registration order, nn.Sequential containers opened recursively."""
    chain = []
    for name, child in module.named_children():
        full = f"{prefix}{name}"
        chain += module_chain(child, f"{full}.") if isinstance(child, nn.Sequential) else [(full, child)]
    return chain


class Pipeline(nn.Module):
    """Modules applied one after the other (a 4-D input is flattened before a Linear layer)."""

    def __init__(self, parts: list[nn.Module]) -> None:
        super().__init__()
        self.parts = nn.ModuleList(parts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for part in self.parts:
            x = part(torch.flatten(x, 1) if isinstance(part, nn.Linear) and x.dim() > 2 else x)
        return x


def split_point(module: nn.Module, classifier: str, input_size: int, trainable: int, device: torch.device
                ) -> tuple[list, int, tuple] | None:
    """(chain, index of the first trainable module, shape of the input it receives) when `module` is a plain
    pipeline of its children ending in its `classifier` (checked on two random images); None otherwise."""
    if trainable < 1:
        raise ValueError(f"finetune_layers must be at least 1, got {trainable}")
    chain = module_chain(module)
    if not chain or chain[-1][0] != classifier or not isinstance(chain[-1][1], nn.Linear):
        return None
    learnable = [i for i, (_, m) in enumerate(chain[:-1]) if any(True for _ in m.parameters())]
    if len(learnable) < trainable or learnable[-trainable] == 0:
        return None
    start = learnable[-trainable]
    x = torch.randn(2, 3, input_size, input_size, generator=torch.Generator().manual_seed(0)).to(device)
    with torch.inference_mode():
        trunk = Pipeline([m for _, m in chain[:start]])(x)
        expected, got = module(x), Pipeline([m for _, m in chain[start:]])(trunk)
    if not torch.allclose(got, expected, rtol=1e-3, atol=1e-3 * float(expected.abs().max())):
        return None
    return chain, start, tuple(trunk.shape[1:])


def new_tail(chain: list, start: int, num_classes: int) -> nn.Module:
    """A trainable copy of the chain from `start` with a fresh last layer of `num_classes` outputs."""
    head = chain[-1][1]
    parts = [copy.deepcopy(m) for _, m in chain[start:-1]] + [nn.Linear(head.in_features, num_classes)]
    return Pipeline(parts).to(head.weight.device).requires_grad_(True).train()
