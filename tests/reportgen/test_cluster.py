"""The local Dask workers of `-j N`: threads, memory and GPUs shared out between them."""
from __future__ import annotations

from reportgen.cluster import worker_specs


def test_cpu_workers_share_the_cores_and_memory_and_listen_on_loopback() -> None:
    specs = worker_specs(jobs=2, gpus=0, visible=None, cpus=2, memory=8_000)
    assert list(specs) == [0, 1]
    for spec in specs.values():
        assert spec["nthreads"] == 1 and spec["host"] == "127.0.0.1" and spec["memory_limit"] == 4_000
        assert spec["resources"] == {} and "CUDA_VISIBLE_DEVICES" not in spec["env"]
        assert spec["env"]["OMP_NUM_THREADS"] == "1"


def test_each_gpu_has_one_exclusive_worker_and_every_worker_sees_a_gpu() -> None:
    specs = worker_specs(jobs=5, gpus=2, visible="3,5", cpus=16, memory=10_000)
    assert [s["env"]["CUDA_VISIBLE_DEVICES"] for s in specs.values()] == ["3", "5", "3", "5", "3"]
    exclusive = {"GPU": 1, "shared-GPU": 1}
    assert [s["resources"] for s in specs.values()] == [exclusive, exclusive] + [{"shared-GPU": 1}] * 3
    assert all(s["env"]["OMP_NUM_THREADS"] == "3" for s in specs.values())
