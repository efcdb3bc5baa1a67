"""Shared by the chapter-1 experiments: feature layers, per-class subsets, images held in memory, an exact batch-norm
fold that speeds up inference, and fine-tuning the network's tail (the practical's SVM is in ch1_svm)."""
from __future__ import annotations

import copy
import os
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from experiments.assets.networks import Network
from experiments.assets.scene15 import Scene15
from experiments.methods.features import ImageFiles, Preprocess, extract
from experiments.methods.training import InMemory, TrainConfig, fine_tune, fit


def loader_workers(workers: int) -> int:
    """DataLoader workers: `workers`, or when negative one per spare core (at most 8)."""
    return workers if workers >= 0 else min(8, max(0, (os.cpu_count() or 1) - 1))


def inference_batch(batch_size: int, device: torch.device) -> int:
    """`batch_size` when positive; else 64 on an accelerator and 4 on a CPU, where larger batches are slower: their
    activations exceed glibc malloc's mmap threshold, so every batch maps, page-faults and unmaps them again."""
    return batch_size if batch_size > 0 else (4 if device.type == "cpu" else 64)


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


def subset(scene15: Scene15, device: torch.device, per_class_on_cpu: int, seed: int) -> dict:
    """The train and test indices an extra forward pass uses: all on an accelerator, a per-class subset on CPU."""
    per_class = per_class_on_cpu if device.type == "cpu" else 0
    train = per_class_indices(scene15.train.labels, per_class, seed)
    test = per_class_indices(scene15.test.labels, per_class, seed + 1)
    return {"train": train, "test": test, "per_class": per_class, "all": per_class <= 0,
            "train_images": len(train), "test_images": len(test)}


def subset_info(part: dict) -> dict:
    """What the report says about a subset (no index arrays)."""
    return {k: part[k] for k in ("per_class", "all", "train_images", "test_images")}


def image_paths(scene15: Scene15, part: dict) -> tuple[list, np.ndarray, list, np.ndarray]:
    train, test = scene15.train, scene15.test
    return ([train.paths[i] for i in part["train"]], train.labels[part["train"]],
            [test.paths[i] for i in part["test"]], test.labels[part["test"]])


def _fold_pairs(model: nn.Module) -> list[tuple[nn.Module, str, nn.Conv2d, nn.modules.batchnorm._BatchNorm]]:
    """(parent, BN name, conv, BN) where a BN directly follows a conv among a module's children."""
    pairs = []
    for parent in model.modules():
        children = list(parent.named_children())
        for (_, conv), (name, bn) in zip(children, children[1:]):
            if (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats
                    and bn.num_features == conv.out_channels):
                pairs.append((parent, name, conv, bn))
    return pairs


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """An eval-mode copy of `module` with every batch norm that follows a convolution folded into its weights
    (a BN with an activation, as timm's BatchNormAct2d, leaves the activation); `module` itself when none does."""
    model = copy.deepcopy(module)
    pairs = _fold_pairs(model)
    if not pairs:
        return module
    with torch.no_grad():
        for parent, name, conv, bn in pairs:
            scale = (bn.weight if bn.affine else torch.ones_like(bn.running_var)) / torch.sqrt(bn.running_var + bn.eps)
            shift = bn.bias if bn.affine else torch.zeros_like(bn.running_mean)
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            conv.weight = nn.Parameter(conv.weight * scale.view(-1, 1, 1, 1), requires_grad=False)
            conv.bias = nn.Parameter((bias - bn.running_mean) * scale + shift, requires_grad=False)
            rest = [m for m in (getattr(bn, "drop", None), getattr(bn, "act", None)) if isinstance(m, nn.Module)]
            parent.set_submodule(name, nn.Sequential(*rest) if rest else nn.Identity())
    return model.eval()


def for_inference(module: nn.Module, input_size: int, device: torch.device, channels: int = 3) -> nn.Module:
    """`fold_batchnorm(module)` when it gives the same outputs to float rounding (checked on two random images:
    the fold relies on registration order following the data flow), else `module` unchanged."""
    folded = fold_batchnorm(module)
    if folded is module:
        return module
    x = torch.randn(2, channels, input_size, input_size, generator=torch.Generator().manual_seed(0)).to(device)
    with torch.inference_mode():
        expected, got = module(x).float(), folded(x).float()
    same = torch.allclose(got, expected, rtol=1e-4, atol=1e-4 * float(expected.abs().max()))
    return folded if same else module


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


