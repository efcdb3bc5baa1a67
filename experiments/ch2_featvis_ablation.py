"""2.3 Q8: which regularizer makes the class images recognizable — each one alone, and total variation added,
measured like the report's regularized images (second network's recognition, high-frequency share) on the same
classes, with everything else as in `class_images_regularized`."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from experiments.assets.networks import Network
from experiments.ch2_featvis import measures
from experiments.figures import Panel, clip, image_grid
from experiments.methods.featvis import FeatureVisConfig, generate
from experiments.network_names import short_name
from experiments.settings import Count, Positive
from reportgen import experiment

# (key, what the variant keeps of the report's regularized generation)
VARIANTS = (("transforms_only", "pixels (no Fourier), random scale, rotation and shift"),
            ("fourier_only", "Fourier parameterization, shift only (no scale or rotation)"),
            ("with_tv", "both, plus a total-variation penalty"))


def variant_configs(base: FeatureVisConfig, tv_weight: float) -> dict[str, FeatureVisConfig]:
    """The report's configuration with one regularizer removed, or total variation added."""
    return {"transforms_only": replace(base, fourier=False),
            "fourier_only": replace(base, max_scale=0.0, max_rotation=0.0),
            "with_tv": replace(base, tv_weight=tv_weight)}


def _subset(measured: dict, n: int) -> dict:
    """A set's measures restricted to its first `n` images (the classes the ablation regenerates)."""
    per = measured["per_image"]
    keys = ("probability", "other_top1", "other_top5", "high_frequency")
    return {key: float(np.mean(per[key][:n])) for key in keys}


def _generate_all(net: Network, targets: torch.Tensor, configs: dict[str, FeatureVisConfig], seed: int,
                  device: torch.device) -> dict[str, torch.Tensor]:
    """Each variant's images (N, 3, H, W) in [0, 1] on the CPU, each from the same seed."""
    images = {}
    for key, config in configs.items():
        generator = torch.Generator(device="cpu").manual_seed(seed)
        pixels, _ = generate(net.module, targets.to(device), config, net.input_size, net.mean, net.std, generator,
                             device)
        images[key] = pixels.cpu()
    return images


def _figure(images: dict[str, torch.Tensor], measured: dict, names: list[str], compare: Network):
    panels = []
    for key, _ in VARIANTS:
        for i, image in enumerate(images[key].permute(0, 2, 3, 1).numpy()):
            other = short_name(compare, int(measured[key]["per_image"]["other_predicted"][i]))
            panels.append(Panel(image, f"{key.replace('_', ' ')}\n2nd: {clip(other, 13)}"))
    return image_grid(panels, len(names), [clip(n, 12) for n in names])


@experiment
def regularizer_ablation(visualize_net: Network, compare_net: Network, class_images_regularized: dict,
                         device: torch.device, classes: Count = 4, tv_weight: Positive = 10.0) -> dict:
    """The first `classes` classes of 2.Q8 generated with each regularizer alone and with total variation added."""
    g = class_images_regularized
    n = min(classes, len(g["targets"]))
    targets = torch.as_tensor(g["targets"][:n], dtype=torch.long)
    base = FeatureVisConfig(g["steps"], g["lr"], g["fourier"], g["decay"], g["tv_weight"], g["max_scale"],
                            g["max_rotation"], g["max_shift"])
    images = _generate_all(visualize_net, targets, variant_configs(base, tv_weight), g["seed"], device)
    cutoff = g["high_frequency_cutoff"]
    measured = {key: measures(pixels, visualize_net, compare_net, targets, cutoff) for key, pixels in images.items()}
    names = [short_name(visualize_net, int(t)) for t in targets]
    rows = {"practical": _subset(g["practical"], n), "regularized": _subset(g["regularized"], n)}
    rows.update({key: {k: v for k, v in m.items() if k != "per_image"} for key, m in measured.items()})
    return {"classes": names, "count": n, "of": len(g["targets"]), "one_image": 1 / n, "tv_weight": tv_weight,
            "variants": [{"key": key, "label": label} for key, label in VARIANTS], "rows": rows,
            "figure": _figure(images, measured, names, compare_net)}
