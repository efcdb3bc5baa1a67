"""1.1 Q3–Q4: the transfer network's predictions, the role of normalization and of eval mode, conv1's maps."""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor, nn

from experiments.assets.imagenet import ImageSet, network_view
from experiments.assets.networks import Network
from experiments.figures import FONT, WIDTH, Panel, clip, image_grid
from experiments.methods.grayscale import first_rgb_conv
from experiments.methods.transforms import normalize
from experiments.network_names import short_name
from experiments.results.ch1 import (
    Conv1Maps,
    EvalModeEffect,
    InputVariant,
    NormalizationEffect,
    PassStatistics,
    Predictions,
    ShownImage,
    TopClass,
    ValidationRow,
)
from experiments.settings import Count, Fraction, Seed
from reportgen import experiment

TOP = 5


def pixels(images: np.ndarray, size: int, device: torch.device) -> Tensor:
    """uint8 (N, H, W, 3) → float (N, 3, size, size) in [0, 1] on `device` (resized when needed)."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
    return x


def network_input(net: Network, images: np.ndarray, device: torch.device) -> Tensor:
    """uint8 (N, H, W, 3) → the network's normalized input (N, 3, S, S)."""
    return normalize(pixels(images, net.input_size, device), net.mean, net.std)


def view(images: ImageSet, net: Network) -> np.ndarray:
    """uint8 (N, S, S, 3): the images prepared from their originals as the network's own evaluation transform does
    (its input size, interpolation and crop)."""
    return network_view(images, net.input_size, net.crop_fraction, net.interpolation)


def shown_first(labels: np.ndarray, probs: Tensor, limit: int) -> list[int]:
    """Which images a figure shows, at most `limit`: the labelled ones the network gets wrong first, then the others,
    each group in the set's order."""
    wrong = [i for i, y in enumerate(labels) if y >= 0 and int(probs[i].argmax()) != y]
    return (wrong + [i for i in range(len(labels)) if i not in set(wrong)])[:limit]


def probabilities(module: nn.Module, x: Tensor, chunk: int = 16) -> Tensor:
    """Softmax of the network's scores (N, K), float32 on the CPU, in chunks of `chunk` images."""
    with torch.inference_mode():
        return torch.cat([module(x[i:i + chunk]).float().softmax(-1).cpu() for i in range(0, len(x), chunk)])


def topk_accuracy(probs: Tensor, labels: np.ndarray, k: int) -> float | None:
    """Fraction of the labelled images whose class is among the `k` most probable; None when none is labelled."""
    known = torch.as_tensor(labels) >= 0
    if not bool(known.any()):
        return None
    top = probs[known].topk(k, dim=-1).indices
    return float((top == torch.as_tensor(labels)[known].unsqueeze(1)).any(1).float().mean())


def top_classes(net: Network, probs: Tensor, k: int = TOP) -> list[list[TopClass]]:
    values, indices = probs.topk(k, dim=-1)
    return [[TopClass(short_name(net, int(i)), int(i), float(p)) for p, i in zip(pv, iv)]
            for pv, iv in zip(values, indices)]


def top5_figure(images: np.ndarray, titles: list[str], tops: list[list[TopClass]], labels: np.ndarray) -> Figure:
    """Per image: the picture, and a bar chart of its five most probable classes (the true one in green)."""
    fig = Figure(figsize=(WIDTH, 1.3 * len(images) + 0.3))
    axes = fig.subplots(len(images), 2, squeeze=False, gridspec_kw={"width_ratios": [1, 2.8]})
    for (image_ax, bar_ax), image, title, top, label in zip(axes, images, titles, tops, labels):
        image_ax.imshow(image)
        image_ax.set_axis_off()
        image_ax.set_title(clip(title, 24), fontsize=FONT, pad=2)
        names = [clip(t.name, 26) for t in top][::-1]
        probs = [t.probability for t in top][::-1]
        colours = ["tab:green" if t.index == label else "tab:blue" for t in top][::-1]
        bar_ax.barh(range(len(top)), probs, color=colours)
        bar_ax.set_yticks(range(len(top)), names, fontsize=FONT)
        bar_ax.set_xlim(0, 1)
        bar_ax.tick_params(axis="x", labelsize=FONT, labelbottom=bar_ax is axes[-1][1])
        for y, p in enumerate(probs):
            inside = p > 0.85
            bar_ax.text(p - 0.01 if inside else p + 0.01, y, f"{p:.1%}", va="center", fontsize=FONT,
                        ha="right" if inside else "left", color="white" if inside else "black")
    axes[-1][1].set_xlabel("probability (softmax)", fontsize=FONT)
    fig.tight_layout()
    return fig


