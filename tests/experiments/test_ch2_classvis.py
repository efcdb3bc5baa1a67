"""Tests for experiments.ch2_classvis (2.Q8–Q11) on a tiny network, and with the offline network (slow)."""
from __future__ import annotations

import numpy as np
import pytest

from experiments.ch2_classvis import (
    _similarity,
    class_from_image,
    class_image_grids,
    class_images,
    class_images_compare,
)
from tests.experiments.test_ch2_saliency import CPU, assert_key_numbers, real_inputs, stored, tiny_images, tiny_network

QUICK = dict(classes=(0, 2, 4), steps=30, lr=1.0, max_jitter=2, snapshot_steps=(0, 10, 30))


@pytest.fixture(scope="module")
def generated() -> dict:
    return class_images(tiny_network(), CPU, **QUICK)


def test_class_images_raise_the_target_probability(generated):
    rows = generated.per_class
    assert [r.target for r in rows] == [0, 2, 4]
    for r, history in zip(rows, generated.history):
        assert r.probability > r.start + 0.2
        assert history[-1] == pytest.approx(r.probability, abs=1e-5)
    assert generated.history_steps[0] == 0 and generated.history_steps[-1] == 30
    assert generated.mean_probability == pytest.approx(np.mean([r.probability for r in rows]))
    assert generated.images.shape == (3, 32, 32, 3) and generated.images.dtype == np.uint8
    assert generated.snapshots.shape == (3, 3, 32, 32, 3) and generated.snapshot_steps == [0, 10, 30]
    assert np.array_equal(generated.snapshots[:, -1], generated.images)
    assert hasattr(generated.figure, "savefig") and hasattr(generated.plot, "savefig")
    assert_key_numbers("class_images", generated)


def test_class_images_are_reproducible_from_the_seed(generated):
    again = class_images(tiny_network(), CPU, **QUICK)
    assert np.array_equal(again.images, generated.images)
    other = class_images(tiny_network(), CPU, **QUICK, seed=1)
    assert not np.array_equal(other.images, generated.images)


def test_class_image_grids_run_each_setting_once_and_order_the_tables(generated):
    result = class_image_grids(tiny_network(), stored(generated), CPU, grid_class=2, lrs=(0.5, 1.0, 4.0, 8.0),
                               l2_regs=(0.0, 1e-3, 1e-2, 1e-1))
    assert result.runs == 7  # (lr 1, λ 1e-3) belongs to both grids
    assert [r.value for r in result.lr_table] == [0.5, 1.0, 4.0, 8.0]
    assert [r.value for r in result.reg_table] == [0.0, 1e-3, 1e-2, 1e-1]
    assert result.lr_table[1].run == result.reg_table[1].run
    q8 = [r.target for r in generated.per_class].index(2)  # the run with Q8's settings is Q8's, not run again
    assert result.lr_table[1].probability == generated.per_class[q8].probability
    assert [r.steps for r in result.steps_table] == [0, 10, 30]
    assert result.steps_table[-1].probability > result.steps_table[0].probability
    for key in ("steps_figure", "lr_figure", "reg_figure"):
        assert hasattr(getattr(result, key), "savefig")


def test_the_grid_shows_q8s_image_for_q8s_settings_and_starts_every_run_from_its_noise(generated):
    shared = class_image_grids(tiny_network(), stored(generated), CPU, grid_class=2, lrs=(1.0, 4.0), l2_regs=(1e-3,))
    alone = class_image_grids(tiny_network(), stored(generated), CPU, grid_class=2, lrs=(4.0,), l2_regs=(0.0,))
    assert shared.runs == 2 and shared.lr_table[0].probability == generated.per_class[1].probability
    assert shared.from_q8 and not alone.from_q8
    assert shared.lr_table[1].probability == pytest.approx(alone.lr_table[0].probability, abs=1e-6)  # same start
    only_q8 = class_image_grids(tiny_network(), stored(generated), CPU, grid_class=2, lrs=(1.0,), l2_regs=(1e-3,))
    assert only_q8.runs == 1 and only_q8.reg_table[0].probability == generated.per_class[1].probability


def test_class_from_image_starts_from_the_photo_and_targets_its_class(generated):
    images = tiny_images()
    result = class_from_image(tiny_network(), images, stored(generated), CPU, images=(1, 3, 7))
    assert result.indices == [1, 3]  # 7 wraps around to 1 among six images
    assert [r.target for r in result.per_image] == [int(images.labels[1]), int(images.labels[3])]
    for r in result.per_image:
        assert r.probability >= r.start and r.mean_change > 0 and -1 <= r.similarity < 1
    assert result.mean_similarity == pytest.approx(np.mean([r.similarity for r in result.per_image]))
    assert_key_numbers("class_from_image", result)


def test_similarity_is_one_for_the_same_layout_and_lower_for_another():
    images = tiny_images().images
    brighter = np.clip(images.astype(int) + 20, 0, 255).astype(np.uint8)
    np.testing.assert_allclose(_similarity(images, brighter), 1.0, atol=0.02)
    assert (_similarity(images, images[::-1]) < 0.9).all()


def test_class_images_compare_reuses_identical_networks_and_runs_another(generated):
    photos = class_from_image(tiny_network(), tiny_images(), stored(generated), CPU, images=(1, 3))
    same = class_images_compare(tiny_network(), tiny_network(), tiny_images(), stored(generated), stored(photos), CPU)
    assert same.same_network and same.mean_probability == generated.mean_probability
    other = class_images_compare(tiny_network(), tiny_network(seed=1, name="tiny2"), tiny_images(), stored(generated),
                                 stored(photos), CPU)
    assert not other.same_network
    assert [r.target for r in other.per_class] == [0, 2, 4]
    assert all(r.probability > r.start for r in other.per_class)
    assert len(other.per_image) == 2 and hasattr(other.figure, "savefig")
    assert_key_numbers("class_images_compare", other)


@pytest.mark.slow
def test_generated_class_images_reach_a_high_probability():
    net, _ = real_inputs()
    result = class_images(net, CPU, classes=(76, 683), snapshot_steps=())
    assert result.min_probability > 0.8
    assert all(r.top1 for r in result.per_class)
