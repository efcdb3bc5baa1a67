"""2.1 Q1–Q4: saliency maps, their limits, weakly supervised localization, and a second network's maps."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from experiments.assets.imagenet import ImageSet
from experiments.assets.networks import Network
from experiments.ch2_common import Prediction, fast, known_or_predicted, pixels_to_batch, predict, prepare, to_pixels
from experiments.figures import WIDTH, Panel, clip, image_grid, overlay, scaled_map, small_type
from experiments.methods.saliency import (
    localize,
    map_agreement,
    mass_concentration,
    randomize_weights,
    rank_correlation,
    saliency,
    smoothgrad,
)
from experiments.methods.transforms import add_gaussian_noise, gaussian_blur
from experiments.network_names import same_network, short_name
from experiments.results.ch2 import Localization, SaliencyCompare, SaliencyLimits, SaliencyMaps, SaliencyRow
from experiments.settings import Count, Fraction, NonNegative, Seed
from reportgen import experiment


def _label(row: SaliencyRow) -> str:
    mark = "✓" if row.correct else f"✗ {clip(row.predicted, 11)}"
    return f"{clip(row.true, 16)}\n{mark} {row.confidence:.0%} · {row.concentration:.2f}"


def _rows(net: Network, images: ImageSet, pred: Prediction, share: np.ndarray, informative: np.ndarray
          ) -> list[SaliencyRow]:
    """Per image: true and predicted class (the network's names), confidence, concentration, informative."""
    rows = []
    for i, label in enumerate(int(v) for v in images.labels):
        rows.append(SaliencyRow(i, short_name(net, label) if label >= 0 else images.names[i],
                                short_name(net, int(pred.classes[i])), float(pred.confidence[i]),
                                bool(label == pred.classes[i]), float(share[i]), bool(informative[i])))
    return rows


def _examples_figure(pixels: np.ndarray, maps: np.ndarray, rows: list[SaliencyRow], picks: list[int]) -> Figure:
    """Image and map side by side for the most and least concentrated maps (informative left, diffuse right)."""
    half = len(picks) // 2
    panels = []
    for top, low in zip(picks[:half], picks[half:]):
        for i in (top, low):
            panels += [Panel(pixels[i], clip(rows[i].true)),
                       Panel(scaled_map(maps[i]), f"concentration {rows[i].concentration:.2f}", "inferno")]
    return image_grid(panels, 4, ("most concentrated", "", "least concentrated", ""))


@experiment
def saliency_maps(visualize_net: Network, imagenet_val: ImageSet, device: torch.device,
                  top_fraction: Fraction = 0.05, informative_share: Fraction = 0.25, examples: Count = 3
                  ) -> SaliencyMaps:
    """Saliency maps of every image for its true class, and how concentrated each map's mass is."""
    visualize_net = fast(visualize_net, device)  # the same function, about twice as fast (ch2_common.fast)
    batch = prepare(imagenet_val, visualize_net, device)
    pred = predict(visualize_net, batch.x)
    targets = known_or_predicted(batch.labels, pred.classes)
    maps = saliency(visualize_net.module, batch.x, targets).cpu().numpy()
    share = mass_concentration(maps, top_fraction)
    informative = share >= informative_share
    rows = _rows(visualize_net, imagenet_val, pred, share, informative)
    order = [int(i) for i in np.argsort(-share, kind="stable")]
    k = min(examples, len(order) // 2)
    picks = order[:k] + order[::-1][:k]
    pixels = to_pixels(batch.x, visualize_net)
    panels = [Panel(overlay(pixels[i], maps[i]), _label(r)) for i, r in enumerate(rows)]
    correct = np.array([r.correct for r in rows])
    known = imagenet_val.labels >= 0
    return SaliencyMaps(
        network=visualize_net.describe(), model=visualize_net.name, source=imagenet_val.source, images=len(rows),
        per_image=rows, targets=targets.cpu().numpy(), maps=maps.astype(np.float32),
        top_fraction=top_fraction, informative_share=informative_share,
        informative_density=informative_share / top_fraction, informative_count=int(informative.sum()),
        mean_concentration=float(share.mean()), accuracy=float(correct[known].mean()) if known.any() else None,
        correct_concentration=float(share[correct].mean()) if correct.any() else None,
        wrong_concentration=float(share[known & ~correct].mean()) if (known & ~correct).any() else None,
        most=order[:k], least=order[::-1][:k],
        figure=image_grid(panels, 5), examples_figure=_examples_figure(pixels, maps, rows, picks),
    )


def _noise_std(levels: float, net: Network, device: torch.device) -> torch.Tensor:
    """`levels` of 255 in pixel space as a per-channel noise std in the network's normalized space."""
    return (levels / 255.0 / torch.tensor(net.std, device=device)).reshape(1, 3, 1, 1)


def _correlation_plot(random: np.ndarray, noise: np.ndarray, levels: float) -> Figure:
    fig = Figure(figsize=(WIDTH, 2.4))
    ax = fig.subplots()
    index = np.arange(len(random))
    ax.plot(index, noise, "o", label=f"same network, input + noise of {levels:g} level(s)")
    ax.plot(index, random, "s", label="randomized weights")
    ax.axhline(0.0, color="grey", lw=0.6)
    ax.set(xlabel="image", ylabel="rank correlation with\nthe trained map", ylim=(-0.2, 1.0))
    small_type(ax, "above")
    return fig


def _limits_figure(pixels: np.ndarray, names: list[str], plain: np.ndarray, smooth: np.ndarray,
                   random: np.ndarray, rho: np.ndarray) -> Figure:
    """Columns = images; rows = the image, the plain map, SmoothGrad, the map with randomized weights."""
    panels = [Panel(p, clip(n)) for p, n in zip(pixels, names)]
    panels += [Panel(scaled_map(m), "plain gradient", "inferno") for m in plain]
    panels += [Panel(scaled_map(m), "SmoothGrad", "inferno") for m in smooth]
    panels += [Panel(scaled_map(m), f"random weights ρ {r:.2f}", "inferno") for m, r in zip(random, rho)]
    return image_grid(panels, len(names))


@experiment
def saliency_limits(visualize_net: Network, imagenet_val: ImageSet, saliency_maps: SaliencyMaps,
                    device: torch.device, noise_levels: NonNegative = 1.0, smooth_samples: Count = 16,
                    smooth_noise: NonNegative = 0.15, examples: Count = 5, seed: Seed = 0) -> SaliencyLimits:
    """Weight-randomization sanity check, sensitivity to imperceptible noise, and SmoothGrad beside the gradient."""
    batch = prepare(imagenet_val, visualize_net, device)
    maps = torch.as_tensor(saliency_maps.maps)
    targets = torch.as_tensor(saliency_maps.targets, dtype=torch.long, device=device)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    random_net = fast(replace(visualize_net, module=randomize_weights(visualize_net.module, seed)), device).module
    visualize_net = fast(visualize_net, device)  # the same function, about twice as fast (ch2_common.fast)
    random_maps = saliency(random_net, batch.x, targets).cpu()
    noisy = add_gaussian_noise(batch.x, _noise_std(noise_levels, visualize_net, device), generator)
    noise_maps = saliency(visualize_net.module, noisy, targets).cpu()
    random_rho, noise_rho = rank_correlation(maps, random_maps), rank_correlation(maps, noise_maps)
    k = min(examples, batch.x.shape[0])
    smooth = [smoothgrad(visualize_net.module, batch.x[:k], targets[:k], smooth_samples, smooth_noise,
                         torch.Generator(device="cpu").manual_seed(seed + run)).cpu() for run in (1, 2)]
    names = [r.true for r in saliency_maps.per_image[:k]]
    share = saliency_maps.top_fraction
    return SaliencyLimits(
        network=visualize_net.describe(), model=visualize_net.name, images=int(batch.x.shape[0]), seed=seed,
        random_correlation=float(np.nanmean(random_rho)), random_correlations=random_rho.tolist(),
        noise_correlation=float(np.nanmean(noise_rho)), noise_correlations=noise_rho.tolist(),
        noise_levels=noise_levels, random_concentration=float(mass_concentration(random_maps, share).mean()),
        examples=k, smooth_samples=smooth_samples, smooth_noise=smooth_noise,
        plain_stability=float(np.nanmean(noise_rho[:k])),
        smooth_stability=float(np.nanmean(rank_correlation(smooth[0], smooth[1]))),
        plain_concentration=float(mass_concentration(maps[:k], share).mean()),
        smooth_concentration=float(mass_concentration(smooth[0], share).mean()),
        correlation_plot=_correlation_plot(random_rho, noise_rho, noise_levels),
        figure=_limits_figure(to_pixels(batch.x[:k], visualize_net), names, maps[:k].numpy(),
                              smooth[0].numpy(), random_maps[:k].numpy(), random_rho[:k]),
    )


def _crops(x: torch.Tensor, boxes: np.ndarray, net: Network) -> torch.Tensor:
    """Each image's box, cut out and resized back to the network's input size."""
    size = net.input_size
    out = [torch.nn.functional.interpolate(x[i : i + 1, :, y0:y1, x0:x1], size=(size, size), mode="bilinear",
                                           align_corners=False) for i, (x0, y0, x1, y1) in enumerate(boxes)]
    return torch.cat(out)


def _centred(boxes: np.ndarray, size: int) -> np.ndarray:
    """Boxes of the same width and height as `boxes`, centred in the image."""
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    x0, y0 = (size - w) // 2, (size - h) // 2
    return np.stack([x0, y0, x0 + w, y0 + h], axis=1)


def _boxes_figure(pixels: np.ndarray, masks: np.ndarray, boxes: np.ndarray, names: list[str]) -> Figure:
    tinted = pixels.copy()
    tinted[masks] = 0.5 * tinted[masks] + 0.5 * np.array([1.0, 0.85, 0.0], dtype=np.float32)
    fig = image_grid([Panel(t, clip(n)) for t, n in zip(tinted, names)], 5)
    for ax, (x0, y0, x1, y1) in zip(fig.axes, boxes):
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor="red", lw=1.5))
    return fig


