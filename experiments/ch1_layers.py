"""1.2.2 Q8–Q11: the layer the features come from, grayscale inputs, the network as classifier, improvements."""
from __future__ import annotations

import time

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from experiments.assets.networks import Network
from experiments.assets.scene15 import Scene15
from experiments.ch1_common import extract_one, fine_tune_tail, image_paths, rgb_preprocess, subset
from experiments.ch1_svm import like, on_part, penultimate, quiet_convergence, svm, svms
from experiments.figures import FONT, WIDTH
from experiments.methods.classify import choose_c, pca_sweep
from experiments.methods.features import ImageFiles, Preprocess
from experiments.methods.grayscale import fold_first_conv, fold_first_conv_normalized, max_output_difference
from experiments.methods.svm_results import PcaPoint
from experiments.methods.training import TrainConfig, train_linear_head
from experiments.network_names import same_network
from experiments.results.ch1 import (
    Baseline,
    Grayscale,
    LayerAccuracy,
    LayerSweep,
    NetworkClassifier,
    OtherNetwork,
    Pca,
    SceneFeatures,
    SvmC,
)
from experiments.settings import Count, CountOrZero, Counts, Jobs, Positive, Positives, Seed, Workers
from reportgen import UserError, experiment


def _axes(ax, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel, fontsize=FONT)
    ax.set_ylabel(ylabel, fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    ax.grid(alpha=0.3)


# -- 1.Q8 -------------------------------------------------------------------------------------------------------

def _layers_figure(rows: list[LayerAccuracy], penultimate_label: str) -> Figure:
    fig = Figure(figsize=(WIDTH, 3.0))
    ax = fig.subplots()
    xs = np.arange(len(rows))
    ax.plot(xs, [r.accuracy for r in rows], marker="o", ms=4)
    for x, row in zip(xs, rows):
        ax.annotate(f"{row.accuracy:.1%}", (x, row.accuracy), textcoords="offset points", xytext=(0, 6),
                    ha="center", fontsize=FONT)
    labels = [f"{r.label}\n{r.dim:,}-d" + (" *" if r.label == penultimate_label else "") for r in rows]
    ax.set_xticks(xs, labels, rotation=45 if len(rows) > 8 else 0, ha="right" if len(rows) > 8 else "center")
    ax.set_ylim(0, 1.08)
    _axes(ax, "layer (feature dimension; * = the practical's layer)", "test accuracy")
    fig.tight_layout()
    return fig


@experiment
def layer_sweep(scene_features: SceneFeatures, baseline: Baseline, jobs: Jobs = -1) -> LayerSweep:
    """Test accuracy of the practical's SVM on the features of each layer, shallow to deep."""
    train, test = scene_features.train, scene_features.test
    labels = scene_features.train_labels, scene_features.test_labels
    others = [x for x in scene_features.layers if x.label != scene_features.penultimate]
    fits = svms([(train[x.label], labels[0], test[x.label], labels[1], baseline.C) for x in others],
                baseline.seed, jobs)
    done = {x.label: fit for x, fit in zip(others, fits)}
    done[scene_features.penultimate] = on_part(baseline, scene_features)  # the baseline's own fit
    rows = [LayerAccuracy(x.label, x.module, x.dim, done[x.label].accuracy, done[x.label].fit_seconds)
            for x in scene_features.layers]
    best = max(rows, key=lambda r: r.accuracy)
    by_label = {r.label: r for r in rows}
    return LayerSweep(
        network=scene_features.network, rows=rows, best_layer=best.label,
        best_accuracy=best.accuracy, penultimate=scene_features.penultimate,
        penultimate_accuracy=by_label[scene_features.penultimate].accuracy,
        first_accuracy=rows[0].accuracy, first_layer=rows[0].label,
        figure=_layers_figure(rows, scene_features.penultimate),
    )


# -- 1.Q9 -------------------------------------------------------------------------------------------------------

def _batch(paths: list, preprocess: Preprocess, device: torch.device) -> torch.Tensor:
    dataset = ImageFiles(paths, preprocess)
    return torch.stack([dataset[i][0] for i in range(len(dataset))]).to(device)


@experiment
def grayscale(transfer_net: Network, scene15: Scene15, scene_features: SceneFeatures, baseline: Baseline,
              device: torch.device, batch_size: CountOrZero = 0, workers: Workers = -1, amp: bool = True,
              per_class_on_cpu: CountOrZero = 10, check_images: Count = 8, seed: Seed = 0) -> Grayscale:
    """Gray images into an RGB network: replication, conv1 folded exactly (summed), conv1 averaged."""
    net, size = transfer_net, transfer_net.input_size
    exact, conv = fold_first_conv_normalized(net.module, net.mean, net.std)
    averaged, _ = fold_first_conv(net.module, "mean")
    raw_gray = Preprocess(size, (0.0,), (1.0,), 1, net.interpolation)
    mean_gray = Preprocess(size, (float(np.mean(net.mean)),), (float(np.mean(net.std)),), 1, net.interpolation)
    part = subset(scene15, device, per_class_on_cpu, seed)
    train_paths, train_y, test_paths, test_y = image_paths(scene15, part)
    rgb = _batch(test_paths[:check_images], rgb_preprocess(net), device)
    gray = _batch(test_paths[:check_images], raw_gray, device)
    difference = max_output_difference(net.module, rgb, exact, gray)
    with torch.inference_mode():
        scale = float(net.module(rgb).abs().max())
    accuracy, seconds = {}, {}
    for key, model, pre in (("exact", exact, raw_gray), ("averaged", averaged, mean_gray)):
        start = time.perf_counter()
        args = (net.penultimate, pre, device, batch_size, workers, amp)
        accuracy[key] = like(baseline, extract_one(model, train_paths, *args), train_y,
                             extract_one(model, test_paths, *args), test_y)
        seconds[key] = time.perf_counter() - start
    replication = on_part(baseline, scene_features, part)
    return Grayscale(
        network=net.describe(), conv=conv, check_images=len(rgb), max_difference=difference,
        output_scale=scale, relative_difference=difference / max(scale, 1e-12),
        replication_accuracy=replication.accuracy, exact_accuracy=accuracy["exact"].accuracy,
        averaged_accuracy=accuracy["averaged"].accuracy,
        same_predictions=float(np.mean(replication.predictions == accuracy["exact"].predictions)),
        averaged_mean=float(np.mean(net.mean)), averaged_std=float(np.mean(net.std)),
        uniform_normalization=len(set(net.mean)) == 1 and len(set(net.std)) == 1,
        exact_seconds=seconds["exact"], averaged_seconds=seconds["averaged"], subset=part.info,
    )


# -- 1.Q10 ------------------------------------------------------------------------------------------------------

@experiment
def network_classifier(transfer_net: Network, scene15: Scene15, scene_features: SceneFeatures, baseline: Baseline,
                       device: torch.device, head_epochs: Count = 50, head_lr: Positive = 1e-3,
                       head_batch_size: Count = 128, finetune_layers: Count = 2, finetune_epochs: Count = 20,
                       finetune_seconds: Positive = 30.0, finetune_lr: Positive = 1e-4, batch_size: Count = 32,
                       workers: Workers = -1, amp: bool = True, channels_last: bool = True,
                       per_class_on_cpu: CountOrZero = 10, seed: Seed = 0) -> NetworkClassifier:
    """The network as the classifier: a new last layer on frozen features, fine-tuning deeper layers, the SVM."""
    classes = len(scene15.classes)
    head_config = TrainConfig(epochs=head_epochs, lr=head_lr, batch_size=head_batch_size, max_seconds=None, seed=seed)
    head = train_linear_head(*penultimate(scene_features), classes, head_config, device)
    part = subset(scene15, device, per_class_on_cpu, seed)
    tune_config = TrainConfig(epochs=finetune_epochs, lr=finetune_lr, batch_size=batch_size,
                              max_seconds=finetune_seconds, seed=seed, amp=amp, channels_last=channels_last)
    tuned = fine_tune_tail(transfer_net, scene15, part, finetune_layers, tune_config, device, 0, workers, amp)
    run = tuned.run
    return NetworkClassifier(
        network=transfer_net.describe(), svm_accuracy=baseline.accuracy, svm_seconds=baseline.fit_seconds,
        head_accuracy=head.test_accuracy, head_train_accuracy=head.train_accuracy, head_seconds=head.seconds,
        head_epochs=head.epochs_run, finetune_accuracy=run.test_accuracy,
        finetune_train_accuracy=run.train_accuracy, finetune_seconds=tuned.seconds,
        finetune_train_seconds=run.seconds, finetune_epochs=run.epochs_run,
        finetune_stopped_by_time=run.stopped_by_time, finetune_trained=tuned.trained,
        finetune_cached_trunk=tuned.cached_trunk, finetune_layers=finetune_layers,
        svm_subset_accuracy=on_part(baseline, scene_features, part).accuracy,
        subset=part.info, extraction_seconds=scene_features.seconds,
    )


# -- 1.Q11 ------------------------------------------------------------------------------------------------------

def _c_figure(cs: list, cv: np.ndarray, test: list, best: float) -> Figure:
    fig = Figure(figsize=(WIDTH, 2.8))
    ax = fig.subplots()
    ax.semilogx(cs, cv, marker="o", ms=4, label="cross-validation on train (chooses C)")
    ax.semilogx(cs, test, marker="s", ms=4, ls="--", label="test (shown only, never used)")
    ax.axvline(best, color="grey", ls=":", label=f"chosen C = {best:g}")
    ax.legend(fontsize=FONT)
    _axes(ax, "C (log scale)", "accuracy")
    fig.tight_layout()
    return fig


@experiment
def svm_c(scene_features: SceneFeatures, baseline: Baseline, cs: Positives = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0),
          folds: Count = 5, seed: Seed = 0, jobs: Jobs = -1) -> SvmC:
    """C chosen by stratified cross-validation on the training set only, then tested once."""
    train_x, train_y, test_x, test_y = penultimate(scene_features)
    cs, base_c = [float(c) for c in cs], float(baseline.C)
    fitted = sorted(set(cs) - {base_c}, reverse=True)  # the baseline's C is already fitted; the slowest first
    runs = [(train_x, train_y, test_x, test_y, c) for c in fitted]
    with quiet_convergence():
        best, cv = choose_c(train_x, train_y, cs, folds=folds, seed=seed, n_jobs=jobs)
        fits = svms(runs, baseline.seed, jobs)
    accuracy = {c: f.accuracy for c, f in zip(fitted, fits)} | {base_c: baseline.accuracy}
    test = [accuracy[c] for c in cs]
    chosen, base = accuracy[best], baseline.accuracy
    stderr = float(np.sqrt(base * (1 - base) / len(test_y)))  # binomial standard error of an accuracy
    return SvmC(
        network=scene_features.network, cs=cs, cv_accuracy=[float(v) for v in cv], test_curve=test,
        best_c=best, cv_best=float(cv.max()), test_accuracy=chosen, baseline_accuracy=base,
        baseline_c=base_c, gain=chosen - base, folds=folds, train_images=len(train_y), test_images=len(test_y),
        stderr=stderr, figure=_c_figure(cs, cv, test, best),
    )


