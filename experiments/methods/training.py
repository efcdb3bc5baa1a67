"""The network as the classifier: a new last layer on frozen features, fine-tuning, and
training from random initialization, all through one bounded training loop.

Every run is seeded without touching the caller's global RNG state (``torch.random.fork_rng``
plus a seeded ``torch.Generator`` for shuffling), and stops after ``epochs`` or
``max_seconds`` of training, whichever comes first (at least one optimizer step is taken).
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from reportgen.progress import progress


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters; ``max_seconds=None`` means no time limit. ``amp`` (bf16
    autocast) and ``channels_last`` (the model and its image batches in NHWC layout) apply on
    CUDA only; ``workers`` are DataLoader worker processes (unused for an ``InMemory`` set)."""

    epochs: int = 5
    lr: float = 1e-3
    batch_size: int = 32
    weight_decay: float = 0.0
    max_seconds: float | None = 60.0
    seed: int = 0
    optimizer: Literal["adam", "sgd"] = "adam"
    momentum: float = 0.9
    workers: int = 0
    amp: bool = False
    channels_last: bool = True
    track_test: bool = False  # test accuracy after every epoch (its time does not count against max_seconds)


@dataclass(frozen=True)
class TrainResult:
    """Outcome of a run. ``history`` has one (mean loss, running accuracy) per epoch started
    (the last one partial when ``stopped_by_time``); ``train_accuracy`` is measured after
    training in eval mode; ``seconds`` is the training-loop time (evaluation excluded)."""

    test_accuracy: float
    train_accuracy: float
    epochs_run: int
    seconds: float
    history: tuple[tuple[float, float], ...]
    stopped_by_time: bool
    test_history: tuple[float, ...] = ()  # with ``track_test``: test accuracy after each epoch


@dataclass(frozen=True)
class _LoopOutcome:
    history: tuple[tuple[float, float], ...]
    seconds: float
    stopped_by_time: bool
    tests: tuple[float, ...] = ()


@contextlib.contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Run the block with torch RNGs seeded, restoring the caller's RNG state afterwards."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class InMemory(Dataset):
    """Items held as tensors: stored inputs ``x`` (N, ...) and labels ``y`` (N,). ``prepare``
    turns a batch of stored inputs into the model's inputs on whichever device they are (here
    unchanged; subclasses decode, e.g. uint8 pixels to normalized floats). Training moves the
    whole set to its device once and takes batches by indexing: no DataLoader, collation or
    host-to-device copy per batch."""

    def __init__(self, x: torch.Tensor, y: np.ndarray | torch.Tensor) -> None:
        self.x, self.y = torch.as_tensor(x), torch.as_tensor(y, dtype=torch.long)

    def prepare(self, batch: torch.Tensor) -> torch.Tensor:
        return batch

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.prepare(self.x[index:index + 1])[0], self.y[index]

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.prepare(self.x[indices]), self.y[indices]

    def to(self, device: torch.device) -> InMemory:
        """This set with its tensors on ``device`` (itself when they already are)."""
        if self.x.device == device and self.y.device == device:
            return self
        moved = copy.copy(self)
        moved.x, moved.y = self.x.to(device), self.y.to(device)
        return moved


class _Batches:
    """Batches of an ``InMemory`` set on ``device`` in the order that a shuffling DataLoader with
    the same seeded generator gives: each epoch makes its draws (a worker seed, the permutation
    used, and the sampler's empty tail permutation), so a run is the same either way."""

    def __init__(self, data: InMemory, batch_size: int, shuffle: bool, seed: int,
                 device: torch.device) -> None:
        self.data, self.batch_size, self.shuffle = data.to(device), batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.data)
        if self.shuffle:
            torch.empty((), dtype=torch.int64).random_(generator=self.generator)
            order = torch.randperm(n, generator=self.generator)
            torch.randperm(n, generator=self.generator)
        else:
            order = torch.arange(n)
        order = order.to(self.data.x.device)
        for start in range(0, n, self.batch_size):
            yield self.data.batch(order[start:start + self.batch_size])


