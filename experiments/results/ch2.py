"""Chapter 2's results: what each experiment returns, and what other experiments consume."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from experiments.methods.classvis_config import ClassVisConfig
from experiments.results import Plot

# -- 2.1 saliency -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaliencyRow:
    """One image: its true class (or name), the prediction, and how concentrated its map is."""

    index: int
    true: str
    predicted: str
    confidence: float
    correct: bool
    concentration: float
    informative: bool


@dataclass(frozen=True)
class SaliencyMaps:
    network: str
    model: str
    source: str
    images: int
    per_image: list[SaliencyRow]
    targets: np.ndarray  # the class each map is computed for
    maps: np.ndarray  # (N, H, W) float32
    top_fraction: float
    informative_share: float
    informative_density: float
    informative_count: int
    mean_concentration: float
    accuracy: float | None
    correct_concentration: float | None
    wrong_concentration: float | None
    most: list[int]
    least: list[int]
    figure: Plot
    examples_figure: Plot


@dataclass(frozen=True)
class SaliencyLimits:
    network: str
    model: str
    images: int
    seed: int
    random_correlation: float
    random_correlations: list[float]
    noise_correlation: float
    noise_correlations: list[float]
    noise_levels: float
    random_concentration: float
    examples: int
    smooth_samples: int
    smooth_noise: float
    plain_stability: float
    smooth_stability: float
    plain_concentration: float
    smooth_concentration: float
    correlation_plot: Plot
    figure: Plot


@dataclass(frozen=True)
class Localization:
    network: str
    model: str
    quantile: float
    smoothing: float
    largest_component: bool
    boxes: np.ndarray  # (N, 4): x0, y0, x1, y1
    box_fractions: list[float]
    mean_box_fraction: float
    mean_mask_fraction: float
    full_accuracy: float
    crop_accuracy: float
    centre_crop_accuracy: float
    figure: Plot


@dataclass(frozen=True)
class SaliencyCompare:
    network: str
    model: str
    compare: str
    compare_model: str
    same_network: bool
    correlations: list[float]
    mean_correlation: float
    chance_correlation: float
    compare_concentration: float
    compare_accuracy: float | None
    figure: Plot


# -- 2.2 adversarial examples -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AttackedImage:
    """One image under the naive attack: before, after, steps and the perturbation's size."""

    index: int
    true: str
    before: str
    before_confidence: float
    target_before: float
    already: bool  # predicted as the target before any step
    after: str
    target_after: float
    steps: int
    success: bool
    linf: float
    l2: float
    p99: float


@dataclass(frozen=True)
class TargetOutcome:
    """One target's outcome over the images not already predicted as the target."""

    target: str
    index: int
    attacked: int
    successes: int
    success_rate: float
    median_steps: float
    median_linf: float | None


@dataclass(frozen=True)
class NaiveAttack:
    network: str
    model: str
    source: str
    images: int
    step: float
    step_pixels: float
    max_steps: int
    target_index: int
    target: str
    attacked: int
    successes: int
    success_rate: float
    median_steps: float
    median_linf: float | None
    per_image: list[AttackedImage]
    seconds: float
    max_steps_taken: int
    max_linf: float | None
    median_l2: float | None
    median_p99: float | None
    quantile: float
    confidence_before: float
    target_after: float | None
    per_target: list[TargetOutcome]
    overall_success_rate: float
    adversarial: np.ndarray
    figure: Plot


@dataclass(frozen=True)
class Saved:
    """The adversarial examples after saving in one format."""

    format: str
    quality: int | None
    survival: float
    restored: float
    clean_kept: float


@dataclass(frozen=True)
class AttackConsequences:
    network: str
    model: str
    compare: str
    compare_model: str
    same_network: bool
    target: str
    fooled: int
    transfer_rate: float
    untargeted_transfer_rate: float
    png_survival: float
    jpeg_survival: float | None
    jpeg_quality: int | None
    saved: list[Saved]
    figure: Plot


@dataclass(frozen=True)
class AttackRun:
    """One attack at one budget."""

    method: str  # "FGSM" or "PGD"
    targeted: bool
    eps: float
    success_rate: float
    median_linf: float
    median_l2: float
    seconds: float
    steps: int


@dataclass(frozen=True)
class AttackComparison:
    network: str
    model: str
    target: str
    eps_levels: list[float]
    pgd_steps: int  # the steps this run took (the CPU setting on a CPU)
    full_pgd_steps: int  # the steps set for a GPU
    seed: int
    rows: list[AttackRun]
    naive_curve: list[float]
    naive_success: float
    naive_median_linf: float | None
    naive_seconds: float
    naive_median_steps: float
    best_pgd_success: float
    best_pgd_eps: float
    figure: Plot

    @property
    def reduced_steps(self) -> bool:
        """Whether PGD took fewer steps than set for a GPU (the CPU's reduction)."""
        return self.pgd_steps != self.full_pgd_steps


