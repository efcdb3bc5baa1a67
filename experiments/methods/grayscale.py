"""Gray images into an RGB network: fold the first convolution over its input channels.

Three ways to feed a gray image ``g`` (values in [0, 1]) to a network trained on RGB with
per-channel normalization ``x_c = (g - mean_c) / std_c``:

1. Replication (reference): ``model(stack_c((g - mean_c) / std_c))``, i.e.
   ``Preprocess(channels=3)``.
2. Exact fold, :func:`fold_first_conv_normalized`: the folded model takes ONE channel holding
   the RAW gray value ``g`` in [0, 1] (``Preprocess(mean=(0.0,), std=(1.0,), channels=1)``)
   and reproduces (1) to float rounding. Derivation, for conv weights ``w_c`` and bias ``b``::

       y = b + sum_c w_c * pad0((g - mean_c) / std_c)
         = b + (sum_c w_c / std_c) * pad0(g) - (sum_c w_c * mean_c / std_c) * pad0(1)

   ``pad0(1)`` (a ones image padded like the input) is 1 inside the image and 0 in the zero
   padding, so near the borders the shift term is only summed over kernel taps that fall on
   the image: exactly what zero padding of the normalized channels does. (With reflect or
   replicate padding ``pad(1)`` is all ones, which is again exact.) The folded layer is
   therefore two 1-channel convolutions of the same geometry: a scale conv on ``g`` with
   bias ``b`` plus a bias-free shift conv on a ones image (:class:`FoldedNormalizedConv`).
3. Plain fold, :func:`fold_first_conv`: conv1 weights summed ("sum") or averaged ("mean")
   over the input channels, fed one normalized channel. "sum" is exactly replication of that
   same single channel (``model(x.expand(3)) == folded(x)``), but one channel cannot carry
   three different normalizations; "mean" (the common naive recipe, fed with
   ``Preprocess(mean=(avg mean,), std=(avg std,), channels=1)``) is not equivalent: its
   weighted sum is a third of the "sum" fold's while the bias is unchanged, so every later
   activation shifts. It is measured for accuracy only.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

FoldMode = Literal["sum", "mean"]


def fold_conv1(conv: nn.Conv2d, mode: FoldMode) -> nn.Conv2d:
    """Copy of ``conv`` taking 1 input channel: weights summed or averaged over the input
    channels, bias kept (same class, stride, padding, dilation)."""
    if conv.groups != 1:
        raise ValueError(f"cannot fold a grouped convolution (groups={conv.groups})")
    if mode not in ("sum", "mean"):
        raise ValueError(f"mode must be 'sum' or 'mean', got {mode!r}")
    weight = conv.weight.detach()
    folded_weight = weight.sum(1, keepdim=True) if mode == "sum" else weight.mean(1, keepdim=True)
    return _with_weight(conv, folded_weight, keep_bias=True)


def _with_weight(conv: nn.Conv2d, weight: torch.Tensor, keep_bias: bool) -> nn.Conv2d:
    """Deep copy of ``conv`` with a new 1-input-channel weight (and bias kept or removed)."""
    folded = copy.deepcopy(conv)
    folded.weight = nn.Parameter(weight.clone(), requires_grad=conv.weight.requires_grad)
    folded.in_channels = weight.shape[1]
    if not keep_bias:
        folded.bias = None
    return folded


class FoldedNormalizedConv(nn.Module):
    """1-channel replacement of an RGB conv that absorbs per-channel normalization.

    Input: the raw gray value in [0, 1], shape (N, 1, H, W). Output: the original conv applied
    to the three normalized replicated channels (see the module docstring).
    """

    def __init__(self, scale: nn.Conv2d, shift: nn.Conv2d) -> None:
        super().__init__()
        self.scale = scale
        self.shift = shift

    def forward(self, gray: torch.Tensor) -> torch.Tensor:
        return self.scale(gray) + self.shift(torch.ones_like(gray[:1]))


def fold_conv1_normalized(conv: nn.Conv2d, mean: Sequence[float], std: Sequence[float]
                          ) -> FoldedNormalizedConv:
    """Exact 1-channel equivalent of ``conv`` fed ``(g - mean_c) / std_c`` replicated."""
    if conv.groups != 1 or conv.in_channels != len(mean) or len(mean) != len(std):
        raise ValueError(f"need an ungrouped conv with {len(mean)} input channels and "
                         f"matching mean/std, got {conv}")
    weight = conv.weight.detach().double()
    shape = (1, -1, 1, 1)
    mean_t = torch.tensor(mean, dtype=torch.float64, device=weight.device).view(shape)
    std_t = torch.tensor(std, dtype=torch.float64, device=weight.device).view(shape)
    scale = (weight / std_t).sum(1, keepdim=True).to(conv.weight.dtype)
    shift = -(weight * mean_t / std_t).sum(1, keepdim=True).to(conv.weight.dtype)
    return FoldedNormalizedConv(_with_weight(conv, scale, keep_bias=True),
                                _with_weight(conv, shift, keep_bias=False))


def first_rgb_conv(model: nn.Module) -> str:
    """Name of the first ``nn.Conv2d`` (in registration order) with 3 input channels,
    e.g. ``features.0`` in torchvision's VGG, ``conv_stem`` in timm's EfficientNets."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d) and module.in_channels == 3:
            return name
    raise ValueError("the model has no Conv2d with 3 input channels")


def _replace(model: nn.Module, name: str, module: nn.Module) -> nn.Module:
    """``model`` with submodule ``name`` replaced (``name == ""`` replaces the model)."""
    if not name:
        return module
    model.set_submodule(name, module)
    return model


def fold_first_conv(model: nn.Module, mode: FoldMode) -> tuple[nn.Module, str]:
    """(deep copy of ``model`` whose first RGB conv is folded by ``fold_conv1``, its name)."""
    folded = copy.deepcopy(model)
    name = first_rgb_conv(folded)
    return _replace(folded, name, fold_conv1(folded.get_submodule(name), mode)), name


def fold_first_conv_normalized(model: nn.Module, mean: Sequence[float], std: Sequence[float]
                               ) -> tuple[nn.Module, str]:
    """(deep copy of ``model`` taking the raw gray image in [0, 1] as 1 channel, exactly
    equivalent to ``model`` on the replicated normalized image; name of the folded conv)."""
    folded = copy.deepcopy(model)
    name = first_rgb_conv(folded)
    conv = fold_conv1_normalized(folded.get_submodule(name), mean, std)
    return _replace(folded, name, conv), name


def max_output_difference(model_a: nn.Module, input_a: torch.Tensor, model_b: nn.Module,
                          input_b: torch.Tensor) -> float:
    """max |model_a(input_a) - model_b(input_b)| over all output entries."""
    with torch.inference_mode():
        return float((model_a(input_a).double() - model_b(input_b).double()).abs().max())