def _loader(dataset: Dataset, config: TrainConfig, device: torch.device, shuffle: bool
            ) -> DataLoader | _Batches:
    if isinstance(dataset, InMemory):
        return _Batches(dataset, config.batch_size, shuffle, config.seed, device)
    generator = torch.Generator().manual_seed(config.seed)
    return DataLoader(dataset, batch_size=config.batch_size, shuffle=shuffle,
                      num_workers=config.workers, pin_memory=device.type == "cuda",
                      generator=generator)


def _optimizer(params: Sequence[nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


def _autocast(device: torch.device, config: TrainConfig) -> torch.autocast:
    return torch.autocast("cuda", dtype=torch.bfloat16,
                          enabled=device.type == "cuda" and config.amp)


def _channels_last(device: torch.device, config: TrainConfig) -> bool:
    return device.type == "cuda" and config.channels_last


def _inputs(x: torch.Tensor, device: torch.device, config: TrainConfig) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 and _channels_last(
        device, config) else x


def _train_loop(model: nn.Module, loader: DataLoader | _Batches, config: TrainConfig,
                device: torch.device, after_epoch: Callable[[], float] | None = None) -> _LoopOutcome:
    """Cross-entropy training of the parameters of ``model`` that require grad; module
    train/eval modes are the caller's. Checks the time budget before every step but the
    first, so the last step of the last epoch never counts as stopped by time. ``after_epoch``
    (a test evaluation) runs after each epoch, outside the time budget."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer, limit = _optimizer(params, config), config.max_seconds
    start, steps, history, stopped, tests = time.perf_counter(), 0, [], False, []
    for _epoch in progress(range(config.epochs), desc="training", unit="epoch"):
        loss_sum = torch.zeros((), device=device)
        correct, seen = torch.zeros((), device=device, dtype=torch.long), 0
        for x, y in loader:
            if steps and limit is not None and time.perf_counter() - start >= limit:
                stopped = True
                break
            x, y = _inputs(x, device, config), y.to(device, non_blocking=True)
            with _autocast(device, config):
                logits = model(x)
            loss = nn.functional.cross_entropy(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(y)
            correct += (logits.argmax(1) == y).sum()
            seen, steps = seen + len(y), steps + 1
        if seen:
            history.append((loss_sum.item() / seen, correct.item() / seen))
            if after_epoch is not None:
                evaluated = time.perf_counter()
                tests.append(after_epoch())
                start += time.perf_counter() - evaluated  # not training time
        if stopped:
            break
    return _LoopOutcome(tuple(history), time.perf_counter() - start, stopped, tuple(tests))


def accuracy(model: nn.Module, loader: DataLoader | _Batches, device: torch.device,
             config: TrainConfig) -> float:
    """Fraction of correct argmax predictions of ``model`` (put in eval mode) over ``loader``."""
    model.eval()
    correct, seen = 0, 0
    with torch.inference_mode(), _autocast(device, config):
        for x, y in loader:
            predictions = model(_inputs(x, device, config)).argmax(1)
            correct += (predictions == y.to(device)).sum()
            seen += len(y)
    return int(correct) / max(seen, 1)


def fit(model: nn.Module, train_ds: Dataset, test_ds: Dataset, config: TrainConfig,
        device: torch.device | str) -> TrainResult:
    """Train ``model`` IN PLACE (its parameters that require grad, module modes as set by
    the caller) with the shared loop, then evaluate it on train and test in eval mode.
    ``model`` must already be on ``device`` (put in channels-last layout here when that applies);
    dataset items are (input, label)."""
    device = torch.device(device)
    if _channels_last(device, config):
        model.to(memory_format=torch.channels_last)
    test_loader = _loader(test_ds, config, device, False)
    track = (lambda: _accuracy_keeping_modes(model, test_loader, device, config)) if config.track_test else None
    with _seeded(config.seed, device):
        outcome = _train_loop(model, _loader(train_ds, config, device, shuffle=True), config,
                              device, track)
    return TrainResult(
        test_accuracy=accuracy(model, test_loader, device, config),
        train_accuracy=accuracy(model, _loader(train_ds, config, device, False), device,
                                config),
        epochs_run=len(outcome.history), seconds=outcome.seconds,
        history=outcome.history, stopped_by_time=outcome.stopped_by_time, test_history=outcome.tests)


def _accuracy_keeping_modes(model: nn.Module, loader: DataLoader | _Batches, device: torch.device,
                            config: TrainConfig) -> float:
    """``accuracy`` in the middle of training: every module gets its train/eval mode back afterwards."""
    modes = [(module, module.training) for module in model.modules()]
    try:
        return accuracy(model, loader, device, config)
    finally:
        for module, training in modes:
            module.train(training)


def _tensors(x: np.ndarray, y: np.ndarray) -> InMemory:
    return InMemory(torch.as_tensor(x, dtype=torch.float32), y)


def train_linear_head(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
                      test_y: np.ndarray, num_classes: int, config: TrainConfig,
                      device: torch.device | str) -> TrainResult:
    """A new ``nn.Linear(D, num_classes)`` trained with cross-entropy on frozen features."""
    device = torch.device(device)
    with _seeded(config.seed, device):
        head = nn.Linear(train_x.shape[1], num_classes).to(device).train()
    return fit(head, _tensors(train_x, train_y), _tensors(test_x, test_y), config, device)


def _matches(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def prepare_fine_tune(model: nn.Module, head_module_name: str, trainable: Sequence[str],
                      num_classes: int) -> nn.Module:
    """Deep copy of ``model`` with a new ``num_classes`` head (a fresh ``nn.Linear`` in place
    of ``head_module_name``), only the head and the modules named in ``trainable`` requiring
    grad and in train mode; everything else frozen and in eval mode (dropout off, batch-norm
    statistics untouched). Uses the global RNG for the head's init (seed it around the call).
    """
    tuned = copy.deepcopy(model)
    old_head = tuned.get_submodule(head_module_name)
    if not isinstance(old_head, nn.Linear):
        raise TypeError(f"{head_module_name!r} is {type(old_head).__name__}, not nn.Linear")
    head = nn.Linear(old_head.in_features, num_classes).to(old_head.weight.device)
    tuned.set_submodule(head_module_name, head)
    names = [head_module_name, *trainable]
    tuned.eval()
    for name in names:
        tuned.get_submodule(name).train()  # also validates the names
    for name, param in tuned.named_parameters():
        param.requires_grad_(_matches(name, names))
    return tuned


def fine_tune(model: nn.Module, head_module_name: str, trainable: Sequence[str],
              num_classes: int, train_ds: Dataset, test_ds: Dataset, config: TrainConfig,
              device: torch.device | str) -> TrainResult:
    """Train a new last layer plus the modules named in ``trainable`` (module names, e.g.
    ``["classifier.3"]``); ``model`` itself is left untouched. Items are (image, label)."""
    device = torch.device(device)
    with _seeded(config.seed, device):
        tuned = prepare_fine_tune(model, head_module_name, trainable, num_classes).to(device)
    return fit(tuned, train_ds, test_ds, config, device)


def train_from_scratch(model_factory: Callable[..., nn.Module], num_classes: int,
                       train_ds: Dataset, test_ds: Dataset, config: TrainConfig,
                       device: torch.device | str) -> TrainResult:
    """Train ``model_factory(num_classes=num_classes)`` from its random init, every
    parameter trainable, bounded by ``config.epochs`` and ``config.max_seconds``."""
    device = torch.device(device)
    with _seeded(config.seed, device):
        model = model_factory(num_classes=num_classes).to(device).train().requires_grad_(True)
    return fit(model, train_ds, test_ds, config, device)
