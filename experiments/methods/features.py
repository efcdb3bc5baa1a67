"""Feature extraction from a frozen network: image files -> per-layer feature matrices.

One forward pass per batch yields every requested layer. The layers are read through a
torch.fx feature extractor (torchvision's ``create_feature_extractor``); when the model
cannot be traced (e.g. timm's ``Conv2dSame``), forward hooks are used instead. Either way
each captured output is reduced (global-average-pooled or flattened) into a fresh tensor
at the moment it is produced, so later in-place operations (``ReLU(inplace=True)``) cannot
alter it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision.models.feature_extraction import create_feature_extractor

from experiments.assets.pixels import to_gray
from reportgen.progress import progress

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Method = Literal["auto", "fx", "hooks"]
Capture = Callable[[torch.Tensor], dict[str, torch.Tensor]]


@dataclass(frozen=True)
class Preprocess:
    """Resize to ``size``x``size`` (no crop: the practical's method) with ``interpolation`` (the network's own,
    "bilinear" or "bicubic"), scale to [0, 1], normalize.

    ``channels=3`` replicates the gray image into RGB; ``channels=1`` keeps one channel (for a
    network whose first convolution was folded). ``mean``/``std`` hold one value per channel,
    or a single value applied to every channel.
    """

    size: int = 224
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    channels: int = 3
    interpolation: str = "bilinear"

    def __post_init__(self) -> None:
        if len(self.mean) != len(self.std) or len(self.mean) not in (1, self.channels):
            raise ValueError(
                f"mean/std need 1 or {self.channels} values, got {self.mean} / {self.std}; "
                "for channels=1 pass one value, e.g. mean=(0.0,), std=(1.0,) for raw gray")


class ImageFiles(Dataset):
    """Images read from ``paths`` as gray, preprocessed; item = (image tensor, label).

    The label is ``labels[i]`` (or -1 when no labels are given).
    """

    def __init__(self, paths: Sequence[Path], preprocess: Preprocess,
                 labels: np.ndarray | None = None) -> None:
        if labels is not None and len(labels) != len(paths):
            raise ValueError(f"{len(paths)} paths but {len(labels)} labels")
        self.paths = list(paths)
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        self.preprocess = preprocess
        self._mean = torch.tensor(preprocess.mean, dtype=torch.float32).view(-1, 1, 1)
        self._std = torch.tensor(preprocess.std, dtype=torch.float32).view(-1, 1, 1)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        size = self.preprocess.size
        with Image.open(self.paths[index]) as image:
            gray = to_gray(image).resize((size, size), Image.Resampling[self.preprocess.interpolation.upper()])
        x = torch.from_numpy(np.asarray(gray, dtype=np.float32) / 255.0)
        x = x.unsqueeze(0).expand(self.preprocess.channels, -1, -1)
        label = -1 if self.labels is None else int(self.labels[index])
        return (x - self._mean) / self._std, label


def reduce_output(output: torch.Tensor, pool: bool) -> torch.Tensor:
    """(N, C, H, W) -> (N, C) by global average when ``pool``; else flatten to (N, D).

    Always returns a new tensor (never a view of ``output``).
    """
    if pool and output.dim() == 4:
        return output.mean(dim=(2, 3))
    return output.flatten(1).clone()


def _fx_capture(model: nn.Module, names: Iterable[str], pool: bool) -> Capture:
    """A traced sub-network returning the reduced outputs of ``names`` (keyed by name)."""
    graph_module = create_feature_extractor(model, return_nodes={n: n for n in names})
    graph = graph_module.graph
    output = next(node for node in graph.nodes if node.op == "output")
    reduced = {}
    for name, node in output.args[0].items():
        with graph.inserting_after(node):  # reduce before any in-place user runs
            reduced[name] = graph.call_function(reduce_output, (node, pool))
    output.args = (reduced,)
    graph.lint()
    graph_module.recompile()
    return graph_module.eval()


class _AllCaptured(Exception):
    """Raised by the last needed hook to skip the rest of the forward pass."""


def _hooks_capture(model: nn.Module, names: Iterable[str], pool: bool) -> Capture:
    """Forward hooks on the modules ``names``; a module called twice keeps its first call."""
    wanted = list(dict.fromkeys(names))
    modules = {name: model.get_submodule(name) for name in wanted}

    def capture(x: torch.Tensor) -> dict[str, torch.Tensor]:
        found: dict[str, torch.Tensor] = {}

        def make_hook(name: str):
            def hook(_module, _inputs, output):
                if name not in found:
                    found[name] = reduce_output(output, pool)
                if len(found) == len(wanted):
                    raise _AllCaptured
            return hook

        handles = [m.register_forward_hook(make_hook(n)) for n, m in modules.items()]
        try:
            model(x)
        except _AllCaptured:
            pass
        finally:
            for handle in handles:
                handle.remove()
        missing = set(wanted) - set(found)
        if missing:
            raise RuntimeError(f"modules never called during forward: {sorted(missing)}")
        return found

    return capture


def make_capture(model: nn.Module, names: Iterable[str], pool: bool = True,
                 method: Method = "auto") -> Capture:
    """Capture function: input batch -> {name: reduced output}, one forward pass.

    ``method="auto"`` tries torch.fx tracing and falls back to forward hooks when tracing
    fails; "fx" and "hooks" force one path.
    """
    if model.training:
        raise ValueError("extract needs a model in eval mode (call model.eval())")
    names = list(dict.fromkeys(names))
    if method == "hooks":
        return _hooks_capture(model, names, pool)
    modes = [(module, module.training) for module in model.modules()]
    try:
        return _fx_capture(model, names, pool)
    except Exception:  # tracing errors come in many types (TraceError, TypeError, ...)
        if method == "fx":
            raise
        return _hooks_capture(model, names, pool)
    finally:  # a failed trace can leave modules in train mode
        for module, training in modes:
            module.train(training)


def _inputs(batch: torch.Tensor | Sequence) -> torch.Tensor:
    """The image tensor of a dataset item/batch: tensors pass, tuples give their first entry."""
    return batch if isinstance(batch, torch.Tensor) else batch[0]


def _to_numpy(layers: Mapping[str, str], parts: dict[str, list[torch.Tensor]]
              ) -> dict[str, np.ndarray]:
    """Concatenate per-batch outputs and key them by label (float32, CPU)."""
    joined = {name: torch.cat(chunks).float().cpu().numpy() for name, chunks in parts.items()}
    return {label: joined[name] for label, name in layers.items()}


def extract(model: nn.Module, layers: Mapping[str, str], dataset: Dataset,
            device: torch.device | str, batch_size: int = 64, workers: int = 2,
            pool: bool = True, amp: bool = False, channels_last: bool = False,
            amp_dtype: torch.dtype = torch.float16, method: Method = "auto"
            ) -> dict[str, np.ndarray]:
    """Features of every layer in ``layers`` (label -> module/node name) over ``dataset``.

    Returns {label: float32 array (N, D)}. The model must be in eval mode; it is moved to
    ``device`` (and to channels_last memory format when asked) in place, as ``Module.to``
    does on CUDA. On the CPU only the batches are made channels-last (the model is left as it is,
    since oneDNN reorders the weights itself): about twice the images per second of
    EfficientNet-Lite0 on 2 cores. ``amp`` only acts on CUDA; pinned memory and non-blocking
    copies are used only there.
    """
    device = torch.device(device)
    cuda = device.type == "cuda"
    model.to(device)
    if cuda and channels_last:
        model.to(memory_format=torch.channels_last)
    capture = make_capture(model, layers.values(), pool, method)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
                        pin_memory=cuda)
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in layers.values()}
    with torch.inference_mode(), torch.autocast("cuda", dtype=amp_dtype, enabled=cuda and amp):
        for batch in progress(loader, total=len(loader), desc=f"images, batches of {batch_size}", unit="batch"):
            x = _inputs(batch).to(device, non_blocking=cuda)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            for name, value in capture(x).items():
                parts[name].append(value)
    return _to_numpy(layers, parts)


def extract_naive(model: nn.Module, layers: Mapping[str, str], dataset: Dataset,
                  device: torch.device | str, pool: bool = True, method: Method = "auto"
                  ) -> dict[str, np.ndarray]:
    """The slow baseline of ``extract``: one image per forward pass, no loader workers, fp32."""
    device = torch.device(device)
    model.to(device)
    capture = make_capture(model, layers.values(), pool, method)
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in layers.values()}
    with torch.inference_mode():
        for index in progress(range(len(dataset)), desc="images", unit="img"):
            x = _inputs(dataset[index]).unsqueeze(0).to(device)
            for name, value in capture(x).items():
                parts[name].append(value.cpu())
    return _to_numpy(layers, parts)
