"""1.1 Q1–Q2: the architecture's parameters and output, computed from the model itself (no weights)."""
from __future__ import annotations

import torch
from torch import nn

from experiments.results.ch1 import ArchitectureOutput, ArchitectureParams, Category, LayerParams
from experiments.settings import InputSize
from reportgen import experiment


def layer_table(model: nn.Module, input_size: int) -> list[LayerParams]:
    """Every conv and linear layer with its output shape, weights and biases (shapes from a meta forward)."""
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: shapes.__setitem__(n, tuple(o.shape[1:])))
             for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, input_size, input_size, device="meta"))
    finally:
        for h in hooks:
            h.remove()
    rows = []
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            weights = m.weight.numel()
            biases = m.bias.numel() if m.bias is not None else 0
            fc = isinstance(m, nn.Linear)
            rows.append(LayerParams(name, "fc" if fc else "conv", list(shapes.get(name, ())), weights, biases,
                                    weights + biases, m.in_features if fc else m.in_channels,
                                    m.out_features if fc else m.out_channels))
    return rows


@experiment
def architecture_params(transfer_arch: nn.Module, input_size: InputSize = 224) -> ArchitectureParams:
    """Parameters of the transfer network, layer by layer, and the share held by the fully connected layers."""
    rows = layer_table(transfer_arch, input_size)
    total = sum(p.numel() for p in transfer_arch.parameters())
    fc = [r for r in rows if r.kind == "fc"]
    fc_total = sum(r.total for r in fc)
    fc_weights_only = sum(r.weights for r in fc)
    return ArchitectureParams(
        layers=rows, total=total, conv_total=sum(r.total for r in rows if r.kind == "conv"),
        conv_layers=sum(r.kind == "conv" for r in rows), other_total=total - sum(r.total for r in rows),
        fc_total=fc_total, fc_weights_only=fc_weights_only, fc_share=fc_total / total, fc_layers=fc,
        estimate_error=(total - fc_weights_only) / total,
    )


@experiment
def architecture_output(transfer_arch: nn.Module, transfer_categories: list, input_size: InputSize = 224
                        ) -> ArchitectureOutput:
    """Size of the network's output, read from a forward pass, and the classes it stands for."""
    with torch.no_grad():
        out = transfer_arch(torch.zeros(1, 3, input_size, input_size, device="meta"))
    names = list(transfer_categories)
    examples = [Category(i, names[i]) for i in (0, 1, len(names) // 2, len(names) - 1)] if names else []
    return ArchitectureOutput(shape=list(out.shape), size=int(out.shape[-1]), categories=len(names),
                              examples=examples)
