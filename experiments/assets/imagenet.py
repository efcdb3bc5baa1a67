"""Labelled ImageNet image sets: the practical's 25 validation images, `<wnid>_*.ext` folders, bundled photos.

Errors vs skips: a missing .npz or folder raises AssetError; an .npz that is not the practical's format (keys,
shapes, dtypes, labels out of range) and a folder without a single usable image raise DataError; inside a
folder, non-image files, empty or undecodable images and sub-folders are skipped and recorded.
"""
from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from experiments.assets.datafiles import (
    DECODE_ERRORS,
    IMAGE_SUFFIXES,
    DataError,
    Skipped,
    decode_error_reason,
    visible_entries,
)
from experiments.assets.download import download
from experiments.assets.pixels import to_rgb
from reportgen.assets import Asset, AssetError

IMAGENET_VAL_URL = "https://rdfia.github.io/data/3-b/imagenet_val_25.npz"
# sha256 of that file (the copy in ../shared/data): a download with other content is refused.
IMAGENET_VAL_SHA256 = "35141609d22457c791e8fbe10c2d3b09ed0d6a04b669173e9fbebb0b4915cd3c"
VAL_NAME = "ImageNet validation images (imagenet_val_25.npz)"
DEFAULT_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")  # bundled with scikit-image: no download


@dataclass(frozen=True, eq=False)
class ImageSet:
    images: np.ndarray  # uint8 (N, H, W, 3), all the same size
    labels: np.ndarray  # int64 ImageNet-1k class indices, -1 when unknown
    names: tuple[str, ...]  # per image: its class name, or its file stem when unlabelled
    source: str  # where the images came from, for people
    skipped: tuple[Skipped, ...] = ()
    originals: tuple[np.ndarray, ...] = ()  # uint8 (H, W, 3) each, as read; empty: `images` are the originals


def network_view(images: ImageSet, size: int, crop_fraction: float, interpolation: str) -> np.ndarray:
    """uint8 (N, size, size, 3) as a network's own evaluation transform makes them: from each original picture,
    the shorter side resized to size / crop_fraction (with `interpolation`), then the centre crop. A set without
    originals (the practical's .npz: already square crops) is resized whole."""
    resample = Image.Resampling[interpolation.upper()]
    if not images.originals:
        if images.images.shape[1:3] == (size, size):
            return images.images
        return np.stack([np.asarray(Image.fromarray(x).resize((size, size), resample)) for x in images.images])
    return np.stack([fit_image(Image.fromarray(x), size, crop_fraction, resample) for x in images.originals])


