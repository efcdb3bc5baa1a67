import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from experiments.assets import imagenet
from experiments.assets.datafiles import DataError
from experiments.assets.imagenet import (
    IMAGENET_VAL_URL,
    ImageSet,
    default_images,
    ensure_imagenet_val,
    fit_image,
    imagenet_assets,
    imagenet_wnids,
    load_image_folder,
    load_imagenet_val,
)
from reportgen.assets import AssetError

SHARED_DATA = Path(__file__).resolve().parents[3] / "../shared/data"


def _npz(path: Path, **arrays) -> Path:
    base = {"X": np.zeros((2, 8, 8, 3), np.uint8), "y": np.array([0, 1]), "label_map": np.array({0: "a", 1: "b"})}
    np.savez(path, **{**base, **arrays})
    return path


def _photo(path: Path, size=(40, 30), value=90) -> Path:
    Image.new("RGB", size, (value, 2 * value % 256, 30)).save(path)
    return path


def test_wnids_come_sorted_from_timm():
    wnids = imagenet_wnids()
    assert len(wnids) == 1000 and list(wnids) == sorted(wnids) and wnids[0] == "n01440764"
    assert imagenet.imagenet_class_names()[:2] == ("tench", "goldfish")


def test_the_practicals_validation_images():
    path = SHARED_DATA / "imagenet_val_25.npz"
    if not path.is_file():
        pytest.skip(f"../shared not found: no {path}")
    images = load_imagenet_val(path)
    assert images.images.shape == (25, 224, 224, 3) and images.images.dtype == np.uint8
    assert images.labels.dtype == np.int64 and images.labels[:3].tolist() == [958, 85, 244]
    assert len(images.names) == 25 and all(images.names) and images.source == f"file {path}"


def test_synthetic_npz_round_trip_named_from_imagenets_class_list(tmp_path):
    images = load_imagenet_val(_npz(tmp_path / "ok.npz", y=np.array([0, 7])))
    assert images.names == ("tench", "cock") and images.labels.tolist() == [0, 7]  # not the file's label_map


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"X": np.zeros((2, 8, 8), np.uint8)}, r"X is uint8 \(2, 8, 8\), expected uint8 \(N, H, W, 3\)"),
        ({"X": np.zeros((2, 8, 8, 3), np.float32)}, "X is float32"),
        ({"y": np.array([0, 1, 2])}, "expected 2 integer labels"),
        ({"y": np.array([0, 1000])}, r"labels outside 0..999"),
    ],
)
def test_malformed_npz_gives_a_clear_error(tmp_path, arrays, message):
    path = _npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message) as error:
        load_imagenet_val(path)
    assert str(path) in str(error.value) and IMAGENET_VAL_URL in str(error.value)


def test_npz_without_keys_or_not_an_npz(tmp_path):
    np.savez(tmp_path / "other.npz", images=np.zeros(3))
    with pytest.raises(DataError, match="no X, y in it \\(found images\\)"):
        load_imagenet_val(tmp_path / "other.npz")
    header = io.BytesIO()
    np.save(header, np.zeros((2, 8, 8, 3), np.uint8))
    for name, x_bytes, message in [("raw", b"garbage", "X, y not stored as .npy arrays"),
                                   ("cut", header.getvalue()[:140], "unreadable")]:
        with zipfile.ZipFile(tmp_path / f"{name}.npz", "w") as zipped:
            for key in ("X", "y", "label_map"):
                zipped.writestr(f"{key}.npy", x_bytes)
        with pytest.raises(DataError, match=message):
            load_imagenet_val(tmp_path / f"{name}.npz")
    (tmp_path / "text.npz").write_text("not numpy")
    with pytest.raises(DataError, match="not an .npz archive"):
        load_imagenet_val(tmp_path / "text.npz")
    with pytest.raises(AssetError, match=f"missing — download {IMAGENET_VAL_URL}"):
        load_imagenet_val(tmp_path / "absent.npz")


