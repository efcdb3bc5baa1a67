"""1.2.1 Q5–Q7: features of 15 Scene extracted once, the data audit, per-class results, random weights, scratch.

`scene_features` runs the transfer network once over every train and test image and keeps every layer the
chapter needs (pooled), so that the SVM, C and PCA sweeps never re-extract. Experiments that need another
forward pass (random weights, training) take `per_class_on_cpu`: on a CPU they use at most that many images
per class and split (0: all) and compare with the pretrained features of the very same images.
"""
from __future__ import annotations

import copy
import time

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from experiments.assets.networks import Network
from experiments.assets.scene15 import Scene15, audit
from experiments.ch1_common import (
    extract_one,
    feature_layers,
    gray_images,
    image_paths,
    inference_batch,
    label_of,
    loader_workers,
    rgb_preprocess,
    subset,
)
from experiments.ch1_svm import like, on_part, penultimate, svm
from experiments.methods.classify import most_confused
from experiments.methods.features import ImageFiles, extract
from experiments.methods.inference import for_inference
from experiments.methods.tail import with_new_head
from experiments.methods.training import TrainConfig, train_from_scratch
from experiments.results.ch1 import (
    Baseline,
    ClassAccuracy,
    ClassCount,
    DataAudit,
    DuplicateGroup,
    FeatureLayer,
    FromScratch,
    ModeCount,
    PerClass,
    PretrainedVsRandom,
    SceneFeatures,
    SizeCount,
    SkippedFile,
)
from experiments.settings import Count, CountOrZero, InputSize, Positive, Seed, Workers, cpu_budget, on_cpu_or_full
from reportgen import experiment

INDOOR = ("bedroom", "kitchen", "livingroom", "office", "store")  # the indoor scenes of 15 Scene


# -- experiments --------------------------------------------------------------------------------------------------

@experiment
def scene_features(transfer_net: Network, scene15: Scene15, device: torch.device, batch_size: CountOrZero = 0,
                   workers: Workers = -1, amp: bool = True, channels_last: bool = True,
                   fold: bool = True) -> SceneFeatures:
    """Every layer's pooled features of every 15 Scene image, from one pass of the transfer network."""
    layers = feature_layers(transfer_net)
    paths = list(scene15.train.paths) + list(scene15.test.paths)
    dataset = ImageFiles(paths, rgb_preprocess(transfer_net))
    start = time.perf_counter()
    module = for_inference(transfer_net.module, transfer_net.input_size, device) if fold else transfer_net.module
    features = extract(module, layers, dataset, device, inference_batch(batch_size, device), loader_workers(workers),
                       pool=True, amp=amp, channels_last=channels_last)
    seconds = time.perf_counter() - start
    n_train = len(scene15.train.paths)
    return SceneFeatures(
        network=transfer_net.describe(), classes=list(scene15.classes),
        layers=[FeatureLayer(label, name, int(features[label].shape[1])) for label, name in layers.items()],
        penultimate=label_of(layers, transfer_net.penultimate),
        train={label: f[:n_train] for label, f in features.items()},
        test={label: f[n_train:] for label, f in features.items()},
        train_labels=scene15.train.labels, test_labels=scene15.test.labels,
        images=len(paths), seconds=seconds, images_per_second=len(paths) / seconds,
        amp=bool(amp and device.type == "cuda"), device=str(device),
        batchnorm_folded=module is not transfer_net.module, batch_size=inference_batch(batch_size, device),
    )


def _relative(path, root) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _duplicate_rows(groups: tuple, where: str, root) -> list[DuplicateGroup]:
    return [DuplicateGroup(where, [_relative(p, root) for p in group.train + group.test], list(group.classes))
            for group in groups]


@experiment
def data_audit(scene15: Scene15, examples: Count = 8) -> DataAudit:
    """The 15 Scene data as loaded: images per class and split, sizes, modes, exact duplicates, skipped files."""
    a, root = audit(scene15), scene15.root
    groups = a.duplicates_within_train + a.duplicates_within_test + a.duplicates_across
    return DataAudit(
        layout=a.layout, root=str(root), classes=len(a.classes),
        counts=[ClassCount(name, train, test) for name, train, test in a.counts],
        train_total=a.train_total, test_total=a.test_total, total=a.train_total + a.test_total,
        sizes=[SizeCount(w, h, n) for w, h, n in a.sizes[:examples]],
        distinct_sizes=len(a.sizes), modes=[ModeCount(mode, n) for mode, n in a.modes],
        all_grayscale=[mode for mode, _ in a.modes] == ["L"],
        duplicates_within_train=len(a.duplicates_within_train),
        duplicates_within_test=len(a.duplicates_within_test), duplicates_across=len(a.duplicates_across),
        label_conflicts=len({g.sha256 for g in groups if len(g.classes) > 1}),
        duplicate_examples=(_duplicate_rows(a.duplicates_across, "train and test", root)
                            + _duplicate_rows(a.duplicates_within_train, "train", root)
                            + _duplicate_rows(a.duplicates_within_test, "test", root))[:examples],
        skipped=[SkippedFile(_relative(s.path, root), s.reason) for s in a.skipped[:examples]],
        skipped_total=len(a.skipped),
    )


