"""Each network is fed the way it was trained: its size, interpolation and crop, from the original pictures."""
import numpy as np
import pytest
from PIL import Image

from experiments.assets.imagenet import ImageSet, fit_image, load_image_folder, network_view
from experiments.assets.networks import NetworkConfig, load_network
from experiments.ch1_predictions import view


def _photo(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, width)[None, :, None] * np.ones((height, 1, 3))
    return np.clip(ramp + rng.normal(0, 20, (height, width, 3)), 0, 255).astype(np.uint8)


def test_a_timm_network_at_260_px_gets_260_px_inputs_resized_from_the_original(tmp_path):
    net = load_network(NetworkConfig("timm:tf_efficientnet_b2", "none"), "cpu", offline=True, cache_dir=tmp_path)
    assert (net.input_size, net.interpolation) == (260, "bicubic")
    for i, shape in enumerate([(400, 600), (700, 500)]):
        Image.fromarray(_photo(*shape, seed=i)).save(tmp_path / f"n01440764_{i}.png")
    images = load_image_folder(tmp_path)
    pixels = view(images, net)
    assert pixels.shape == (2, 260, 260, 3)
    expected = fit_image(Image.fromarray(images.originals[0]), 260, net.crop_fraction, Image.Resampling.BICUBIC)
    np.testing.assert_array_equal(pixels[0], expected)
    # not the 224-pixel picture of the figures scaled up: that would blur what the network sees
    upscaled = np.asarray(Image.fromarray(images.images[0]).resize((260, 260), Image.Resampling.BICUBIC))
    assert np.abs(pixels[0].astype(int) - upscaled.astype(int)).mean() > 1


def test_the_crop_fraction_decides_how_much_border_is_cut():
    photo = np.zeros((300, 300, 3), np.uint8)
    photo[:, :30] = 255  # a white band along the left border
    images = ImageSet(photo[None], np.array([-1]), ("band",), "test", (), (photo,))
    whole, cropped = network_view(images, 100, 1.0, "bilinear"), network_view(images, 100, 0.8, "bilinear")
    assert whole[0, :, :8].mean() > 200  # the band survives a view of the whole picture…
    assert cropped[0, :, :8].mean() < whole[0, :, :8].mean()  # …and is partly cropped away at 0.8


def test_the_practicals_square_crops_are_resized_whole():
    images = ImageSet(np.stack([_photo(224, 224, 0)]), np.array([3]), ("x",), "npz")
    assert network_view(images, 224, 0.875, "bicubic") is images.images  # nothing to do at the stored size
    assert network_view(images, 240, 0.875, "bicubic").shape == (1, 240, 240, 3)


@pytest.mark.parametrize("count, limit", [(3, 12), (30, 12)])
def test_the_figure_shows_a_bounded_selection_errors_first(count, limit):
    import torch

    from experiments.ch1_predictions import shown_first

    labels = np.array([i % 5 for i in range(count)])
    probs = torch.zeros(count, 5)
    probs[torch.arange(count), torch.as_tensor(labels)] = 1.0
    wrong = [count - 1, 1]  # two errors, not at the front
    for i in wrong:
        probs[i] = torch.roll(probs[i], 1)
    picked = shown_first(labels, probs, limit)
    assert len(picked) == min(count, limit) and picked[:2] == sorted(wrong)
