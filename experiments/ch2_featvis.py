"""2.3 Q8: class images a person can recognize — the practical's ascent against feature-visualization regularizers
(a decorrelated Fourier parameterization and transformation robustness), measured by what the eye sees: the
images' high-frequency energy, and whether a second network recognizes the class."""
from __future__ import annotations

import numpy as np
import torch

from experiments.assets.networks import Network
from experiments.ch2_common import fast, resize_normalize, scores
from experiments.figures import Panel, clip, image_grid
from experiments.methods.featvis import FeatureVisConfig, generate, high_frequency_share, white_noise_share
from experiments.network_names import short_name
from experiments.results.ch2 import ClassImages, ClassImagesRegularized, SeenPerImage, SetMeasures
from experiments.settings import Count, Fraction, NonNegative, Positive, Seed, cpu_budget
from reportgen import experiment


def _seen_by(net: Network, pixels: torch.Tensor, targets: torch.Tensor) -> dict:
    """How `net` classifies images (N, 3, H, W) in [0, 1]: target probability, top-1 and top-5 hits per image."""
    x = resize_normalize(pixels.to(next(net.module.parameters()).device), net)
    probs = scores(net, x).softmax(dim=1).cpu()  # one forward pass for all three
    top5 = probs.topk(5, dim=1).indices
    return {"probability": probs.gather(1, targets[:, None])[:, 0].numpy().astype(np.float64),
            "top1": (top5[:, 0] == targets).numpy(), "top5": (top5 == targets[:, None]).any(dim=1).numpy(),
            "predicted": top5[:, 0].numpy()}


def measures(pixels: torch.Tensor, own: Network, other: Network, targets: torch.Tensor, cutoff: float
             ) -> SetMeasures:
    """Per set of images: the generating network's probability, the second network's top-1 / top-5 recognition of
    the target, and the high-frequency share, each as a mean and per image."""
    mine, theirs = _seen_by(own, pixels, targets), _seen_by(other, pixels, targets)
    hf = high_frequency_share(pixels.cpu(), cutoff).numpy().astype(np.float64)
    names = [short_name(other, int(c)) for c in theirs["predicted"]]
    return SetMeasures(float(mine["probability"].mean()), float(theirs["top1"].mean()), float(theirs["top5"].mean()),
                       float(hf.mean()), SeenPerImage(mine["probability"], theirs["top1"], theirs["top5"],
                                                      theirs["predicted"], names, hf))


def rows_figure(rows: list[tuple[str, torch.Tensor, SetMeasures]], names: list[str]):
    """One row per (label, images (N, 3, H, W) in [0, 1], their measures), one column per class; each image labelled
    with the second network's top-1 class."""
    panels = []
    for label, pixels, measured in rows:
        for i, image in enumerate(pixels.permute(0, 2, 3, 1).cpu().numpy()):
            panels.append(Panel(image, f"{label}\n2nd: {clip(measured.per_image.other_names[i], 13)}"))
    return image_grid(panels, len(names), [clip(n, 12) for n in names])


@experiment
def class_images_regularized(visualize_net: Network, compare_net: Network, class_images: ClassImages,
                             device: torch.device, steps: Count = 200, cpu_steps: Count = 100, lr: Positive = 0.02,
                             fourier: bool = True, decay: NonNegative = 1.0, tv_weight: NonNegative = 0.0,
                             max_scale: Fraction = 0.1, max_rotation: NonNegative = 10.0, max_shift: Fraction = 0.06,
                             seed: Seed = 0, high_frequency_above: Fraction = 0.25) -> ClassImagesRegularized:
    """The classes of 2.Q8 generated again with feature-visualization regularizers, both sets measured alike; at
    most `cpu_steps` steps on a CPU (the ablation reuses these settings)."""
    full_steps, steps = steps, cpu_budget(device, cpu_steps, steps)
    visualize_net = fast(visualize_net, device)  # the same function, about twice as fast (ch2_common.fast)
    compare_net = fast(compare_net, device)
    targets = torch.as_tensor(class_images.settings.classes, dtype=torch.long)
    config = FeatureVisConfig(steps, lr, fourier, decay, tv_weight, max_scale, max_rotation, max_shift)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    regularized, history = generate(visualize_net.module, targets.to(device), config, visualize_net.input_size,
                                    visualize_net.mean, visualize_net.std, generator, device)
    practical = torch.as_tensor(np.asarray(class_images.images)).permute(0, 3, 1, 2).float() / 255.0
    cutoff = high_frequency_above  # cycles per pixel
    measured = {"practical": measures(practical, visualize_net, compare_net, targets, cutoff),
                "regularized": measures(regularized.cpu(), visualize_net, compare_net, targets, cutoff)}
    names = [short_name(visualize_net, int(t)) for t in targets]
    return ClassImagesRegularized(
        network=visualize_net.describe(), model=visualize_net.name, other_model=compare_net.name,
        classes=names, targets=[int(t) for t in targets], seed=seed, decay=decay,
        steps=steps, full_steps=full_steps, lr=lr, fourier=fourier, tv_weight=tv_weight,
        max_scale=max_scale, max_rotation=max_rotation, max_shift=max_shift,
        practical=measured["practical"], regularized=measured["regularized"],
        high_frequency_cutoff=cutoff, white_noise_share=white_noise_share(cutoff),
        objective=history, images=(regularized.permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8),
        figure=rows_figure([("practical", practical, measured["practical"]),
                            ("regularized", regularized, measured["regularized"])], names),
    )