def confusion_figure(confusion: np.ndarray, classes: list[str]) -> Figure:
    """Row-normalized confusion matrix with the counts written in the cells."""
    rates = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    fig = Figure(figsize=(7, 6.2))
    ax = fig.subplots()
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(confusion):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=7 if count < 100 else 6,
                    color="white" if rates[i, j] > 0.5 else "black")
    ticks = range(len(classes))
    ax.set_xticks(ticks, classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(ticks, classes, fontsize=8)
    ax.set_xlabel("predicted class", fontsize=9)
    ax.set_ylabel("true class", fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02).ax.tick_params(labelsize=8)
    fig.tight_layout()
    return fig


def _group_accuracy(confusion: np.ndarray, classes: list[str], members: set[str]) -> float | None:
    rows = [i for i, name in enumerate(classes) if name in members]
    if not rows:
        return None
    return float(sum(confusion[i, i] for i in rows) / max(confusion[rows].sum(), 1))


@experiment
def baseline(scene_features: SceneFeatures, C: Positive = 1.0, seed: Seed = 0) -> Baseline:
    """The practical's method on every image: LinearSVC(C) on L2-normalized penultimate features, scored on test."""
    return Baseline(scene_features.network, scene_features.penultimate, C, seed,
                    svm(*penultimate(scene_features), C=C, seed=seed))


@experiment
def per_class(scene_features: SceneFeatures, baseline: Baseline, pairs: Count = 6) -> PerClass:
    """The practical's baseline (LinearSVC on L2-normalized penultimate features): per class and confusions."""
    classes = list(scene_features.classes)
    result, C = on_part(baseline, scene_features), baseline.C
    counts = result.confusion.sum(axis=1)
    rows = [ClassAccuracy(name, float(acc), int(n)) for name, acc, n in zip(classes, result.per_class, counts)]
    worst, best = int(np.nanargmin(result.per_class)), int(np.nanargmax(result.per_class))
    indoor = set(INDOOR) & set(classes)
    within_indoor = sum(int(result.confusion[i, j]) for i, a in enumerate(classes) for j, b in enumerate(classes)
                        if i != j and a in indoor and b in indoor)
    errors = int(counts.sum() - np.trace(result.confusion))
    return PerClass(
        network=scene_features.network, layer=scene_features.penultimate, C=C,
        accuracy=result.accuracy, errors=errors, test_images=int(counts.sum()),
        worst_class=classes[worst], worst_accuracy=float(result.per_class[worst]),
        best_class=classes[best], best_accuracy=float(result.per_class[best]),
        classes=rows, pairs=most_confused(result.confusion, classes, pairs),
        indoor=sorted(indoor), indoor_accuracy=_group_accuracy(result.confusion, classes, indoor),
        outdoor_accuracy=_group_accuracy(result.confusion, classes, set(classes) - indoor),
        errors_within_indoor=within_indoor, indoor_error_share=within_indoor / errors if errors else None,
        confusion=result.confusion,
        figure=confusion_figure(result.confusion, classes), fit_seconds=result.fit_seconds,
    )


@experiment
def pretrained_vs_random(transfer_random_net: Network, scene15: Scene15, scene_features: SceneFeatures,
                         baseline: Baseline, device: torch.device, batch_size: CountOrZero = 0, workers: Workers = -1,
                         amp: bool = True, per_class_on_cpu: CountOrZero = 10, seed: Seed = 0
                         ) -> PretrainedVsRandom:
    """The same pipeline on the same images with the architecture's random (untrained) weights."""
    part = subset(scene15, device, per_class_on_cpu, seed)
    train_paths, train_y, test_paths, test_y = image_paths(scene15, part)
    start = time.perf_counter()
    extract_args = (transfer_random_net.penultimate, rgb_preprocess(transfer_random_net), device, batch_size,
                    workers, amp)
    train_x = extract_one(transfer_random_net.module, train_paths, *extract_args)
    test_x = extract_one(transfer_random_net.module, test_paths, *extract_args)
    seconds = time.perf_counter() - start
    random = like(baseline, train_x, train_y, test_x, test_y)
    pretrained = on_part(baseline, scene_features, part)
    majority = np.bincount(test_y).max() / len(test_y)
    return PretrainedVsRandom(
        network=scene_features.network, random_network=transfer_random_net.describe(),
        pretrained=pretrained.accuracy, random=random.accuracy,
        difference=pretrained.accuracy - random.accuracy, chance=1 / len(scene15.classes),
        majority=float(majority), subset=part.info, seconds=seconds,
        random_zero_features=float(np.mean(np.linalg.norm(test_x, axis=1) == 0)),
    )


def _history_figure(history: list, tests: list, baseline: float) -> Figure | None:
    """Loss per epoch; training (running) and test accuracy per epoch, against the transfer baseline."""
    if len(history) < 2:
        return None
    epochs = np.arange(1, len(history) + 1)
    fig = Figure(figsize=(7, 2.6))
    loss_ax, acc_ax = fig.subplots(1, 2)
    loss_ax.plot(epochs, [h[0] for h in history], marker="o", ms=3)
    acc_ax.plot(epochs, [h[1] for h in history], marker="o", ms=3, label="training (running)")
    if tests:
        acc_ax.plot(epochs[: len(tests)], tests, marker="s", ms=3, label="test")
    acc_ax.axhline(baseline, color="tab:green", linestyle="--", linewidth=1, label="SVM on pretrained features")
    acc_ax.set_ylim(0, 1)
    acc_ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    for ax, label in ((loss_ax, "training loss"), (acc_ax, "accuracy")):
        ax.set_xlabel("epoch", fontsize=9)
        ax.set_ylabel(label, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@experiment
def from_scratch(transfer_random_net: Network, scene15: Scene15, scene_features: SceneFeatures, baseline: Baseline,
                 device: torch.device, epochs: Count = 30, max_seconds: Positive = 60.0, lr: Positive = 1e-3,
                 batch_size: Count = 32, per_class_on_cpu: CountOrZero = 30, cpu_input_size: InputSize = 64,
                 cpu_epochs: Count = 8, cpu_max_seconds: Positive = 120.0, amp: bool = True,
                 channels_last: bool = True, workers: Workers = -1, seed: Seed = 0) -> FromScratch:
    """A bounded run training the same architecture from random weights on 15 Scene, against the features. On a
    CPU it is reduced to fit about half a minute: `per_class_on_cpu` training images per class at `cpu_input_size`
    pixels, for `cpu_epochs` epochs (`epochs` elsewhere). The budget is counted in epochs, so that two builds train
    alike; `cpu_max_seconds` (`max_seconds` elsewhere) only stops a machine too slow for it, and the report says
    so. The test accuracy after each epoch shows the gap that grows with training."""
    classes = len(scene15.classes)
    part = subset(scene15, device, per_class_on_cpu, seed)
    size = on_cpu_or_full(device, cpu_input_size, transfer_random_net.input_size)
    budget = on_cpu_or_full(device, cpu_max_seconds, max_seconds)
    run_epochs = cpu_budget(device, cpu_epochs, epochs)
    train_paths, train_y, test_paths, test_y = image_paths(scene15, part)
    train_ds = gray_images(train_paths, train_y, transfer_random_net, workers, size)
    test_ds = gray_images(test_paths, test_y, transfer_random_net, workers, size)
    config = TrainConfig(epochs=run_epochs, lr=lr, batch_size=batch_size, max_seconds=budget, seed=seed, amp=amp,
                         channels_last=channels_last, track_test=True)

    def factory(num_classes: int) -> nn.Module:
        return with_new_head(copy.deepcopy(transfer_random_net.module), transfer_random_net.classifier, num_classes)

    run = train_from_scratch(factory, classes, train_ds, test_ds, config, device)
    parameters = _parameters(factory(classes))
    full_train = len(scene15.train.paths)
    baseline_part = on_part(baseline, scene_features, part).accuracy
    return FromScratch(
        network=transfer_random_net.describe(), parameters=parameters,
        parameters_imagenet=_parameters(transfer_random_net.module), train_images=full_train,
        train_per_class=full_train / classes,
        parameters_per_image=parameters / full_train, accuracy=run.test_accuracy,
        train_accuracy=run.train_accuracy, epochs_run=run.epochs_run, epochs=run_epochs, full_epochs=epochs,
        seconds=run.seconds, max_seconds=budget, full_max_seconds=max_seconds,
        stopped_by_time=run.stopped_by_time, input_size=size, full_input_size=transfer_random_net.input_size,
        test_history=list(run.test_history),
        history=[list(h) for h in run.history],
        figure=_history_figure(list(run.history), list(run.test_history), baseline_part),
        baseline_accuracy=baseline_part, baseline_full_accuracy=baseline.accuracy,
        chance=1 / classes, classes=classes, subset=part.info, lr=lr, batch_size=batch_size,
    )
