from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from experiments.methods.features import ImageFiles, Preprocess, extract, extract_naive, make_capture, reduce_output
from tests.experiments.methods._tiny_ch1 import TinyTimm, Untraceable, tiny_vgg, write_gray_images

LAYERS = {"conv1": "features.0", "block2": "features.5", "pool": "avgpool",
          "fc1": "classifier.0", "logits": "classifier.3"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> ImageFiles:
    paths = write_gray_images(tmp_path_factory.mktemp("gray"), 10)
    return ImageFiles(paths, Preprocess(size=16), labels=np.arange(10) % 3)


def _manual(model, x: torch.Tensor) -> dict[str, np.ndarray]:
    """The requested layers computed by hand, one module at a time (no in-place)."""
    f, c = model.features, model.classifier
    conv1 = f[0](x)
    block2 = torch.relu(f[4](f[3](f[2](torch.relu(conv1)))))
    pool = model.avgpool(block2)
    fc1 = c[0](pool.flatten(1))
    logits = c[3](torch.relu(fc1))
    out = {"conv1": conv1.mean((2, 3)), "block2": block2.mean((2, 3)),
           "pool": pool.mean((2, 3)), "fc1": fc1, "logits": logits}
    return {k: v.detach().numpy() for k, v in out.items()}


def test_image_files_resizes_replicates_and_normalizes(tmp_path):
    paths = write_gray_images(tmp_path, 2, suffix=".png")
    pre = Preprocess(size=12)
    x, label = ImageFiles(paths, pre, labels=np.array([4, 7]))[1]
    assert x.shape == (3, 12, 12) and label == 7
    with Image.open(paths[1]) as image:
        gray = np.asarray(image.resize((12, 12), Image.Resampling.BILINEAR), np.float32) / 255
    for c in range(3):
        expected = (gray - pre.mean[c]) / pre.std[c]
        np.testing.assert_allclose(x[c].numpy(), expected, rtol=1e-6, atol=1e-6)
    one, no_label = ImageFiles(paths, Preprocess(12, (0.0,), (1.0,), channels=1))[0]
    assert one.shape == (1, 12, 12) and no_label == -1
    assert 0.0 <= float(one.min()) and float(one.max()) <= 1.0


def test_preprocess_rejects_mismatched_normalization():
    with pytest.raises(ValueError):
        Preprocess(channels=1)  # three ImageNet means for one channel
    with pytest.raises(ValueError):
        Preprocess(mean=(0.5, 0.5), std=(0.5, 0.5))


def test_extract_returns_every_layer_in_one_pass_and_matches_manual(dataset):
    model = tiny_vgg()
    calls = []
    model.features[0].register_forward_hook(lambda *_: calls.append(1))
    feats = extract(model, LAYERS, dataset, "cpu", batch_size=4, workers=0)
    assert len(calls) == 3  # ceil(10 / 4) batches, one forward each
    x = torch.stack([dataset[i][0] for i in range(len(dataset))])
    with torch.no_grad():
        expected = _manual(model, x)
    dims = {"conv1": 4, "block2": 6, "pool": 6, "fc1": 8, "logits": 5}
    assert set(feats) == set(LAYERS)
    for label, value in feats.items():
        assert value.dtype == np.float32 and value.shape == (10, dims[label])
        np.testing.assert_allclose(value, expected[label], rtol=1e-5, atol=1e-5)
    assert (feats["conv1"] < 0).any()  # not clobbered by the following ReLU(inplace=True)


def test_hooks_path_equals_fx_path(dataset):
    model = tiny_vgg()
    for pool in (True, False):
        fx = extract(model, LAYERS, dataset, "cpu", batch_size=3, workers=0, pool=pool,
                     method="fx")
        hooks = extract(model, LAYERS, dataset, "cpu", batch_size=3, workers=0, pool=pool,
                        method="hooks")
        for label in LAYERS:
            np.testing.assert_allclose(hooks[label], fx[label], rtol=1e-6, atol=1e-6)
    assert fx["block2"].shape == (10, 6 * 8 * 8)  # pool=False flattens


def test_auto_falls_back_to_hooks_when_tracing_fails(dataset):
    model = Untraceable().eval()
    with pytest.raises(Exception):  # noqa: B017 — torch.fx fails with several exception types
        make_capture(model, ["conv"], method="fx")
    layers = {"c": "conv", "h": "head"}
    auto = extract(model, layers, dataset, "cpu", batch_size=4, workers=0)
    x = torch.stack([dataset[i][0] for i in range(len(dataset))])
    with torch.no_grad():
        np.testing.assert_allclose(auto["c"], model.conv(x).mean((2, 3)).numpy(), atol=1e-6)
        np.testing.assert_allclose(auto["h"], model(x).numpy(), atol=1e-6)


def test_auto_handles_a_timm_layer_that_fx_cannot_trace(dataset):
    pytest.importorskip("timm")
    model = TinyTimm().eval()
    with pytest.raises(Exception):  # noqa: B017 — torch.fx fails with several exception types
        make_capture(model, ["conv_stem"], method="fx")
    assert not any(m.training for m in model.modules())  # failed trace restored eval mode
    layers = {"stem": "conv_stem", "b1": "blocks.1", "logits": "classifier"}
    feats = extract(model, layers, dataset, "cpu", batch_size=5, workers=0)
    x = torch.stack([dataset[i][0] for i in range(len(dataset))])
    with torch.no_grad():
        logits = model(x).numpy()
        stem = model.conv_stem(x).mean((2, 3)).numpy()
    np.testing.assert_allclose(feats["logits"], logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(feats["stem"], stem, rtol=1e-5, atol=1e-5)
    assert feats["b1"].shape == (10, 12) and (feats["b1"] < 0).any()  # before the ReLU6


def test_naive_extraction_equals_batched(dataset):
    model = tiny_vgg()
    batched = extract(model, LAYERS, dataset, "cpu", batch_size=4, workers=1)
    naive = extract_naive(model, LAYERS, dataset, "cpu")
    for label in LAYERS:
        np.testing.assert_allclose(naive[label], batched[label], rtol=1e-5, atol=1e-5)


def test_extract_refuses_a_model_in_train_mode(dataset):
    with pytest.raises(ValueError):
        extract(tiny_vgg().train(), LAYERS, dataset, "cpu", workers=0)


def test_reduce_output_pools_4d_and_copies_otherwise():
    x = torch.arange(24.0).view(2, 3, 2, 2)
    torch.testing.assert_close(reduce_output(x, pool=True), x.mean((2, 3)))
    flat = reduce_output(x, pool=False)
    assert flat.shape == (2, 12)
    x.zero_()
    assert flat.abs().sum() > 0  # a copy, not a view
