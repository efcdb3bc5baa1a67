"""Tests for experiments.ch2_featvis_ablation (2.Q8: one regularizer at a time) on tiny networks."""
from __future__ import annotations

import dataclasses

import pytest

from experiments.ch2_classvis import class_images
from experiments.ch2_featvis import class_images_regularized
from experiments.ch2_featvis_ablation import VARIANTS, regularizer_ablation, variant_configs
from experiments.methods.featvis import FeatureVisConfig
from tests.experiments.test_ch2_saliency import CPU, stored, tiny_network


def test_each_variant_changes_one_thing_of_the_reports_configuration():
    base = FeatureVisConfig(steps=7, lr=0.1, fourier=True, tv_weight=0.0, max_scale=0.2, max_rotation=5.0)
    changed = {key: {f.name for f in dataclasses.fields(base) if getattr(c, f.name) != getattr(base, f.name)}
               for key, c in variant_configs(base, 3.0).items()}
    assert changed == {"transforms_only": {"fourier"}, "fourier_only": {"max_scale", "max_rotation"},
                       "with_tv": {"tv_weight"}}
    assert set(changed) == set(VARIANTS)


@pytest.fixture(scope="module")
def regularized() -> dict:
    practical = class_images(tiny_network(), CPU, classes=(0, 2, 4), steps=5, snapshot_steps=())
    return class_images_regularized(tiny_network(), tiny_network(seed=1, name="other"), stored(practical), CPU,
                                    steps=4)


def test_on_a_cpu_the_regularized_images_take_at_most_their_cpu_steps(regularized):
    assert (regularized.steps, regularized.full_steps, regularized.reduced_steps) == (4, 4, False)
    practical = class_images(tiny_network(), CPU, classes=(0, 2), steps=3, snapshot_steps=())
    short = class_images_regularized(tiny_network(), tiny_network(seed=1, name="other"), stored(practical), CPU,
                                     steps=4, cpu_steps=2)
    assert (short.steps, short.full_steps, short.reduced_steps) == (2, 4, True)
    assert short.objective.shape == (2, 2)  # one value per image and step taken


def test_the_ablation_measures_every_variant_on_the_first_classes_alike(regularized):
    result = regularizer_ablation(tiny_network(), tiny_network(seed=1, name="other"), stored(regularized), CPU,
                                  classes=2)
    assert (result.count, result.of, result.one_image) == (2, 3, 0.5)
    for row in (getattr(result, key) for key in ("practical", "regularized", *VARIANTS)):
        assert 0 <= row.other_top1 <= row.other_top5 <= 1 and 0 <= row.high_frequency <= 1
    # the reference rows are the regularized run's own measures of the same two classes
    first_two = regularized.regularized.per_image.high_frequency[:2].mean()
    assert result.regularized.high_frequency == pytest.approx(first_two)
    assert len(result.figure.axes) == 2 * len(VARIANTS)
