"""2.3 Q8: which regularizer makes the class images recognizable — each one alone, and total variation added,
measured like the report's regularized images (second network's recognition, high-frequency share) on the same
classes, with everything else as in `class_images_regularized`."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from experiments.assets.networks import Network
from experiments.ch2_common import fast
from experiments.ch2_featvis import measures, rows_figure
from experiments.methods.featvis import FeatureVisConfig, generate
from experiments.network_names import short_name
from experiments.results.ch2 import ClassImagesRegularized, RegularizerAblation, SetMeans, SetMeasures
from experiments.settings import Count, Positive
from reportgen import experiment

VARIANTS = ("transforms_only", "fourier_only", "with_tv")  # the fields of RegularizerAblation, in the figure's rows


def variant_configs(base: FeatureVisConfig, tv_weight: float) -> dict[str, FeatureVisConfig]:
    """The report's configuration with one regularizer removed, or total variation added."""
    return {"transforms_only": replace(base, fourier=False),
            "fourier_only": replace(base, max_scale=0.0, max_rotation=0.0),
            "with_tv": replace(base, tv_weight=tv_weight)}


def _means(measured: SetMeasures, n: int) -> SetMeans:
    """A set's measures over its first `n` images (the classes the ablation regenerates)."""
    per = measured.per_image
    return SetMeans(*(float(np.mean(getattr(per, key)[:n]))
                      for key in ("probability", "other_top1", "other_top5", "high_frequency")))


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


@experiment
def regularizer_ablation(visualize_net: Network, compare_net: Network,
                         class_images_regularized: ClassImagesRegularized, device: torch.device, classes: Count = 4,
                         tv_weight: Positive = 10.0) -> RegularizerAblation:
    """The first `classes` classes of 2.Q8 generated with each regularizer alone and with total variation added."""
    g = class_images_regularized
    visualize_net, compare_net = fast(visualize_net, device), fast(compare_net, device)  # see ch2_common.fast
    n = min(classes, len(g.targets))
    targets = torch.as_tensor(g.targets[:n], dtype=torch.long)
    base = FeatureVisConfig(g.steps, g.lr, g.fourier, g.decay, g.tv_weight, g.max_scale, g.max_rotation, g.max_shift)
    images = _generate_all(visualize_net, targets, variant_configs(base, tv_weight), g.seed, device)
    measured = {key: measures(pixels, visualize_net, compare_net, targets, g.high_frequency_cutoff)
                for key, pixels in images.items()}
    names = [short_name(visualize_net, int(t)) for t in targets]
    return RegularizerAblation(
        classes=names, count=n, of=len(g.targets), one_image=1 / n, tv_weight=tv_weight,
        practical=_means(g.practical, n), regularized=_means(g.regularized, n),
        **{key: _means(measured[key], n) for key in VARIANTS},
        figure=rows_figure([(key.replace("_", " "), images[key], measured[key]) for key in VARIANTS], names))
