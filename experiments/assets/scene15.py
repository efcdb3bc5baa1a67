"""The 15 Scene dataset (Lazebnik et al. 2006): loading either layout, the practical's split, fingerprint, fetching.

Bad input, decided per case (the audit shows every recorded skip):
- missing root, only one of train/ and test/, different class sets in train/ and test/, a missing class, two
  folders for one class, a class folder with no usable image (or too few to split): DataError (one line).
- a zero-byte, corrupt or truncated image, a non-image file, a folder inside a class folder, an entry that is
  no class folder: skipped and recorded with its reason. Hidden files (`.DS_Store`, `__MACOSX`) are ignored.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from experiments.assets.datafiles import DataError, Skipped, inspect_file
from experiments.assets.download import download
from experiments.assets.filememo import Record, default_cache_dir, default_memo_dir, read_memo, recall, write_memo
from experiments.assets.scene15_audit import Audit, Duplicate, audit
from experiments.assets.scene15_layout import CLASSES, OTHER_COPY, Layout, canonical_class, find_layout
from reportgen.assets import Asset, AssetError

__all__ = [
    "CLASSES", "SCENE15_URLS", "Audit", "DataError", "Duplicate", "ImageInfo", "Scene15", "Scene15Config",
    "Skipped", "Split", "audit", "canonical_class", "ensure_scene15", "load_scene15", "scene15_assets",
    "scene15_fingerprint",
]
SCENE15_URLS = ("https://rdfia.github.io/data/3-a/15ScenesData.zip",)  # the practical's own distribution
# The downloaded dataset's content, pinned: sha256 over "name<TAB>sha256<NL>" of every class-folder file (sorted
# names relative to the folder holding train/ and test/), computed from the copy of the practical's distribution
# in the project's ../shared/data (no copy of the zip itself was at hand, so the zip's own bytes are not pinned).
SCENE15_CONTENT_SHA256 = "b682ed536d03b80154f5c23d814bcd53a2ab94b896fb9d8d48237a7dda7a443a"
ASSET_NAME = "15 Scene dataset (15ScenesData.zip, unzipped)"


@dataclass(frozen=True)
class Scene15Config:
    root: str = field(default_factory=lambda: str(default_cache_dir() / "15SceneData"))
    seed: int = 0  # only for the unsplit layout: which images go to train
    train_per_class: int = 100  # only for the unsplit layout; the train/test layout's split is taken as given


@dataclass(frozen=True)
class ImageInfo:
    sha256: str
    width: int
    height: int
    mode: str  # PIL mode: "L" for the real data's grayscale JPEGs
    bytes: int


@dataclass(frozen=True, eq=False)
class Split:
    paths: tuple[Path, ...]
    labels: np.ndarray  # int64 indices into Scene15.classes
    images: tuple[ImageInfo, ...]  # per path: content hash, size, mode


@dataclass(frozen=True, eq=False)
class Scene15:
    classes: tuple[str, ...]
    train: Split
    test: Split
    layout: str  # how the split came about, in words
    skipped: tuple[Skipped, ...]
    root: Path  # the folder holding train/ and test/ (or the class folders)


Member = tuple[str, str, Path]  # (split or "", class, file)


def _memo_file(memo_dir: Path, root: Path) -> Path:
    return memo_dir / f"scene15-{hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]}.json"


def _relative_key(root: Path) -> Callable[[Path], str]:
    """Path -> its path under `root` with "/" separators (string slicing: pathlib's relative_to is slow here)."""
    prefix = len(str(root)) + 1
    return lambda path: str(path)[prefix:].replace(os.sep, "/")


def _inspect_all(root: Path, files: list[Path], memo_dir: Path) -> dict[Path, Record]:
    """Hash and decode-check every file once; later calls read the memo (valid while size and mtime stay)."""
    memo_file = _memo_file(memo_dir, root)
    entries = read_memo(memo_file)
    key = _relative_key(root)
    keys = {path: key(path) for path in files}
    records, changed = {}, False
    for path, name in keys.items():
        records[path], computed = recall(entries, name, path, inspect_file)
        changed |= computed
    if changed or len(entries) != len(keys):
        write_memo(memo_file, {name: entries[name] for name in keys.values() if name in entries})
    return records


def _folder_entries(folder: Path) -> tuple[list[Path], list[Path]]:
    """(files, folders) in `folder`, sorted by name, hidden ones left out (scandir: no stat per file)."""
    with os.scandir(folder) as scan:
        entries = sorted((e for e in scan if not e.name.startswith(".") and e.name != "__MACOSX"), key=lambda e: e.name)
    return [Path(e.path) for e in entries if e.is_file()], [Path(e.path) for e in entries if not e.is_file()]


def _scan(root: Path, memo_dir: Path | None) -> tuple[Layout, list[Member], dict[Path, Record], list[Skipped]]:
    layout = find_layout(root)
    members: list[Member] = []
    skipped = list(layout.skipped)
    for split, name, folder in layout.folders:
        files, folders = _folder_entries(folder)
        members += [(split, name, path) for path in files]
        skipped += [Skipped(path, "folder inside a class folder (not read)") for path in folders]
    files = [path for _, _, path in members]
    records = _inspect_all(layout.root, files, Path(memo_dir) if memo_dir else default_memo_dir())
    return layout, members, records, skipped


def _usable(layout: Layout, members: list[Member], records: dict[Path, Record], skipped: list[Skipped]) -> dict:
    """{(split, class): [usable files]}; unusable files go to `skipped`; a folder left empty is an error."""
    usable: dict[tuple[str, str], list[Path]] = {(split, name): [] for split, name, _ in layout.folders}
    for split, name, path in members:
        reason = records[path]["reason"]
        if reason:
            skipped.append(Skipped(path, reason))
        else:
            usable[(split, name)].append(path)
    for split, name, folder in layout.folders:
        if not usable[(split, name)]:
            bad = sum(1 for s in skipped if s.path.parent == folder)
            raise DataError(f"no usable image in {folder} (class {name}; {bad} file(s) skipped, listed in the "
                            f"data audit) — put readable images of {name} there, {OTHER_COPY}")
    return usable


def _make_split(usable: dict, config: Scene15Config) -> dict[str, list[tuple[int, Path]]]:
    """The practical's split of an unsplit copy: `train_per_class` images per class drawn with a seeded
    generator per class (so one class's files do not move another's split), the rest test."""
    out: dict[str, list[tuple[int, Path]]] = {"train": [], "test": []}
    for label, name in enumerate(CLASSES):
        files = usable[("", name)]
        if len(files) <= config.train_per_class:
            raise DataError(
                f"class {name} has {len(files)} usable images, too few for train_per_class="
                f"{config.train_per_class} plus a test part — lower train_per_class or add images of {name}"
            )
        order = np.random.default_rng([config.seed, label]).permutation(len(files))
        train = set(order[: config.train_per_class].tolist())
        out["train"] += [(label, f) for i, f in enumerate(files) if i in train]
        out["test"] += [(label, f) for i, f in enumerate(files) if i not in train]
    return out


def _given_split(usable: dict) -> dict[str, list[tuple[int, Path]]]:
    return {
        split: [(label, path) for label, name in enumerate(CLASSES) for path in usable[(split, name)]]
        for split in ("train", "test")
    }


def _as_split(items: list[tuple[int, Path]], records: dict[Path, Record]) -> Split:
    infos = tuple(
        ImageInfo(r["sha256"], r["width"], r["height"], r["mode"], r["size"]) for r in (records[p] for _, p in items)
    )
    labels = np.array([label for label, _ in items], dtype=np.int64)
    return Split(tuple(p for _, p in items), labels, infos)


def load_scene15(config: Scene15Config, memo_dir: Path | None = None) -> Scene15:
    """The dataset's files and labels (no pixels) in either layout; see the module doc for errors and skips.

    `memo_dir`: where the per-file memo (hashes, decode checks) lives; default `<user cache>/reportgen/memo`.
    """
    layout, members, records, skipped = _scan(Path(config.root), memo_dir)
    usable = _usable(layout, members, records, skipped)
    if layout.kind == "split":
        parts = _given_split(usable)
        how = "train/ and test/ folders (the practical's split, taken as given)"
    else:
        parts = _make_split(usable, config)
        how = (f"one folder per class; split made here: {config.train_per_class} train images per class, "
               f"seed {config.seed}")
    return Scene15(CLASSES, _as_split(parts["train"], records), _as_split(parts["test"], records), how,
                   tuple(skipped), layout.root)


def scene15_fingerprint(config: Scene15Config, memo_dir: Path | None = None) -> dict:
    """Cheap, JSON-able identity of the data: a digest of (file, size, sha256) over every file in the class
    folders, plus counts; seed and train_per_class are included when they decide the split."""
    layout, members, records, _ = _scan(Path(config.root), memo_dir)
    digest = hashlib.sha256()
    key = _relative_key(layout.root)
    for name, size, sha in sorted((key(p), records[p]["size"], records[p]["sha256"]) for _, _, p in members):
        digest.update(f"{name}\t{size}\t{sha}\n".encode())
    fingerprint = {
        "digest": digest.hexdigest()[:16],
        "layout": layout.kind,
        "files": len(members),
        "bytes": sum(records[p]["size"] for _, _, p in members),
        "unusable": sum(1 for _, _, p in members if records[p]["reason"]),
    }
    if layout.kind == "unsplit":
        fingerprint.update(seed=config.seed, train_per_class=config.train_per_class)
    return fingerprint


def scene15_assets(config: Scene15Config) -> list[Asset]:
    """The dataset folder and its state (structure only: no image is decoded here)."""
    root = Path(config.root).expanduser()
    try:
        find_layout(root)
        problem = None
    except DataError as error:
        if not root.exists():
            return [Asset(name=ASSET_NAME, path=str(root), url=SCENE15_URLS[0], problem="missing")]
        problem, _, fix = str(error).partition(" — ")  # a folder that exists: say what to fix in it, offer no
        return [Asset(ASSET_NAME, str(root), None, problem, fix=fix or None)]  # download to put over it
    return [Asset(name=ASSET_NAME, path=str(root), url=SCENE15_URLS[0], problem=None)]


def content_sha256(layout: Layout) -> str:
    """The pinned kind of digest of a dataset folder's content (see SCENE15_CONTENT_SHA256); reads every file."""
    key = _relative_key(layout.root)
    hashes = []
    for _, _, folder in layout.folders:
        for path in _folder_entries(folder)[0]:
            hashes.append((key(path), hashlib.sha256(path.read_bytes()).hexdigest()))
    return hashlib.sha256("".join(f"{name}\t{sha}\n" for name, sha in sorted(hashes)).encode()).hexdigest()


def _check_content(layout: Layout, expected: str | None, root: Path, url: str) -> None:
    if expected is None:
        return
    found = content_sha256(layout)
    if found != expected:
        problem = (f"downloaded archive's content differs from the pinned copy (content sha256 {found[:12]}…, "
                   f"expected {expected[:12]}…); not installed — put a copy you trust at {root} or name its "
                   f"folder in [data] scene15")
        raise AssetError([Asset(ASSET_NAME, str(root), url, problem)])


def _fetch_into(url: str, root: Path, progress: bool, content: str | None = SCENE15_CONTENT_SHA256) -> None:
    """Download the zip, extract it in a temp folder beside `root`, check its content against the pin (`content`,
    None: no check), and move the dataset folder into place."""
    with tempfile.TemporaryDirectory(prefix=f".{root.name}.", dir=root.parent) as tmp:
        try:
            archive = download(url, Path(tmp) / "15ScenesData.zip", None, progress, name=ASSET_NAME)
        except AssetError as error:  # name where the dataset goes, not the temporary folder it was fetched into
            raise AssetError([Asset(ASSET_NAME, str(root), url, a.problem) for a in error.assets]) from error
        try:
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(Path(tmp) / "unpacked")
            layout = find_layout(Path(tmp) / "unpacked")
        except (zipfile.BadZipFile, OSError, DataError) as error:
            problem = f"downloaded archive unusable ({str(error).split(' — ')[0]})"
            raise AssetError([Asset(ASSET_NAME, str(root), url, problem)]) from error
        _check_content(layout, content, root, url)
        os.replace(layout.root, root)


def ensure_scene15(config: Scene15Config, offline: bool, urls: tuple[str, ...] = SCENE15_URLS,
                   progress: bool = True, content: str | None = SCENE15_CONTENT_SHA256) -> Path:
    """The dataset's root, downloaded and unzipped there first when absent and allowed (not `offline`).

    Raises AssetError when offline and absent, when every URL fails (a download whose content differs from
    `content` fails), or when the folder exists but is broken (an existing folder is never overwritten; an empty
    one is replaced).
    """
    root = Path(config.root).expanduser()
    assets = scene15_assets(config)
    if all(asset.ok for asset in assets):
        return root
    if offline:
        raise AssetError(assets)
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()
    if root.exists():
        raise AssetError(assets)
    root.parent.mkdir(parents=True, exist_ok=True)
    failures: list[Asset] = []
    for url in urls:
        try:
            _fetch_into(url, root, progress, content)
            return root
        except AssetError as error:
            failures.extend(error.assets)
    raise AssetError(failures)
