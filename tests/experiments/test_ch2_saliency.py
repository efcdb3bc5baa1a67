"""Tests for experiments.ch2_saliency (2.Q1–Q4) on a tiny network, and with the offline network on real data.

The tiny network and image set built here are shared with the other chapter-2 experiment tests."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from experiments.assets.imagenet import ImageSet
from experiments.assets.networks import Network, NetworkConfig, load_network
from experiments.ch2_common import pixels_to_batch
from experiments.ch2_saliency import localization, saliency_compare, saliency_limits, saliency_maps
from experiments.network_names import class_index, same_network
from experiments.practical import QUESTIONS
from reportgen.questions import lookup
from reportgen.store import Figure

SHARED = Path(__file__).resolve().parents[2] / "../shared"
WEIGHTS = SHARED / "weights/tf_efficientnet_lite0.pth"
VAL = SHARED / "data/imagenet_val_25.npz"
CPU = torch.device("cpu")
CLASSES = 5


def tiny_module(seed: int = 0, classes: int = CLASSES) -> nn.Module:
    """Two convolutions, a 4×4 average pool and a linear layer; weights N(0, 0.3²) from `seed`, no biases (so that
    the input decides the class); eval mode, frozen."""
    generator = torch.Generator().manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(256, classes))
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.3 if name.endswith("weight") else torch.zeros_like(p))
    return net.eval().requires_grad_(False)


def tiny_network(seed: int = 0, name: str = "tiny") -> Network:
    return Network(name=name, weights="none", source="test", sha256=None, module=tiny_module(seed), input_size=32,
                   mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), categories=tuple(f"c{i}" for i in range(CLASSES)),
                   layers=(), penultimate="", classifier="")


def tiny_images(n: int = 6, size: int = 32) -> ImageSet:
    """Smooth random colour images with known labels (0, 1, 2, …)."""
    generator = np.random.default_rng(0)
    coarse = generator.uniform(0, 255, size=(n, size // 4, size // 4, 3))
    images = np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2).astype(np.uint8)
    labels = np.arange(n, dtype=np.int64) % CLASSES
    return ImageSet(images, labels, tuple(f"c{i}" for i in labels), "synthetic")


def stored(result: dict) -> dict:
    """A result as the engine hands it to a dependent experiment (figures become file references)."""
    def walk(value):
        if hasattr(value, "savefig"):
            return Figure(Path("x.png"), "x.png")
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        return value
    return walk(result)


def assert_key_numbers(name: str, result: dict) -> None:
    """Every key-number path that practical.py names for this experiment exists in the result."""
    paths = [p for q in QUESTIONS for _, p, *_ in q.key_numbers if p.split(".")[0] == name]
    assert paths, name
    for path in paths:
        value = lookup({name: result}, path)
        assert value is None or isinstance(value, (int, float)), (path, value)


@pytest.fixture(scope="module")
def tiny_maps() -> dict:
    return saliency_maps(tiny_network(), tiny_images(), CPU)


def test_saliency_maps_equal_the_hand_computed_gradient(tiny_maps):
    net, images = tiny_network(), tiny_images()
    x = pixels_to_batch(images.images, net, CPU)[2:3].clone().requires_grad_(True)
    net.module(x)[0, int(images.labels[2])].backward()
    expected = x.grad.abs().amax(dim=1)[0].numpy()
    np.testing.assert_allclose(tiny_maps.maps[2], expected, rtol=1e-5, atol=1e-8)


def test_saliency_maps_label_informative_maps_by_their_concentration(tiny_maps):
    rows = tiny_maps.per_image
    assert len(rows) == 6 and tiny_maps.maps.shape == (6, 32, 32)
    for r in rows:
        assert r.informative == (r.concentration >= tiny_maps.informative_share)
        assert 0.05 <= r.concentration <= 1.0  # the top 5 % of pixels hold at least 5 % of the mass
    assert tiny_maps.informative_count == sum(r.informative for r in rows)
    assert tiny_maps.mean_concentration == pytest.approx(np.mean([r.concentration for r in rows]))
    most, least = tiny_maps.most, tiny_maps.least
    assert min(rows[i].concentration for i in most) >= max(rows[i].concentration for i in least)
    assert hasattr(tiny_maps.figure, "savefig") and hasattr(tiny_maps.examples_figure, "savefig")
    assert "tiny" in tiny_maps.network
    assert_key_numbers("saliency_maps", tiny_maps)


def test_saliency_maps_use_the_prediction_when_the_label_is_unknown():
    images = tiny_images()
    unknown = dataclasses.replace(images, labels=np.full(6, -1, dtype=np.int64))
    result = saliency_maps(tiny_network(), unknown, CPU)
    net = tiny_network()
    with torch.no_grad():
        predicted = net.module(pixels_to_batch(images.images, net, CPU)).argmax(dim=1).numpy()
    np.testing.assert_array_equal(result.targets, predicted)
    assert result.accuracy is None


def test_saliency_limits_report_correlations_of_each_image(tiny_maps):
    result = saliency_limits(tiny_network(), tiny_images(), stored(tiny_maps), CPU, smooth_samples=4, examples=3)
    assert len(result.random_correlations) == 6
    assert result.random_correlation == pytest.approx(np.nanmean(result.random_correlations))
    assert all(-1.0 <= r <= 1.0 for r in result.noise_correlations)
    assert -1.0 <= result.smooth_stability <= 1.0
    assert hasattr(result.figure, "savefig") and hasattr(result.correlation_plot, "savefig")
    assert_key_numbers("saliency_limits", result)


def test_the_randomization_check_compares_with_a_re_initialized_network_not_the_trained_one(tiny_maps):
    from experiments.methods.saliency import randomize_weights, rank_correlation, saliency

    net, images = tiny_network(), tiny_images()
    result = saliency_limits(net, images, stored(tiny_maps), CPU, smooth_samples=2, examples=2, seed=3)
    x = pixels_to_batch(images.images, net, CPU)
    targets = torch.as_tensor(tiny_maps.targets)
    randomized = saliency(randomize_weights(net.module, 3), x, targets)
    by_hand = rank_correlation(torch.as_tensor(tiny_maps.maps), randomized)
    np.testing.assert_allclose(result.random_correlations, by_hand, rtol=1e-6)
    itself = rank_correlation(torch.as_tensor(tiny_maps.maps), saliency(net.module, x, targets))
    np.testing.assert_allclose(itself, 1.0)  # the trained network against itself: what the check must not do
    assert max(result.random_correlations) < 0.9
    assert result.random_correlation < result.noise_correlation  # randomized weights move the maps more


def test_localization_boxes_contain_the_strongest_pixel(tiny_maps):
    result = localization(tiny_network(), tiny_images(), stored(tiny_maps), CPU, smoothing=0.0, largest_component=False)
    for m, (x0, y0, x1, y1), f in zip(tiny_maps.maps, result.boxes, result.box_fractions):
        y, x = np.unravel_index(np.argmax(m), m.shape)
        assert x0 <= x < x1 and y0 <= y < y1
        assert f == pytest.approx((x1 - x0) * (y1 - y0) / 32 ** 2)
    assert 0 < result.mean_box_fraction <= 1
    assert 0 <= result.crop_accuracy <= 1 and 0 <= result.centre_crop_accuracy <= 1
    assert_key_numbers("localization", result)


def test_saliency_compare_agrees_fully_with_itself_and_less_with_another_network(tiny_maps):
    same = saliency_compare(tiny_network(), tiny_network(), tiny_images(), stored(tiny_maps), CPU)
    assert same.same_network and same.mean_correlation == pytest.approx(1.0)
    other = saliency_compare(tiny_network(), tiny_network(seed=1, name="tiny2"), tiny_images(), stored(tiny_maps), CPU)
    assert not other.same_network and other.mean_correlation < 0.99
    assert len(other.correlations) == 6 and 0 <= other.compare_accuracy <= 1
    assert_key_numbers("saliency_compare", other)


def test_class_index_accepts_indices_and_any_synonym():
    net = dataclasses.replace(tiny_network(), categories=("tench, Tinca tinca", "stingray", "c2", "c3", "c4"))
    assert class_index(net, "Stingray") == 1 and class_index(net, "tinca tinca") == 0 and class_index(net, "3") == 3
    with pytest.raises(ValueError):
        class_index(net, "unicorn")
    assert same_network(net, tiny_network()) and not same_network(net, tiny_network(name="other"))


# -- with the offline network on the practical's images (slow) ---------------------------------------------------

def real_inputs() -> tuple[Network, ImageSet]:
    if not WEIGHTS.is_file() or not VAL.is_file():
        pytest.skip(f"../shared not found: needs {WEIGHTS} and {VAL}")
    from experiments.assets.imagenet import load_imagenet_val

    net = load_network(NetworkConfig("timm:tf_efficientnet_lite0", str(WEIGHTS)), "cpu", offline=True)
    return net, load_imagenet_val(VAL)


@pytest.mark.slow
def test_randomized_weights_give_clearly_less_correlated_maps():
    net, images = real_inputs()
    maps = saliency_maps(net, images, CPU)
    limits = saliency_limits(net, images, stored(maps), CPU, smooth_samples=2, examples=2)
    assert limits.random_correlation < 0.4
    assert limits.random_correlation < limits.noise_correlation - 0.2