class _Payload:
    """Unpickling this calls os.mkdir(marker): what a crafted label_map would do with os.system."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.mkdir, (str(self.marker),)


def test_a_crafted_label_map_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    for name, label_map in (("evil", np.array({0: _Payload(marker)}, dtype=object)),
                            ("evil2", np.array(_Payload(marker), dtype=object))):
        images = load_imagenet_val(_npz(tmp_path / f"{name}.npz", label_map=label_map))
        assert images.names == ("tench", "goldfish")  # ImageNet's own names, whatever the file holds
    assert not marker.exists()


def test_the_arrays_are_read_without_pickle(tmp_path, monkeypatch):
    calls = []
    real = np.load
    monkeypatch.setattr(np, "load", lambda *a, **k: calls.append(k.get("allow_pickle")) or real(*a, **k))
    load_imagenet_val(_npz(tmp_path / "ok.npz"))
    assert calls == [False]


def test_a_download_with_the_wrong_sha256_is_refused_and_left_nowhere(tmp_path, monkeypatch):
    source = _npz(tmp_path / "not-the-practicals.npz")
    monkeypatch.setattr(imagenet, "IMAGENET_VAL_URL", source.as_uri())
    dest = tmp_path / "cache" / "imagenet_val_25.npz"
    with pytest.raises(AssetError, match=r"sha256 mismatch .*expected 35141609"):
        ensure_imagenet_val(dest, offline=False, progress=False)
    assert not dest.exists() and list(dest.parent.iterdir()) == []
    monkeypatch.setattr(imagenet, "IMAGENET_VAL_SHA256", imagenet.hashlib.sha256(source.read_bytes()).hexdigest())
    assert ensure_imagenet_val(dest, offline=False, progress=False) == dest and dest.read_bytes() == source.read_bytes()


def test_wnid_named_folder(tmp_path):
    _photo(tmp_path / "n01440764_x.JPEG")
    _photo(tmp_path / "n01443537_fish.png", size=(30, 40))
    _photo(tmp_path / "holiday.jpg")
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 broken")
    images = load_image_folder(tmp_path, size=32)
    assert isinstance(images, ImageSet) and images.images.shape == (3, 32, 32, 3)
    assert images.labels.tolist() == [-1, 0, 1] and images.names == ("holiday", "tench", "goldfish")
    assert {s.path.name: s.reason.split(" (")[0] for s in images.skipped} == {
        "broken.jpg": "cannot decode image", "notes.txt": "not an image file"}


def test_shared_samples_get_their_class_index(tmp_path):
    samples = sorted((SHARED_DATA / "imagenet-samples").glob("n*"))
    if not samples:
        pytest.skip(f"../shared not found: no {SHARED_DATA / 'imagenet-samples'}")
    for sample in samples[:3]:
        shutil.copy(sample, tmp_path)
    assert load_image_folder(tmp_path).labels.tolist() == [0, 10, 20]  # one sample for every tenth class


def test_empty_or_missing_folder(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(DataError, match="no usable image in"):
        load_image_folder(tmp_path)
    assert imagenet_assets(tmp_path)[0].problem.startswith("no image files")
    with pytest.raises(AssetError, match="image folder: missing"):
        load_image_folder(tmp_path / "absent")


def test_fit_image_resizes_the_short_side_and_crops_the_centre():
    pixels = np.zeros((10, 20, 3), np.uint8)
    pixels[:, 10:] = 255  # left half black, right half white
    fitted = fit_image(Image.fromarray(pixels), 8)  # 20x10 -> 16x8, centre columns 4..11
    assert fitted.shape == (8, 8, 3) and fitted[4, 0, 0] < 30 and fitted[4, 7, 0] > 225


def test_default_images_need_no_download():
    images = default_images(size=64)
    assert images.images.shape == (4, 64, 64, 3) and images.images.dtype == np.uint8
    assert images.labels.tolist() == [-1] * 4 and images.names[0] == "astronaut"


def test_fingerprints_follow_content(tmp_path):
    path = _npz(tmp_path / "val.npz")
    first = imagenet.file_fingerprint(path)
    assert first["size"] == path.stat().st_size and len(first["sha256"]) == 64
    _npz(path, y=np.array([1, 0]))
    assert imagenet.file_fingerprint(path)["sha256"] != first["sha256"]
    assert imagenet.file_fingerprint(tmp_path / "absent.npz")["sha256"] is None
    folder = tmp_path / "photos"
    folder.mkdir()
    _photo(folder / "a.jpg")
    before = imagenet.folder_fingerprint(str(folder))
    _photo(folder / "b.jpg")
    after = imagenet.folder_fingerprint(folder)
    assert (before["files"], after["files"]) == (1, 2) and before["digest"] != after["digest"]
    assert imagenet.folder_fingerprint("")["default_images"][0] == "astronaut"


def test_assets_and_ensure(tmp_path, monkeypatch):
    target = tmp_path / "cache" / "imagenet_val_25.npz"
    (asset,) = imagenet_assets(target)
    assert (asset.problem, asset.url, asset.path) == ("missing", IMAGENET_VAL_URL, str(target))
    with pytest.raises(AssetError):
        ensure_imagenet_val(target, offline=True)
    served = _npz(tmp_path / "served.npz")
    monkeypatch.setattr(imagenet, "IMAGENET_VAL_URL", served.as_uri())
    monkeypatch.setattr(imagenet, "IMAGENET_VAL_SHA256", imagenet.hashlib.sha256(served.read_bytes()).hexdigest())
    assert ensure_imagenet_val(target, offline=False, progress=False) == target
    assert load_imagenet_val(target).images.shape == (2, 8, 8, 3) and imagenet_assets(target)[0].ok
