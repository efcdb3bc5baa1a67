"""The faster network of chapter 2 (batch norm folded, channels-last input on a CPU) and chapter 1's channels-last
extraction against the plain module, measured alternately in one run (so that a busy shared CPU slows both alike).

    .venv/bin/python benchmarks/fast_network.py [--config configs/offline.toml] [--device cpu] [--repeats 6]

Prints, per network role, the seconds of one gradient step (forward and backward of a class-visualization batch:
7 images for `visualize`, 11 for `compare`, as 2.Q8 and 2.Q11 run them) and the images per second of a forward
pass of 4 images for `transfer`, plain and fast, their ratio, and the largest difference of the results relative
to their largest value (float rounding, amplified by folding batch norms of tiny variance); then the fast transfer
network's images per second at batches of 4, 16 and 32 (chapter 1's batch on a CPU is 16).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tomllib
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experiments.ch2_common import fast  # noqa: E402
from experiments.methods.inference import ChannelsLast, for_inference  # noqa: E402
from experiments.resources import _load  # noqa: E402
from reportgen.runner import release_memory  # noqa: E402


def _gradient(model: torch.nn.Module, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    xg = x.clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(model(xg).gather(1, targets[:, None]).sum(), xg)
    return grad


def _forward(model: torch.nn.Module, x: torch.Tensor, _targets: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(x)


def alternate(label: str, run, plain: torch.nn.Module, quick: torch.nn.Module, x: torch.Tensor, repeats: int,
              per_image: bool) -> None:
    targets = torch.arange(x.shape[0]) % 1000
    reference, got = run(plain, x, targets), run(quick, x, targets)
    difference = float((got - reference).abs().max() / reference.abs().max())
    seconds = {"plain": 0.0, "fast": 0.0}
    for _ in range(repeats):
        for name, model in (("plain", plain), ("fast", quick)):
            start = time.perf_counter()
            run(model, x, targets)
            seconds[name] += (time.perf_counter() - start) / repeats
    ratio = seconds["plain"] / seconds["fast"]
    if per_image:
        rate = {k: x.shape[0] / v for k, v in seconds.items()}
        print(f"{label:44s} plain {rate['plain']:6.1f} img/s  fast {rate['fast']:6.1f} img/s  "
              f"({ratio:.2f}x; largest difference {difference:.1e})")
    else:
        print(f"{label:44s} plain {seconds['plain']:6.3f} s  fast {seconds['fast']:6.3f} s  "
              f"({ratio:.2f}x; largest difference {difference:.1e})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "offline.toml")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--repeats", type=int, default=6)
    args = parser.parse_args()
    os.chdir(ROOT)
    device = torch.device(args.device)
    networks = tomllib.loads(args.config.read_text(encoding="utf-8"))["networks"]
    print(f"device {device}, {torch.get_num_threads()} threads")
    for role, n in (("visualize", 7), ("compare", 11)):
        net = _load(device, True, **networks[role])
        x = torch.randn(n, 3, net.input_size, net.input_size, generator=torch.Generator().manual_seed(0)).to(device)
        alternate(f"{role} ({net.name}) gradient step, {n} images", _gradient, net.module, fast(net, device).module,
                  x, args.repeats, False)
    net = _load(device, True, **networks["transfer"])
    folded = for_inference(net.module, net.input_size, device)
    x = torch.randn(4, 3, net.input_size, net.input_size, generator=torch.Generator().manual_seed(0)).to(device)
    quick = ChannelsLast(folded) if device.type == "cpu" else folded
    alternate(f"transfer ({net.name}) forward, 4 images", _forward, folded, quick, x, args.repeats * 4, True)
    batch_sizes(quick, net.input_size, device, args.repeats)


def batch_sizes(model: torch.nn.Module, size: int, device: torch.device, repeats: int) -> None:
    """Images per second of the fast transfer network's forward pass at chapter 1's candidate batch sizes, each
    measured in turn `repeats` times (with the runner's memory settings, as in a build)."""
    release_memory()
    rates: dict[int, list[float]] = {4: [], 16: [], 32: []}
    for _ in range(repeats):
        for n in rates:
            x = torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(0)).to(device)
            _forward(model, x, x)
            start = time.perf_counter()
            for _ in range(64 // n):
                _forward(model, x, x)
            rates[n].append(64 // n * n / (time.perf_counter() - start))
    print("transfer forward by batch size (median images/s): "
          + ", ".join(f"{n}: {sorted(r)[len(r) // 2]:.1f}" for n, r in rates.items()))


if __name__ == "__main__":
    main()