# -- 2.3 class visualization --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClassVisSettings:
    """The ascent's settings as the report shows them, with the seed and the classes."""

    steps: int
    lr: float
    l2_reg: float
    max_jitter: int
    blur_every: int
    blur_sigma: float
    seed: int
    classes: list[int]


@dataclass(frozen=True)
class ClassOutcome:
    """One generated image: its target, the target's probability at the start and the end, the final prediction;
    for an image started from a photo, which photo and how much it changed."""

    target: int
    name: str
    start: float
    probability: float
    predicted: str
    top1: bool
    image: int | None = None
    mean_change: float | None = None
    similarity: float | None = None


@dataclass(frozen=True)
class ClassImages:
    network: str
    model: str
    config: ClassVisConfig
    settings: ClassVisSettings
    per_class: list[ClassOutcome]
    mean_probability: float
    min_probability: float
    mean_start_probability: float
    top1: int
    history_steps: list[int]
    history: np.ndarray
    images: np.ndarray
    snapshots: np.ndarray  # uint8 (N, S, H, W, 3)
    snapshot_probability: np.ndarray  # (N, S)
    snapshot_steps: list[int]
    figure: Plot
    plot: Plot


@dataclass(frozen=True)
class GridRow:
    """One run of a grid: the value varied, the target's probability, and how the image looks."""

    value: float
    probability: float
    contrast: float
    roughness: float
    run: int


@dataclass(frozen=True)
class StepsRow:
    steps: int
    probability: float
    contrast: float
    roughness: float


@dataclass(frozen=True)
class ClassImageGrids:
    network: str
    model: str
    grid_class: str
    settings: ClassVisSettings
    runs: int
    from_q8: bool  # the run with Q8's own settings is Q8's image of the class (not run again)
    lr_table: list[GridRow]
    reg_table: list[GridRow]
    steps_table: list[StepsRow]
    steps_figure: Plot
    lr_figure: Plot
    reg_figure: Plot


@dataclass(frozen=True)
class ClassFromImage:
    network: str
    model: str
    settings: ClassVisSettings
    per_image: list[ClassOutcome]
    indices: list[int]
    mean_start_probability: float
    mean_probability: float
    mean_change: float
    mean_similarity: float
    history_steps: list[int]
    history: np.ndarray
    images: np.ndarray
    figure: Plot


@dataclass(frozen=True)
class ClassImagesCompare:
    network: str
    model: str
    compare: str
    compare_model: str
    same_network: bool
    settings: ClassVisSettings
    per_class: list[ClassOutcome]
    per_image: list[ClassOutcome]
    mean_probability: float
    visualize_mean_probability: float
    from_image_mean_probability: float
    visualize_from_image_mean_probability: float
    figure: Plot
    from_image_figure: Plot


@dataclass(frozen=True)
class SeenPerImage:
    """Per image of a set: the generating network's target probability, the second network's top-1 and top-5 hits
    and prediction, and the high-frequency share."""

    probability: np.ndarray
    other_top1: np.ndarray
    other_top5: np.ndarray
    other_predicted: np.ndarray
    other_names: list[str]
    high_frequency: np.ndarray


@dataclass(frozen=True)
class SetMeasures:
    """One set of generated images, measured: means over the set, and per image."""

    probability: float
    other_top1: float
    other_top5: float
    high_frequency: float
    per_image: SeenPerImage


@dataclass(frozen=True)
class ClassImagesRegularized:
    network: str
    model: str
    other_model: str
    classes: list[str]
    targets: list[int]  # the class indices of `classes`
    seed: int
    decay: float
    steps: int  # the steps taken
    full_steps: int  # the steps set (taken on an accelerator)
    lr: float
    fourier: bool
    tv_weight: float
    max_scale: float
    max_rotation: float
    max_shift: float
    practical: SetMeasures
    regularized: SetMeasures
    high_frequency_cutoff: float
    white_noise_share: float
    objective: np.ndarray  # the objective per image and step
    images: np.ndarray
    figure: Plot

    @property
    def reduced_steps(self) -> bool:
        """Whether the generation took fewer steps than set (the CPU's budget)."""
        return self.steps != self.full_steps


@dataclass(frozen=True)
class SetMeans:
    """One set of generated images measured as in SetMeasures, means only."""

    probability: float
    other_top1: float
    other_top5: float
    high_frequency: float


@dataclass(frozen=True)
class RegularizerAblation:
    """The first `count` classes of 2.Q8 with one regularizer changed at a time, beside the practical's and the
    regularized images of the same classes."""

    classes: list[str]
    count: int
    of: int  # classes in 2.Q8
    one_image: float  # the share one image makes of a rate over `count` classes
    tv_weight: float
    practical: SetMeans
    regularized: SetMeans
    transforms_only: SetMeans  # pixels (no Fourier), random scale, rotation and shift
    fourier_only: SetMeans  # the Fourier parameterization, shift only
    with_tv: SetMeans  # both, plus total variation
    figure: Plot
