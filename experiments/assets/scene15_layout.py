"""The folder structure of a 15 Scene copy: which layout it has and which folder holds which class (no decoding)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from experiments.assets.datafiles import DataError, Skipped, visible_entries

CLASSES = (
    "bedroom", "coast", "forest", "highway", "industrial", "insidecity", "kitchen", "livingroom",
    "mountain", "office", "opencountry", "store", "street", "suburb", "tallbuilding",
)
# Lazebnik's original folder names (lower-cased, letters only) -> the practical's class names.
_ALIASES = {
    "mitcoast": "coast", "mitforest": "forest", "mithighway": "highway", "mitinsidecity": "insidecity",
    "mitmountain": "mountain", "mitopencountry": "opencountry", "mitstreet": "street",
    "mittallbuilding": "tallbuilding", "calsuburb": "suburb", "paroffice": "office",
}
SPLITS = ("train", "test")
# The remedies name what to change in the folder: it may be the user's own data, never to be overwritten by a
# download (reportgen fetch only fills a folder that is absent).
OTHER_COPY = "or point [data] scene15 at a complete copy"


def canonical_class(folder_name: str) -> str | None:
    """The class a folder stands for, matched without case, punctuation or Lazebnik's prefixes; None if none."""
    key = re.sub(r"[^a-z0-9]", "", folder_name.lower())
    key = _ALIASES.get(key, key)
    return key if key in CLASSES else None


@dataclass(frozen=True)
class Layout:
    """Where a 15 Scene copy's class folders are."""

    kind: str  # "split": root/train/<class>/, root/test/<class>/; "unsplit": root/<class>/ (Lazebnik's release)
    root: Path  # the folder that holds train/ and test/, or the class folders
    folders: tuple[tuple[str, str, Path], ...]  # (split "train"/"test", or "" when unsplit; class; folder)
    skipped: tuple[Skipped, ...]  # entries that are no part of the layout (a README, an unknown folder)


def _unwrap(root: Path, depth: int = 2) -> Path:
    """A folder holding nothing but one unknown folder (as archives often extract) stands for that folder."""
    for _ in range(depth):
        entries = visible_entries(root)
        lone = entries[0] if len(entries) == 1 and entries[0].is_dir() else None
        if lone is None or lone.name.lower() in SPLITS or canonical_class(lone.name):
            break
        root = lone
    return root


def _class_folders(parent: Path) -> tuple[dict[str, Path], list[Skipped]]:
    """{class: folder} among `parent`'s entries, and the entries that are not class folders."""
    folders: dict[str, Path] = {}
    skipped: list[Skipped] = []
    for entry in visible_entries(parent):
        name = canonical_class(entry.name) if entry.is_dir() else None
        if name is None:
            what = "not a 15 Scene class folder" if entry.is_dir() else "file outside the class folders"
            skipped.append(Skipped(entry, what))
        elif name in folders:
            raise DataError(f"two folders for class {name!r}: {folders[name]} and {entry} — keep only one")
        else:
            folders[name] = entry
    return folders, skipped


def _check_complete(found: dict[str, Path], where: Path) -> None:
    missing = [name for name in CLASSES if name not in found]
    if missing:
        raise DataError(
            f"15 Scene classes missing in {where}: {', '.join(missing)} ({len(found)} of 15 found) — add a folder "
            f"for each missing class there, {OTHER_COPY}"
        )


def _split_layout(base: Path, splits: dict[str, Path]) -> Layout:
    train, skipped = _class_folders(splits["train"])
    test, skipped_test = _class_folders(splits["test"])
    if set(train) != set(test):
        only_train = sorted(set(train) - set(test)) or "none"
        only_test = sorted(set(test) - set(train)) or "none"
        raise DataError(
            f"train and test hold different classes in {base}: only in train: {only_train}; "
            f"only in test: {only_test} — give train/ and test/ the same class folders, {OTHER_COPY}"
        )
    _check_complete(train, splits["train"])
    others = [Skipped(p, "not part of the train/test layout") for p in visible_entries(base)
              if p not in splits.values()]
    folders = tuple((split, name, found[name]) for split, found in (("train", train), ("test", test))
                    for name in CLASSES)
    return Layout("split", base, folders, tuple(skipped + skipped_test + others))


def _unsplit_layout(base: Path) -> Layout:
    found, skipped = _class_folders(base)
    if not found:
        seen = ", ".join(p.name for p in visible_entries(base)[:5]) or "nothing"
        raise DataError(
            f"no 15 Scene data in {base} (found: {seen}): expected train/ and test/ folders or one folder "
            f"per class (bedroom, MITcoast, ...) — point [data] scene15 at the folder that holds them"
        )
    _check_complete(found, base)
    return Layout("unsplit", base, tuple(("", name, found[name]) for name in CLASSES), tuple(skipped))


def find_layout(root: Path) -> Layout:
    """The layout of the 15 Scene copy at `root`; DataError (what, which path, what to do) when there is none.

    Errors: a missing root; only one of train/ and test/; different class sets in train/ and test/; missing
    classes; two folders for one class. Recorded skips: entries that are not class folders.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"15 Scene folder not found: {root} — run `reportgen fetch` or set the dataset's folder")
    base = _unwrap(root)
    splits = {p.name.lower(): p for p in visible_entries(base) if p.is_dir() and p.name.lower() in SPLITS}
    if len(splits) == 1:
        (have,) = splits.values()
        lacking = "test" if "train" in splits else "train"
        raise DataError(f"15 Scene split folder missing: {base / lacking} (there is {have}) — add {lacking}/ with "
                        f"the same class folders as {have.name}/, or keep only the class folders (one split is then "
                        f"made with a recorded seed)")
    return _split_layout(base, splits) if splits else _unsplit_layout(base)
