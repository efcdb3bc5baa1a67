"""Running what is stale, in order: failures are isolated, results stored only after success."""
from __future__ import annotations

import contextlib
import ctypes
import fnmatch
import gc
import random
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import psutil

from reportgen import store
from reportgen.assets import AssetError
from reportgen.cache import Cache
from reportgen.errors import UserError
from reportgen.plan import Context, Planned
from reportgen.progress import Display, shown
from reportgen.status import Status

NOT_SELECTED = "not selected by --only and not in the cache"  # a skip asked for, not a failure


@dataclass
class Outcome:
    """What happened to one experiment in this build."""

    name: str
    status: Status
    key: str
    reason: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def missing(self) -> bool:
        """Not computed although it should have been: failed, or skipped for a reason other than --only."""
        return self.status == Status.FAILED or (self.status == Status.SKIPPED and self.reason != NOT_SELECTED)

    @property
    def computed(self) -> bool:
        return Status(self.status).computed


@dataclass(frozen=True)
class Selection:
    only: tuple[str, ...] = ()  # glob patterns; empty = everything
    force: tuple[str, ...] = ()

    def selected(self, name: str) -> bool:
        return not self.only or any(fnmatch.fnmatch(name, p) for p in self.only)

    def forced(self, name: str) -> bool:
        return any(fnmatch.fnmatch(name, p) for p in self.force)


class PeakMemory:
    """Peak resident memory of this process while the block runs (sampled every 20 ms), in MB; and `gpu`, the peak
    of memory allocated on the CUDA device by torch in the block (None when CUDA was not used)."""

    def __enter__(self) -> PeakMemory:
        self.peak, self.gpu = self._rss(), None
        cuda = _cuda_in_use()
        if cuda is not None:
            cuda.reset_peak_memory_stats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        cuda = _cuda_in_use()
        if cuda is not None:  # initialized before or inside the block: its peak counts from then
            self.gpu = cuda.max_memory_allocated() / 2**20

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    @staticmethod
    def _rss() -> float:
        try:
            pages = int(Path("/proc/self/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            return 0.0
        import os

        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4


def cpu_seconds() -> float:
    """CPU seconds used so far by this process's threads and by its child processes, those still running (worker
    processes kept for the next job: joblib's, DataLoader's) and those that have ended."""
    me = psutil.Process()
    times = me.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):  # it ended meanwhile: its time is in children_* once reaped
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
    return total


def release_memory() -> None:
    """Hand freed memory back to the system before the next experiment: collect cycles (figures, autograd graphs),
    then ask glibc to return its free heap pages (`malloc_trim`; what an experiment frees stays in the process
    otherwise, and each experiment's peak would count its predecessors' leftovers).

    Within the experiment, freed memory is kept for reuse instead (`mallopt`): large blocks come from the heap, not
    from mmap, and the heap is not trimmed after each free. By default glibc maps every block above 32 MB afresh
    and unmaps it when freed, so each batch of a PyTorch loop page-faults its activations and gradients in again:
    one gradient step of EfficientNet-Lite0 on 12 images took 117,000 page faults and 0.23 s of system time on this
    project's CPU, and none with these settings (0.33 s a step against 0.21 s). A no-op where there is no glibc."""
    gc.collect()
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
        libc.mallopt(M_MMAP_MAX, 0)
        libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1)
    except (OSError, AttributeError):
        pass


def _cuda_in_use() -> Any:
    """torch.cuda when an experiment already initialized it (torch is never imported here for this)."""
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    return cuda if cuda is not None and cuda.is_initialized() else None


def one_line(exc: BaseException) -> str:
    """The error in one line, with the project file and line where it was raised."""
    message = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, (UserError, AssetError)):
        return message
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "site-packages" not in f.filename]
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {message}{where}"


