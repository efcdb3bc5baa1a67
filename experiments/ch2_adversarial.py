"""2.2 Q5–Q7: the practical's naive targeted attack, its consequences (transfer, saving), FGSM and PGD."""
from __future__ import annotations

import io
import itertools

import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image

from experiments.assets.imagenet import ImageSet
from experiments.assets.networks import Network
from experiments.ch2_common import (
    Batch,
    Prediction,
    fast,
    pixels_to_batch,
    predict,
    prepare,
    resize_normalize,
    to_pixels,
    to_uint8,
)
from experiments.figures import VISIBLE_QUANTILE, WIDTH, Panel, clip, image_grid, magnified, small_type, visible_gain
from experiments.methods.attacks import AttackResult, fgsm, naive_targeted, perturbation_sizes, pgd
from experiments.network_names import class_index, same_network, short_name
from experiments.results.ch2 import (
    AttackComparison,
    AttackConsequences,
    AttackedImage,
    AttackRun,
    NaiveAttack,
    Saved,
    TargetOutcome,
)
from experiments.settings import Count, Names, Positive, Positives, Qualities, Seed, cpu_budget
from reportgen import experiment


def _sizes(batch: Batch, adversarial: torch.Tensor, net: Network) -> dict[str, np.ndarray]:
    """Per image: L∞ (levels of 255), L2 ([0, 1] units) and the VISIBLE_QUANTILE of |δ| (levels)."""
    std = torch.tensor(net.std, device=batch.x.device)
    linf, l2 = perturbation_sizes(batch.x, adversarial, std)
    delta = ((adversarial - batch.x) * std.reshape(1, 3, 1, 1)).abs().reshape(len(linf), -1) * 255.0
    return {"linf": linf, "l2": l2, "p99": np.quantile(delta.float().cpu().numpy(), VISIBLE_QUANTILE, axis=1)}


def _per_image(net: Network, images: ImageSet, before: Prediction, after: Prediction, result: AttackResult,
               sizes: dict, target: int) -> list[AttackedImage]:
    steps, success = result.steps.cpu().numpy(), result.success.cpu().numpy()
    return [AttackedImage(
        index=i, true=short_name(net, int(images.labels[i])) if images.labels[i] >= 0 else images.names[i],
        before=short_name(net, int(before.classes[i])), before_confidence=float(before.confidence[i]),
        target_before=float(before.target_prob[i]), already=bool(before.classes[i] == target),
        after=short_name(net, int(after.classes[i])), target_after=float(after.target_prob[i]),
        steps=int(steps[i]), success=bool(success[i]),
        linf=float(sizes["linf"][i]), l2=float(sizes["l2"][i]), p99=float(sizes["p99"][i]),
    ) for i in range(len(steps))]


def _figure(pixels: np.ndarray, adversarial: np.ndarray, rows: list[AttackedImage], shown: list[int]) -> Figure:
    """Two examples to a row: original, adversarial, difference magnified (one gain for the whole figure)."""
    deltas = [adversarial[i] - pixels[i] for i in shown]
    gain = visible_gain(deltas)
    panels = []
    for i, delta in zip(shown, deltas):
        r = rows[i]
        panels += [Panel(pixels[i], f"{clip(r.before, 12)} {r.before_confidence:.0%}"),
                   Panel(adversarial[i], f"{clip(r.after, 12)} {r.target_after:.0%}"),
                   Panel(magnified(delta, gain), f"δ ×{gain:.0f}, {r.steps} steps")]
    return image_grid(panels, 6)


def _summary(net: Network, target: int, already: np.ndarray, success: np.ndarray, steps: np.ndarray,
             linf: np.ndarray) -> TargetOutcome:
    """One target's outcome over the images not already predicted as the target."""
    attacked = ~already
    ok = success & attacked
    return TargetOutcome(target=short_name(net, target), index=target, attacked=int(attacked.sum()),
                         successes=int(ok.sum()), success_rate=float(ok.sum() / max(1, attacked.sum())),
                         median_steps=float(np.median(steps[attacked])) if attacked.any() else 0.0,
                         median_linf=float(np.median(linf[ok])) if ok.any() else None)


