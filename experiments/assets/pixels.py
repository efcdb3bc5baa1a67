"""Any decoded image as 8-bit RGB or grayscale, every mode handled on purpose.

Pillow's `convert("RGB")` clips 16- and 32-bit values at 255 (a 16-bit PNG turns almost white), drops alpha
(showing whatever the transparent pixels hold) and ignores an embedded ICC profile. Here:
- 16-bit and 32-bit integer images ("I;16*", "I") are scaled from 0..65535 to 0..255; float ("F") from 0..1
  (or clipped to 0..255 when the values are larger);
- an image with alpha (RGBA, LA, PA, a palette with a transparent colour) is composited over white;
- an embedded ICC profile (CMYK, Adobe RGB…) is applied to reach sRGB; without one, CMYK is converted plainly.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageCms

WIDE = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def _wide_to_l(image: Image.Image) -> Image.Image:
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        values = values * 255.0 if values.size and np.nanmax(values) <= 1.0 else values
    else:  # 16-bit samples, also when Pillow widened them to 32-bit "I"
        values = values / 257.0
    return Image.fromarray(np.clip(np.nan_to_num(values), 0, 255).round().astype(np.uint8), "L")


def _apply_icc(image: Image.Image) -> Image.Image | None:
    """The image in sRGB through its embedded ICC profile; None when it has none or the profile is unusable."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "CMYK", "L"):
        return None
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None


def _flatten_alpha(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB of any mode (see the module's doc)."""
    if image.mode in WIDE:
        return _wide_to_l(image).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (image.mode == "P" and "transparency" in image.info):
        return _flatten_alpha(image)
    if image.mode == "RGB" and "icc_profile" not in image.info:
        return image
    return _apply_icc(image) or image.convert("RGB")


def to_gray(image: Image.Image) -> Image.Image:
    """8-bit grayscale ("L") of any mode: through `to_rgb` unless it is already one channel of 8 or more bits."""
    if image.mode == "L" and "icc_profile" not in image.info:
        return image
    if image.mode in WIDE:
        return _wide_to_l(image)
    return to_rgb(image).convert("L")
