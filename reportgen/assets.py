"""Files that experiments need from outside the project (weights, datasets), and how to say one is missing."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Asset:
    """One file or folder a resource needs: where it goes, where it comes from, and what is wrong with it."""

    name: str  # what it is, for people: "VGG16 weights (IMAGENET1K_V1)"
    path: str  # where it must be: "/root/.cache/torch/hub/checkpoints/vgg16-397923af.pth"
    url: str | None = None  # where it is downloaded from, if anywhere
    problem: str | None = None  # None when present and sound; else "missing", "truncated (12 of 528 MB)", ...
    fix: str | None = None  # what to do, when it is not to download or put a file there (e.g. a user's own folder)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        """One line: what is wrong, where, and what to do."""
        if self.fix:
            return f"{self.name} at {self.path}: {self.problem} — {self.fix}"
        fix = f"download {self.url} and put it at {self.path}" if self.url else f"put it at {self.path}"
        return f"{self.name}: {self.problem} — {fix}"


class AssetError(Exception):
    """Raised by a resource when assets it needs are missing or broken; the message is one line per asset."""

    def __init__(self, assets: list[Asset]):
        self.assets = [a for a in assets if not a.ok]
        super().__init__("; ".join(a.describe() for a in self.assets))


@dataclass(frozen=True)
class Choice:
    """What a resource's configuration resolved to before anything ran (a resource's `resolve` hook).

    `overrides` replace settings of the resource's whole section (so every resource of a network role follows the
    network that stands in). `asked` and `used` name what was configured and what is used, for people; `reason` says
    why they differ; `substitute` is true when `used` stands in for `asked` (a different network, say), false when it
    is the same thing found elsewhere (a dataset in another folder). `watch` lists paths whose appearance or change
    must make the next build plan again (the practical's weights, once fetched, replace the stand-in)."""

    section: str
    asked: str
    used: str
    overrides: tuple[tuple[str, Any], ...] = ()
    reason: str | None = None
    substitute: bool = False
    watch: tuple[str, ...] = ()

    def line(self) -> str:
        """One line for people: what stands in for what, and why."""
        if self.used == self.asked:
            return f"[{self.section}] {self.used}"
        verb = "stands in for" if self.substitute else "used for"
        return f"[{self.section}] {self.used} {verb} {self.asked}" + (f" — {self.reason}" if self.reason else "")