def _per_target(net: Network, batch: Batch, targets: list[int], step: float, max_steps: int
                ) -> list[TargetOutcome]:
    """The naive attack for each target over all images, as one batch (every image once per target)."""
    n = batch.x.shape[0]
    x = batch.x.repeat(len(targets), 1, 1, 1)
    t = torch.tensor(targets, device=x.device).repeat_interleave(n)
    already = predict(net, x).classes == t.cpu().numpy()
    result = naive_targeted(net.module, x, t, batch.lo, batch.hi, step, max_steps)
    linf, _ = perturbation_sizes(x, result.adversarial, torch.tensor(net.std, device=x.device))
    success, steps = result.success.cpu().numpy(), result.steps.cpu().numpy()
    return [_summary(net, target, already[j * n:(j + 1) * n], success[j * n:(j + 1) * n],
                     steps[j * n:(j + 1) * n], linf[j * n:(j + 1) * n]) for j, target in enumerate(targets)]


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if len(values) else None


@experiment
def naive_attack(visualize_net: Network, imagenet_val: ImageSet, device: torch.device, target: str = "stingray",
                 targets: Names = ("stingray", "goldfish", "pizza"), step: Positive = 1.0, max_steps: Count = 100,
                 shown: Count = 4) -> NaiveAttack:
    """The practical's naive targeted attack x ← x + η·g/‖g‖₂ on every image, for one target and several."""
    visualize_net = fast(visualize_net, device)  # the same function, about twice as fast (ch2_common.fast)
    batch = prepare(imagenet_val, visualize_net, device)
    t = class_index(visualize_net, target)
    t_all = torch.full((batch.x.shape[0],), t, device=device)
    before = predict(visualize_net, batch.x, t_all)
    result = naive_targeted(visualize_net.module, batch.x, t, batch.lo, batch.hi, step, max_steps)
    after = predict(visualize_net, result.adversarial, t_all)
    sizes = _sizes(batch, result.adversarial, visualize_net)
    rows = _per_image(visualize_net, imagenet_val, before, after, result, sizes, t)
    main = _summary(visualize_net, t, before.classes == t, result.success.cpu().numpy(),
                    result.steps.cpu().numpy(), sizes["linf"])
    ok = result.success.cpu().numpy() & (before.classes != t)
    others = [i for i in dict.fromkeys(class_index(visualize_net, name) for name in targets) if i != t]
    every = [main] + (_per_target(visualize_net, batch, others, step, max_steps) if others else [])
    pixels, adversarial = to_pixels(batch.x, visualize_net), to_pixels(result.adversarial, visualize_net)
    return NaiveAttack(
        network=visualize_net.describe(), model=visualize_net.name, source=imagenet_val.source,
        images=len(rows), step=step, step_pixels=step * float(np.mean(visualize_net.std)),
        max_steps=max_steps, target_index=t, target=main.target, attacked=main.attacked, successes=main.successes,
        success_rate=main.success_rate, median_steps=main.median_steps, median_linf=main.median_linf,
        per_image=rows, seconds=result.seconds,
        max_steps_taken=int(result.steps.max()), max_linf=float(sizes["linf"][ok].max()) if ok.any() else None,
        median_l2=_median(sizes["l2"][ok]), median_p99=_median(sizes["p99"][ok]), quantile=VISIBLE_QUANTILE,
        confidence_before=float(before.confidence.mean()),
        target_after=float(after.target_prob[ok].mean()) if ok.any() else None, per_target=every,
        overall_success_rate=sum(r.successes for r in every) / max(1, sum(r.attacked for r in every)),
        adversarial=result.adversarial.cpu().numpy().astype(np.float32),
        figure=_figure(pixels, adversarial, rows, list(range(min(shown, len(rows))))),
    )


def _round_trip(pixels: np.ndarray, fmt: str, quality: int = 95) -> np.ndarray:
    """uint8 images (N, H, W, 3) saved in memory as PNG or JPEG and read back."""
    out = []
    for image in pixels:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            out.append(np.asarray(decoded.convert("RGB"), dtype=np.uint8))
    return np.stack(out)


def _classes(net: Network, pixels: np.ndarray, device: torch.device) -> np.ndarray:
    return predict(net, pixels_to_batch(pixels, net, device)).classes


