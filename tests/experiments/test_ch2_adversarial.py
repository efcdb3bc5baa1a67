"""Tests for experiments.ch2_adversarial (2.Q5–Q7) on a tiny network, and with the offline network on real data."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from experiments.ch2_adversarial import _round_trip, attack_comparison, attack_consequences, naive_attack
from experiments.ch2_common import pixels_to_batch
from tests.experiments.test_ch2_saliency import CPU, assert_key_numbers, real_inputs, stored, tiny_images, tiny_network


@pytest.fixture(scope="module")
def attack() -> dict:
    return naive_attack(tiny_network(), tiny_images(), CPU, target="c2", targets=("c2", "c4"), max_steps=100)


def _predict(net, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return net.module(x).argmax(dim=1).numpy()


def test_naive_attack_flips_the_label_to_the_target_within_the_pixel_range(attack):
    net = tiny_network()
    adversarial = torch.as_tensor(attack.adversarial)
    predicted = _predict(net, adversarial)
    rows = attack.per_image
    assert attack.successes > 0
    for r, p in zip(rows, predicted):
        assert r.success == (p == 2)
        if r.success and not r.already:
            assert r.after == "c2" and r.steps >= 1 and r.linf > 0
        if r.already:
            assert r.steps == 0 and r.linf == 0
    pixels = adversarial * 0.5 + 0.5
    assert pixels.min() >= -1e-6 and pixels.max() <= 1 + 1e-6  # still an image: pixels in [0, 1]


def test_naive_attack_success_rate_counts_the_images_it_attacked(attack):
    rows = [r for r in attack.per_image if not r.already]
    assert attack.attacked == len(rows)
    assert attack.success_rate == pytest.approx(sum(r.success for r in rows) / len(rows))
    assert 0 <= attack.success_rate <= 1
    assert [t.target for t in attack.per_target] == ["c2", "c4"]  # the main target once, then the others
    assert attack.per_target[0].success_rate == attack.success_rate
    every = attack.per_target
    assert attack.overall_success_rate == pytest.approx(sum(t.successes for t in every)
                                                           / sum(t.attacked for t in every))
    assert hasattr(attack.figure, "savefig")
    assert_key_numbers("naive_attack", attack)


def test_naive_attack_stops_at_the_first_step_that_reaches_the_target():
    one = naive_attack(tiny_network(), tiny_images(), CPU, target="c2", targets=(), max_steps=100)
    net, images = tiny_network(), tiny_images()
    x = pixels_to_batch(images.images, net, CPU)
    for r in one.per_image:
        if r.success and r.steps > 1:
            shorter = naive_attack(net, images, CPU, target="c2", targets=(), max_steps=r.steps - 1)
            assert not shorter.per_image[r.index].success
    assert one.per_target == [one.per_target[0]]
    assert x.shape[0] == one.images


def test_the_naive_attack_raises_the_targets_probability_on_every_image_it_attacked(attack):
    net, images = tiny_network(), tiny_images()
    with torch.no_grad():
        before = torch.softmax(net.module(pixels_to_batch(images.images, net, CPU)), dim=1)[:, 2]
        after = torch.softmax(net.module(torch.as_tensor(attack.adversarial)), dim=1)[:, 2]
    attacked = [r.index for r in attack.per_image if not r.already]
    assert attacked and all(after[i] > before[i] + 1e-3 for i in attacked)
    others = [i for i in range(len(before)) if i not in attacked]
    assert torch.equal(after[others], before[others])  # what already was the target is left as it was


def test_round_trips_keep_png_exact_and_change_jpeg():
    pixels = tiny_images().images
    assert np.array_equal(_round_trip(pixels, "PNG"), pixels)
    jpeg = _round_trip(pixels, "JPEG", 50)
    assert jpeg.shape == pixels.shape and not np.array_equal(jpeg, pixels)


def test_attack_consequences_transfer_fully_to_the_same_network(attack):
    same = attack_consequences(tiny_network(), tiny_network(), tiny_images(), stored(attack), CPU)
    assert same.same_network and same.transfer_rate == pytest.approx(1.0)
    other = attack_consequences(tiny_network(), tiny_network(seed=1, name="tiny2"), tiny_images(), stored(attack), CPU,
                                jpeg_qualities=(75, 30))
    assert not other.same_network
    assert [s.format for s in other.saved] == ["PNG", "JPEG", "JPEG"] and other.jpeg_quality == 75
    for s in other.saved:
        assert 0 <= s.survival <= 1 and 0 <= s.clean_kept <= 1
    assert hasattr(other.figure, "savefig")
    assert_key_numbers("attack_consequences", other)


def test_attack_comparison_rates_and_budgets(attack):
    result = attack_comparison(tiny_network(), tiny_images(), stored(attack), CPU, eps_levels=(2.0, 16.0),
                               pgd_steps=7, cpu_pgd_steps=3)
    assert result.pgd_steps == 3 and result.full_pgd_steps == 7 and result.reduced_steps  # the CPU's steps
    assert {r.steps for r in result.rows if r.method == "PGD"} == {3}
    assert len(result.rows) == 2 * 2 * 2  # FGSM and PGD, untargeted and targeted, two budgets
    for r in result.rows:
        assert 0 <= r.success_rate <= 1 and r.seconds > 0
        assert r.median_linf <= r.eps + 1e-3  # the L∞ budget holds (levels of 255)
    for method in ("FGSM", "PGD"):
        for targeted in (False, True):
            rates = [r.success_rate for r in result.rows if r.method == method and r.targeted == targeted]
            assert rates[-1] >= rates[0], (method, targeted)  # a larger ε fools at least as many images
    untargeted = [r.success_rate for r in result.rows if r.method == "PGD" and not r.targeted]
    assert untargeted[-1] > untargeted[0] and untargeted[-1] > 0.5  # and clearly more here
    assert result.naive_curve == sorted(result.naive_curve)  # a wider budget admits more naive examples
    assert hasattr(result.figure, "savefig")
    assert_key_numbers("attack_comparison", result)


@pytest.mark.slow
def test_naive_attack_fools_every_correctly_classified_image_with_a_small_perturbation():
    net, images = real_inputs()
    result = naive_attack(net, images, CPU, targets=())
    rows = [r for r in result.per_image if r.true == r.before]
    assert rows and all(r.success and r.steps <= 100 for r in rows)
    # η = 1 in normalized units moves 0.5 of a pixel unit (L2) per step for this network (std 0.5): the largest
    # pixel changes by a few tens of levels at most, and 99 % of the values change by a few levels at most.
    assert max(r.linf for r in rows) < 32
    assert np.median([r.p99 for r in rows]) < 5.0
