import json
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from experiments.assets import scene15 as s15
from experiments.assets.scene15 import (
    CLASSES,
    DataError,
    Scene15Config,
    audit,
    canonical_class,
    ensure_scene15,
    load_scene15,
    scene15_assets,
    scene15_fingerprint,
)
from experiments.assets.scene15_layout import find_layout
from reportgen.assets import AssetError

SHARED_SCENE = Path(__file__).resolve().parents[3] / "../shared/data/15SceneData"
LAZEBNIK = {
    "bedroom": "bedroom", "coast": "MITcoast", "forest": "MITforest", "highway": "MIThighway",
    "industrial": "industrial", "insidecity": "MITinsidecity", "kitchen": "kitchen", "livingroom": "livingRoom",
    "mountain": "MITmountain", "office": "PARoffice", "opencountry": "MITopencountry", "store": "store",
    "street": "MITstreet", "suburb": "CALsuburb", "tallbuilding": "MITtallbuilding",
}


def _jpeg(path: Path, value: int, size: tuple[int, int] = (8, 8)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = (np.arange(size[0] * size[1]).reshape(size[1], size[0]) * 3 + value * 7) % 256
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(path, quality=95)
    return path


def _split_tree(root: Path, train: int = 2, test: int = 1) -> Path:
    for label, name in enumerate(CLASSES):
        for i in range(train):
            _jpeg(root / "train" / name / f"image_{i:04d}.jpg", label * 10 + i)
        for i in range(test):
            _jpeg(root / "test" / name / f"image_{i:04d}.jpg", label * 10 + 5 + i)
    return root


def _unsplit_tree(root: Path, per_class: int = 6) -> Path:
    for label, name in enumerate(CLASSES):
        for i in range(per_class):
            _jpeg(root / LAZEBNIK[name] / f"image_{i:04d}.jpg", label * 10 + i)
    return root


def _load(root: Path, tmp_path: Path, **config) -> s15.Scene15:
    return load_scene15(Scene15Config(root=str(root), **config), memo_dir=tmp_path / "memo")


def _error(root: Path, tmp_path: Path) -> str:
    with pytest.raises(DataError) as error:
        _load(root, tmp_path)
    assert "\n" not in str(error.value) and " — " in str(error.value)  # one line: what, where — what to do
    return str(error.value)


def test_class_names_match_without_case_and_with_lazebnik_aliases():
    assert [canonical_class(LAZEBNIK[name]) for name in CLASSES] == list(CLASSES)
    assert canonical_class("Living_Room") == "livingroom" and canonical_class("COAST") == "coast"
    assert canonical_class("scenes") is None and CLASSES == tuple(sorted(CLASSES))


def test_split_layout_as_given(tmp_path):
    data = _load(_split_tree(tmp_path / "data"), tmp_path)
    assert data.classes == CLASSES and len(data.train.paths) == 30 and len(data.test.paths) == 15
    assert data.train.labels.dtype == np.int64 and data.train.labels.tolist() == [i // 2 for i in range(30)]
    assert data.train.paths[2] == tmp_path / "data/train/coast/image_0000.jpg"
    assert data.skipped == () and "train/ and test/" in data.layout
    assert data.train.images[0].width == 8 and data.train.images[0].mode == "L"


def test_unsplit_layout_with_aliases_gets_a_seeded_recorded_split(tmp_path):
    root = _unsplit_tree(tmp_path / "scene_categories")
    data = _load(root, tmp_path, train_per_class=2, seed=1)
    assert len(data.train.paths) == 30 and len(data.test.paths) == 60
    assert np.bincount(data.train.labels).tolist() == [2] * 15 and np.bincount(data.test.labels).tolist() == [4] * 15
    assert all(CLASSES[label] == canonical_class(p.parent.name) for p, label in zip(data.test.paths, data.test.labels))
    assert not set(data.train.paths) & set(data.test.paths)
    assert "2 train images per class, seed 1" in data.layout
    same = _load(root, tmp_path, train_per_class=2, seed=1)
    other = _load(root, tmp_path, train_per_class=2, seed=2)
    assert same.train.paths == data.train.paths and other.train.paths != data.train.paths


def test_archive_wrapper_folder_is_looked_through(tmp_path):
    _split_tree(tmp_path / "download" / "15SceneData")
    data = _load(tmp_path / "download", tmp_path)
    assert data.root == tmp_path / "download" / "15SceneData" and len(data.test.paths) == 15


def test_bad_files_are_skipped_with_reasons(tmp_path):
    root = _split_tree(tmp_path / "data", train=4)
    coast = root / "train" / "coast"
    (coast / "image_0000.jpg").write_bytes(b"")
    good = (coast / "image_0001.jpg").read_bytes()
    (coast / "image_0001.jpg").write_bytes(good[: len(good) // 2])
    (coast / "image_0002.jpg").write_bytes(b"this is not a jpeg at all" * 4)
    (root / "train" / "forest" / "notes.txt").write_text("hello")
    (root / "train" / "forest" / ".DS_Store").write_bytes(b"\0")
    (root / "train" / "forest" / "more").mkdir()
    (root / "train" / "Thumbs").mkdir()
    data = _load(root, tmp_path)
    reasons = {s.path.relative_to(root).as_posix(): s.reason for s in data.skipped}
    assert reasons.pop("train/coast/image_0000.jpg") == "empty file (0 bytes)"
    assert reasons.pop("train/coast/image_0001.jpg").startswith("truncated image")
    assert reasons.pop("train/coast/image_0002.jpg").startswith("cannot decode image")
    assert reasons.pop("train/forest/notes.txt") == "not an image file (.txt)"
    assert reasons.pop("train/forest/more") == "folder inside a class folder (not read)"
    assert reasons.pop("train/Thumbs") == "not a 15 Scene class folder"
    assert reasons == {}  # hidden files are ignored
    assert len(data.train.paths) == 60 - 3 and data.train.paths[4] == coast / "image_0003.jpg"


def test_an_unreadable_file_is_skipped_and_read_again_once_readable(tmp_path, monkeypatch):
    root = _split_tree(tmp_path / "data", train=3)
    locked = root / "train" / "coast" / "image_0001.jpg"
    real = Path.read_bytes

    def read_bytes(path):  # as chmod 000 does for a user who is not root
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    data = _load(root, tmp_path)
    assert [(s.path, s.reason) for s in data.skipped] == [(locked, "unreadable (Permission denied)")]
    monkeypatch.setattr(Path, "read_bytes", real)  # permissions fixed (the mtime does not change)
    assert _load(root, tmp_path).skipped == () and locked in _load(root, tmp_path).train.paths


def test_symlinks_fifos_and_devices_in_a_class_folder_never_hang_the_scan(tmp_path):
    import os

    root = _split_tree(tmp_path / "data", train=2)
    coast = root / "train" / "coast"
    os.mkfifo(coast / "pipe.jpg")  # reading it would block forever
    (coast / "zero.jpg").symlink_to("/dev/zero")  # reading it would never end
    (coast / "outside.jpg").symlink_to(tmp_path / "nowhere.jpg")  # dangling
    data = _load(root, tmp_path)
    reasons = {s.path.name: s.reason for s in data.skipped}
    assert set(reasons) == {"pipe.jpg", "zero.jpg", "outside.jpg"}
    assert len(data.train.paths) == 30


def test_class_with_no_usable_image_is_an_error(tmp_path):
    root = _split_tree(tmp_path / "data")
    for path in (root / "test" / "kitchen").iterdir():
        path.write_bytes(b"")
    assert "no usable image in" in _error(root, tmp_path) and "kitchen" in _error(root, tmp_path)
    shutil.rmtree(root / "test" / "kitchen")
    (root / "test" / "kitchen").mkdir()
    assert f"no usable image in {root / 'test' / 'kitchen'}" in _error(root, tmp_path)


def test_structural_problems_are_one_line_errors(tmp_path):
    assert "15 Scene folder not found" in _error(tmp_path / "absent", tmp_path)
    root = _split_tree(tmp_path / "data")
    shutil.rmtree(root / "test" / "store")
    message = _error(root, tmp_path)
    assert "different classes" in message and "only in train: ['store']" in message
    shutil.rmtree(root / "train" / "store")
    assert "classes missing" in _error(root, tmp_path) and "store" in _error(root, tmp_path)
    _split_tree(root)
    shutil.copytree(root / "train" / "coast", root / "train" / "MITcoast")
    assert "two folders for class 'coast'" in _error(root, tmp_path)
    shutil.rmtree(root / "test")
    assert f"split folder missing: {root / 'test'}" in _error(root, tmp_path)
    assert "no 15 Scene data" in _error(root / "train" / "coast", tmp_path)


def test_unsplit_class_too_small_for_the_split(tmp_path):
    root = _unsplit_tree(tmp_path / "data", per_class=3)
    with pytest.raises(DataError, match="class bedroom has 3 usable images, too few for train_per_class=3"):
        _load(root, tmp_path, train_per_class=3)


def test_audit_counts_sizes_and_duplicates(tmp_path):
    root = _split_tree(tmp_path / "data")
    _jpeg(root / "train" / "coast" / "image_0009.jpg", 200, size=(12, 8))
    shutil.copy(root / "train/coast/image_0000.jpg", root / "test/coast/image_0100.jpg")  # across the split
    shutil.copy(root / "test/forest/image_0000.jpg", root / "test/mountain/image_0100.jpg")  # within test
    shutil.copy(root / "train/bedroom/image_0000.jpg", root / "train/bedroom/image_0100.jpg")  # within train
    (root / "test" / "street" / "readme.md").write_text("x")
    report = audit(_load(root, tmp_path))
    assert report.counts[1] == ("coast", 3, 2) and (report.train_total, report.test_total) == (32, 17)
    assert report.sizes == ((8, 8, 48), (12, 8, 1)) and report.modes == (("L", 49),)
    (across,) = report.duplicates_across
    assert across.train == (root / "train/coast/image_0000.jpg",) and across.classes == ("coast",)
    (within_test,) = report.duplicates_within_test
    assert within_test.classes == ("forest", "mountain") and len(within_test.test) == 2
    (within_train,) = report.duplicates_within_train
    assert within_train.train == (root / "train/bedroom/image_0000.jpg", root / "train/bedroom/image_0100.jpg")
    assert [s.reason for s in report.skipped] == ["not an image file (.md)"]


def test_fingerprint_is_memoised_and_follows_content(tmp_path, monkeypatch):
    root = _split_tree(tmp_path / "data")
    config = Scene15Config(root=str(root))
    first = scene15_fingerprint(config, tmp_path / "memo")
    json.dumps(first)
    assert (first["files"], first["layout"], first["unusable"]) == (45, "split", 0)
    monkeypatch.setattr(s15, "inspect_file", lambda path: pytest.fail(f"inspected {path} again"))
    assert scene15_fingerprint(config, tmp_path / "memo") == first
    _load(root, tmp_path)  # loading reads the same memo: no decoding either
    monkeypatch.undo()
    _jpeg(root / "test" / "coast" / "image_0000.jpg", 99, size=(9, 9))
    changed = scene15_fingerprint(config, tmp_path / "memo")
    assert changed["digest"] != first["digest"] and changed["files"] == 45
    unsplit = scene15_fingerprint(Scene15Config(root=str(_unsplit_tree(tmp_path / "u")), seed=3), tmp_path / "memo")
    assert (unsplit["seed"], unsplit["train_per_class"]) == (3, 100)


def test_assets_and_ensure_from_a_zip(tmp_path):
    config = Scene15Config(root=str(tmp_path / "cache" / "15SceneData"))
    (asset,) = scene15_assets(config)
    assert asset.problem == "missing" and asset.url == s15.SCENE15_URLS[0] and asset.path == config.root
    with pytest.raises(AssetError, match="15 Scene dataset .*: missing"):
        ensure_scene15(config, offline=True)
    source = _split_tree(tmp_path / "src" / "15SceneData")
    archive = tmp_path / "15ScenesData.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in source.rglob("*.jpg"):
            zipped.write(path, path.relative_to(source.parent).as_posix())
    bad_url = (tmp_path / "absent.zip").as_uri()
    pin = s15.content_sha256(find_layout(source))
    root = ensure_scene15(config, offline=False, urls=(bad_url, archive.as_uri()), progress=False, content=pin)
    assert root == tmp_path / "cache" / "15SceneData"
    assert scene15_assets(config)[0].ok and len(_load(Path(config.root), tmp_path).train.paths) == 30
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["15SceneData"]  # no temp folder left


def test_a_download_whose_content_differs_from_the_pin_is_not_installed(tmp_path):
    config = Scene15Config(root=str(tmp_path / "cache" / "15SceneData"))
    source = _split_tree(tmp_path / "src" / "15SceneData")
    pin = s15.content_sha256(find_layout(source))
    _jpeg(source / "test" / "coast" / "image_0000.jpg", 99, size=(9, 9))  # one image changed after pinning
    archive = tmp_path / "15ScenesData.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in source.rglob("*.jpg"):
            zipped.write(path, path.relative_to(source.parent).as_posix())
    with pytest.raises(AssetError, match="content differs from the pinned copy") as info:
        ensure_scene15(config, offline=False, urls=(archive.as_uri(),), progress=False, content=pin)
    assert "put a copy you trust at" in str(info.value)
    assert not (tmp_path / "cache" / "15SceneData").exists()
    assert list((tmp_path / "cache").iterdir()) == []  # nothing installed, no temp folder left


def test_the_pinned_content_is_the_practicals_distribution_in_shared():
    shared = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "15SceneData"
    if not shared.is_dir():
        pytest.skip(f"no copy of the practical's 15 Scene at {shared}")
    assert s15.content_sha256(find_layout(shared)) == s15.SCENE15_CONTENT_SHA256


def test_a_failed_download_names_where_the_dataset_goes_not_the_temporary_folder(tmp_path):
    config = Scene15Config(root=str(tmp_path / "cache" / "15SceneData"))
    bad_url = (tmp_path / "absent.zip").as_uri()
    with pytest.raises(AssetError) as info:
        ensure_scene15(config, offline=False, urls=(bad_url,), progress=False)
    assert f"put it at {config.root}" in str(info.value) and "download failed" in str(info.value)
    assert not (tmp_path / "cache").exists() or list((tmp_path / "cache").iterdir()) == []


def test_ensure_never_overwrites_a_broken_folder(tmp_path):
    root = tmp_path / "data"
    (root / "train").mkdir(parents=True)
    with pytest.raises(AssetError, match="split folder missing"):
        ensure_scene15(Scene15Config(root=str(root)), offline=False, urls=("file:///nowhere.zip",), progress=False)
    assert (root / "train").is_dir()


def _never_download_over(message: str) -> None:
    lowered = message.lower()
    assert not any(word in lowered for word in ("download", "fetch", "re-extract", "zip")), message


def test_a_users_own_folder_is_told_what_is_wrong_never_to_download_over_it(tmp_path):
    root = _split_tree(tmp_path / "mine")
    shutil.rmtree(root / "test" / "store")
    message = _error(root, tmp_path)
    assert "give train/ and test/ the same class folders" in message
    _never_download_over(message)
    shutil.rmtree(root / "train" / "store")
    message = _error(root, tmp_path)
    assert "add a folder for each missing class there" in message and "store" in message
    _never_download_over(message)
    _split_tree(root)
    for path in (root / "test" / "kitchen").iterdir():
        path.write_bytes(b"")
    message = _error(root, tmp_path)
    assert "put readable images of kitchen there" in message
    _never_download_over(message)
    shutil.rmtree(root / "test")
    message = _error(root, tmp_path)
    assert "add test/ with the same class folders as train/" in message
    _never_download_over(message)


def test_the_asset_of_a_broken_folder_says_what_to_fix_and_offers_no_download(tmp_path):
    root = _split_tree(tmp_path / "mine")
    shutil.rmtree(root / "test" / "store")
    (asset,) = scene15_assets(Scene15Config(root=str(root)))
    assert asset.url is None and "only in train: ['store']" in asset.problem
    line = asset.describe()
    assert line.startswith(f"15 Scene dataset (15ScenesData.zip, unzipped) at {root}: train and test hold different")
    assert "give train/ and test/ the same class folders" in line
    _never_download_over(line.replace("(15ScenesData.zip, unzipped)", ""))
    with pytest.raises(AssetError) as error:
        ensure_scene15(Scene15Config(root=str(root)), offline=False, urls=("file:///nowhere.zip",), progress=False)
    _never_download_over(str(error.value).replace("(15ScenesData.zip, unzipped)", ""))


@pytest.fixture(scope="module")
def real_data(tmp_path_factory):
    if not SHARED_SCENE.is_dir():
        pytest.skip(f"../shared not found: no 15 Scene copy at {SHARED_SCENE}")
    memo = tmp_path_factory.mktemp("memo")
    return load_scene15(Scene15Config(root=str(SHARED_SCENE)), memo_dir=memo), memo


def test_real_data_counts_and_duplicates(real_data):
    data, _ = real_data
    report = audit(data)
    assert data.classes == CLASSES and (report.train_total, report.test_total) == (1500, 2985)
    assert all(train == 100 for _, train, _ in report.counts) and report.skipped == ()
    assert report.duplicates_across and all(d.train and d.test for d in report.duplicates_across)
    assert dict(report.modes) == {"L": 4485} and report.sizes[0] == (256, 256, 2688)


def test_real_data_fingerprint_second_call_is_fast(real_data):
    _, memo = real_data
    config = Scene15Config(root=str(SHARED_SCENE))
    first = scene15_fingerprint(config, memo)
    start = time.perf_counter()
    assert scene15_fingerprint(config, memo) == first
    assert time.perf_counter() - start < 1.0  # about 0.25 s measured; slack for a busy machine
    assert (first["files"], first["unusable"]) == (4485, 0)