def _val_rows(net: Network, probs: Tensor, labels: np.ndarray) -> list[ValidationRow]:
    top5 = probs.topk(TOP, dim=-1).indices
    return [ValidationRow(short_name(net, int(label)), short_name(net, int(top[0])), float(p[top[0]]),
                          bool(top[0] == label), bool(label in top.tolist()))
            for p, top, label in zip(probs, top5, labels)]


def _errors_figure(images: np.ndarray, rows: list[ValidationRow], limit: int = 10) -> Figure | None:
    wrong = [i for i, r in enumerate(rows) if not r.correct][:limit]
    if not wrong:
        return None
    panels = [Panel(images[i], f"{clip(rows[i].true, 15)}\n→ {clip(rows[i].predicted, 13)} "
                               f"{rows[i].probability:.0%}") for i in wrong]
    return image_grid(panels, 5)


@experiment
def predictions(transfer_net: Network, images: ImageSet, imagenet_val: ImageSet, device: torch.device,
                shown: Count = 12) -> Predictions:
    """Top-5 classes of our images (the figure shows at most `shown`, errors first; the accuracy covers them all),
    and top-1 / top-5 accuracy on the labelled validation images."""
    probs = probabilities(transfer_net.module, network_input(transfer_net, view(images, transfer_net), device))
    picked = shown_first(images.labels, probs, shown)
    tops = top_classes(transfer_net, probs[picked])
    labels = images.labels[picked]
    titles = [short_name(transfer_net, int(y)) if y >= 0 else images.names[i] for i, y in zip(picked, labels)]
    val_input = network_input(transfer_net, view(imagenet_val, transfer_net), device)
    val_probs = probabilities(transfer_net.module, val_input)
    rows = _val_rows(transfer_net, val_probs, imagenet_val.labels)
    return Predictions(
        network=transfer_net.describe(), source=images.source, classes=int(probs.shape[1]),
        image_count=len(images.labels), shown_subset=len(picked) < len(images.labels),
        images=[ShownImage(t, bool(y >= 0), top) for t, y, top in zip(titles, labels, tops)],
        figure=top5_figure(images.images[picked], titles, tops, labels),
        images_top1=topk_accuracy(probs, images.labels, 1), images_top5=topk_accuracy(probs, images.labels, TOP),
        val_source=imagenet_val.source, val_images=len(rows),
        top1=topk_accuracy(val_probs, imagenet_val.labels, 1),
        top5=topk_accuracy(val_probs, imagenet_val.labels, TOP),
        val_rows=rows, val_errors=sum(not r.correct for r in rows),
        errors_figure=_errors_figure(imagenet_val.images, rows),
    )


VARIANTS = (
    ("normalized", "normalized with the training mean and std"),
    ("unit", "pixels in [0, 1], not normalized"),
    ("raw", "pixels in [0, 255], not normalized"),
)


def variant_input(net: Network, unit: Tensor, variant: str) -> Tensor:
    """The network's input for `variant` from pixels in [0, 1]."""
    if variant == "normalized":
        return normalize(unit, net.mean, net.std)
    return unit * 255.0 if variant == "raw" else unit


@experiment
def normalization_effect(transfer_net: Network, imagenet_val: ImageSet, images: ImageSet, device: torch.device
                         ) -> NormalizationEffect:
    """Predictions with and without the input normalization the network was trained with."""
    size = transfer_net.input_size
    val_unit = pixels(view(imagenet_val, transfer_net), size, device)
    own_unit = pixels(view(images, transfer_net), size, device)
    results, reference = [], None
    for key, text in VARIANTS:
        x = variant_input(transfer_net, val_unit, key)
        probs = probabilities(transfer_net.module, x)
        top1 = probs.argmax(-1)
        reference = top1 if reference is None else reference
        own = probabilities(transfer_net.module, variant_input(transfer_net, own_unit, key))
        results.append(InputVariant(
            variant=key, text=text, min=float(x.min()), max=float(x.max()),
            top1=topk_accuracy(probs, imagenet_val.labels, 1), top5=topk_accuracy(probs, imagenet_val.labels, TOP),
            confidence=float(probs.max(-1).values.mean()), agreement=float((top1 == reference).float().mean()),
            images=[t[0] for t in top_classes(transfer_net, own, 1)],
        ))
    by = {r.variant: r for r in results}
    return NormalizationEffect(
        network=transfer_net.describe(), variants=results, names=list(images.names),
        mean=list(transfer_net.mean), std=list(transfer_net.std),
        normalized_top1=by["normalized"].top1, unnormalized_top1=by["unit"].top1,
        raw_top1=by["raw"].top1, agreement_unnormalized=by["unit"].agreement,
        agreement_raw=by["raw"].agreement, val_images=len(imagenet_val.labels),
    )


