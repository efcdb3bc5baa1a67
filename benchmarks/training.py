"""Training throughput of the from-scratch run's loop, with and without the channels-last layout, side by side.

    .venv/bin/python benchmarks/training.py [--device auto|cpu|cuda] [--images N] [--epochs N] [--models a,b]
                                             [--cudnn-benchmark]

For each model (random weights, 15 classes): `train_from_scratch` on N synthetic gray images held in memory (the
`GrayImages` set `from_scratch` uses), batch 32, bf16 autocast on CUDA, with channels-last off and on; an untimed
warm-up run of each first (cuDNN plans, allocator). Prints images per second of training and the ratio. Channels-last
and autocast only act on CUDA (`TrainConfig`), so on a CPU both rows run the same code.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experiments.assets.network_build import build, plan_network, seeded  # noqa: E402
from experiments.ch1_common import GrayImages  # noqa: E402
from experiments.methods.training import TrainConfig, train_from_scratch  # noqa: E402

CLASSES = 15


def _images(count: int, size: int, seed: int = 0) -> GrayImages:
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (count, size, size), dtype=torch.uint8, generator=generator)
    return GrayImages(pixels, np.arange(count) % CLASSES, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def _rate(model: str, data: GrayImages, epochs: int, channels_last: bool, device: torch.device) -> float:
    factory = lambda num_classes: seeded(lambda: build(plan_network(model, "none"), num_classes), 0)  # noqa: E731
    config = TrainConfig(epochs=epochs, batch_size=32, max_seconds=None, amp=True, channels_last=channels_last)
    result = train_from_scratch(factory, CLASSES, data, data, config, device)
    return len(data) * result.epochs_run / result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--images", type=int, default=0, help="default: 960 on CUDA, 64 on a CPU")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--models", default="vgg16,timm:tf_efficientnet_lite0,squeezenet1_1")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--cudnn-benchmark", action="store_true", help="let cuDNN time its algorithms")
    args = parser.parse_args()
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    cuda = torch.cuda.is_available() if args.device == "auto" else args.device == "cuda"
    device = torch.device("cuda" if cuda else "cpu")
    data = _images(args.images or (960 if cuda else 64), args.size)
    warm = _images(64, args.size, seed=1)
    print(f"device: {torch.cuda.get_device_name() if cuda else 'cpu'}; {len(data)} images {args.size}², batch 32, "
          f"{args.epochs} epochs; cudnn.benchmark {torch.backends.cudnn.benchmark}")
    for model in args.models.split(","):
        rates = {}
        for layout in (False, True):
            _rate(model, warm, 1, layout, device)
            rates[layout] = _rate(model, data, args.epochs, layout, device)
        print(f"{model:34s} NCHW {rates[False]:8.1f} images/s   channels-last {rates[True]:8.1f} images/s   "
              f"x{rates[True] / rates[False]:.2f}", flush=True)


if __name__ == "__main__":
    main()
