"""Chapter 1's results: what each experiment returns, and what other experiments consume."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from experiments.methods.svm_results import ConfusedPair, PcaPoint, SvmResult
from experiments.results import Plot


@dataclass(frozen=True)
class Subset:
    """The images an extra forward pass used: every image, or `per_class` per class and split (on a CPU)."""

    per_class: int
    all: bool
    train_images: int
    test_images: int


# -- 1.1 ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerParams:
    """One conv or linear layer: its output shape, weights, biases, and its input and output features/channels."""

    layer: str
    kind: str  # "conv" or "fc"
    shape: list[int]
    weights: int
    biases: int
    total: int
    inputs: int
    outputs: int


@dataclass(frozen=True)
class ArchitectureParams:
    layers: list[LayerParams]
    total: int
    conv_total: int
    conv_layers: int
    other_total: int
    fc_total: int
    fc_weights_only: int
    fc_share: float
    fc_layers: list[LayerParams]
    estimate_error: float


@dataclass(frozen=True)
class Category:
    index: int
    name: str


@dataclass(frozen=True)
class ArchitectureOutput:
    shape: list[int]
    size: int
    categories: int
    examples: list[Category]


@dataclass(frozen=True)
class TopClass:
    """One of an image's most probable classes."""

    name: str
    index: int
    probability: float


@dataclass(frozen=True)
class ShownImage:
    name: str
    labelled: bool
    top5: list[TopClass]


@dataclass(frozen=True)
class ValidationRow:
    true: str
    predicted: str
    probability: float
    correct: bool
    in_top5: bool


@dataclass(frozen=True)
class Predictions:
    network: str
    source: str
    classes: int
    image_count: int
    shown_subset: bool
    images: list[ShownImage]
    figure: Plot
    images_top1: float | None
    images_top5: float | None
    val_source: str
    val_images: int
    top1: float | None
    top5: float | None
    val_rows: list[ValidationRow]
    val_errors: int
    errors_figure: Plot | None


@dataclass(frozen=True)
class InputVariant:
    """The predictions for one way of preparing the input (normalized, in [0, 1], in [0, 255])."""

    variant: str
    text: str
    min: float
    max: float
    top1: float | None
    top5: float | None
    confidence: float
    agreement: float
    images: list[TopClass]  # our images' most probable class


@dataclass(frozen=True)
class NormalizationEffect:
    network: str
    variants: list[InputVariant]
    names: list[str]
    mean: list[float]
    std: list[float]
    normalized_top1: float | None
    unnormalized_top1: float | None
    raw_top1: float | None
    agreement_unnormalized: float
    agreement_raw: float
    val_images: int


@dataclass(frozen=True)
class PassStatistics:
    """How far repeated passes in one train mode move from the eval-mode probabilities."""

    changed: float
    unstable: float
    probability_std: float
    probability_shift: float
    max_difference: float
    accuracy: list[float | None]
    accuracy_min: float | None
    accuracy_max: float | None


@dataclass(frozen=True)
class EvalModeEffect:
    network: str
    images: int
    passes: int
    batch: int
    dropout_layers: int
    batchnorm_layers: int
    eval_max_difference: float
    eval_accuracy: float | None
    train: PassStatistics  # every layer in train mode
    dropout_only: PassStatistics | None  # dropout in train mode, batch norm in eval mode: when the network has both
    figure: Plot
    train_changed: float


@dataclass(frozen=True)
class Conv1Maps:
    network: str
    conv: str
    filters: int
    kernel: list[int]
    stride: list[int]
    in_channels: int
    map_size: list[int]
    input_size: int
    images: int
    names: list[str]
    colour_filters: int
    luminance_filters: int
    colour_threshold: float
    chroma: np.ndarray
    dead_maps: int
    strongest: list[list[int]]
    filters_figure: Plot
    maps_figures: list[Plot]


# -- 1.2.1 --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FeatureLayer:
    label: str
    module: str
    dim: int


@dataclass(frozen=True)
class SceneFeatures:
    """Every layer's pooled features of every 15 Scene image, from one pass of the transfer network."""

    network: str
    classes: list[str]
    layers: list[FeatureLayer]  # shallow to deep
    penultimate: str  # the label of the layer that feeds the classifier
    train: dict[str, np.ndarray]  # label → (training images, dim)
    test: dict[str, np.ndarray]
    train_labels: np.ndarray
    test_labels: np.ndarray
    images: int
    seconds: float
    images_per_second: float
    amp: bool
    device: str
    batchnorm_folded: bool
    batch_size: int


@dataclass(frozen=True)
class Baseline:
    """The practical's SVM on every image's penultimate features, with the C and seed the others reuse."""

    network: str
    layer: str
    C: float
    seed: int
    svm: SvmResult

    @property
    def accuracy(self) -> float:
        return self.svm.accuracy

    @property
    def fit_seconds(self) -> float:
        return self.svm.fit_seconds


@dataclass(frozen=True)
class ClassCount:
    name: str
    train: int
    test: int


@dataclass(frozen=True)
class SizeCount:
    width: int
    height: int
    images: int


@dataclass(frozen=True)
class ModeCount:
    mode: str
    images: int