def other_role(transfer_net: Network, compare_net: Network, visualize_net: Network) -> tuple[str, Network]:
    """The compare role's network, or the visualize role's when compare is the transfer network itself."""
    for role, net in (("compare", compare_net), ("visualize", visualize_net)):
        if not same_network(net, transfer_net):
            return role, net
    raise UserError(f"no other network is configured: the compare and visualize roles are both {transfer_net.name} "
                    "with the transfer network's weights; set [networks.compare] model and weights to another one")


@experiment
def other_network(transfer_net: Network, compare_net: Network, visualize_net: Network, scene15: Scene15,
                  scene_features: SceneFeatures, baseline: Baseline, device: torch.device,
                  batch_size: CountOrZero = 0, workers: Workers = -1, amp: bool = True,
                  per_class_on_cpu: CountOrZero = 10, seed: Seed = 0) -> OtherNetwork:
    """The practical's pipeline with another pretrained network's penultimate features, on the same images."""
    role, other = other_role(transfer_net, compare_net, visualize_net)
    part = subset(scene15, device, per_class_on_cpu, seed)
    train_paths, train_y, test_paths, test_y = image_paths(scene15, part)
    args = (other.penultimate, rgb_preprocess(other), device, batch_size, workers, amp)
    start = time.perf_counter()
    train_x, test_x = extract_one(other.module, train_paths, *args), extract_one(other.module, test_paths, *args)
    seconds = time.perf_counter() - start
    result = like(baseline, train_x, train_y, test_x, test_y)
    transfer = on_part(baseline, scene_features, part)
    count = lambda net: sum(p.numel() for p in net.module.parameters())  # noqa: E731
    return OtherNetwork(
        network=other.describe(), role=role, transfer_network=transfer_net.describe(),
        accuracy=result.accuracy, transfer_accuracy=transfer.accuracy,
        difference=result.accuracy - transfer.accuracy, dim=int(train_x.shape[1]),
        transfer_dim=int(scene_features.train[scene_features.penultimate].shape[1]),
        parameters=count(other), transfer_parameters=count(transfer_net), seconds=seconds,
        images_per_second=(len(train_paths) + len(test_paths)) / seconds, subset=part.info,
    )


