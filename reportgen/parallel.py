"""A parallel build: experiments whose inputs are settled run at once on Dask workers.

The client decides what is cached or skipped exactly as the sequential runner does, sends each experiment to run
with its inputs' stored results, and alone writes what comes back into the cache (the same files the sequential
runner writes). The plan and the cache keys are the sequential build's."""
from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from distributed import as_completed
from distributed.scheduler import KilledWorker

from reportgen import store
from reportgen.cache import Cache
from reportgen.cluster import GPU, SHARED_GPU, Pool
from reportgen.plan import Context, Planned, resources_read
from reportgen.runner import Outcome, Runner, Selection
from reportgen.status import Status
from reportgen.worker import PLUGIN, BuildPlugin, NeedsFailed, Spec, Task, run

DIED = "its worker process died while running it, and again when retried (killed, or out of memory)"


class ParallelRunner(Runner):
    """The sequential runner's decisions and records; the experiments themselves run on the pool's workers."""

    def __init__(self, planned: dict[str, Planned], context: Context, cache: Cache, logs: Path,
                 progress: Callable[[str], None], pool: Pool, root: Path, package: str):
        super().__init__(planned, context, cache, logs, progress)
        self.pool, self.root, self.package = pool, root, package
        self.build_id = uuid.uuid4().hex
        self._client: Any = None
        self._shipped: dict[str, Any] = {}  # experiment → its entry's files, scattered once to the cluster

    def _load_resource(self, name: str) -> None:
        """The client loads no resource (each worker loads its own); it only knows those blocked beforehand."""
        if name not in self.outcomes:
            blocker = self.blocker(self.planned[name])
            if blocker:
                self.outcomes[name] = Outcome(name, Status.SKIPPED, self.planned[name].key, blocker)

    def run(self, selection: Selection, blocked: dict[str, str] | None = None) -> dict[str, Outcome]:
        for name, reason in (blocked or {}).items():
            self.outcomes[name] = Outcome(name, Status.FAILED, self.planned[name].key, reason)
        experiments = [p for p in self.planned.values() if p.node.is_experiment]
        counters = {p.node.name: f"[{i:>2}/{len(experiments)}]" for i, p in enumerate(experiments, 1)}
        waiting, completed = list(experiments), None
        ready: list[Planned] = []
        running: dict[Any, tuple[Planned, float]] = {}
        try:
            while waiting or ready or running:
                for p in [p for p in waiting if self._inputs_settled(p)]:
                    waiting.remove(p)
                    outcome = self.settled(p, selection, counters[p.node.name])
                    if outcome is None:
                        ready.append(p)
                    else:
                        self.outcomes[p.node.name] = outcome
                # one experiment per free worker thread: Dask places a task when it is submitted, and would queue
                # it behind a long one on a busy worker while another worker idles
                while ready and len(running) < self._slots():
                    p = ready.pop(0)
                    future = self._submit(p, counters[p.node.name])
                    if completed is None:
                        completed = as_completed(loop=self._client.loop)
                    completed.add(future)
                    running[future] = (p, time.perf_counter())
                if running and completed is not None:
                    future = next(completed)
                    p, started = running.pop(future)
                    self.outcomes[p.node.name] = self._collect(future, p, started, counters[p.node.name])
        except BaseException:  # Ctrl-C: nothing more runs; what finished is stored
            if self._client is not None and running:
                self._client.cancel(list(running))
            raise
        return {p.node.name: self.outcomes[p.node.name] for p in experiments}

    def _inputs_settled(self, p: Planned) -> bool:
        return all(i in self.outcomes for i in p.node.inputs
                   if i in self.planned and self.planned[i].node.is_experiment)

    def _slots(self) -> int:
        """How many experiments the cluster runs at once now: its workers' threads (at least 1, so that a cluster
        still starting gets its first one)."""
        workers = self._start().scheduler_info()["workers"].values()
        return max(1, sum(w.get("nthreads", 1) for w in workers))

    def _start(self) -> Any:
        if self._client is None:
            self._client = self.pool.client(gpus=gpu_count(self.context))
            plugin = BuildPlugin(self.build_id, str(self.root), self.package, self.context)
            self._client.register_plugin(plugin, name=PLUGIN)
        return self._client

    def _submit(self, p: Planned, counter: str) -> Any:
        client = self._start()
        names = [p.node.name, *resources_read(self.planned, p.node.name)]
        task = Task(self.build_id, p.node.name, {n: Spec(self.planned[n].params, self.planned[n].parts,
                                                         self.planned[n].key) for n in names})
        inputs = {i: self._entry(i) for i in p.node.inputs if i in self.planned and self.planned[i].node.is_experiment}
        needs = gpu_resources(self.planned, p.node.name, self.context)
        self.progress(f"{counter} {p.node.name}: sent to a worker" + (f" with {next(iter(needs))}" if needs else ""))
        return client.submit(run, task, inputs, resources=needs, pure=False, key=f"{p.node.name}-{self.build_id}")

    def _entry(self, name: str) -> Any:
        folder = self.cache.entry(name, self.planned[name].key)
        if self.pool.shared_files:
            return str(folder)
        if name not in self._shipped:
            # in a list: a dict would be scattered value by value, under its file names as keys
            self._shipped[name] = self._client.scatter([store.entry_files(folder)], hash=False)[0]
        return self._shipped[name]

    def _collect(self, future: Any, p: Planned, started: float, counter: str) -> Outcome:
        """Store what came back, or record why nothing did."""
        wall = time.perf_counter() - started
        try:
            done = future.result()
            store.write_files(self.cache.entry(p.node.name, p.key), done.files)
        except NeedsFailed as exc:
            self.progress(f"{counter} {p.node.name}: skipped ({str(exc).split(': ', 1)[0]})")
            return Outcome(p.node.name, Status.SKIPPED, p.key, str(exc))
        except KilledWorker as exc:
            return self.failed(p, exc, wall, counter, reason=DIED)
        except Exception as exc:  # noqa: BLE001 — isolated as in the sequential runner
            return self.failed(p, exc, wall, counter)
        return self.stored(p, done.meta, counter)

    def settled(self, p: Planned, selection: Selection, counter: str) -> Outcome | None:
        outcome = super().settled(p, selection, counter)
        needs = gpu_resources(self.planned, p.node.name, self.context)
        if outcome is None and needs:
            self._start()
            if not self.pool.workers_with(next(iter(needs))):
                reason = ("it runs on the GPU, and no worker of the cluster offers the Dask resource "
                          f"{next(iter(needs))}")
                self.progress(f"{counter} {p.node.name}: FAILED — {reason}")
                return Outcome(p.node.name, Status.FAILED, p.key, reason)
        return outcome


def gpu_resources(planned: dict[str, Planned], name: str, context: Context) -> dict[str, int] | None:
    """What an experiment asks of a worker: a GPU when the build runs on CUDA and it takes the device, directly
    or through a resource (a network loaded onto it); to itself unless it says it may share."""
    if context.device != "cuda":
        return None
    takes = [name, *resources_read(planned, name)]
    if not any("device" in planned[n].node.inputs for n in takes):
        return None
    return {SHARED_GPU if planned[name].node.meta.shares_gpu else GPU: 1}


def gpu_count(context: Context) -> int:
    if context.device != "cuda" or "torch" not in sys.modules:
        return 0
    return sys.modules["torch"].cuda.device_count()