def gray_images(paths: list, labels: np.ndarray, net: Network, workers: int) -> GrayImages:
    """Decode and resize the images once (in DataLoader workers) into a `GrayImages` for `net`."""
    raw = ImageFiles(paths, Preprocess(net.input_size, (0.0,), (1.0,), 1, net.interpolation))
    loader = DataLoader(raw, batch_size=64, num_workers=loader_workers(workers))
    pixels = torch.cat([(x[:, 0] * 255.0).round().to(torch.uint8) for x, _ in loader])
    return GrayImages(pixels, labels, net.mean, net.std)


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


def split_point(net: Network, trainable: int, device: torch.device) -> tuple[list, int, tuple] | None:
    """(chain, index of the first trainable module, shape of the input it receives) when the network is a plain
    pipeline of its modules ending in its classifier (checked on two random images); None otherwise."""
    if trainable < 1:
        raise ValueError(f"finetune_layers must be at least 1, got {trainable}")
    chain = module_chain(net.module)
    if not chain or chain[-1][0] != net.classifier or not isinstance(chain[-1][1], nn.Linear):
        return None
    learnable = [i for i, (_, m) in enumerate(chain[:-1]) if any(True for _ in m.parameters())]
    if len(learnable) < trainable or learnable[-trainable] == 0:
        return None
    start = learnable[-trainable]
    x = torch.randn(2, 3, net.input_size, net.input_size, generator=torch.Generator().manual_seed(0)).to(device)
    with torch.inference_mode():
        trunk = Pipeline([m for _, m in chain[:start]])(x)
        expected, got = net.module(x), Pipeline([m for _, m in chain[start:]])(trunk)
    if not torch.allclose(got, expected, rtol=1e-3, atol=1e-3 * float(expected.abs().max())):
        return None
    return chain, start, tuple(trunk.shape[1:])


def _tail(chain: list, start: int, num_classes: int) -> nn.Module:
    head = chain[-1][1]
    parts = [copy.deepcopy(m) for _, m in chain[start:-1]] + [nn.Linear(head.in_features, num_classes)]
    return Pipeline(parts).to(head.weight.device).requires_grad_(True).train()


def _trunk_dataset(net: Network, layer: str, shape: tuple, paths: list, labels: np.ndarray, device: torch.device,
                   batch_size: int, workers: int, amp: bool) -> InMemory:
    module = for_inference(net.module, net.input_size, device)
    flat = extract(module, {"x": layer}, ImageFiles(paths, rgb_preprocess(net)), device,
                   inference_batch(batch_size, device), loader_workers(workers), pool=False, amp=amp,
                   channels_last=True)["x"]
    return InMemory(torch.from_numpy(flat).reshape(len(flat), *shape), labels)


def fine_tune_tail(net: Network, scene15: Scene15, part: dict, trainable: int, config: TrainConfig,
                   device: torch.device, batch_size: int, workers: int, amp: bool) -> dict:
    """Train the last `trainable` learnable modules and a new last layer. When the network is a plain pipeline
    the frozen trunk runs once per image (its output cached); otherwise every step runs the whole network."""
    classes = len(scene15.classes)
    train_paths, train_y, test_paths, test_y = image_paths(scene15, part)
    split, start = split_point(net, trainable, device), time.perf_counter()
    if split is None:
        names = [n for n, m in net.module.named_modules() if n and not any(m.children())
                 and any(True for _ in m.parameters()) and n != net.classifier][-trainable:]
        run = fine_tune(net.module, net.classifier, names, classes, gray_images(train_paths, train_y, net, workers),
                        gray_images(test_paths, test_y, net, workers), config, device)
        return {"run": run, "trained": names, "cached_trunk": False, "seconds": time.perf_counter() - start}
    chain, index, shape = split
    args = (device, batch_size, workers, amp)
    train_ds = _trunk_dataset(net, chain[index - 1][0], shape, train_paths, train_y, *args)
    test_ds = _trunk_dataset(net, chain[index - 1][0], shape, test_paths, test_y, *args)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        tail = _tail(chain, index, classes)
    run = fit(tail, train_ds, test_ds, config, device)
    trained = [n for n, m in chain[index:-1] if any(True for _ in m.parameters())]
    return {"run": run, "trained": trained, "cached_trunk": True, "seconds": time.perf_counter() - start}
