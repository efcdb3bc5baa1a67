"""A chapter or the whole report built cold in a temporary copy of the project, timed: shared by the chapter
benchmarks, and on its own the whole report against issue 15's targets:

    .venv/bin/python benchmarks/cold.py [--config reportgen.toml] [--only PATTERN ...] [--set key=value ...]
                                        [--results FILE] [--before RESULTS.json]
    .venv/bin/python benchmarks/cold.py --summary RESULTS.json [--before RESULTS.json]   (no build: a table only)

It prints each experiment's wall time and peak memory (the process's resident memory while it ran), their total
and largest against the targets (≤ 300 s inside the experiments, ≤ 4 GB on a 2-core CPU), and with `--before` the
same columns of an earlier build (say one of main's) beside them, with the ratio.

The copy leaves out build/, the virtual environment, git's folder, local/ and gpu/ (data carried to a GPU machine);
`../shared` is linked beside it, so relative paths of the configuration keep working. Your build/ is untouched.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S, TARGET_MB = 300.0, 4096.0  # issue 15, on this 2-core CPU
LEFT_OUT = ("build", ".venv", ".git", "__pycache__", "local", "gpu")


@contextmanager
def project_copy() -> Iterator[Path]:
    """A throwaway copy of the project, with `../shared` linked beside it when there is one."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / ROOT.name
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*LEFT_OUT))
        if (ROOT.parent / "shared").exists():
            (Path(tmp) / "shared").symlink_to(ROOT.parent / "shared")
        yield copy


def _run_live(cmd: list[str], cwd: Path, start: float) -> tuple[int, str]:
    """Run `cmd`, echoing its progress lines (stderr) with the seconds since `start`, so that a run stopped by a
    time limit still shows how far it got; returns (exit code, the stderr)."""
    lines = []
    with subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as build:
        for line in build.stderr:
            lines.append(line)
            print(f"  {time.perf_counter() - start:6.1f} s | {line.rstrip()}", flush=True)
    return build.returncode, "".join(lines)


def cold_build(label: str, config: str, device: str, patterns: Sequence[str], overrides: Sequence[str],
               target: str, results_to: Path | None = None, before: dict | None = None) -> None:
    """Build the experiments matching `patterns` cold (offline, no PDF); print wall time, peak memory, each part."""
    with project_copy() as copy:
        cmd = [sys.executable, "-m", "reportgen", "build", "--config", config, "--offline", "--device", device,
               "--no-pdf", *[f"--only={p}" for p in patterns], *[f"--set={o}" for o in overrides]]
        start = time.perf_counter()
        code, errors = _run_live(cmd, copy, start)
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if code not in (0, 1):
            sys.exit(f"benchmark: the build failed:\n{errors[-3000:]}")
        results = json.loads((copy / "build" / "results.json").read_text(encoding="utf-8"))
        if results_to is not None:
            shutil.copyfile(copy / "build" / "results.json", results_to)
    print(f"{label} cold build {wall:8.1f} s   ({target})")
    print(f"peak memory {peak:8.0f} MB  (largest process)")
    summary(results, before)


def _ran(results: dict) -> dict[str, dict]:
    """The experiments with a measured time: run in this build, or cached with the time of the run that made them."""
    return {name: row for name, row in results["experiments"].items()
            if row["status"] in ("ran", "failed", "cached") and row.get("wall_s") is not None}


def _cpu(row: dict) -> str:
    """The experiment's CPU seconds (all its threads): steadier than its wall time on a CPU shared with others."""
    return f"(CPU {row['cpu_s']:6.1f} s)" if row.get("cpu_s") is not None else " " * 15


def summary(results: dict, before: dict | None = None) -> None:
    """Per experiment (slowest first): seconds and peak MB, beside `before`'s with the ratio when given; then the
    total time inside the experiments and the largest peak against the targets."""
    rows, old = _ran(results), _ran(before) if before else {}
    for name, row in sorted(rows.items(), key=lambda item: -item[1]["wall_s"]):
        extra = f"  {row['status']}: {row['reason']}" if row["status"] == "failed" else ""
        gpu = f"  GPU {row['peak_gpu_mb']:7.0f} MB" if row.get("peak_gpu_mb") is not None else ""
        was = old.get(name)
        then = (f"   before {was['wall_s']:7.1f} s {_cpu(was)} {was.get('peak_mem_mb') or 0:6.0f} MB  "
                f"({was['wall_s'] / max(row['wall_s'], 1e-3):4.1f}x)") if was else ""
        print(f"  {name:26s} {row['wall_s']:7.1f} s {_cpu(row)} {row.get('peak_mem_mb') or 0:6.0f} MB{gpu}{then}"
              f"{extra}")
    for label, part in (("now", rows), ("before", old)) if old else (("now", rows),):
        total = sum(r["wall_s"] for r in part.values())
        cpu = sum(r.get("cpu_s") or 0 for r in part.values())
        peak = max((r.get("peak_mem_mb") or 0 for r in part.values()), default=0)
        met_s, met_mb = ("met" if ok else "not met" for ok in (total <= TARGET_S, peak <= TARGET_MB))
        print(f"{label:6s} inside experiments {total:7.1f} s (target ≤ {TARGET_S:.0f} s: {met_s}; CPU {cpu:.0f} s), "
              f"largest peak {peak:6.0f} MB (target ≤ {TARGET_MB:.0f} MB: {met_mb}), {len(part)} experiments")


def _read(path: Path | None) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path else None


def main() -> None:
    parser = argparse.ArgumentParser(description="The whole report built cold, against issue 15's targets.")
    parser.add_argument("--config", default="reportgen.toml")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--only", action="append", default=[], help="experiments (glob); default all")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--results", type=Path, help="keep the cold build's results.json here")
    parser.add_argument("--before", type=Path, help="an earlier build's results.json, shown beside")
    parser.add_argument("--summary", type=Path, help="no build: summarize this results.json")
    args = parser.parse_args()
    if args.summary:
        summary(_read(args.summary), _read(args.before))
        return
    cold_build("report", args.config, args.device, args.only, args.overrides,
               f"target ≤ {TARGET_S:.0f} s inside the experiments, ≤ {TARGET_MB / 1024:.0f} GB", args.results,
               _read(args.before))


if __name__ == "__main__":
    main()