class Runner:
    """Executes a plan against the cache, loading inputs and resources lazily."""

    def __init__(self, planned: dict[str, Planned], context: Context, cache: Cache, logs: Path,
                 progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
                 bars: TextIO | None = None):
        """`progress` receives the build's lines; `bars`: where the experiments' loops show their progress (none
        when None)."""
        self.planned, self.context, self.cache, self.logs, self.progress = planned, context, cache, logs, progress
        self.bars = bars
        self.outcomes: dict[str, Outcome] = {}
        self._values: dict[str, Any] = {}

    def run(self, selection: Selection, blocked: dict[str, str] | None = None) -> dict[str, Outcome]:
        """Run every node in order; `blocked` maps resources known to be unusable to the reason."""
        for name, reason in (blocked or {}).items():
            self.outcomes[name] = Outcome(name, Status.FAILED, self.planned[name].key, reason)
        experiments = [p for p in self.planned.values() if p.node.is_experiment]
        for i, p in enumerate(experiments, 1):
            self.outcomes[p.node.name] = self._one(p, selection, f"[{i:>2}/{len(experiments)}]")
        return {p.node.name: self.outcomes[p.node.name] for p in experiments}

    def _one(self, p: Planned, selection: Selection, counter: str) -> Outcome:
        return self.settled(p, selection, counter) or self._execute(p, counter)

    def settled(self, p: Planned, selection: Selection, counter: str) -> Outcome | None:
        """Its outcome when it is cached or must be skipped; None when it has to run."""
        name = p.node.name
        if self.cache.has(name, p.key) and not selection.forced(name):
            self.progress(f"{counter} {name}: cached")
            return Outcome(name, Status.CACHED, p.key, meta=store.read_meta(self.cache.entry(name, p.key)))
        if selection.selected(name):
            blocker = self.blocker(p)
        else:  # checked first, so that no resource is loaded (or downloaded) for it
            blocker = NOT_SELECTED
        if blocker:
            self.progress(f"{counter} {name}: skipped ({blocker.split(': ', 1)[0]})")
            return Outcome(name, Status.SKIPPED, p.key, blocker)
        return None

    def blocker(self, p: Planned) -> str | None:
        """Why `p` cannot run (an input failed or was skipped), loading the resources it reads; None if it can."""
        for dep in p.node.inputs:
            if dep in self.planned and not self.planned[dep].node.is_experiment:
                self._load_resource(dep)
            outcome = self.outcomes.get(dep)
            if outcome and not outcome.computed:
                return f"needs {dep}, which {outcome.status}: {outcome.reason}"
        return None

    def _execute(self, p: Planned, counter: str) -> Outcome:
        self.progress(f"{counter} {p.node.name}: running…")
        started = time.perf_counter()
        display = Display(self.bars, f"{counter} {p.node.name}") if self.bars is not None else None
        try:
            with shown(display):
                value, meta = self.compute(p)
            store.write_entry(self.cache.entry(p.node.name, p.key), value, meta)
        except Exception as exc:  # isolate the failure; its dependents are skipped
            return self.failed(p, exc, time.perf_counter() - started, counter)
        return self.stored(p, meta, counter)

    def compute(self, p: Planned) -> tuple[Any, dict[str, Any]]:
        """Call the experiment with its inputs and settings; its value and what the cache records beside it."""
        started = time.perf_counter()
        kwargs = {**p.params, **{i: self.value(i) for i in p.node.inputs}}
        _seed_everything(self.context.seed)
        release_memory()
        cpu = cpu_seconds()
        with PeakMemory() as mem:
            value = p.node.fn(**kwargs)
        cpu = cpu_seconds() - cpu  # steadier than wall time on a busy CPU
        gpu: dict[str, float] = {"peak_gpu_mb": round(mem.gpu, 1)} if mem.gpu is not None else {}
        meta = {"wall_s": round(time.perf_counter() - started, 3), "cpu_s": round(cpu, 3),
                "peak_mem_mb": round(mem.peak, 1),
                "device": _device_name(self.context), **gpu,
                "seed": self.context.seed, "params": p.parts["params"], "finished": time.time(),
                "resources": self._provenance(p)}
        return value, meta

    def stored(self, p: Planned, meta: dict[str, Any], counter: str) -> Outcome:
        """Record a result that is now in the cache."""
        self.cache.record(p.node.name, {"key": p.key, "parts": p.parts, "status": Status.RAN})
        self.progress(f"{counter} {p.node.name}: ran in {meta['wall_s']:.2f} s")
        return Outcome(p.node.name, Status.RAN, p.key, meta=meta)

    def _provenance(self, p: Planned) -> dict[str, Any]:
        """The fingerprints (file, hash, size…) of the resources this experiment read, for the appendix."""
        return {i: self.planned[i].parts["fingerprint"] or self.planned[i].parts["params"] for i in p.node.inputs
                if i in self.planned and not self.planned[i].node.is_experiment}

    def failed(self, p: Planned, exc: BaseException, wall: float, counter: str, reason: str | None = None) -> Outcome:
        reason = reason or one_line(exc)
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{p.node.name}.log"
        log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        self.cache.record(p.node.name, {"key": p.key, "parts": p.parts, "status": Status.FAILED, "reason": reason})
        self.progress(f"{counter} {p.node.name}: FAILED after {wall:.2f} s — {reason} (traceback: {log})")
        return Outcome(p.node.name, Status.FAILED, p.key, reason, {"wall_s": round(wall, 3)})

    @contextlib.contextmanager
    def given(self, values: dict[str, Any]) -> Iterator[None]:
        """Inputs' values from elsewhere for the block (a worker receives the results an experiment reads)."""
        self._values.update(values)
        try:
            yield
        finally:
            for name in values:
                self._values.pop(name, None)

    def value(self, name: str) -> Any:
        """An input's value: a built-in, a loaded resource, or a stored result (read once)."""
        if name not in self._values:
            if name not in self.planned:
                self._values[name] = self._builtin(name)
            elif self.planned[name].node.is_experiment:
                self._values[name] = store.read_entry(self.cache.entry(name, self.planned[name].key),
                                                     self.context.packages)
            else:
                self._load_resource(name)
        return self._values[name]

    def _load_resource(self, name: str) -> None:
        if name in self._values or name in self.outcomes:
            return
        p = self.planned[name]
        blocker = self.blocker(p)
        if blocker:
            self.outcomes[name] = Outcome(name, Status.SKIPPED, p.key, blocker)
            return
        try:
            self._values[name] = p.node.fn(**p.params, **{i: self.value(i) for i in p.node.inputs})
            self.outcomes[name] = Outcome(name, Status.RAN, p.key)
        except Exception as exc:
            self.outcomes[name] = Outcome(name, Status.FAILED, p.key, one_line(exc))

    def _builtin(self, name: str) -> Any:
        if name == "device":
            import torch  # an experiment that takes a device uses torch anyway

            return torch.device(self.context.device)
        return {"offline": self.context.offline, "cache_dir": self.context.cache_dir}[name]


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def _device_name(context: Context) -> str:
    if context.device == "cuda" and "torch" in sys.modules:
        return f"cuda ({sys.modules['torch'].cuda.get_device_name()})"
    return context.device