@experiment
def localization(visualize_net: Network, imagenet_val: ImageSet, saliency_maps: SaliencyMaps, device: torch.device,
                 quantile: Fraction = 0.8, smoothing: NonNegative = 4.0, largest_component: bool = True
                 ) -> Localization:
    """Boxes around each (smoothed) map's strongest pixels, and whether the network still recognizes the crop."""
    batch = prepare(imagenet_val, visualize_net, device)
    maps = torch.as_tensor(np.asarray(saliency_maps.maps))[:, None]
    maps = (gaussian_blur(maps, smoothing) if smoothing > 0 else maps)[:, 0].numpy()
    masks, boxes = localize(maps, quantile, largest_component)
    size = maps.shape[-1] * maps.shape[-2]
    box_fraction = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / size
    targets = torch.as_tensor(saliency_maps.targets, dtype=torch.long, device=device)
    full = predict(visualize_net, batch.x).classes == targets.cpu().numpy()
    crop = predict(visualize_net, _crops(batch.x, boxes, visualize_net)).classes == targets.cpu().numpy()
    centre = _centred(boxes, maps.shape[-1])
    centred = predict(visualize_net, _crops(batch.x, centre, visualize_net)).classes == targets.cpu().numpy()
    names = [r.true for r in saliency_maps.per_image]
    return Localization(
        network=visualize_net.describe(), model=visualize_net.name, quantile=quantile, smoothing=smoothing,
        largest_component=largest_component,
        boxes=boxes, box_fractions=box_fraction.tolist(), mean_box_fraction=float(box_fraction.mean()),
        mean_mask_fraction=float(masks.mean()), full_accuracy=float(full.mean()),
        crop_accuracy=float(crop.mean()), centre_crop_accuracy=float(centred.mean()),
        figure=_boxes_figure(to_pixels(batch.x, visualize_net), masks, boxes, names),
    )


