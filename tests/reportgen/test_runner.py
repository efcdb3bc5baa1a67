"""Running: failures are isolated (dependents skipped, the rest runs, the report still written), selection,
resources, seeding."""
from __future__ import annotations

import platform
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from reportgen import UserError
from reportgen.assets import Asset, AssetError
from reportgen.runner import PeakMemory, Selection, cpu_seconds, one_line

FAIL = ("    return {", "    raise ValueError('boom <&> done')\n    return {")


def test_failing_experiment_skips_its_dependents_and_the_rest_runs(tiny) -> None:
    tiny.edit(tiny.module("basic"), *FAIL)
    run = tiny.build()
    assert run.code == 1
    assert run.ran == {"ramp", "picture"}
    assert tiny.statuses() == {"numbers": "failed", "curve": "skipped", "ramp": "ran", "picture": "ran"}
    experiments = tiny.json("results.json")["experiments"]
    assert experiments["numbers"]["status"] == "failed"
    assert re.fullmatch(r"ValueError: boom <&> done \(at basic\.py:\d+\)", experiments["numbers"]["reason"])
    assert experiments["curve"]["status"] == "skipped"
    assert experiments["curve"]["reason"].startswith("needs numbers, which failed: ValueError: boom")
    assert experiments["ramp"]["values"] == {"size": 3}
    assert "  not computed: numbers, curve\n    because: ValueError: boom" in run.text
    assert "2 of 4 experiments computed" in run.text


def test_report_shows_not_computed_with_the_error_in_one_line(tiny) -> None:
    tiny.edit(tiny.module("basic"), *FAIL)
    tiny.build()
    questions = tiny.json("results.json")["questions"]
    assert questions["1.Q1"]["status"] == "not computed"
    assert questions["1.Q1"]["reason"].startswith("numbers failed: ValueError: boom <&> done (at basic.py:")
    assert questions["1.Q1"]["key_numbers"] == {}
    assert questions["1.Q2"]["status"] == "not computed"
    assert questions["1.Q2"]["reason"].startswith("curve skipped: needs numbers, which failed")
    assert questions["1.Q3"] == {"status": "answered", "reason": None, "key_numbers": {}}
    html = tiny.html()
    box = re.search(r'<section class="question" id="q1-q1">.*?</section>', html, re.S)[0]
    assert "Not computed." in box and "numbers failed: ValueError: boom &lt;&amp;&gt; done (at basic.py:" in box
    assert "Total:" not in html  # the answer's body is not rendered at all
    assert 'src="figures/picture--' in html  # the unaffected answer is there


def test_every_question_is_in_results_json_with_its_key_numbers(tiny) -> None:
    assert tiny.build().code == 0
    questions = tiny.json("results.json")["questions"]
    assert list(questions) == ["1.Q1", "1.Q2", "1.Q3", "2.Q1"]
    assert questions["1.Q1"] == {"status": "answered", "reason": None, "key_numbers": {"total": 12000, "ratio": 0.25}}
    assert questions["1.Q2"]["key_numbers"] == {"peak": 8.0}
    assert questions["2.Q1"]["status"] == "not computed" and questions["2.Q1"]["reason"]
    numbers = tiny.json("results.json")["experiments"]["numbers"]
    assert numbers["status"] == "ran" and numbers["device"] == "cpu" and numbers["wall_s"] >= 0
    assert numbers["cpu_s"] >= 0 and numbers["peak_mem_mb"] > 0 and len(numbers["cache_key"]) == 16
    assert numbers["values"] == {"n": 4, "total": 12000, "ratio": 0.25, "label": "four"}


def test_non_finite_numbers_do_not_break_results_json(tiny) -> None:
    tiny.edit(tiny.module("basic"), '"ratio": 0.25', '"ratio": float("inf"), "nan": float("nan")')
    assert tiny.build().code == 0
    results = tiny.json("results.json")  # strict JSON (the file is written with allow_nan=False)
    assert results["experiments"]["numbers"]["values"]["ratio"] is None
    assert results["experiments"]["numbers"]["values"]["nan"] is None
    assert results["questions"]["1.Q1"]["key_numbers"] == {"total": 12000, "ratio": None}


def test_interrupting_an_experiment_stops_the_build_and_stores_nothing(tiny) -> None:
    tiny.edit(tiny.module("basic"), "    return {", "    raise KeyboardInterrupt\n    return {")
    with pytest.raises(KeyboardInterrupt):
        tiny.build()
    assert not list((tiny.build_dir / "cache").glob("numbers/*"))
    assert not (tiny.build_dir / "report.html").exists()


def test_force_reruns_a_cached_experiment(tiny) -> None:
    tiny.build()
    run = tiny.build(force=("pic*",))
    assert run.ran == {"picture"} and run.cached == {"numbers", "ramp", "curve"}


def test_only_builds_what_the_selection_rests_on_unless_it_is_cached(tiny) -> None:
    run = tiny.build(only=("curve",))  # curve reads numbers and ramp
    assert run.ran == {"curve", "numbers", "ramp"} and tiny.statuses()["picture"] == "skipped"
    tiny.edit(tiny.module("basic"), "n: int = 4", "n: int = 5")
    assert tiny.build(only=("curve",)).ran == {"curve", "numbers"}  # ramp is in the cache
    assert tiny.build(only=("numbers",)).ran == set()  # nothing upstream of numbers, and it is cached


