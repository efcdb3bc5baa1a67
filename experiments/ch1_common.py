"""Shared by the chapter-1 experiments: feature layers, per-class subsets, images held in memory, and fine-tuning the
network's tail on 15 Scene (the methods are in methods/inference.py and methods/tail.py; the SVM in ch1_svm)."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from experiments.assets.networks import Network
from experiments.assets.scene15 import Scene15
from experiments.methods.features import ImageFiles, Preprocess, extract
from experiments.methods.inference import for_inference
from experiments.methods.tail import new_tail, split_point
from experiments.methods.training import InMemory, TrainConfig, TrainResult, fine_tune, fit
from experiments.results.ch1 import Subset
from experiments.settings import may_start_processes, on_cpu_or_full


def loader_workers(workers: int) -> int:
    """DataLoader workers: `workers`, or when negative one per spare core (at most 8); none inside a daemonic
    process (a worker of `-j N`), which may not start children: the images are then decoded in the experiment's own
    process (the same data, more slowly)."""
    if not may_start_processes():
        return 0
    return workers if workers >= 0 else min(8, max(0, (os.cpu_count() or 1) - 1))


def inference_batch(batch_size: int, device: torch.device) -> int:
    """`batch_size` when positive; else 64 on an accelerator and 16 on a CPU. (It was 4 while each batch's
    activations were mapped and page-faulted afresh; now that the runner keeps freed memory for reuse
    (runner.release_memory), batches of 16 and 32 both pass about 10 % more images a second than 4 on two cores,
    benchmarks/fast_network.py; 16 holds less memory.)"""
    return batch_size if batch_size > 0 else (16 if device.type == "cpu" else 64)


def feature_layers(net: Network) -> dict[str, str]:
    """label -> module for every layer the chapter reads: the network's layers, its penultimate and logits."""
    layers = dict(net.layers)
    if net.penultimate not in layers.values():
        layers["penultimate"] = net.penultimate
    if "logits" not in layers and net.classifier not in layers.values():
        layers["logits"] = net.classifier
    return layers


def label_of(layers: dict[str, str], module: str) -> str:
    return next(label for label, name in layers.items() if name == module)


def per_class_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Sorted indices of at most `per_class` items of each label (a seeded choice); all when `per_class` <= 0."""
    if per_class <= 0:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    picks = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in np.unique(labels)]
    return np.sort(np.concatenate(picks))


@dataclass(frozen=True)
class Part:
    """The train and test indices of the images an extra forward pass uses, `per_class` of each (0: all)."""

    train: np.ndarray
    test: np.ndarray
    per_class: int

    @property
    def all(self) -> bool:
        return self.per_class <= 0

    @property
    def info(self) -> Subset:
        """What the report says about it (no index arrays)."""
        return Subset(self.per_class, self.all, len(self.train), len(self.test))


def subset(scene15: Scene15, device: torch.device, per_class_on_cpu: int, seed: int) -> Part:
    """The train and test indices an extra forward pass uses: all on an accelerator, a per-class subset on CPU."""
    per_class = on_cpu_or_full(device, per_class_on_cpu, 0)
    return Part(per_class_indices(scene15.train.labels, per_class, seed),
                per_class_indices(scene15.test.labels, per_class, seed + 1), per_class)


def image_paths(scene15: Scene15, part: Part) -> tuple[list, np.ndarray, list, np.ndarray]:
    train, test = scene15.train, scene15.test
    return ([train.paths[i] for i in part.train], train.labels[part.train],
            [test.paths[i] for i in part.test], test.labels[part.test])


def extract_one(module: nn.Module, paths: list, layer: str, preprocess: Preprocess, device: torch.device,
                batch_size: int, workers: int, amp: bool) -> np.ndarray:
    """One layer's pooled features of the images at `paths` (batch norm folded when that is exact)."""
    dataset = ImageFiles(paths, preprocess)
    module = for_inference(module, preprocess.size, device, preprocess.channels)
    return extract(module, {"x": layer}, dataset, device, inference_batch(batch_size, device), loader_workers(workers),
                   pool=True, amp=amp, channels_last=True)["x"]


