"""1.1 Q3–Q4 on a tiny network: top-5 predictions and accuracy, normalization, eval mode, conv1's maps."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from experiments.assets.imagenet import ImageSet
from experiments.ch1_predictions import (
    conv1_maps,
    eval_mode_effect,
    normalization_effect,
    pixels,
    predictions,
    probabilities,
    topk_accuracy,
)
from experiments.methods.transforms import normalize
from tests.experiments.test_ch1_transfer import CPU, MEAN, STD, tiny_network


def image_set(count: int, labels: list[int] | None = None, seed: int = 0, size: int = 40) -> ImageSet:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, size, size, 3), dtype=np.uint8)
    labels = np.array(labels if labels is not None else [-1] * count, dtype=np.int64)
    return ImageSet(images, labels, tuple(f"photo {i}" for i in range(count)), "test images")


@pytest.fixture(scope="module")
def net():
    return tiny_network(0)


def own_predictions(net, images: ImageSet) -> torch.Tensor:
    x = normalize(pixels(images.images, net.input_size, CPU), MEAN, STD)
    return probabilities(net.module, x)


def test_topk_accuracy_by_hand() -> None:
    probs = torch.tensor([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5]])
    labels = np.array([1, 2, -1])
    assert topk_accuracy(probs, labels, 1) == 0.5  # the unlabelled image does not count
    assert topk_accuracy(probs, labels, 2) == 1.0
    assert topk_accuracy(probs, np.array([-1, -1, -1]), 1) is None


def test_predictions_top5_and_accuracy_on_the_labelled_set(net) -> None:
    val = image_set(6, seed=1)
    probs = own_predictions(net, val)
    best, worst = probs.argmax(-1), probs.argmin(-1)
    val = ImageSet(val.images, np.array([*best[:4].tolist(), *worst[4:].tolist()]), val.names, val.source)
    ours = image_set(3, labels=[-1, -1, -1], seed=2)
    result = predictions(net, ours, val, CPU)
    assert result.top1 == pytest.approx(4 / 6) and result.val_errors == 2
    assert result.images_top1 is None and len(result.images) == 3
    for row in result.images:
        p = [t.probability for t in row.top5]
        assert len(p) == 5 and p == sorted(p, reverse=True) and sum(p) <= 1 + 1e-6
    assert result.images[0].top5[0].index == int(own_predictions(net, ours)[0].argmax())
    assert hasattr(result.figure, "savefig") and hasattr(result.errors_figure, "savefig")


def test_normalization_variants(net) -> None:
    val = image_set(5, labels=[0, 1, 2, 3, 4], seed=3)
    result = normalization_effect(net, val, image_set(2, seed=4), CPU)
    by = {v.variant: v for v in result.variants}
    assert by["normalized"].agreement == 1.0
    assert 0 <= by["unit"].min and by["unit"].max <= 1 and by["raw"].max > 200
    assert by["normalized"].min < 0  # the mean is subtracted
    assert result.normalized_top1 == topk_accuracy(own_predictions(net, val), val.labels, 1)
    assert all(len(v.images) == 2 for v in result.variants)


def test_eval_mode_is_deterministic_and_train_mode_is_not(net) -> None:
    before = {k: v.clone() for k, v in net.module.state_dict().items()}
    result = eval_mode_effect(net, image_set(6, labels=[0, 1, 2, 3, 4, 5], seed=5), CPU, passes=4, max_images=5)
    assert result.eval_max_difference == 0.0 and result.images == 5
    assert result.dropout_layers == 1 and result.batchnorm_layers == 1
    train, dropout = result.train, result.dropout_only
    assert train.max_difference > 0 and dropout.max_difference > 0  # dropout changes every pass
    assert dropout.probability_std > 0 and len(train.accuracy) == 4
    after = net.module.state_dict()  # batch statistics in train mode must not touch the network's
    assert all(torch.equal(after[k], v) for k, v in before.items()) and not net.module.training
    again = eval_mode_effect(net, image_set(6, labels=[0, 1, 2, 3, 4, 5], seed=5), CPU, passes=4, max_images=5)
    assert again.train.accuracy == train.accuracy  # seeded


def test_without_dropout_train_mode_varies_through_batch_statistics() -> None:
    net = tiny_network(0)
    net.module.classifier[2].p = 0.0
    result = eval_mode_effect(net, image_set(8, labels=list(range(8)), seed=7), CPU, passes=4, max_images=8, batch=2)
    assert result.dropout_layers == 0 and result.dropout_only is None
    assert result.train.probability_std > 0  # each pass groups the images differently


def test_conv1_maps_show_every_filter_and_map(net) -> None:
    result = conv1_maps(net, image_set(3, seed=6), CPU, count=2)
    assert (result.conv, result.filters, result.kernel, result.in_channels) == ("features.0", 8, [3, 3], 3)
    assert result.map_size == [32, 32] and result.images == 2 and len(result.maps_figures) == 2
    assert len(result.strongest) == 2 and all(0 <= i < 8 for i in result.strongest[0])
    weight = net.module.features[0].weight
    grey = (weight - weight.mean(1, keepdim=True)).flatten(1).norm(dim=1) / weight.flatten(1).norm(dim=1)
    np.testing.assert_allclose(result.chroma, grey.numpy(), rtol=1e-6)
    assert result.colour_filters == int((grey >= 0.5).sum())
