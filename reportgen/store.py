"""The one place that writes results: figures as SVG/PNG, arrays as .npz, the rest as JSON — atomically.

A dataclass is stored with its qualified name and rebuilt on read, but only from the packages the reader names
(the project's own): a class is found by importing its module by name, so a data file never runs other code."""
from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

RESULT = "result.json"
ARRAYS = "arrays.npz"
META = "meta.json"


@dataclass(frozen=True)
class Figure:
    """A stored figure: the file in the cache and the figure's name inside its result."""

    path: Path
    name: str

    @property
    def kind(self) -> str:
        return self.path.suffix.lstrip(".")


class _Scraper:
    """Turns a result into JSON, writing figures and collecting arrays on the way."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.arrays: dict[str, np.ndarray] = {}

    def __call__(self, value: Any, where: str) -> Any:
        if hasattr(value, "savefig"):
            return {"__figure__": self._save_figure(value, where)}
        if hasattr(value, "detach") and hasattr(value, "numpy"):  # a tensor, without importing torch
            value = value.detach().cpu().numpy()
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:  # only pickle could store it, and read_entry refuses pickle
                raise TypeError(f"{where}: cannot store an array of Python objects; use lists or a numeric array")
            key = f"a{len(self.arrays)}"
            self.arrays[key] = value
            return {"__array__": key}
        if isinstance(value, np.generic):
            value = value.item()
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {"__dataclass__": _qualified_name(type(value), where),
                    "fields": {f.name: self(getattr(value, f.name), f"{where}.{f.name}")
                               for f in dataclasses.fields(value)}}
        if isinstance(value, dict):
            return {str(k): self(v, f"{where}[{k!r}]") for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, float) and not math.isfinite(value):
            return {"__float__": repr(value)}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        raise TypeError(
            f"{where}: cannot store a {type(value).__name__}; return numbers, strings, lists, dicts, "
            "dataclasses, numpy arrays or matplotlib figures"
        )

    def _save_figure(self, fig: Any, where: str) -> str:
        is_image = any(ax.images for ax in fig.axes)  # pictures as PNG, plots as SVG
        stem = "".join(c if c.isalnum() else "-" for c in where).strip("-") or "figure"
        name = f"{stem}.{'png' if is_image else 'svg'}"
        import matplotlib  # only when there is a figure to save
        import matplotlib.pyplot as plt

        with matplotlib.rc_context({"svg.hashsalt": "reportgen"}):  # same figure, same bytes
            fig.savefig(self.folder / name, dpi=150, bbox_inches="tight", metadata=_figure_metadata(is_image))

        plt.close(fig)
        return name


def _qualified_name(cls: type, where: str) -> str:
    if "<locals>" in cls.__qualname__:
        raise TypeError(f"{where}: cannot store an instance of {cls.__qualname__}, a class defined inside a "
                        "function (it could not be found again); define it at module level")
    return f"{cls.__module__}:{cls.__qualname__}"


def _figure_metadata(is_image: bool) -> dict[str, Any]:
    # No dates in the files, so that the same result gives the same bytes.
    return {"Software": None} if is_image else {"Date": None, "Creator": None}


def write_entry(final: Path, value: Any, meta: dict[str, Any]) -> None:
    """Store `value` under `final`, all or nothing: written beside it, then renamed into place."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        scraper = _Scraper(tmp)
        data = scraper(value, "result")
        if scraper.arrays:
            np.savez(tmp / ARRAYS, **scraper.arrays)  # type: ignore[arg-type]  # numpy's stub: keywords are arrays
        _write_json(tmp / RESULT, data)
        _write_json(tmp / META, meta)
        shutil.rmtree(final, ignore_errors=True)
        os.rename(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_entry(folder: Path, packages: tuple[str, ...] = ()) -> Any:
    """The stored value, with figures as `Figure`, arrays as numpy arrays, and dataclasses rebuilt — only those
    of the top-level `packages` (the project's): a stored class name elsewhere is an error, never imported."""
    data = json.loads((folder / RESULT).read_text(encoding="utf-8"))
    arrays = np.load(folder / ARRAYS, allow_pickle=False) if (folder / ARRAYS).exists() else {}
    return _Reviver(folder, arrays, packages)(data)


def read_meta(folder: Path) -> dict[str, Any]:
    return json.loads((folder / META).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class _Reviver:
    folder: Path
    arrays: Any
    packages: tuple[str, ...]

    def __call__(self, data: Any) -> Any:
        if isinstance(data, dict):
            if set(data) == {"__figure__"}:
                return Figure(self.folder / data["__figure__"], data["__figure__"])
            if set(data) == {"__array__"}:
                return self.arrays[data["__array__"]]
            if set(data) == {"__float__"}:
                return float(data["__float__"])
            if set(data) == {"__dataclass__", "fields"}:
                return self._dataclass(data["__dataclass__"], data["fields"])
            return {k: self(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self(v) for v in data]
        return data

    def _dataclass(self, name: str, fields: dict[str, Any]) -> Any:
        cls = find_dataclass(name, self.packages, self.folder)
        values = {}
        for f in dataclasses.fields(cls):
            if f.init and f.name in fields:
                value = self(fields[f.name])
                values[f.name] = tuple(value) if isinstance(value, list) and _is_tuple(f.type) else value
        try:
            return cls(**values)
        except TypeError as exc:
            raise ValueError(f"{self.folder}: stored {name} does not fit the class any more ({exc}); "
                             "delete this cache entry") from None


def _is_tuple(annotation: Any) -> bool:
    return annotation is tuple or str(annotation).startswith(("tuple", "typing.Tuple", "Tuple"))


def find_dataclass(name: str, packages: tuple[str, ...], where: Path | str = "") -> type:
    """The dataclass `module:Qualified.Name`, imported by module name only from one of `packages`."""
    module, _, qualname = name.partition(":")
    if module.split(".")[0] not in packages or not qualname:
        raise ValueError(f"{where}: stored class {name!r} is not from this project's packages "
                         f"({', '.join(packages) or 'none'}); it is not imported — delete this cache entry")
    value: Any = importlib.import_module(module)
    for part in qualname.split("."):
        value = getattr(value, part, None)
    if not (isinstance(value, type) and dataclasses.is_dataclass(value)):
        raise ValueError(f"{where}: stored class {name!r} is no dataclass of {module}; delete this cache entry")
    return value


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=True, allow_nan=False), encoding="utf-8")


def write_text_atomic(path: Path, text: str | bytes) -> None:
    """Replace `path` only once the new content is completely written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(text.encode("utf-8") if isinstance(text, str) else text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:  # a full disk or an interrupt: the old content stays, and no partial file is left beside it
        if os.path.exists(tmp):
            os.unlink(tmp)


def staging_folder(target: Path) -> Path:
    """A fresh folder inside `target` to write a set of outputs into; leftovers of killed builds are removed."""
    target.mkdir(parents=True, exist_ok=True)
    for old in list(target.glob(".staging-*")) + list(target.glob(".replaced-*")):
        shutil.rmtree(old, ignore_errors=True)
    staging = target / f".staging-{os.getpid()}"
    staging.mkdir()
    return staging


def swap_in(staging: Path, target: Path, names: tuple[str, ...]) -> None:
    """Replace `target/name` by `staging/name` for every name, together: Ctrl-C and SIGTERM are held off until
    all are in place. A name absent from `staging` is removed from `target`."""
    replaced = target / f".replaced-{os.getpid()}"
    with _signals_held():
        replaced.mkdir(exist_ok=True)
        for name in names:
            if (target / name).exists():
                os.replace(target / name, replaced / name)
            if (staging / name).exists():
                os.replace(staging / name, target / name)
    shutil.rmtree(replaced, ignore_errors=True)


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done, then act as they would have (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []  # signal numbers
    previous = {sig: signal.signal(sig, lambda number, frame: caught.append(number))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for number in caught[:1]:
            signal.raise_signal(number)


def entry_files(folder: Path) -> dict[str, bytes]:
    """A stored result as it travels between processes: each file of its folder, by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def write_files(final: Path, files: dict[str, bytes]) -> None:
    """Store a result that `entry_files` took from another folder under `final`, all or nothing."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for relative, data in files.items():
            path = tmp / relative
            if not path.resolve().is_relative_to(tmp.resolve()):
                raise ValueError(f"{relative}: a stored result's file must stay inside its folder")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        shutil.rmtree(final, ignore_errors=True)
        os.rename(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