def rgb_preprocess(net: Network) -> Preprocess:
    """The practical's preprocessing for `net`: resize to its input size (with its interpolation), replicate gray,
    its mean and std."""
    return Preprocess(net.input_size, net.mean, net.std, 3, net.interpolation)


class GrayImages(InMemory):
    """Decoded gray images held as uint8 (N, S, S); a batch is prepared (on its device) into the image replicated to
    the channels of `mean` and normalized, exactly what `ImageFiles` with `channels=3` yields, without decoding the
    files again each epoch."""

    def __init__(self, pixels: torch.Tensor, labels: np.ndarray, mean: tuple, std: tuple) -> None:
        super().__init__(pixels, labels)
        self.mean, self.std = tuple(mean), tuple(std)

    def prepare(self, batch: torch.Tensor) -> torch.Tensor:
        shape = (1, len(self.mean), 1, 1)
        mean = torch.tensor(self.mean, dtype=torch.float32, device=batch.device).view(shape)
        std = torch.tensor(self.std, dtype=torch.float32, device=batch.device).view(shape)
        gray = (batch.float() / 255.0).unsqueeze(1).expand(-1, len(self.mean), -1, -1)
        return (gray - mean) / std


def gray_images(paths: list, labels: np.ndarray, net: Network, workers: int, size: int = 0) -> GrayImages:
    """Decode and resize the images once (in DataLoader workers) into a `GrayImages` for `net`, at its input size
    or at `size` pixels when given."""
    raw = ImageFiles(paths, Preprocess(size or net.input_size, (0.0,), (1.0,), 1, net.interpolation))
    loader = DataLoader(raw, batch_size=64, num_workers=loader_workers(workers))
    pixels = torch.cat([(x[:, 0] * 255.0).round().to(torch.uint8) for x, _ in loader])
    return GrayImages(pixels, labels, net.mean, net.std)


def _trunk_dataset(net: Network, layer: str, shape: tuple, paths: list, labels: np.ndarray, device: torch.device,
                   batch_size: int, workers: int, amp: bool) -> InMemory:
    module = for_inference(net.module, net.input_size, device)
    flat = extract(module, {"x": layer}, ImageFiles(paths, rgb_preprocess(net)), device,
                   inference_batch(batch_size, device), loader_workers(workers), pool=False, amp=amp,
                   channels_last=True)["x"]
    return InMemory(torch.from_numpy(flat).reshape(len(flat), *shape), labels)


@dataclass(frozen=True)
class TunedTail:
    """A fine-tuning run of the network's tail: the run, the layers it trained, whether the frozen trunk's output
    was computed once, and the whole time (trunk included)."""

    run: TrainResult
    trained: list[str]
    cached_trunk: bool
    seconds: float


def fine_tune_tail(net: Network, scene15: Scene15, part: Part, trainable: int, config: TrainConfig,
                   device: torch.device, batch_size: int, workers: int, amp: bool) -> TunedTail:
    """Train the last `trainable` learnable modules and a new last layer. When the network is a plain pipeline
    the frozen trunk runs once per image (its output cached); otherwise every step runs the whole network."""
    classes = len(scene15.classes)
    train_paths, train_y, test_paths, test_y = image_paths(scene15, part)
    split, start = split_point(net.module, net.classifier, net.input_size, trainable, device), time.perf_counter()
    if split is None:
        names = [n for n, m in net.module.named_modules() if n and not any(m.children())
                 and any(True for _ in m.parameters()) and n != net.classifier][-trainable:]
        run = fine_tune(net.module, net.classifier, names, classes, gray_images(train_paths, train_y, net, workers),
                        gray_images(test_paths, test_y, net, workers), config, device)
        return TunedTail(run, names, False, time.perf_counter() - start)
    chain, index, shape = split
    args = (device, batch_size, workers, amp)
    train_ds = _trunk_dataset(net, chain[index - 1][0], shape, train_paths, train_y, *args)
    test_ds = _trunk_dataset(net, chain[index - 1][0], shape, test_paths, test_y, *args)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        tail = new_tail(chain, index, classes)
    run = fit(tail, train_ds, test_ds, config, device)
    trained = [n for n, m in chain[index:-1] if any(True for _ in m.parameters())]
    return TunedTail(run, trained, True, time.perf_counter() - start)