def _pca_figure(points: list[PcaPoint], full: PcaPoint) -> Figure:
    """Accuracy (left) and time (right) against the dimensions kept; the horizontal lines are without PCA."""
    fig = Figure(figsize=(WIDTH, 2.7))
    acc_ax, time_ax = fig.subplots(1, 2)
    dims = [p.dim for p in points]
    acc_ax.plot(dims, [p.accuracy for p in points], marker="o", ms=4, label="after PCA")
    acc_ax.axhline(full.accuracy, color="grey", ls=":", label=f"no PCA ({full.dim:,}-d)")
    time_ax.plot(dims, [p.fit_seconds for p in points], marker="o", ms=4, label="SVM fit")
    time_ax.plot(dims, [p.total_seconds for p in points], marker="s", ms=4, ls="--", label="PCA + SVM fit + predict")
    time_ax.axhline(full.fit_seconds, color="grey", ls=":", label="SVM fit, no PCA")
    for ax, label in ((acc_ax, "test accuracy"), (time_ax, "seconds")):
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.legend(fontsize=FONT)
        _axes(ax, "dimensions kept", label)
    fig.tight_layout()
    return fig


@experiment
def pca(scene_features: SceneFeatures, baseline: Baseline, dims: Counts = (8, 16, 32, 64, 128, 256, 512)) -> Pca:
    """PCA (fitted on train) to several dimensions before the SVM: accuracy and time against no PCA."""
    train_x, train_y, test_x, test_y = penultimate(scene_features)
    C, seed = baseline.C, baseline.seed
    points = [p for p in pca_sweep(train_x, train_y, test_x, test_y, [int(d) for d in dims], C=C, seed=seed)
              if p.dim < train_x.shape[1]]
    start = time.perf_counter()  # the SVM without PCA fitted again here, so that both are timed in the same run
    result = svm(train_x, train_y, test_x, test_y, C=C, seed=seed)
    full = PcaPoint(int(train_x.shape[1]), result.accuracy, result.fit_seconds, time.perf_counter() - start)
    best = max(points, key=lambda p: p.accuracy) if points else full
    return Pca(network=scene_features.network, points=points, full=full, best=best, best_accuracy=best.accuracy,
               figure=_pca_figure(points, full))
