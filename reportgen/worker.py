"""What a Dask worker process does in a parallel build: import the project, load the resources an experiment
needs (once per worker and build), run the experiment as the sequential runner does, and hand back its result as
the files the store wrote. The worker writes nothing into the build: the client stores what comes back."""
from __future__ import annotations

import importlib
import os
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distributed import WorkerPlugin, get_worker

from reportgen import store
from reportgen.cache import Cache, library_versions
from reportgen.errors import UserError
from reportgen.plan import Context, Planned
from reportgen.registry import Registry, discover
from reportgen.runner import Runner
from reportgen.sources import SourceIndex

PLUGIN = "reportgen-build"


@dataclass(frozen=True)
class Spec:
    """One planned node without its function: the worker imports its own copy of the project."""

    params: dict[str, Any]
    parts: dict[str, Any]
    key: str


@dataclass(frozen=True)
class Task:
    """An experiment to run, and the plan of every resource it reads, directly or through other resources."""

    build: str
    name: str
    specs: dict[str, Spec]


@dataclass(frozen=True)
class Done:
    """A result as it travels back: the files of its cache entry (meta.json included)."""

    files: dict[str, bytes]
    meta: dict[str, Any]


class NeedsFailed(Exception):
    """A resource the experiment reads could not be loaded on the worker: the experiment is skipped."""


class BuildPlugin(WorkerPlugin):
    """Registered by the client for each build: makes the project importable on the worker and keeps, for that
    build, the worker's registry and loaded resources."""

    idempotent = False

    def __init__(self, build: str, root: str, package: str, context: Context):
        self.build, self.root, self.package, self.context = build, root, package, context
        self._registry: Registry | None = None
        self._runner: Runner | None = None
        self._sources: SourceIndex | None = None

    def setup(self, worker: Any) -> None:
        if os.path.isdir(self.root):  # relative paths of the configuration are relative to the project
            os.chdir(self.root)
            if self.root not in sys.path:
                sys.path.insert(0, self.root)
        for name in [m for m in sys.modules if m == self.package or m.startswith(self.package + ".")]:
            del sys.modules[name]  # a long-lived worker imports the project's current sources for each build
        importlib.invalidate_caches()

    def runner(self, task: Task) -> Runner:
        """The worker's runner for this build, knowing the nodes of `task`."""
        if task.build != self.build:
            raise UserError("this worker belongs to another build of the same cluster; run one build at a time")
        if self._runner is None or self._registry is None:
            self._registry = discover(self.package)
            scratch = Path(tempfile.gettempdir())
            self._runner = Runner({}, self.context, Cache(scratch / "reportgen-unused"), scratch, lambda line: None)
        registry = self._registry
        for name, spec in task.specs.items():
            if name not in self._runner.planned:
                self._runner.planned[name] = Planned(registry.nodes[name], spec.params, spec.parts, spec.key)
        return self._runner

    def check_like_client(self, p: Planned) -> None:
        """The worker's copy of the experiment's sources, its libraries and its device must be those the client
        planned with: else its result would be stored under a key that does not describe it."""
        versions = library_versions()
        if versions != p.parts["versions"]:
            libraries = ", ".join(f"{k} {v} (client: {p.parts['versions'].get(k)})" for k, v in versions.items()
                                  if v != p.parts["versions"].get(k))
            raise UserError(f"this worker has {libraries}; install the client's versions on the workers")
        if self.context.device == "cuda" and not _cuda_usable():
            raise UserError("the build runs on CUDA and this worker has no usable CUDA GPU")
        package = importlib.import_module(p.node.fn.__module__.split(".")[0])
        init = package.__file__ or ""
        root = Path(init).resolve().parents[1 if init.endswith("__init__.py") else 0]
        if self._sources is None or self._sources.root != root:  # files are read once per worker and build
            engine = Path(store.__file__).resolve().parent  # no part of a key: neither ours nor the project's copy
            self._sources = SourceIndex(root, exclude=(engine, root / engine.name))
        mine, theirs = self._sources.closure(p.node.fn.__module__), p.parts["sources"]
        differ = sorted(path for path in set(mine) | set(theirs) if mine.get(path) != theirs.get(path))
        if differ:
            raise UserError(f"the worker's copy of {', '.join(differ)} differs from the client's ({root}); "
                            "give the workers the same project files")


def dask_setup(worker: Any) -> None:
    """Preloaded by the worker processes of `-j N`: Ctrl-C in a terminal reaches them too, but it is the client
    that stops the build and closes them, so they ignore it (instead of each printing a traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run(task: Task, inputs: dict[str, str | dict[str, bytes]]) -> Done:
    """Run one experiment on this worker. `inputs` maps each experiment it reads to its cache entry: a folder
    this worker can read, or the entry's files."""
    plugin: Any = get_worker().plugins[PLUGIN]  # our BuildPlugin, registered by the client
    runner = plugin.runner(task)
    p = runner.planned[task.name]
    plugin.check_like_client(p)
    with tempfile.TemporaryDirectory(prefix="reportgen-") as tmp:
        packages = runner.context.packages  # stored dataclasses are rebuilt from the project's packages only
        values = {name: _read(stored, Path(tmp) / name, packages) for name, stored in inputs.items()}
        with runner.given(values):
            blocker = runner.blocker(p)  # loads the resources it reads (once per worker and build)
            if blocker:
                raise NeedsFailed(blocker)
            value, meta = runner.compute(p)
        store.write_entry(Path(tmp) / "result", value, meta)
        return Done(store.entry_files(Path(tmp) / "result"), meta)


def _read(stored: str | dict[str, bytes], folder: Path, packages: tuple[str, ...]) -> Any:
    if isinstance(stored, str):  # the client's cache is on a file system this worker shares
        return store.read_entry(Path(stored), packages)
    store.write_files(folder, stored)
    return store.read_entry(folder, packages)



def _cuda_usable() -> bool:
    if not os.path.exists("/dev/nvidiactl"):  # as plan.resolve_device: no driver, no need to import torch
        return False
    import torch  # a CUDA build's experiments use torch anyway

    return torch.cuda.is_available()
