"""Adversarial examples on normalized batches: the practical's naive targeted attack, FGSM and L-inf PGD."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from experiments.methods.saliency import as_targets
from experiments.methods.transforms import clamp_channels, rand_like
from reportgen.progress import progress


@dataclass(frozen=True)
class AttackResult:
    """Adversarial batch (N, C, H, W), gradient steps taken (N,), success (N,) and the wall time in seconds."""

    adversarial: Tensor
    steps: Tensor
    success: Tensor
    seconds: float


def _elapsed(start: float, device: torch.device) -> float:
    """Seconds since `start`, waiting for queued GPU work first."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def _predict(model: nn.Module, x: Tensor) -> Tensor:
    """Predicted class per image (N,)."""
    with torch.no_grad():
        return model(x).argmax(dim=1)


def _success(model: nn.Module, adversarial: Tensor, labels: Tensor, targeted: bool) -> Tensor:
    """Targeted: prediction == labels; untargeted: prediction != labels."""
    pred = _predict(model, adversarial)
    return pred == labels if targeted else pred != labels


CHUNK = 8  # images per backward pass: it holds every activation of its images (about 0.1 GB each for
# EfficientNet-Lite0 at 224 pixels), and on a CPU larger batches are no faster


def _gradient(model: nn.Module, x: Tensor, labels: Tensor, objective: Callable[[Tensor, Tensor], Tensor]
              ) -> tuple[Tensor, Tensor]:
    """(d objective / d x, the scores), CHUNK images at a time; `objective(scores, labels)` is a sum of per-image
    terms, so the chunks' gradients are the whole batch's."""
    grads, scores = [], []
    for i in range(0, x.shape[0], CHUNK):
        xg = x[i : i + CHUNK].detach().clone().requires_grad_(True)
        with torch.enable_grad():
            out = model(xg)
            (grad,) = torch.autograd.grad(objective(out, labels[i : i + CHUNK]), xg)
        grads.append(grad)
        scores.append(out.detach())
    return torch.cat(grads), torch.cat(scores)


def _target_score(scores: Tensor, targets: Tensor) -> Tensor:
    return scores.gather(1, targets[:, None]).sum()


def _cross_entropy(scores: Tensor, labels: Tensor) -> Tensor:
    return F.cross_entropy(scores, labels, reduction="sum")


def _naive_step(
    model: nn.Module, x: Tensor, targets: Tensor, step: float, lo: Tensor, hi: Tensor
) -> tuple[Tensor, Tensor]:
    """One forward/backward on x: (already-target mask, x moved by step * g/||g||_2 and clamped)."""
    grad, scores = _gradient(model, x, targets, _target_score)
    reached = scores.argmax(dim=1) == targets
    norm = grad.reshape(grad.shape[0], -1).norm(dim=1).clamp_min(1e-12).reshape(-1, 1, 1, 1)
    return reached, clamp_channels(x + step * grad / norm, lo, hi)


def naive_targeted(
    model: nn.Module,
    inputs: Tensor,
    target: int | Tensor,
    lo: Tensor,
    hi: Tensor,
    step: float = 1.0,
    max_steps: int = 100,
    fixed_shape: bool | None = None,
) -> AttackResult:
    """The practical's attack x <- x + step * g/||g||_2, g = d score_target/dx, per image until it is predicted as
    the target (checked before each step; 0 steps if already so) or max_steps. Each step computes only the
    still-active images, or with `fixed_shape` the whole batch, moving only the active ones (the default on CUDA,
    where every new batch shape costs cuDNN new convolution plans); each image's path is the same either way."""
    start = time.perf_counter()
    x = inputs.detach().clone()
    targets = as_targets(target, x.shape[0], x.device)
    steps = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    active = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
    every = torch.arange(x.shape[0], device=x.device)
    fixed = x.device.type == "cuda" if fixed_shape is None else fixed_shape
    for _ in progress(range(max_steps), desc="naive attack (until every image is fooled)", unit="step"):
        rows = every if fixed else every[active]
        if rows.numel() == 0:
            break
        reached, moved = _naive_step(model, x[rows], targets[rows], step, lo, hi)
        active[rows[reached]] = False
        if not active.any():
            break
        x[active] = moved[active[rows]]
        steps[active] += 1
    success = _success(model, x, targets, targeted=True)
    return AttackResult(x, steps, success, _elapsed(start, x.device))