def imagenet_wnids() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k WordNet ids, sorted: a class index is a position in this list (from timm)."""
    from timm.data import ImageNetInfo

    return tuple(sorted(ImageNetInfo("imagenet-1k").label_names()))


def imagenet_class_names() -> tuple[str, ...]:
    """Short ImageNet-1k class names in index order (the first synonym of each WordNet description)."""
    from timm.data import ImageNetInfo

    info = ImageNetInfo("imagenet-1k")
    wnids = sorted(info.label_names())
    return tuple(info.label_name_to_description(wnid).split(",")[0].strip() for wnid in wnids)


def fit_image(image: Image.Image, size: int, crop_fraction: float = 1.0,
              resample: Image.Resampling = Image.Resampling.BICUBIC) -> np.ndarray:
    """RGB uint8 (size, size, 3): shorter side resized to size / crop_fraction, then the centre cropped."""
    image = to_rgb(image)  # 16-bit, alpha, palette, CMYK and ICC profiles handled (pixels.py)
    scale = size / crop_fraction / min(image.size)
    width, height = (max(size, round(side * scale)) for side in image.size)
    image = image.resize((width, height), resample)
    left, top = (width - size) // 2, (height - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8)


def _bad_npz(path: Path, what: str) -> DataError:
    return DataError(f"{path} is not the practical's imagenet_val_25.npz: {what} — download {IMAGENET_VAL_URL} again")


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """X and y, read with `allow_pickle=False`. The file's pickled `label_map` is never read: unpickling can run
    code, and the class names come from ImageNet's own list instead (the same names the networks carry)."""
    if not zipfile.is_zipfile(path):
        raise _bad_npz(path, "not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as data:
            found = list(data.files)
            arrays = {key: data[key] for key in ("X", "y") if key in found}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        why = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise _bad_npz(path, f"unreadable ({why})") from error
    missing = [key for key in ("X", "y") if key not in found]
    if missing:
        raise _bad_npz(path, f"no {', '.join(missing)} in it (found {', '.join(found) or 'nothing'})")
    raw = [key for key, value in arrays.items() if not isinstance(value, np.ndarray)]
    if raw:
        raise _bad_npz(path, f"{', '.join(raw)} not stored as .npy arrays")
    return arrays["X"], arrays["y"]


def load_imagenet_val(path: Path | str) -> ImageSet:
    """The practical's validation images: `X` uint8 (N, H, W, 3) and `y` class indices, named from ImageNet's class
    list. A missing file raises AssetError, a malformed one DataError."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise AssetError(imagenet_assets(path))
    images, labels = _read_npz(path)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise _bad_npz(path, f"X is {images.dtype} {images.shape}, expected uint8 (N, H, W, 3)")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0] or not np.issubdtype(labels.dtype, np.integer):
        raise _bad_npz(path, f"y is {labels.dtype} {labels.shape}, expected {images.shape[0]} integer labels")
    if labels.size and (labels.min() < 0 or labels.max() >= 1000):
        raise _bad_npz(path, f"labels outside 0..999 (from {labels.min()} to {labels.max()})")
    class_names = imagenet_class_names()
    names = tuple(class_names[int(i)] for i in labels)
    return ImageSet(images, labels.astype(np.int64), names, f"file {path}")


def _read_image(path: Path) -> tuple[np.ndarray | None, str | None]:
    """(pixels, None) or (None, why the file is skipped)."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return None, f"not an image file ({path.suffix or 'no suffix'})"
    if path.stat().st_size == 0:
        return None, "empty file (0 bytes)"
    try:
        with Image.open(path) as image:
            return np.asarray(to_rgb(image), dtype=np.uint8), None  # 16-bit, alpha, ICC: pixels.py
    except DECODE_ERRORS as error:
        return None, decode_error_reason(error)


def load_image_folder(path: Path | str, size: int = 224) -> ImageSet:
    """Every image in a folder (not recursive): `originals` as read, `images` resized and centre-cropped to `size`
    (for figures). A name `<wnid>_*.ext` gives the label (the wnid's index among the sorted ImageNet-1k wnids);
    other names get -1."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise AssetError(imagenet_assets(folder))
    index = {wnid: i for i, wnid in enumerate(imagenet_wnids())}
    class_names = imagenet_class_names()
    images, labels, names, skipped = [], [], [], []
    for entry in visible_entries(folder):
        pixels, reason = _read_image(entry) if entry.is_file() else (None, "folder (not read)")
        if pixels is None:
            skipped.append(Skipped(entry, reason or "unreadable"))
            continue
        label = index.get(entry.stem.split("_")[0], -1)
        images.append(pixels)
        labels.append(label)
        names.append(class_names[label] if label >= 0 else entry.stem)
    if not images:
        raise DataError(f"no usable image in {folder} ({len(skipped)} entries skipped) — put .jpg/.png files there")
    shown = np.stack([fit_image(Image.fromarray(x), size) for x in images])
    return ImageSet(shown, np.array(labels, dtype=np.int64), tuple(names), f"folder {folder}", tuple(skipped),
                    tuple(images))


def default_images(size: int = 224) -> ImageSet:
    """Example photos bundled with scikit-image (no download), resized and centre-cropped; labels -1."""
    import skimage.data

    originals = tuple(np.asarray(Image.fromarray(getattr(skimage.data, name)()).convert("RGB"))
                      for name in DEFAULT_PHOTOS)
    images = np.stack([fit_image(Image.fromarray(x), size) for x in originals])
    labels = np.full(len(images), -1, dtype=np.int64)
    return ImageSet(images, labels, DEFAULT_PHOTOS, "scikit-image example photos (skimage.data)", (), originals)


def _folder_problem(folder: Path) -> str | None:
    if not folder.exists():
        return "missing"
    if not folder.is_dir():
        return "not a folder"
    if not any(p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES for p in visible_entries(folder)):
        return "no image files in it (expected e.g. n01440764_tench.JPEG)"
    return None


def imagenet_assets(path: Path | str) -> list[Asset]:
    """An .npz path: the practical's validation file (with its URL). Any other path: an image folder."""
    path = Path(path).expanduser()
    if path.suffix.lower() == ".npz":
        problem = "missing" if not path.is_file() else ("empty file (0 bytes)" if not path.stat().st_size else None)
        return [Asset(VAL_NAME, str(path), IMAGENET_VAL_URL, problem)]
    return [Asset("image folder", str(path), None, _folder_problem(path))]


def ensure_imagenet_val(path: Path | str, offline: bool, progress: bool = True) -> Path:
    """The .npz at `path`, downloaded there first when missing and not `offline` (AssetError otherwise)."""
    path = Path(path).expanduser()
    assets = imagenet_assets(path)
    if all(asset.ok for asset in assets):
        return path
    if offline:
        raise AssetError(assets)
    return download(IMAGENET_VAL_URL, path, IMAGENET_VAL_SHA256, progress, name=VAL_NAME)


def file_fingerprint(path: Path | str) -> dict:
    """JSON-able identity of an image-set file (the .npz) for cache keys: its name, size and content sha256
    (a few MB: hashed each time, so the key follows the content, not the location). Absent: size None."""
    path = Path(path).expanduser()
    if not path.is_file():
        return {"file": path.name, "size": None, "sha256": None}
    return {"file": path.name, "size": path.stat().st_size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def folder_fingerprint(folder: Path | str) -> dict:
    """JSON-able identity of an image folder for cache keys: a digest of its visible entries' names, sizes and
    mtimes (cheap: nothing is read). An empty path stands for `default_images()`: scikit-image's version."""
    if not str(folder):
        import skimage

        return {"default_images": list(DEFAULT_PHOTOS), "skimage": skimage.__version__}
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        return {"folder": str(folder), "files": None, "digest": None}
    digest, count = hashlib.sha256(), 0
    for entry in visible_entries(folder):
        if entry.is_file():
            st = entry.stat()
            digest.update(f"{entry.name}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
            count += 1
    return {"folder": str(folder), "files": count, "digest": digest.hexdigest()[:16]}
