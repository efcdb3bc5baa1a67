"""Cache keys: everything a result depends on, hashed; and, when a key changes, which part changed."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from reportgen import store

FORMAT = 1  # bump when the stored layout changes
LIBRARIES = ("torch", "torchvision", "numpy", "scikit-learn", "timm")


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=repr).encode()).hexdigest()[:16]


def key_parts(
    sources: dict[str, str], params: dict[str, Any], inputs: dict[str, str], versions: dict[str, str],
    device: str, fingerprint: Any,
) -> dict[str, Any]:
    """The parts of a cache key, kept apart so that a change can be explained."""
    return {"format": FORMAT, "sources": sources, "params": _jsonable(params), "inputs": inputs,
            "versions": versions, "device": device, "fingerprint": _jsonable(fingerprint)}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=repr))


def explain(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Why a key changed, in words: which file, setting, input, library or data."""
    if old is None:
        return ["never run"]
    reasons: list[str] = []
    for path in sorted(set(old["sources"]) | set(new["sources"])):
        if old["sources"].get(path) != new["sources"].get(path):
            reasons.append(f"source {path} changed")
    for label, part in (("setting", "params"), ("input", "inputs"), ("library", "versions")):
        for name in sorted(set(old[part]) | set(new[part])):
            before, after = old[part].get(name), new[part].get(name)
            if before != after:
                shown = "changed" if part == "inputs" else f"{before!r} → {after!r}"
                reasons.append(f"{label} {name} {shown}")
    if old["device"] != new["device"]:
        reasons.append(f"device {old['device']} → {new['device']}")
    if old["fingerprint"] != new["fingerprint"]:
        reasons.append("data or weights changed")
    if old.get("format") != new.get("format"):
        reasons.append("cache format changed")
    return reasons or ["unknown"]


@dataclass(frozen=True)
class Cache:
    """`root/<name>/<key>/` holds a result; `root/<name>/last.json` the last attempt, success or not."""

    root: Path

    def entry(self, name: str, key: str) -> Path:
        return self.root / name / key

    def has(self, name: str, key: str) -> bool:
        return (self.entry(name, key) / store.META).is_file()

    def last(self, name: str) -> dict[str, Any] | None:
        path = self.root / name / "last.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def record(self, name: str, attempt: dict[str, Any]) -> None:
        store.write_text_atomic(self.root / name / "last.json", json.dumps(attempt, indent=1, sort_keys=True))

    def sweep(self, keep: int = 3, needed: dict[str, set[str]] | None = None) -> int:
        """Remove leftovers of interrupted writes and, per experiment, every entry but the `keep` most recently
        used and those `needed` (experiment → keys), which count as used now. Returns how many were removed."""
        needed = needed or {}
        for name, keys in needed.items():
            for key in keys:
                if self.has(name, key):
                    os.utime(self.entry(name, key) / store.META)  # last use: the meta file's mtime
        removed = 0
        for folder in self.root.glob("*/"):
            for tmp in folder.glob(".tmp-*"):
                shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
            entries = sorted((p for p in folder.iterdir() if (p / store.META).is_file()),
                             key=lambda p: (p / store.META).stat().st_mtime, reverse=True)
            for old in entries[keep:]:
                if old.name not in needed.get(folder.name, ()):
                    shutil.rmtree(old, ignore_errors=True)
                    removed += 1
        return removed
