"""Parallel builds on Dask workers: the same results and keys as a sequential build, a dead worker fails only its
experiment, GPU experiments ask for GPU workers."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def _values(tiny) -> dict:
    experiments = tiny.json("results.json")["experiments"]
    return {n: (e["status"], e["cache_key"], e["values"]) for n, e in experiments.items()}


def test_two_worker_processes_give_the_sequential_results_and_keys(tiny) -> None:
    assert tiny.build().code == 0
    sequential = _values(tiny)
    shutil.rmtree(tiny.build_dir)
    run = tiny.build(jobs=2)
    assert run.code == 0, run.text
    assert run.ran == {"numbers", "ramp", "curve", "picture"}
    assert _values(tiny) == sequential
    # one experiment per worker at a time: none waits on a busy worker while another idles
    first_done = next(i for i, line in enumerate(run.lines) if ": ran in" in line)
    assert sum(": sent to a worker" in line for line in run.lines[:first_done]) == 2


def test_a_worker_killed_mid_experiment_fails_that_experiment_alone(tiny) -> None:
    kill = "    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)\n    return {"
    tiny.edit(tiny.module("basic"), "    return {", kill)
    run = tiny.build(jobs=2)
    assert run.code == 1
    assert tiny.statuses() == {"numbers": "failed", "curve": "skipped", "ramp": "ran", "picture": "ran"}
    numbers = tiny.json("results.json")["experiments"]["numbers"]
    assert numbers["reason"].startswith("its worker process died while running it, and again when retried")
    assert tiny.json("results.json")["questions"]["1.Q3"]["status"] == "answered"
    assert (tiny.build_dir / "logs" / "numbers.log").is_file()


def test_a_running_dask_cluster_gives_the_sequential_results_and_keys(tiny) -> None:
    from distributed import LocalCluster

    assert tiny.build().code == 0
    sequential = _values(tiny)
    shutil.rmtree(tiny.build_dir)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        run = tiny.build(scheduler=cluster.scheduler_address)
    assert run.code == 0, run.text
    assert run.ran == {"numbers", "ramp", "curve", "picture"}
    assert _values(tiny) == sequential


def test_experiments_that_take_the_device_ask_for_a_gpu_worker_on_cuda() -> None:
    from reportgen.parallel import gpu_resources
    from reportgen.plan import Context, Planned
    from reportgen.registry import experiment, node_from_function, resource

    @resource()
    def net(device):
        return device

    @experiment
    def trained(net):
        return {}

    @experiment(shares_gpu=True)
    def light(net):
        return {}

    @experiment
    def sweep(trained, device):
        return {}

    @experiment
    def svm(trained):
        return {}

    functions = (net, trained, light, sweep, svm)
    planned = {f.__name__: Planned(node_from_function(f), {}, {}, f.__name__) for f in functions}
    cuda, cpu = Context("cuda", False, Path(".")), Context("cpu", False, Path("."))
    assert gpu_resources(planned, "trained", cuda) == {"GPU": 1}  # through the network it reads
    assert gpu_resources(planned, "sweep", cuda) == {"GPU": 1}  # directly
    assert gpu_resources(planned, "light", cuda) == {"shared-GPU": 1}
    assert gpu_resources(planned, "svm", cuda) is None  # reads a result only: any worker
    assert gpu_resources(planned, "trained", cpu) is None


def test_ctrl_c_cancels_a_parallel_build_and_keeps_what_finished(tiny) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    tiny.edit(tiny.module("basic"), "    return {", "    import time\n    time.sleep(60)\n    return {")
    build = subprocess.Popen([sys.executable, "-m", "reportgen", "build", "-j", "2", "--no-pdf", "--device", "cpu"],
                             cwd=tiny.root, stderr=subprocess.PIPE, text=True, start_new_session=True,
                             env={**os.environ, "XDG_CACHE_HOME": str(tiny.cache_dir)},
                             # a runner that started us in the background may have left Ctrl-C ignored: not for it
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    for line in build.stderr:  # the others finish while numbers sleeps
        lines.append(line)
        if len([x for x in lines if ": ran in" in x]) == 2:
            break
    time.sleep(1)
    started = time.perf_counter()
    os.killpg(build.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the whole process group
    rest = build.communicate(timeout=60)[1]
    assert build.returncode == 130, "".join(lines) + rest
    assert time.perf_counter() - started < 30
    assert "interrupted" in rest and "Traceback" not in rest
    assert not list((tiny.build_dir / "cache").glob("numbers/*/meta.json"))
    assert len(list((tiny.build_dir / "cache").glob("*/*/meta.json"))) == 2  # ramp, picture: kept for next time


def test_with_a_cluster_device_cuda_is_the_workers_device_even_without_a_gpu_here(tiny) -> None:
    import dataclasses

    from reportgen.build import prepare, settings_for

    tiny.purge()
    options = dataclasses.replace(tiny.options(scheduler="tcp://127.0.0.1:1"), device="cuda")
    planned, context = prepare(tiny.project, options, settings_for(tiny.project, options))
    assert context.device == "cuda" and planned["numbers"].parts["device"] == "cuda"


def test_on_cuda_a_cluster_without_gpu_workers_fails_each_experiment_with_the_reason(tiny) -> None:
    from distributed import LocalCluster

    tiny.write(f"{tiny.pkg}/gpu.py", """\
        from reportgen import experiment


        @experiment
        def on_device(device) -> dict:
            return {"device": str(device)}
        """)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        import dataclasses

        from reportgen.build import build

        tiny.purge()
        lines: list[str] = []
        options = dataclasses.replace(tiny.options(scheduler=cluster.scheduler_address), device="cuda")
        assert build(tiny.project, options, say=lines.append) == 1, "\n".join(lines)
    experiments = tiny.json("results.json")["experiments"]
    assert "on_device" in experiments, "\n".join(lines)
    assert experiments["on_device"]["reason"] == ("it runs on the GPU, and no worker of the cluster offers the "
                                                  "Dask resource GPU")
    assert experiments["numbers"]["reason"] == "the build runs on CUDA and this worker has no usable CUDA GPU"


def test_an_unreachable_scheduler_is_a_one_line_error(tiny) -> None:
    import dask

    from reportgen import UserError

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), pytest.raises(
            UserError, match=r"--scheduler tcp://127.0.0.1:9: cannot connect \(.*\); start the cluster"):
        tiny.build(scheduler="tcp://127.0.0.1:9")