def _compare_figure(pixels: np.ndarray, first: np.ndarray, second: np.ndarray, names: list[str],
                    rho: np.ndarray, picks: list[int]) -> Figure:
    panels = [Panel(pixels[i], clip(names[i])) for i in picks]
    panels += [Panel(scaled_map(first[i]), "visualize network", "inferno") for i in picks]
    panels += [Panel(scaled_map(second[i]), f"compare network ρ {rho[i]:.2f}", "inferno") for i in picks]
    return image_grid(panels, len(picks))


def _compare_maps(compare_net: Network, imagenet_val: ImageSet, targets: np.ndarray, shape: tuple,
                  device: torch.device) -> tuple[np.ndarray, float | None]:
    """The compare network's maps for the same targets (resized to `shape` when its input size differs), and its
    accuracy on the labelled images."""
    x = pixels_to_batch(imagenet_val.images, compare_net, device)
    maps = saliency(fast(compare_net, device).module, x, torch.as_tensor(targets, dtype=torch.long, device=device))
    if maps.shape[-2:] != shape:
        maps = torch.nn.functional.interpolate(maps[:, None], size=shape, mode="bilinear", align_corners=False)[:, 0]
    known = imagenet_val.labels >= 0
    correct = predict(compare_net, x).classes == imagenet_val.labels
    return maps.cpu().numpy(), float(correct[known].mean()) if known.any() else None


@experiment
def saliency_compare(visualize_net: Network, compare_net: Network, imagenet_val: ImageSet,
                     saliency_maps: SaliencyMaps, device: torch.device, examples: Count = 5) -> SaliencyCompare:
    """The compare network's saliency maps beside the first network's, and how much they agree."""
    first = np.asarray(saliency_maps.maps)
    same = same_network(visualize_net, compare_net)
    second, accuracy = (first, saliency_maps.accuracy) if same else _compare_maps(
        compare_net, imagenet_val, saliency_maps.targets, first.shape[-2:], device)
    rho = map_agreement(first, second)
    chance = map_agreement(first, np.roll(second, 1, axis=0))  # each map against another image's map
    pixels = to_pixels(prepare(imagenet_val, visualize_net, device).x, visualize_net)
    picks = list(range(min(examples, len(first))))
    names = [r.true for r in saliency_maps.per_image]
    return SaliencyCompare(
        network=visualize_net.describe(), model=visualize_net.name, compare=compare_net.describe(),
        compare_model=compare_net.name, same_network=same,
        correlations=rho.tolist(), mean_correlation=float(np.nanmean(rho)),
        chance_correlation=float(np.nanmean(chance)),
        compare_concentration=float(mass_concentration(second, saliency_maps.top_fraction).mean()),
        compare_accuracy=accuracy,
        figure=_compare_figure(pixels, first, second, names, rho, picks),
    )