def _saved(net: Network, clean: np.ndarray, adversarial: np.ndarray, fooled: np.ndarray, target: int,
           device: torch.device, fmt: str, quality: int = 95) -> Saved:
    """After saving: share of the successful examples still classified as the target, share returned to the
    clean prediction, and share of clean images whose prediction the saving leaves unchanged."""
    adv = _classes(net, _round_trip(adversarial, fmt, quality), device)
    before = _classes(net, clean, device)
    kept = _classes(net, _round_trip(clean, fmt, quality), device) == before
    n = max(1, int(fooled.sum()))
    return Saved(format=fmt, quality=quality if fmt == "JPEG" else None,
                 survival=float((adv == target)[fooled].sum() / n), restored=float((adv == before)[fooled].sum() / n),
                 clean_kept=float(kept.mean()))


def _survival_plot(rows: list[Saved], transfer: float) -> Figure:
    fig = Figure(figsize=(WIDTH, 2.4))
    ax = fig.subplots()
    labels = [r.format if r.quality is None else f"JPEG q{r.quality}" for r in rows] + ["other network"]
    values = [r.survival for r in rows] + [transfer]
    ax.bar(labels, values, color="tab:red", label="adversarial images still classified as the target")
    ax.bar(labels[:-1], [r.clean_kept for r in rows], fill=False, edgecolor="black", width=0.5,
           label="clean images whose prediction is unchanged")
    ax.set(ylim=(0, 1.05), ylabel="share")
    small_type(ax, "above")
    return fig


@experiment
def attack_consequences(visualize_net: Network, compare_net: Network, imagenet_val: ImageSet,
                        naive_attack: NaiveAttack, device: torch.device, jpeg_qualities: Qualities = (75, 95, 50)
                        ) -> AttackConsequences:
    """Do the naive examples fool the other network, and do they survive being saved as PNG or JPEG?"""
    x = torch.as_tensor(naive_attack.adversarial, device=device)
    target = int(naive_attack.target_index)
    fooled = np.array([r.success and not r.already for r in naive_attack.per_image], dtype=bool)
    adversarial = to_uint8(x, visualize_net)
    clean = prepare(imagenet_val, visualize_net, device)
    clean_pixels = to_uint8(clean.x, visualize_net)
    pixels = to_pixels(x, visualize_net)
    other = predict(compare_net, resize_normalize(torch.as_tensor(pixels, device=device).permute(0, 3, 1, 2),
                                                  compare_net)).classes
    other_clean = _classes(compare_net, clean_pixels, device)
    n = max(1, int(fooled.sum()))
    saved = [_saved(visualize_net, clean_pixels, adversarial, fooled, target, device, "PNG")]
    saved += [_saved(visualize_net, clean_pixels, adversarial, fooled, target, device, "JPEG", q)
              for q in jpeg_qualities]
    transfer = float((other == target)[fooled].sum() / n)
    return AttackConsequences(
        network=visualize_net.describe(), model=visualize_net.name, compare=compare_net.describe(),
        compare_model=compare_net.name, same_network=same_network(visualize_net, compare_net),
        target=naive_attack.target, fooled=int(fooled.sum()), transfer_rate=transfer,
        untargeted_transfer_rate=float((other != other_clean)[fooled].sum() / n),
        png_survival=saved[0].survival, jpeg_survival=saved[1].survival if len(saved) > 1 else None,
        jpeg_quality=saved[1].quality if len(saved) > 1 else None, saved=saved,
        figure=_survival_plot(saved, transfer),
    )


def _run(method: str, net: Network, batch: Batch, labels: torch.Tensor, eps: float, targeted: bool, steps: int,
         seed: int) -> AttackResult:
    if method == "FGSM":
        return fgsm(net.module, batch.x, labels, eps, batch.lo, batch.hi, targeted=targeted)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    return pgd(net.module, batch.x, labels, eps, batch.lo, batch.hi, steps=steps, targeted=targeted,
               generator=generator)