def dropout_layers(module: nn.Module) -> int:
    """Layers that drop activations at random in train mode (Dropout, DropPath, a model-level drop rate)."""
    found = sum(1 for m in module.modules() if "drop" in type(m).__name__.lower()
                and float(getattr(m, "p", 0) or getattr(m, "drop_prob", 0) or 0) > 0)
    return found + int(float(getattr(module, "drop_rate", 0) or 0) > 0)


def batchnorm_layers(module: nn.Module) -> int:
    return sum(1 for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))


def train_copy(module: nn.Module, batchnorm_eval: bool) -> nn.Module:
    """A copy of `module` in train mode (the original keeps its running statistics); optionally with its
    batch-norm layers left in eval mode, so that only dropout acts."""
    model = copy.deepcopy(module).train()
    if batchnorm_eval:
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
    return model


def _passes(model: nn.Module, x: Tensor, passes: int, batch: int, seed: int) -> Tensor:
    """(passes, N, K) probabilities; each pass shuffles the images into batches of `batch` (in train mode batch
    norm normalizes with the statistics of the batch an image falls in), with torch's RNG seeded (dropout)."""
    devices = [x.device.index or 0] if x.device.type == "cuda" else []
    generator = torch.Generator().manual_seed(seed)
    runs = []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        for _ in range(passes):
            parts = torch.randperm(len(x), generator=generator).split(batch)
            outs = [probabilities(model, x[part.to(x.device)], chunk=len(part)) for part in parts]
            probs = torch.empty(len(x), outs[0].shape[1])
            for part, out in zip(parts, outs):
                probs[part] = out
            runs.append(probs)
    return torch.stack(runs)


def picked_class(runs: Tensor, reference: Tensor) -> Tensor:
    """(P, N): each pass's probability of the class that eval mode predicts."""
    return runs[:, torch.arange(runs.shape[1]), reference.argmax(-1)]


def pass_statistics(runs: Tensor, reference: Tensor, labels: np.ndarray) -> PassStatistics:
    """How much repeated passes (P, N, K) move away from the eval-mode probabilities (N, K)."""
    top1, ref_top1 = runs.argmax(-1), reference.argmax(-1)
    picked = picked_class(runs, reference)
    accuracy = [topk_accuracy(r, labels, 1) for r in runs]
    return PassStatistics(
        changed=float((top1 != ref_top1).any(0).float().mean()),
        unstable=float((top1 != top1[0]).any(0).float().mean()),
        probability_std=float(picked.std(0).mean()) if len(runs) > 1 else 0.0,
        probability_shift=float((picked - reference.max(-1).values).abs().mean()),
        max_difference=float((runs - runs[0]).abs().max()),
        accuracy=accuracy, accuracy_min=min(accuracy) if None not in accuracy else None,  # type: ignore[type-var]
        accuracy_max=max(accuracy) if None not in accuracy else None,  # type: ignore[type-var]
    )


