"""2.3 Q8–Q11: class visualization by gradient ascent from noise and from real images, grids, a second network."""
from __future__ import annotations

from dataclasses import asdict, replace

import numpy as np
import torch
from matplotlib.figure import Figure

from experiments.assets.imagenet import ImageSet
from experiments.assets.networks import Network
from experiments.ch2_common import fast, known_or_predicted, predict, prepare, to_pixels, to_uint8
from experiments.figures import WIDTH, Panel, clip, image_grid, magnified, small_type, visible_gain
from experiments.methods.classvis import ClassVisConfig, ClassVisResult, class_visualization, random_init
from experiments.methods.transforms import normalize_bounds
from experiments.network_names import same_network, short_name
from experiments.results.ch2 import (
    ClassFromImage,
    ClassImageGrids,
    ClassImages,
    ClassImagesCompare,
    ClassOutcome,
    ClassVisSettings,
    GridRow,
    StepsRow,
)
from experiments.settings import Count, CountOrZero, Indices, NonNegative, NonNegatives, Positive, Positives, Seed
from reportgen import experiment


def _bounds(net: Network, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    lo, hi = normalize_bounds(net.mean, net.std)
    return lo.to(device), hi.to(device)


def _noise(net: Network, n: int, seed: int, device: torch.device) -> tuple[torch.Tensor, torch.Generator]:
    """The practical's start, N(0, 1) noise in normalized space, and the generator that then draws the jitter."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    return random_init(n, net.input_size, generator, device), generator


def _generate(net: Network, targets: list[int], init: torch.Tensor, config: ClassVisConfig,
              generator: torch.Generator, device: torch.device, snapshot_steps: tuple = (), record_every: int = 5,
              lr: torch.Tensor | None = None, l2_reg: torch.Tensor | None = None) -> ClassVisResult:
    lo, hi = _bounds(net, device)
    t = torch.as_tensor(targets, dtype=torch.long, device=device)
    steps = tuple(s for s in snapshot_steps if 0 <= s <= config.steps)
    return class_visualization(net.module, t, init, config, lo, hi, generator, record_every, lr, l2_reg, steps)


def _outcome(net: Network, result: ClassVisResult, targets: list[int]) -> list[ClassOutcome]:
    """Per image: its target, the target's probability at the start and the end, and the final prediction."""
    final = predict(net, result.images, torch.as_tensor(targets, device=result.images.device))
    return [ClassOutcome(t, short_name(net, t), float(result.target_prob[i, 0]), float(final.target_prob[i]),
                         short_name(net, int(final.classes[i])), bool(final.classes[i] == t))
            for i, t in enumerate(targets)]


def _probability_plot(steps: tuple, probs: np.ndarray, names: list[str]) -> Figure:
    fig = Figure(figsize=(WIDTH * 0.75, 2.6))
    ax = fig.subplots()
    for p, name in zip(probs, names):
        ax.plot(steps, p, label=clip(name, 16))
    ax.set(xlabel="step", ylabel="probability of the target", ylim=(-0.02, 1.02))
    small_type(ax, "right")
    return fig


def _snapshots(net: Network, result: ClassVisResult, targets: list[int]) -> tuple[np.ndarray, np.ndarray, list]:
    """Snapshots as uint8 (N, S, H, W, 3), the target's probability of each (N, S), and their steps."""
    steps = sorted(result.snapshots)
    t = torch.as_tensor(targets, device=result.images.device)
    images = np.stack([to_uint8(result.snapshots[s], net) for s in steps], axis=1)
    probs = np.stack([predict(net, result.snapshots[s], t).target_prob for s in steps], axis=1)
    return images, probs, steps


@experiment
def class_images(visualize_net: Network, device: torch.device, classes: Indices = (76, 78, 187, 683, 366, 604, 113),
                 steps: Count = 200, lr: Positive = 5.0, l2_reg: NonNegative = 1e-3, max_jitter: CountOrZero = 16,
                 blur_every: Count = 10, blur_sigma: NonNegative = 0.5,
                 snapshot_steps: Indices = (0, 25, 50, 100, 200), seed: Seed = 0) -> ClassImages:
    """Images generated from noise to maximize each class's score, all classes optimized as one batch. No budget for
    a CPU: at 100 of the 200 steps, 2.Q8's certainty and 2.Q9's saturation read differently (README)."""
    visualize_net = fast(visualize_net, device)  # the same function, about twice as fast (ch2_common.fast)
    config = ClassVisConfig(steps, lr, l2_reg, max_jitter, blur_every, blur_sigma)
    targets = [int(c) for c in classes]
    init, generator = _noise(visualize_net, len(targets), seed, device)
    result = _generate(visualize_net, targets, init, config, generator, device, tuple(snapshot_steps) + (steps,))
    rows = _outcome(visualize_net, result, targets)
    snaps, snap_probs, snap_steps = _snapshots(visualize_net, result, targets)
    panels = [Panel(p, f"{clip(r.name, 15)}\np = {r.probability:.2f}")
              for p, r in zip(to_pixels(result.images, visualize_net), rows)]
    return ClassImages(
        network=visualize_net.describe(), model=visualize_net.name,
        config=config, settings=ClassVisSettings(**asdict(config), seed=seed, classes=targets),
        per_class=rows, mean_probability=float(np.mean([r.probability for r in rows])),
        min_probability=float(min(r.probability for r in rows)),
        mean_start_probability=float(np.mean([r.start for r in rows])),
        top1=int(sum(r.top1 for r in rows)), history_steps=list(result.history_steps),
        history=result.target_prob, images=to_uint8(result.images, visualize_net),
        snapshots=snaps, snapshot_probability=snap_probs, snapshot_steps=snap_steps,
        figure=image_grid(panels, 4), plot=_probability_plot(result.history_steps, result.target_prob,
                                                             [r.name for r in rows]),
    )


def _texture(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per uint8 image (N, H, W, 3): contrast (std of the pixels, levels) and roughness (mean absolute
    difference between horizontal and vertical neighbours, levels): how saturated and how noisy it looks."""
    x = images.astype(np.float64)
    contrast = x.reshape(len(x), -1).std(axis=1)
    rough = (np.abs(np.diff(x, axis=1)).mean(axis=(1, 2, 3)) + np.abs(np.diff(x, axis=2)).mean(axis=(1, 2, 3))) / 2
    return contrast, rough


def _steps_figure(snapshots: np.ndarray, probs: np.ndarray, steps: list, names: list[str]) -> Figure:
    """Columns = classes, rows = numbers of steps."""
    panels = [Panel(snapshots[c, s], f"{steps[s]} steps · {probs[c, s]:.2f}")
              for s in range(len(steps)) for c in range(len(names))]
    return image_grid(panels, len(names), [clip(n, 12) for n in names])


def _grid_runs(lrs: tuple, l2_regs: tuple, settings: ClassVisSettings) -> list[tuple[float, float]]:
    """The distinct (lr, λ) pairs of both grids: lr varies at the default λ, λ at the default lr."""
    pairs = [(float(lr), settings.l2_reg) for lr in lrs] + [(settings.lr, float(reg)) for reg in l2_regs]
    return list(dict.fromkeys(pairs))


def _grid_table(pairs: list, images: np.ndarray, rows: list[ClassOutcome], key: int, values: tuple, fixed: float
                ) -> list[GridRow]:
    contrast, rough = _texture(images)
    found = []
    for v in values:
        i = pairs.index((float(v), fixed) if key == 0 else (fixed, float(v)))
        found.append(GridRow(float(v), rows[i].probability, float(contrast[i]), float(rough[i]), i))
    return found


def _grid_figure(table: list[GridRow], images: np.ndarray, symbol: str) -> Figure:
    panels = [Panel(images[r.run], f"{symbol} = {r.value:g} · p {r.probability:.2f}") for r in table]
    return image_grid(panels, len(panels))


def _grid_batch(net: Network, runs: list[tuple[float, float]], grid_class: int, settings: ClassVisSettings,
                config: ClassVisConfig, device: torch.device) -> tuple[list[ClassOutcome], np.ndarray]:
    """The (lr, λ) runs of one class as one batch, each from the class's starting noise in Q8 (its classes drawn in
    order from the seed; the first image's when the class is not among them)."""
    classes = list(settings.classes)
    noise, generator = _noise(net, len(classes), settings.seed, device)
    start = noise[classes.index(grid_class) if grid_class in classes else 0]
    lr = torch.tensor([p[0] for p in runs], device=device)
    reg = torch.tensor([p[1] for p in runs], device=device)
    result = _generate(net, [grid_class] * len(runs), start.expand(len(runs), -1, -1, -1), config, generator,
                       device, lr=lr, l2_reg=reg)
    return _outcome(net, result, [grid_class] * len(runs)), to_uint8(result.images, net)


@experiment
def class_image_grids(visualize_net: Network, class_images: ClassImages, device: torch.device,
                      grid_class: CountOrZero = 76, lrs: Positives = (1.0, 5.0, 20.0, 50.0),
                      l2_regs: NonNegatives = (0.0, 1e-4, 1e-3, 1e-2)) -> ClassImageGrids:
    """Grids over the number of steps (snapshots of the Q8 run), the step size and the L2 weight (one batch). Every
    run starts from the noise of the grid class in Q8; the run with Q8's own settings is Q8's image, not run again."""
    visualize_net = fast(visualize_net, device)  # the same function, about twice as fast (ch2_common.fast)
    settings, config = class_images.settings, class_images.config
    pairs = _grid_runs(lrs, l2_regs, settings)
    q8_pair = (settings.lr, settings.l2_reg)
    shared = pairs.index(q8_pair) if q8_pair in pairs and grid_class in settings.classes else None
    runs = [p for i, p in enumerate(pairs) if i != shared]
    rows, images = (_grid_batch(visualize_net, runs, grid_class, settings, config, device) if runs
                    else ([], np.asarray(class_images.images)[:0]))
    if shared is not None:  # Q8's run of this class: same start, same settings
        q8 = list(settings.classes).index(grid_class)
        rows.insert(shared, class_images.per_class[q8])
        images = np.insert(images, shared, np.asarray(class_images.images)[q8], axis=0)
    lr_table = _grid_table(pairs, images, rows, 0, lrs, settings.l2_reg)
    reg_table = _grid_table(pairs, images, rows, 1, l2_regs, settings.lr)
    names = [r.name for r in class_images.per_class]
    snaps, snap_probs = np.asarray(class_images.snapshots), np.asarray(class_images.snapshot_probability)
    contrast, rough = _texture(snaps.reshape(-1, *snaps.shape[2:]))
    steps_table = [StepsRow(int(s), float(np.mean(snap_probs[:, j])),
                            float(contrast.reshape(snaps.shape[:2])[:, j].mean()),
                            float(rough.reshape(snaps.shape[:2])[:, j].mean()))
                   for j, s in enumerate(class_images.snapshot_steps)]
    return ClassImageGrids(
        network=visualize_net.describe(), model=visualize_net.name, grid_class=short_name(visualize_net, grid_class),
        settings=settings, runs=len(pairs), from_q8=shared is not None, lr_table=lr_table, reg_table=reg_table,
        steps_table=steps_table,
        steps_figure=_steps_figure(snaps, snap_probs, class_images.snapshot_steps, names),
        lr_figure=_grid_figure(lr_table, images, "η"), reg_figure=_grid_figure(reg_table, images, "λ"),
    )


def _picked(images: ImageSet, indices: tuple) -> list[int]:
    """The chosen images' positions (wrapped around a smaller set, without repeats)."""
    n = len(images.labels)
    return list(dict.fromkeys(int(i) % n for i in indices))


def _similarity(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per pair of uint8 images (N, H, W, 3): Pearson correlation of their grey levels (1 = same layout)."""
    a = first.astype(np.float64).mean(axis=3).reshape(len(first), -1)
    b = second.astype(np.float64).mean(axis=3).reshape(len(second), -1)
    a, b = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    return (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1)).clip(1e-12)


def _from_image_figure(start: np.ndarray, final: np.ndarray, rows: list[ClassOutcome]) -> Figure:
    """Columns = images; rows = the photo, the result, the change magnified (one gain for the figure)."""
    delta = final.astype(np.float32) / 255 - start.astype(np.float32) / 255
    gain = visible_gain(list(delta))
    panels = [Panel(s, f"{clip(r.name, 14)}\np = {r.start:.2f}") for s, r in zip(start, rows)]
    panels += [Panel(f, f"after · p = {r.probability:.2f}") for f, r in zip(final, rows)]
    panels += [Panel(magnified(d, gain), f"change ×{gain:.1f}") for d in delta]
    return image_grid(panels, len(rows))


@experiment
def class_from_image(visualize_net: Network, imagenet_val: ImageSet, class_images: ClassImages,
                     device: torch.device, images: Indices = (0, 7, 13, 19)) -> ClassFromImage:
    """The class visualization started from real photos with their true class as target (the Q8 settings)."""
    visualize_net = fast(visualize_net, device)  # the same function, about twice as fast (ch2_common.fast)
    settings = class_images.settings
    picked = _picked(imagenet_val, images)
    batch = prepare(imagenet_val, visualize_net, device)
    x = batch.x[picked]
    targets = [int(t) for t in known_or_predicted(batch.labels[picked], predict(visualize_net, x).classes)]
    generator = torch.Generator(device="cpu").manual_seed(settings.seed)
    result = _generate(visualize_net, targets, x, class_images.config, generator, device)
    start, final = to_uint8(x, visualize_net), to_uint8(result.images, visualize_net)
    change = np.abs(final.astype(np.float64) - start.astype(np.float64)).mean(axis=(1, 2, 3))
    kept = _similarity(start, final)
    rows = [replace(r, image=i, mean_change=float(c), similarity=float(k))
            for r, i, c, k in zip(_outcome(visualize_net, result, targets), picked, change, kept)]
    return ClassFromImage(
        network=visualize_net.describe(), model=visualize_net.name, settings=settings, per_image=rows,
        indices=picked,
        mean_start_probability=float(np.mean([r.start for r in rows])),
        mean_probability=float(np.mean([r.probability for r in rows])),
        mean_change=float(change.mean()), mean_similarity=float(kept.mean()),
        history_steps=list(result.history_steps), history=result.target_prob, images=final,
        figure=_from_image_figure(start, final, rows),
    )


def _compare_run(compare_net: Network, imagenet_val: ImageSet, class_images: ClassImages,
                 class_from_image: ClassFromImage, device: torch.device
                 ) -> tuple[list[ClassOutcome], np.ndarray, list[ClassOutcome], np.ndarray]:
    """Q8 and Q10 again with the compare network: noise starts and photo starts optimized as one batch."""
    settings = class_images.settings
    classes = list(settings.classes)
    noise, generator = _noise(compare_net, len(classes), settings.seed, device)
    photos = prepare(imagenet_val, compare_net, device).x[class_from_image.indices]
    photo_targets = [r.target for r in class_from_image.per_image]
    result = _generate(compare_net, classes + photo_targets, torch.cat([noise, photos]), class_images.config,
                       generator, device)
    rows = _outcome(compare_net, result, classes + photo_targets)
    images = to_uint8(result.images, compare_net)
    k = len(classes)
    return rows[:k], images[:k], rows[k:], images[k:]


def _side_by_side(first: np.ndarray, first_rows: list[ClassOutcome], second: np.ndarray,
                  second_rows: list[ClassOutcome], labels: tuple[str, str]) -> Figure:
    """Two rows, one per network; columns = targets."""
    panels = [Panel(im, f"{clip(r.name, 12)}\n{labels[0]} p {r.probability:.2f}")
              for im, r in zip(first, first_rows)]
    panels += [Panel(im, f"{labels[1]} p {r.probability:.2f}") for im, r in zip(second, second_rows)]
    return image_grid(panels, len(first_rows))


@experiment
def class_images_compare(visualize_net: Network, compare_net: Network, imagenet_val: ImageSet,
                         class_images: ClassImages, class_from_image: ClassFromImage, device: torch.device
                         ) -> ClassImagesCompare:
    """Q8 and Q10 with the compare network (same settings, same seeds), beside the first network's images."""
    same = same_network(visualize_net, compare_net)
    if same:  # the same numbers in give the same numbers out: the first network's results are the answer
        rows, images = class_images.per_class, class_images.images
        photo_rows, photo_images = class_from_image.per_image, class_from_image.images
    else:
        rows, images, photo_rows, photo_images = _compare_run(fast(compare_net, device), imagenet_val, class_images,
                                                              class_from_image, device)
    return ClassImagesCompare(
        network=visualize_net.describe(), model=visualize_net.name, compare=compare_net.describe(),
        compare_model=compare_net.name, same_network=same,
        settings=class_images.settings, per_class=rows, per_image=photo_rows,
        mean_probability=float(np.mean([r.probability for r in rows])),
        visualize_mean_probability=class_images.mean_probability,
        from_image_mean_probability=float(np.mean([r.probability for r in photo_rows])),
        visualize_from_image_mean_probability=class_from_image.mean_probability,
        figure=_side_by_side(class_images.images, class_images.per_class, images, rows, ("1st", "2nd")),
        from_image_figure=_side_by_side(class_from_image.images, class_from_image.per_image, photo_images,
                                        photo_rows, ("1st", "2nd")),
    )