def _sweep(net: Network, batch: Batch, clean: np.ndarray, target: int, eps_levels: tuple, steps: int,
           seed: int) -> list[AttackRun]:
    """FGSM and PGD, untargeted (away from the clean prediction) and targeted, at each ε (levels of 255); a
    targeted attack counts only the images not already predicted as the target."""
    rows = []
    away = torch.as_tensor(clean, device=batch.x.device)
    std = torch.tensor(net.std, device=batch.x.device)
    for method, targeted, eps in itertools.product(("FGSM", "PGD"), (False, True), eps_levels):
        labels = torch.full_like(away, target) if targeted else away
        counted = clean != target if targeted else np.ones(len(clean), dtype=bool)
        result = _run(method, net, batch, labels, eps / 255.0, targeted, steps, seed)
        linf, l2 = perturbation_sizes(batch.x, result.adversarial, std)
        ok = result.success.cpu().numpy() & counted
        rows.append(AttackRun(method=method, targeted=targeted, eps=float(eps),
                              success_rate=float(ok.sum() / max(1, counted.sum())),
                              median_linf=float(np.median(linf)), median_l2=float(np.median(l2)),
                              seconds=result.seconds, steps=1 if method == "FGSM" else steps))
    return rows


def _naive_curve(naive: NaiveAttack, eps_levels: tuple) -> list[float]:
    """Share of the attacked images that the naive attack fooled with an L∞ of at most ε."""
    rows = [r for r in naive.per_image if not r.already]
    return [sum(r.success and r.linf <= eps for r in rows) / max(1, len(rows)) for eps in eps_levels]


def _comparison_plot(rows: list[AttackRun], eps_levels: tuple, naive: list[float], target: str) -> Figure:
    fig = Figure(figsize=(WIDTH * 0.62, 2.8))
    ax = fig.subplots()
    for method, marker in (("FGSM", "o"), ("PGD", "s")):
        for targeted, style in ((False, "--"), (True, "-")):
            part = [r for r in rows if r.method == method and r.targeted == targeted]
            what = f"targeted ({target})" if targeted else "untargeted"
            ax.plot([r.eps for r in part], [r.success_rate for r in part], style, marker=marker,
                    label=f"{method} {what}")
    ax.plot(eps_levels, naive, ":", marker="^", color="black", label=f"naive ({target}), L∞ ≤ ε")
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(eps_levels), [f"{e:g}" for e in eps_levels])
    ax.minorticks_off()
    ax.set(xlabel="ε: L∞ budget (levels of 255)", ylabel="success rate", ylim=(-0.03, 1.03))
    small_type(ax, "right")
    return fig


@experiment
def attack_comparison(visualize_net: Network, imagenet_val: ImageSet, naive_attack: NaiveAttack,
                      device: torch.device, eps_levels: Positives = (1.0, 2.0, 4.0, 8.0), pgd_steps: Count = 10,
                      cpu_pgd_steps: Count = 5, seed: Seed = 0) -> AttackComparison:
    """FGSM and PGD (untargeted and targeted) at several L∞ budgets, against the naive attack; PGD takes
    `pgd_steps` steps, `cpu_pgd_steps` on a CPU (each step is a gradient of every image at every budget: 8 budgets ×
    25 images)."""
    full_pgd_steps, pgd_steps = pgd_steps, cpu_budget(device, cpu_pgd_steps, pgd_steps)
    visualize_net = fast(visualize_net, device)  # the same function, about twice as fast (ch2_common.fast)
    batch = prepare(imagenet_val, visualize_net, device)
    clean = predict(visualize_net, batch.x).classes
    target = int(naive_attack.target_index)
    rows = _sweep(visualize_net, batch, clean, target, eps_levels, pgd_steps, seed)
    naive = _naive_curve(naive_attack, eps_levels)
    pgd_targeted = [r for r in rows if r.method == "PGD" and r.targeted]
    best = max(pgd_targeted, key=lambda r: (r.success_rate, -r.eps))
    return AttackComparison(
        network=visualize_net.describe(), model=visualize_net.name, target=naive_attack.target,
        eps_levels=list(eps_levels), pgd_steps=pgd_steps, full_pgd_steps=full_pgd_steps, seed=seed, rows=rows,
        naive_curve=naive, naive_success=naive_attack.success_rate, naive_median_linf=naive_attack.median_linf,
        naive_seconds=naive_attack.seconds, naive_median_steps=naive_attack.median_steps,
        best_pgd_success=best.success_rate, best_pgd_eps=best.eps,
        figure=_comparison_plot(rows, eps_levels, naive, naive_attack.target),
    )