def _eps_normalized(eps: float, lo: Tensor, hi: Tensor, like: Tensor) -> Tensor:
    """Pixel-space size eps ([0, 1] units) in normalized units per channel, (1, C, 1, 1): eps/std = eps*(hi-lo)."""
    return (eps * (hi - lo)).to(device=like.device, dtype=like.dtype).reshape(1, -1, 1, 1)


def _loss_gradient_sign(model: nn.Module, x: Tensor, labels: Tensor, targeted: bool) -> Tensor:
    """Sign of the direction that raises the cross-entropy on labels (untargeted) or lowers it (targeted)."""
    grad, _ = _gradient(model, x, labels, _cross_entropy)
    return -grad.sign() if targeted else grad.sign()


def fgsm(
    model: nn.Module, inputs: Tensor, labels: int | Tensor, eps: float, lo: Tensor, hi: Tensor, targeted: bool = False
) -> AttackResult:
    """Fast gradient sign method, one step of eps pixel units ([0, 1] scale) per channel; clamped to [lo, hi]."""
    start = time.perf_counter()
    x = inputs.detach()
    y = as_targets(labels, x.shape[0], x.device)
    adv = clamp_channels(x + _eps_normalized(eps, lo, hi, x) * _loss_gradient_sign(model, x, y, targeted), lo, hi)
    steps = torch.ones(x.shape[0], dtype=torch.long, device=x.device)
    return AttackResult(adv, steps, _success(model, adv, y, targeted), _elapsed(start, x.device))


def pgd(
    model: nn.Module,
    inputs: Tensor,
    labels: int | Tensor,
    eps: float,
    lo: Tensor,
    hi: Tensor,
    alpha: float | None = None,
    steps: int = 10,
    targeted: bool = False,
    generator: torch.Generator | None = None,
) -> AttackResult:
    """L-inf PGD (Madry et al.): uniform random start in the eps ball, `steps` sign steps of alpha (default
    2.5*eps/steps), each projected onto the eps ball and [lo, hi]; eps and alpha in [0, 1] pixel units."""
    start = time.perf_counter()
    x0 = inputs.detach()
    y = as_targets(labels, x0.shape[0], x0.device)
    radius = _eps_normalized(eps, lo, hi, x0)
    step = _eps_normalized(2.5 * eps / steps if alpha is None else alpha, lo, hi, x0)
    x = clamp_channels(x0 + (2.0 * rand_like(x0, generator) - 1.0) * radius, lo, hi)
    for _ in progress(range(steps), desc=f"PGD at eps {eps:g}", unit="step"):
        x = x + step * _loss_gradient_sign(model, x, y, targeted)
        x = clamp_channels(torch.maximum(torch.minimum(x, x0 + radius), x0 - radius), lo, hi)
    taken = torch.full((x0.shape[0],), steps, dtype=torch.long, device=x0.device)
    return AttackResult(x, taken, _success(model, x, y, targeted), _elapsed(start, x0.device))


def perturbation_sizes(x: Tensor, adv: Tensor, std: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per image (N,): L-inf of the pixel-space perturbation in levels of 255, and its L2 in [0, 1] units."""
    scale = torch.as_tensor(std, dtype=x.dtype, device=x.device).reshape(1, -1, 1, 1)
    delta = ((adv.detach() - x.detach()) * scale).reshape(x.shape[0], -1)
    linf = (delta.abs().amax(dim=1) * 255.0).cpu().numpy().astype(np.float64)
    l2 = delta.norm(dim=1).cpu().numpy().astype(np.float64)
    return linf, l2
