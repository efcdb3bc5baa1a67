"""Chapter 2 benchmark: the batched class-visualization sweep against a one-image-at-a-time loop, in one run.

    .venv/bin/python benchmarks/ch2.py [--config configs/offline.toml] [--device auto|cpu|cuda] [--steps N]

Optimizes the practical's seven classes (76, 78, 187, 683, 366, 604, 113) as one batch, then each alone with the
same settings (after an untimed warm-up of both batch shapes), and prints both wall times and their ratio, plus the
largest difference between the two results
(the same seed gives the same jitter: after one step they agree to float rounding, 2e-7 here; over more steps the
practical's large step size amplifies the rounding differences of batched kernels). Then the same for saliency over the
25 validation images, and for the naive attack computing only the still-active images against the whole batch
(on CUDA every new batch shape costs new cuDNN plans). Then chapter 2 built cold
(`reportgen build --only <chapter-2 experiments> --no-pdf`, offline) in a temporary copy of the project: wall
time, peak memory, and each experiment's time (`--no-build` skips it). `--steps` defaults to the practical's 200
on a GPU and 20 on a CPU (where 200 steps of seven images take minutes); the ratio is what the benchmark is about.
Targets (issue 5): chapter 2 under 60 s on an H100 with SqueezeNet and VGG16; it must finish on the 2-core CPU.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tomllib
from pathlib import Path

import torch
from cold import cold_build

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experiments.assets.imagenet import load_imagenet_val  # noqa: E402
from experiments.methods.attacks import naive_targeted  # noqa: E402
from experiments.methods.classvis import ClassVisConfig, class_visualization, random_init  # noqa: E402
from experiments.methods.saliency import saliency  # noqa: E402
from experiments.methods.transforms import normalize, normalize_bounds  # noqa: E402
from experiments.resources import _load  # noqa: E402

CLASSES = (76, 78, 187, 683, 366, 604, 113)
CHAPTER2 = ("saliency_*", "localization", "naive_attack", "attack_*", "class_*")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(run, device: torch.device):
    _sync(device)
    start = time.perf_counter()
    out = run()
    _sync(device)
    return time.perf_counter() - start, out


def sweep(net, device: torch.device, steps: int) -> None:
    config = ClassVisConfig(steps=steps)
    lo, hi = (t.to(device) for t in normalize_bounds(net.mean, net.std))
    targets = torch.tensor(CLASSES, device=device)
    init = random_init(len(CLASSES), net.input_size, torch.Generator().manual_seed(0), device)

    def one(i: slice, settings: ClassVisConfig = config):
        return class_visualization(net.module, targets[i], init[i], settings, lo, hi, torch.Generator().manual_seed(0))

    for warm in (slice(None), slice(0, 1)):  # both batch shapes once, untimed: CUDA/cuDNN start-up is not the sweep
        one(warm, ClassVisConfig(steps=2))
    batched_s, batched = timed(lambda: one(slice(None)), device)
    loop_s, alone = timed(lambda: [one(slice(i, i + 1)) for i in range(len(CLASSES))], device)
    diff = max((batched.images[i] - a.images[0]).abs().max().item() for i, a in enumerate(alone))
    print(f"class visualization, {len(CLASSES)} classes × {steps} steps")
    print(f"  batched          {batched_s:8.2f} s")
    print(f"  one at a time    {loop_s:8.2f} s   (batched is {loop_s / batched_s:.1f}× faster; "
          f"max difference {diff:.2e})")


def _validation(net, device: torch.device, val: Path) -> tuple[torch.Tensor, torch.Tensor]:
    images = load_imagenet_val(val)
    x = torch.from_numpy(images.images).permute(0, 3, 1, 2).float().div(255)
    x = torch.nn.functional.interpolate(x, size=net.input_size, mode="bilinear", antialias=True)
    return normalize(x, net.mean, net.std).to(device), torch.from_numpy(images.labels).to(device)


def attack_shapes(net, device: torch.device, val: Path, target: int = 6) -> None:
    """The naive attack (target 6, stingray) computing only the still-active images against the whole batch."""
    x, _ = _validation(net, device, val)
    lo, hi = (t.to(device) for t in normalize_bounds(net.mean, net.std))
    run = {fixed: lambda fixed=fixed: naive_targeted(net.module, x, target, lo, hi, fixed_shape=fixed)
           for fixed in (False, True)}
    shrinking_s, shrinking = timed(run[False], device)
    fixed_s, fixed = timed(run[True], device)
    same = torch.equal(shrinking.steps, fixed.steps)
    print(f"naive attack, {len(x)} images, up to {int(fixed.steps.max())} steps")
    print(f"  active images only  {shrinking_s:8.2f} s   (a new batch shape whenever an image reaches the target)")
    print(f"  whole batch         {fixed_s:8.2f} s   (whole batch is {shrinking_s / fixed_s:.1f}× faster; "
          f"same steps per image: {same})")


def saliency_batch(net, device: torch.device, val: Path) -> None:
    x, y = _validation(net, device, val)
    for i in (slice(None), slice(0, 1)):  # both batch shapes once, untimed
        saliency(net.module, x[i], y[i])
    batched_s, _ = timed(lambda: saliency(net.module, x, y), device)
    loop_s, _ = timed(lambda: [saliency(net.module, x[i:i + 1], y[i:i + 1]) for i in range(len(x))], device)
    print(f"saliency, {len(x)} images")
    print(f"  batched          {batched_s:8.2f} s")
    print(f"  one at a time    {loop_s:8.2f} s   (batched is {loop_s / batched_s:.1f}× faster)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "offline.toml")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--steps", type=int)
    parser.add_argument("--no-build", action="store_true", help="only the batched-against-alone comparisons")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--results", type=Path, help="keep the cold build's results.json here")
    args = parser.parse_args()
    os.chdir(ROOT)  # the configuration's relative paths are relative to the project
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    settings = tomllib.loads(args.config.read_text(encoding="utf-8"))
    net = _load(device, True, **settings["networks"]["visualize"])
    print(f"network: {net.describe()}; device: {device}")
    sweep(net, device, args.steps or (200 if device.type == "cuda" else 20))
    saliency_batch(net, device, Path(settings["data"]["imagenet_val"]))
    attack_shapes(net, device, Path(settings["data"]["imagenet_val"]))
    if not args.no_build:
        cold_build("chapter 2", str(args.config), device.type, CHAPTER2, args.overrides,
                   "target < 60 s on an H100; must finish on a 2-core CPU", args.results)


if __name__ == "__main__":
    main()
