"""Class visualization by gradient ascent on the input (Simonyan et al. 2014) with jitter and blur (Yosinski 2015)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from experiments.methods.classvis_config import ClassVisConfig
from experiments.methods.saliency import as_targets
from experiments.methods.transforms import clamp_channels, gaussian_blur, jitter
from reportgen.progress import progress


@dataclass(frozen=True)
class ClassVisResult:
    """Final images (N, C, H, W); per recorded step (after that many updates): softmax probability of the target
    and the objective score_target - l2_reg*||x||^2, each (N, len(history_steps)); images at requested steps."""

    images: Tensor
    history_steps: tuple[int, ...]
    target_prob: np.ndarray
    objective: np.ndarray
    snapshots: dict[int, Tensor] = field(default_factory=dict)


def random_init(
    n: int, size: int | tuple[int, int], generator: torch.Generator | None, device: torch.device | str = "cpu"
) -> Tensor:
    """Standard normal noise (n, 3, H, W) in normalized space (the practical's start), drawn from `generator`."""
    h, w = (size, size) if isinstance(size, int) else size
    source = generator.device if generator is not None else torch.device(device)
    return torch.randn((n, 3, h, w), generator=generator, device=source).to(device)


def _per_image(value: Tensor | None, default: float, like: Tensor) -> Tensor:
    """A per-image setting as (N, 1, 1, 1): the given (N,) tensor, or the config default for every image."""
    if value is None:
        return torch.full((like.shape[0], 1, 1, 1), default, dtype=like.dtype, device=like.device)
    return torch.as_tensor(value, dtype=like.dtype, device=like.device).reshape(like.shape[0], 1, 1, 1)


def _objective(model: nn.Module, x: Tensor, targets: Tensor, l2_reg: Tensor) -> tuple[Tensor, Tensor]:
    """(score_target - l2_reg * ||x||^2 per image (N,), all class scores (N, K))."""
    scores = model(x)
    penalty = l2_reg.reshape(-1) * x.pow(2).sum(dim=(1, 2, 3))
    return scores.gather(1, targets[:, None])[:, 0] - penalty, scores


def _ascent_step(model: nn.Module, x: Tensor, targets: Tensor, lr: Tensor, l2_reg: Tensor) -> Tensor:
    """x + lr * d objective / dx (the practical's unnormalized gradient ascent)."""
    xg = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        objective, _ = _objective(model, xg, targets, l2_reg)
        (grad,) = torch.autograd.grad(objective.sum(), xg)
    return x + lr * grad


def _draw_shift(max_jitter: int, generator: torch.Generator | None) -> tuple[int, int]:
    """A random (dx, dy), each in [0, max_jitter], shared by the whole batch."""
    if max_jitter <= 0:
        return 0, 0
    device = generator.device if generator is not None else torch.device("cpu")
    dx, dy = torch.randint(0, max_jitter + 1, (2,), generator=generator, device=device).tolist()
    return dx, dy


def _update(
    model: nn.Module, x: Tensor, targets: Tensor, lr: Tensor, l2_reg: Tensor,
    config: ClassVisConfig, lo: Tensor, hi: Tensor, generator: torch.Generator | None, step: int,
) -> Tensor:
    """One iteration: jitter, ascent step, undo jitter, clamp, and blur (then clamp) every blur_every steps."""
    dx, dy = _draw_shift(config.max_jitter, generator)
    x = jitter(_ascent_step(model, jitter(x, dx, dy), targets, lr, l2_reg), -dx, -dy)
    x = clamp_channels(x, lo, hi)
    if config.blur_every > 0 and step % config.blur_every == 0:
        x = clamp_channels(gaussian_blur(x, config.blur_sigma), lo, hi)
    return x.detach()


def _record(model: nn.Module, x: Tensor, targets: Tensor, l2_reg: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(softmax probability of the target (N,), objective (N,)) for the current images."""
    with torch.no_grad():
        objective, scores = _objective(model, x, targets, l2_reg)
        prob = scores.softmax(dim=1).gather(1, targets[:, None])[:, 0]
    return prob.cpu().numpy().astype(np.float64), objective.cpu().numpy().astype(np.float64)


def class_visualization(
    model: nn.Module, targets: int | Tensor, init: Tensor, config: ClassVisConfig, lo: Tensor, hi: Tensor,
    generator: torch.Generator | None = None, record_every: int = 10, lr: Tensor | None = None,
    l2_reg: Tensor | None = None, snapshot_steps: tuple[int, ...] = (),
) -> ClassVisResult:
    """Maximize score_target - l2_reg*||x||^2 from `init` (clamped to [lo, hi]) for config.steps steps; optional
    per-image lr and l2_reg (N,) override the config so a grid runs as one batch; records every record_every
    steps and at the end; snapshots the images after each of snapshot_steps updates (0 = start)."""
    if any(s < 0 or s > config.steps for s in snapshot_steps):
        raise ValueError(f"snapshot_steps must lie in [0, {config.steps}], got {snapshot_steps}")
    x = clamp_channels(init.detach(), lo, hi)
    t = as_targets(targets, x.shape[0], x.device)
    lr_t, reg_t = _per_image(lr, config.lr, x), _per_image(l2_reg, config.l2_reg, x)
    recorded: list[int] = []
    probs: list[np.ndarray] = []
    objectives: list[np.ndarray] = []
    snapshots: dict[int, Tensor] = {}
    for step in progress(range(config.steps + 1), desc=f"ascent of {x.shape[0]} images", unit="step"):
        if step % record_every == 0 or step == config.steps:
            prob, obj = _record(model, x, t, reg_t)
            recorded.append(step)
            probs.append(prob)
            objectives.append(obj)
        if step in snapshot_steps:
            snapshots[step] = x.clone()
        if step < config.steps:
            x = _update(model, x, t, lr_t, reg_t, config, lo, hi, generator, step)
    return ClassVisResult(x, tuple(recorded), np.stack(probs, axis=1), np.stack(objectives, axis=1), snapshots)