@dataclass(frozen=True)
class DuplicateGroup:
    where: str  # "train", "test" or "train and test"
    files: list[str]
    classes: list[str]


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class DataAudit:
    layout: str
    root: str
    classes: int
    counts: list[ClassCount]
    train_total: int
    test_total: int
    total: int
    sizes: list[SizeCount]
    distinct_sizes: int
    modes: list[ModeCount]
    all_grayscale: bool
    duplicates_within_train: int
    duplicates_within_test: int
    duplicates_across: int
    label_conflicts: int
    duplicate_examples: list[DuplicateGroup]
    skipped: list[SkippedFile]
    skipped_total: int


@dataclass(frozen=True)
class ClassAccuracy:
    name: str
    accuracy: float
    test_images: int


@dataclass(frozen=True)
class PerClass:
    network: str
    layer: str
    C: float
    accuracy: float
    errors: int
    test_images: int
    worst_class: str
    worst_accuracy: float
    best_class: str
    best_accuracy: float
    classes: list[ClassAccuracy]
    pairs: list[ConfusedPair]
    indoor: list[str]
    indoor_accuracy: float | None
    outdoor_accuracy: float | None
    errors_within_indoor: int
    indoor_error_share: float | None
    confusion: np.ndarray
    figure: Plot
    fit_seconds: float


@dataclass(frozen=True)
class PretrainedVsRandom:
    network: str
    random_network: str
    pretrained: float
    random: float
    difference: float
    chance: float
    majority: float
    subset: Subset
    seconds: float
    random_zero_features: float


@dataclass(frozen=True)
class FromScratch:
    network: str
    parameters: int
    parameters_imagenet: int
    train_images: int
    train_per_class: float
    parameters_per_image: float
    accuracy: float
    train_accuracy: float
    epochs_run: int
    epochs: int  # the epochs this run was given (the CPU's budget on a CPU)
    full_epochs: int  # the epochs set for a GPU
    seconds: float
    max_seconds: float  # the time that stops a machine too slow for `epochs` (the CPU's on a CPU)
    full_max_seconds: float  # the same for a GPU
    stopped_by_time: bool
    input_size: int
    full_input_size: int
    test_history: list[float]
    history: list[list[float]]  # (loss, running training accuracy) per epoch
    figure: Plot | None
    baseline_accuracy: float
    baseline_full_accuracy: float
    chance: float
    classes: int
    subset: Subset
    lr: float
    batch_size: int

    @property
    def reduced_budget(self) -> bool:
        """Whether this run had a CPU budget below the one set for a GPU: fewer epochs, or less time."""
        return self.epochs != self.full_epochs or self.max_seconds < self.full_max_seconds

    @property
    def reduced_size(self) -> bool:
        """Whether this run trained on smaller images than the network's input (the CPU's reduction)."""
        return self.input_size != self.full_input_size


# -- 1.2.2 --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerAccuracy:
    label: str
    module: str
    dim: int
    accuracy: float
    fit_seconds: float


@dataclass(frozen=True)
class LayerSweep:
    network: str
    rows: list[LayerAccuracy]
    best_layer: str
    best_accuracy: float
    penultimate: str
    penultimate_accuracy: float
    first_accuracy: float
    first_layer: str
    figure: Plot


@dataclass(frozen=True)
class Grayscale:
    network: str
    conv: str
    check_images: int
    max_difference: float
    output_scale: float
    relative_difference: float
    replication_accuracy: float
    exact_accuracy: float
    averaged_accuracy: float
    same_predictions: float
    averaged_mean: float
    averaged_std: float
    uniform_normalization: bool
    exact_seconds: float
    averaged_seconds: float
    subset: Subset


@dataclass(frozen=True)
class NetworkClassifier:
    network: str
    svm_accuracy: float
    svm_seconds: float
    head_accuracy: float
    head_train_accuracy: float
    head_seconds: float
    head_epochs: int
    finetune_accuracy: float
    finetune_train_accuracy: float
    finetune_seconds: float
    finetune_train_seconds: float
    finetune_epochs: int
    finetune_stopped_by_time: bool
    finetune_trained: list[str]
    finetune_cached_trunk: bool
    finetune_layers: int
    svm_subset_accuracy: float
    subset: Subset
    extraction_seconds: float


@dataclass(frozen=True)
class SvmC:
    network: str
    cs: list[float]
    cv_accuracy: list[float]
    test_curve: list[float]
    best_c: float
    cv_best: float
    test_accuracy: float
    baseline_accuracy: float
    baseline_c: float
    gain: float
    folds: int
    train_images: int
    test_images: int
    stderr: float
    figure: Plot


@dataclass(frozen=True)
class OtherNetwork:
    network: str
    role: str
    transfer_network: str
    accuracy: float
    transfer_accuracy: float
    difference: float
    dim: int
    transfer_dim: int
    parameters: int
    transfer_parameters: int
    seconds: float
    images_per_second: float
    subset: Subset


@dataclass(frozen=True)
class Pca:
    network: str
    points: list[PcaPoint]
    full: PcaPoint  # without PCA
    best: PcaPoint
    best_accuracy: float
    figure: Plot
