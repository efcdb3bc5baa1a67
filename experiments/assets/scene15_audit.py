"""The 15 Scene data audit: counts, image sizes and modes, exact duplicates, skipped files. Data only."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from experiments.assets.datafiles import Skipped

if TYPE_CHECKING:
    from experiments.assets.scene15 import Scene15


@dataclass(frozen=True)
class Duplicate:
    """Files with byte-identical content (same sha256)."""

    sha256: str
    train: tuple[Path, ...]
    test: tuple[Path, ...]
    classes: tuple[str, ...]  # the distinct classes they are labelled with (more than one: a label conflict)


@dataclass(frozen=True)
class Audit:
    classes: tuple[str, ...]
    counts: tuple[tuple[str, int, int], ...]  # (class, train images, test images), in class order
    sizes: tuple[tuple[int, int, int], ...]  # (width, height, images), most frequent first
    modes: tuple[tuple[str, int], ...]  # (PIL mode, images), most frequent first
    duplicates_within_train: tuple[Duplicate, ...]  # groups with two or more train files
    duplicates_within_test: tuple[Duplicate, ...]  # groups with two or more test files
    duplicates_across: tuple[Duplicate, ...]  # groups with files in both train and test
    skipped: tuple[Skipped, ...]
    layout: str

    @property
    def train_total(self) -> int:
        return sum(train for _, train, _ in self.counts)

    @property
    def test_total(self) -> int:
        return sum(test for _, _, test in self.counts)


def _counts(dataset: Scene15) -> tuple[tuple[str, int, int], ...]:
    train = Counter(dataset.train.labels.tolist())
    test = Counter(dataset.test.labels.tolist())
    return tuple((name, train[i], test[i]) for i, name in enumerate(dataset.classes))


def _duplicates(dataset: Scene15) -> list[Duplicate]:
    """Every group of two or more files sharing a content hash, ordered by first path."""
    groups: dict[str, dict[str, list]] = defaultdict(lambda: {"train": [], "test": [], "labels": set()})
    for part, split in (("train", dataset.train), ("test", dataset.test)):
        for path, label, info in zip(split.paths, split.labels.tolist(), split.images):
            group = groups[info.sha256]
            group[part].append(path)
            group["labels"].add(label)
    found = [
        Duplicate(sha, tuple(g["train"]), tuple(g["test"]), tuple(dataset.classes[i] for i in sorted(g["labels"])))
        for sha, g in groups.items()
        if len(g["train"]) + len(g["test"]) > 1
    ]
    return sorted(found, key=lambda d: (d.train + d.test)[0])


def audit(dataset: Scene15) -> Audit:
    """Counts per class and split, distinct image sizes and modes with counts, exact duplicates (within train,
    within test, across the split) and the files skipped with their reasons."""
    infos = dataset.train.images + dataset.test.images
    sizes = Counter((info.width, info.height) for info in infos).most_common()
    modes = Counter(info.mode for info in infos).most_common()
    duplicates = _duplicates(dataset)
    return Audit(
        classes=dataset.classes,
        counts=_counts(dataset),
        sizes=tuple((w, h, n) for (w, h), n in sizes),
        modes=tuple(modes),
        duplicates_within_train=tuple(d for d in duplicates if len(d.train) > 1),
        duplicates_within_test=tuple(d for d in duplicates if len(d.test) > 1),
        duplicates_across=tuple(d for d in duplicates if d.train and d.test),
        skipped=dataset.skipped,
        layout=dataset.layout,
    )