def test_only_runs_the_selection_and_skips_what_is_not_cached(tiny) -> None:
    run = tiny.build(only=("ramp",))
    assert run.ran == {"ramp"}
    assert run.code == 0  # what --only asked for succeeded
    statuses = tiny.statuses()
    assert statuses["ramp"] == "ran" and statuses["numbers"] == statuses["picture"] == "skipped"
    # --only never makes the next build a no-op: the rest still runs then.
    assert tiny.build().ran == {"numbers", "picture", "curve"}


def test_experiments_are_seeded(tiny) -> None:
    tiny.write(f"{tiny.pkg}/noise.py", """\
        import random

        import numpy as np

        from reportgen import experiment


        @experiment
        def noise() -> dict:
            return {"np": float(np.random.rand()), "py": random.random()}
        """)
    tiny.build()
    first = tiny.json("results.json")["experiments"]["noise"]["values"]
    assert tiny.build(force=("noise",)).ran == {"noise"}
    assert tiny.json("results.json")["experiments"]["noise"]["values"] == first


RESOURCE = """\
    from reportgen import Asset, AssetError, experiment, resource


    @resource(section="data")
    def samples(length: int = 3, broken: bool = False) -> list:
        if broken:
            raise AssetError([Asset("the samples", "/nowhere/samples.npz", problem="missing")])
        return list(range(length))


    @experiment
    def mean(samples: list) -> dict:
        return {"mean": sum(samples) / len(samples)}
    """


def test_resource_settings_and_values_reach_the_experiment(tiny) -> None:
    tiny.write(f"{tiny.pkg}/res.py", RESOURCE)
    tiny.build("data.length=5")
    assert tiny.json("results.json")["experiments"]["mean"]["values"] == {"mean": 2.0}
    assert "samples" not in tiny.statuses()  # resources are loaded, not stored
    assert tiny.build("data.length=5").ran == set()
    assert tiny.build("data.length=3").ran == {"mean"}


def test_failing_resource_skips_what_needs_it(tiny) -> None:
    tiny.write(f"{tiny.pkg}/res.py", RESOURCE)
    run = tiny.build("data.broken=true")
    assert run.code == 1
    assert tiny.statuses()["mean"] == "skipped" and tiny.statuses()["numbers"] == "ran"
    reason = tiny.json("results.json")["experiments"]["mean"]["reason"]
    assert reason == ("needs samples, which failed: the samples: missing — put it at /nowhere/samples.npz")


def test_one_line_gives_the_type_message_and_project_location() -> None:
    try:
        raise ValueError("first line\nsecond line")
    except ValueError as exc:
        line = one_line(exc)
    assert re.fullmatch(r"ValueError: first line \(at test_runner\.py:\d+\)", line)
    assert one_line(UserError("fix this\nnot this")) == "fix this"
    assert one_line(AssetError([Asset("w", "/p", problem="missing")])) == "w: missing — put it at /p"


def test_selection_patterns() -> None:
    selection = Selection(only=("arch*", "ramp"), force=("*_output",))
    assert selection.selected("architecture_params") and selection.selected("ramp")
    assert not selection.selected("ramps")
    assert selection.forced("architecture_output") and not selection.forced("architecture_params")
    assert Selection().selected("anything") and not Selection().forced("anything")


class _FakeCuda:
    """Stands in for torch.cuda: initialized, with a peak of 3 MiB allocated since the last reset."""

    def __init__(self, initialized: bool) -> None:
        self.initialized, self.resets = initialized, 0

    def is_initialized(self) -> bool:
        return self.initialized

    def reset_peak_memory_stats(self) -> None:
        self.resets += 1

    def max_memory_allocated(self) -> int:
        return 3 * 2**20


def test_peak_memory_reads_the_gpu_peak_only_when_cuda_is_in_use(monkeypatch):
    for initialized, expected in ((True, 3.0), (False, None)):
        cuda = _FakeCuda(initialized)
        monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
        with PeakMemory() as mem:
            pass
        assert mem.gpu == expected
        assert cuda.resets == int(initialized)  # the peak counts from the block's start
        assert mem.peak > 0


_CHURN = """
import resource, sys
import numpy as np
from reportgen.runner import release_memory

if sys.argv[1] == "released":
    release_memory()
def churn():
    for _ in range(3):
        block = np.ones(64 * 2**20, np.uint8)  # 64 MB: above glibc's largest mmap threshold
        del block
churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
churn()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc settings only")
def test_memory_freed_inside_an_experiment_is_reused_without_page_faults() -> None:
    """After `release_memory` (called before each experiment), a large block freed and allocated again comes back
    from the heap: no page faults, where glibc's default maps it afresh and faults in every page of it each time (at
    least one per 2 MB, with transparent huge pages)."""
    def faults(mode: str) -> int:
        run = subprocess.run([sys.executable, "-c", _CHURN, mode], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parents[2])
        return int(run.stdout.split()[-1])

    released = faults("released")
    assert faults("default") >= 3 * 32 > 10 * released


BURN = """import sys, time
start = time.process_time()
while time.process_time() - start < 0.6:
    pass
sys.stdout.write("x"); sys.stdout.flush(); time.sleep(60)"""


def test_cpu_seconds_count_child_processes_while_they_run_and_after_they_end() -> None:
    """An experiment's worker processes (joblib's SVM fits) work for it: their CPU time is part of its cpu_s."""
    before = cpu_seconds()
    child = subprocess.Popen([sys.executable, "-c", BURN], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.read(1) == b"x"  # 0.6 CPU-seconds burnt, still running
        running = cpu_seconds() - before
    finally:
        child.kill()
        child.wait()
    ended = cpu_seconds() - before
    assert running >= 0.6 and ended >= running - 0.05
