"""Every image mode against an 8-bit reference of the same picture: 16-bit, 32-bit, float, alpha, palette, CMYK,
an ICC profile; through the loaders that read images (data.images, 15 Scene's features)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from experiments.assets.imagenet import fit_image, load_image_folder
from experiments.assets.pixels import to_gray, to_rgb
from experiments.methods.features import ImageFiles, Preprocess


def _reference() -> np.ndarray:
    """An 8-bit RGB picture with gradients in every channel and dark and bright parts."""
    y, x = np.mgrid[0:48, 0:64]
    return np.stack([x * 4, y * 5, (x + y) * 2], axis=-1).clip(0, 255).astype(np.uint8)


def _saved(image: Image.Image, fmt: str = "PNG", **options) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    buffer.seek(0)
    return Image.open(buffer)


def _gray_variants(gray: np.ndarray) -> dict[str, Image.Image]:
    wide = gray.astype(np.uint16) * 257
    return {
        "I;16 (16-bit PNG)": _saved(Image.fromarray(wide)),
        "I (32-bit)": Image.fromarray(wide.astype(np.int32)),
        "F (0..1)": Image.fromarray(gray.astype(np.float32) / 255),
        "LA (opaque alpha)": Image.merge("LA", [Image.fromarray(gray), Image.new("L", gray.shape[::-1], 255)]),
    }


@pytest.mark.parametrize("mode", ["I;16 (16-bit PNG)", "I (32-bit)", "F (0..1)", "LA (opaque alpha)"])
def test_one_channel_modes_read_like_their_8_bit_reference(mode: str) -> None:
    gray = np.asarray(Image.fromarray(_reference()).convert("L"))
    image = _gray_variants(gray)[mode]
    assert np.abs(np.asarray(to_gray(image), dtype=int) - gray).max() <= 1
    assert np.abs(np.asarray(to_rgb(image), dtype=int) - gray[..., None]).max() <= 1


def test_a_16_bit_png_is_not_white() -> None:
    gray = np.asarray(Image.fromarray(_reference()).convert("L"))
    rgb = np.asarray(to_rgb(_gray_variants(gray)["I;16 (16-bit PNG)"]))
    assert (rgb == 255).mean() < 0.05 and abs(rgb.mean() - gray.mean()) < 1


def test_colour_modes_read_like_their_8_bit_reference() -> None:
    ref = _reference()
    image = Image.fromarray(ref)
    alpha = Image.new("L", image.size, 255)
    palette = image.quantize(64)
    cases = {
        "RGBA (opaque)": (Image.merge("RGBA", [*image.split(), alpha]), ref, 0),
        "P (palette)": (_saved(palette), np.asarray(palette.convert("RGB")), 0),
        "CMYK (JPEG)": (_saved(image.convert("CMYK"), "JPEG", quality=100), ref, 12),
    }
    for name, (variant, expected, tolerance) in cases.items():
        got = np.asarray(to_rgb(variant), dtype=int)
        assert got.shape == expected.shape and np.abs(got - expected).mean() <= max(tolerance, 0.5), name


def test_transparent_pixels_become_white_not_what_they_hide() -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)  # black, fully transparent
    rgba[:2, :, 3] = 255  # top half opaque black
    got = np.asarray(to_rgb(Image.fromarray(rgba, "RGBA")))
    assert (got[:2] == 0).all() and (got[2:] == 255).all()


def test_an_embedded_icc_profile_goes_through_colour_management(monkeypatch) -> None:
    ref = _reference()
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tagged = _saved(Image.fromarray(ref), icc_profile=profile)
    calls = []
    real = ImageCms.profileToProfile
    monkeypatch.setattr(ImageCms, "profileToProfile", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert np.abs(np.asarray(to_rgb(tagged), dtype=int) - ref).max() <= 2  # sRGB to sRGB: the same, to rounding
    assert calls == [1]
    broken = _saved(Image.fromarray(ref), icc_profile=b"not a profile")
    assert np.array_equal(np.asarray(to_rgb(broken)), ref)  # an unusable profile: the plain conversion


def test_data_images_and_scene15_features_read_16_bit_files_correctly(tmp_path: Path) -> None:
    gray = np.asarray(Image.fromarray(_reference()).convert("L"))
    Image.fromarray(gray).save(tmp_path / "eight.png")
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "sixteen.png")
    folder = load_image_folder(tmp_path, size=32)
    assert np.abs(folder.images[0].astype(int) - folder.images[1].astype(int)).max() <= 1
    files = ImageFiles([tmp_path / "eight.png", tmp_path / "sixteen.png"], Preprocess(32, (0.0,), (1.0,), 1))
    assert torch_close(files[0][0], files[1][0])
    assert fit_image(Image.open(tmp_path / "sixteen.png"), 32).mean() < 250


def torch_close(a, b) -> bool:
    return float((a - b).abs().max()) <= 1.5 / 255