def _passes_figure(modes: dict[str, Tensor], reference: Tensor, titles: dict) -> Figure:
    fig = Figure(figsize=(WIDTH, 1.9 * len(modes) + 0.3))
    axes = fig.subplots(len(modes), 1, squeeze=False)[:, 0]
    ref = reference.max(-1).values.numpy()
    for ax, (key, runs) in zip(axes, modes.items()):
        picked, xs = picked_class(runs, reference).numpy(), np.arange(len(ref))
        for run in picked:
            ax.scatter(xs, run, s=10, color="tab:orange", alpha=0.7)
        ax.scatter(xs, ref, marker="_", s=120, color="black", label="eval mode")
        ax.scatter([], [], s=10, color="tab:orange", label=f"{titles[key]}, {len(picked)} passes")
        ax.set_ylim(-0.03, 1.03)
        ax.set_ylabel("probability of the\neval-mode class", fontsize=FONT)
        ax.tick_params(labelsize=FONT)
        ax.set_xticks(xs)
        ax.legend(fontsize=FONT, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    axes[-1].set_xlabel("validation image", fontsize=FONT)
    fig.tight_layout()
    return fig


@experiment
def eval_mode_effect(transfer_net: Network, imagenet_val: ImageSet, device: torch.device, passes: Count = 5,
                     max_images: Count = 12, batch: Count = 4, seed: Seed = 0) -> EvalModeEffect:
    """Repeated predictions in train mode against eval mode: what dropout (and batch statistics) do."""
    module, labels = transfer_net.module, imagenet_val.labels[:max_images]
    x = network_input(transfer_net, view(imagenet_val, transfer_net)[:max_images], device)
    reference = probabilities(module, x, chunk=len(x))
    repeat = probabilities(module, x, chunk=len(x))
    batchnorm, dropout = batchnorm_layers(module), dropout_layers(module)
    modes = {"train": _passes(train_copy(module, False), x, passes, batch, seed)}
    if batchnorm and dropout:
        modes["dropout_only"] = _passes(train_copy(module, True), x, passes, batch, seed)
    stats = {key: pass_statistics(runs, reference, labels) for key, runs in modes.items()}
    titles = {"train": "train mode", "dropout_only": "train mode, batch norm in eval mode"}
    return EvalModeEffect(
        network=transfer_net.describe(), images=len(x), passes=passes, batch=batch,
        dropout_layers=dropout, batchnorm_layers=batchnorm,
        eval_max_difference=float((reference - repeat).abs().max()),
        eval_accuracy=topk_accuracy(reference, labels, 1), train=stats["train"], dropout_only=stats.get("dropout_only"),
        figure=_passes_figure(modes, reference, titles), train_changed=stats["train"].changed,
    )


def _filter_image(weight: Tensor) -> np.ndarray:
    """A (3, k, k) filter as an RGB picture, its own range stretched to [0, 1]."""
    w = weight.permute(1, 2, 0)
    return ((w - w.min()) / (w.max() - w.min()).clamp_min(1e-12)).numpy()


def _map_image(activation: Tensor) -> np.ndarray:
    a = activation
    return ((a - a.min()) / (a.max() - a.min()).clamp_min(1e-12)).numpy()


def colour_share(weight: Tensor) -> Tensor:
    """Per filter (C, 3, k, k): the norm of the part that differs between input channels over the filter's norm
    (0: the same weights on R, G and B, a luminance filter)."""
    chromatic = (weight - weight.mean(1, keepdim=True)).flatten(1).norm(dim=1)
    return chromatic / weight.flatten(1).norm(dim=1).clamp_min(1e-12)


def first_conv_output(module: nn.Module, name: str, x: Tensor) -> Tensor:
    """The output of submodule `name` for the batch `x` (N, C, H, W), via a forward hook."""
    found: list[Tensor] = []
    handle = module.get_submodule(name).register_forward_hook(lambda _m, _i, out: found.append(out.detach().clone()))
    try:
        with torch.inference_mode():
            module(x)
    finally:
        handle.remove()
    return found[0].float().cpu()


@experiment
def conv1_maps(transfer_net: Network, images: ImageSet, device: torch.device, count: Count = 2,
               colour_threshold: Fraction = 0.5) -> Conv1Maps:
    """The first convolution's filters and its activation maps (its output, before the activation) for images."""
    module = transfer_net.module
    name = first_rgb_conv(module)
    conv = module.get_submodule(name)
    weight = conv.weight.detach().float().cpu()
    chroma = colour_share(weight)
    x = network_input(transfer_net, view(images, transfer_net)[:count], device)
    maps = first_conv_output(module, name, x)
    columns = 16 if len(weight) > 32 else 8
    filters = image_grid([Panel(_filter_image(w), str(i)) for i, w in enumerate(weight)], columns)
    figures, strongest = [], []
    for image, fmaps, title in zip(images.images[:count], maps, images.names):
        panels = [Panel(image.astype(np.float32) / 255.0, clip(title, 14))]
        panels += [Panel(_map_image(m), str(i), "gray") for i, m in enumerate(fmaps)]
        figures.append(image_grid(panels, 10))
        strongest.append([int(i) for i in fmaps.clamp_min(0).mean((1, 2)).argsort(descending=True)[:3]])
    return Conv1Maps(
        network=transfer_net.describe(), conv=name, filters=int(weight.shape[0]),
        kernel=list(weight.shape[2:]), stride=list(conv.stride), in_channels=int(weight.shape[1]),
        map_size=list(maps.shape[2:]), input_size=transfer_net.input_size, images=len(figures),
        names=list(images.names[:count]), colour_filters=int((chroma >= colour_threshold).sum()),
        luminance_filters=int((chroma < colour_threshold).sum()),
        colour_threshold=colour_threshold, chroma=chroma.numpy(),
        dead_maps=int((maps.amax(dim=(0, 2, 3)) <= 0).sum()), strongest=strongest,
        filters_figure=filters, maps_figures=figures,
    )
