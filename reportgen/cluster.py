"""The Dask cluster of a parallel build: worker processes on this machine (`-j N`) or a running cluster
(`--scheduler ADDRESS`), connected to only when the first experiment has to run."""
from __future__ import annotations

import logging
import os
from typing import Any

from reportgen.errors import UserError

GPU = "GPU"  # a worker with the GPU to itself: experiments that run on it need one unit
SHARED_GPU = "shared-GPU"  # any worker that sees a GPU: experiments that may share it need one unit
ALLOWED_FAILURES = 1  # a task whose worker dies is retried once, then fails


class Pool:
    """A Dask client for one build or for all the builds of a sweep; closed on exit."""

    def __init__(self, jobs: int = 1, scheduler: str | None = None):
        self.jobs, self.scheduler = jobs, scheduler
        self._client: Any = None
        self._cluster: Any = None

    @property
    def shared_files(self) -> bool:
        """Whether the workers read the client's files (its own worker processes) or are sent them (a cluster)."""
        return self.scheduler is None

    def client(self, gpus: int = 0) -> Any:
        """The client, starting the local workers first (`gpus`: how many GPUs this machine has for them)."""
        if self._client is None:
            from distributed import Client

            if self.scheduler:
                try:
                    self._client = Client(self.scheduler, set_as_default=False)
                except (OSError, ValueError) as exc:  # refused, timed out, or not an address
                    raise UserError(f"--scheduler {self.scheduler}: cannot connect ({exc}); start the cluster "
                                    "or check the address") from None
            else:
                self._cluster = local_cluster(self.jobs, gpus)
                self._client = Client(self._cluster, set_as_default=False)
        return self._client

    def workers_with(self, resource: str) -> int:
        """How many workers of the cluster offer `resource`."""
        workers = self.client().scheduler_info()["workers"].values()
        return sum(1 for w in workers if w.get("resources", {}).get(resource, 0) > 0)

    def close(self) -> None:
        for part in (self._client, self._cluster):
            if part is not None:
                part.close()
        self._client = self._cluster = None

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def worker_specs(jobs: int, gpus: int, visible: str | None, cpus: int, memory: int) -> dict[int, dict[str, Any]]:
    """Options of `jobs` single-threaded worker processes sharing `cpus` cores and `memory` bytes. With GPUs,
    worker i sees GPU i mod `gpus` (of `visible`, CUDA_VISIBLE_DEVICES, when set); the first worker of each GPU
    has it to itself (resource GPU), every one of them may run the experiments that share one (shared-GPU)."""
    threads = str(max(1, cpus // jobs))
    env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
           "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    devices = visible.split(",") if visible else [str(i) for i in range(gpus)]
    specs = {}
    for i in range(jobs):
        resources, extra = {}, {}
        if gpus:
            extra = {"CUDA_VISIBLE_DEVICES": devices[i % gpus]}
            resources = {GPU: 1, SHARED_GPU: 1} if i < gpus else {SHARED_GPU: 1}
        specs[i] = {"nthreads": 1, "host": "127.0.0.1", "resources": resources, "env": {**env, **extra},
                    "memory_limit": memory // jobs, "silence_logs": logging.CRITICAL,
                    "preload": ["reportgen.worker"]}
    return specs


def local_cluster(jobs: int, gpus: int) -> Any:
    """`jobs` worker processes on this machine, listening on the loopback interface only, no dashboard. They are
    daemonic (Dask's default): an experiment's SVM fits run one at a time there (`fit_jobs`). Non-daemonic workers,
    which could start the fits' processes, were tried on a GPU machine: the build wrote its report and then did
    not exit (the client's Python waits at exit for non-daemonic children)."""
    from distributed import Nanny, Scheduler, SpecCluster
    from distributed.system import MEMORY_LIMIT

    specs = worker_specs(jobs, gpus, os.environ.get("CUDA_VISIBLE_DEVICES"), os.cpu_count() or 1, MEMORY_LIMIT)
    scheduler = {"cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard_address": None,
                                                "allowed_failures": ALLOWED_FAILURES}}
    workers = {i: {"cls": Nanny, "options": options} for i, options in specs.items()}
    return SpecCluster(workers=workers, scheduler=scheduler, silence_logs=logging.ERROR, name="reportgen")
